"""End to end through audio, on one shared pipeline run over every dev call with audio
(`dev_call_run` in conftest.py): re-transcribe each audio.redacted.wav and check that none of
the call's PII values can be heard again (any identifying part, in digits or words, as
pipeline.lab.eval_redact defines leakage), and search every output - files, file names, log
lines, the results index - for every value. Slow: Piper TTS and two Whisper passes on CPU."""

from __future__ import annotations

import re
import sqlite3

import pytest

from pipeline.config import IngestOptions, TranscribeOptions
from pipeline.ingest import ingest
from pipeline.lab.eval_redact import value_leaks
from pipeline.lab.scripts import load_scripts
from pipeline.redact.normalise import canonicalise
from tests._paths import DEV_CALLS


@pytest.mark.slow
# Issue #15 is open: a run of this test on an intermediate padding change heard an e-mail and a name in
# dev-005 (fixed in 1a0c389; it passed, as XPASS, in a fresh-clone CI since), and a fresh machine heard
# others before. Marked as the project's rules ask for this test while #15 is open: it still runs, and CI's
# -ra summary says XPASS or XFAIL. Remove the mark when #15 is resolved.
@pytest.mark.xfail(reason="issue #15 open: redacted dev-call audio re-transcribed may still reveal a value", strict=False)
def test_redacted_audio_of_every_dev_call_reveals_no_pii(dev_call_run) -> None:
    from pipeline.transcribe import load_whisper, transcribe

    topts = TranscribeOptions()
    whisper = load_whisper(topts)
    labelled = {c.call_id: c for c in load_scripts(DEV_CALLS)}
    leaked, checked = [], 0
    for call_id in dev_call_run.call_ids:
        path = dev_call_run.out / call_id / "audio.redacted.wav"
        assert path.is_file(), f"{call_id}: no redacted audio claimed"
        heard = " ".join(s.text for s in transcribe(ingest(path, IngestOptions()), topts, whisper).segments)
        for i, turn in enumerate(labelled[call_id].turns):
            for entity, value in ((p.type, p.text) for p in turn.pii):
                checked += 1
                if value_leaks(value, entity, heard):
                    leaked.append((call_id, i, entity))  # never the value: the report must not leak it
    assert checked >= 80 and leaked == []


def _forms(value: str) -> set[str]:
    """Written forms of a value to search for: as labelled, canonical ("07700 900 462"), and its
    digits run together when there are at least six."""
    forms = {value.lower(), canonicalise(value).text.lower()}
    digits = re.sub(r"\D", "", canonicalise(value).text)
    if len(digits) >= 6:
        forms.add(digits)
    return {f for f in forms if len(f) >= 4}


@pytest.mark.slow
def test_no_pii_value_in_any_output_file_name_log_line_or_index_row(dev_call_run) -> None:
    out = dev_call_run.out
    texts = {f"log line {n}": line for n, line in enumerate(dev_call_run.log_lines)}
    for path in out.rglob("*"):
        texts[f"name {path.relative_to(out)}"] = path.name
        if path.is_file() and path.suffix in {".json", ".jsonl", ".txt", ".html", ".head"}:
            texts[f"file {path.relative_to(out)}"] = path.read_text(encoding="utf-8", errors="replace")
    with sqlite3.connect(out / "callqa.db") as db:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            rows = db.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608 - names from the schema
            texts[f"index table {table}"] = "\n".join(" | ".join(map(str, r)) for r in rows)
    assert len(texts) > 20
    found = []
    for call in load_scripts(DEV_CALLS):
        for i, turn in enumerate(call.turns):
            for entity, value in ((p.type, p.text) for p in turn.pii):
                forms = _forms(value)
                for where, text in texts.items():
                    flat = re.sub(r"(?<=\d)[ -](?=\d)", "", text.lower())
                    # Digits inside a hex digest are not a value.
                    if any(f in text.lower() for f in forms if not f.isdigit()) or any(
                            re.search(rf"(?<![0-9a-f]){f}(?![0-9a-f])", flat) for f in forms if f.isdigit()):
                        found.append((call.call_id, i, entity, where))
    assert found == []
