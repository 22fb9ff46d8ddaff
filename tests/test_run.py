"""The run loop: outputs, re-runs that skip or re-assess, and no half results."""

import json
import shutil

import pytest

from pipeline.ingest import discover_inputs
from pipeline.redact import verify_log
from pipeline.run import CallOutcome, Models, run_batch
from pipeline.settings import load_settings
from tests._paths import SAMPLE_CALLS


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("in")
    for name in ("sample-004.flac", "sample-004.json", "sample-005.transcript.json"):
        shutil.copy(SAMPLE_CALLS / name, folder / name)
    return discover_inputs([folder])


@pytest.fixture(scope="module")
def reports():
    """What the first run reported: progress (step, completed, total) and each call's outcome."""
    return {"progress": [], "outcomes": []}


@pytest.fixture(scope="module")
def first_run(inputs, tmp_path_factory, reports):
    settings = load_settings()
    models = Models(settings)
    out = tmp_path_factory.mktemp("out")
    summary = run_batch(inputs, out, settings, models, progress=lambda *step: reports["progress"].append(step),
                        on_outcome=reports["outcomes"].append)
    return settings, models, out, summary


@pytest.mark.slow
def test_outputs_of_a_call(first_run):
    _, _, out, summary = first_run
    assert summary.counts() == {"done": 2, "skipped": 0, "failed": 0, "erased": 0}
    folder = out / "sample-004"
    assert {p.name for p in folder.iterdir()} == {"result.json", "transcript.txt", "audio.redacted.wav", "scorecard.html",
                                                  ".recording.json"}  # the journal: folder, audit and index all done
    assert json.loads((folder / ".recording.json").read_text())["index"] == "done"
    result = json.loads((folder / "result.json").read_text())
    assert result["stages_run"] == ["ingest", "transcribe", "diarise", "redact", "detect", "score"]
    assert result["scorecard"] is not None and result["roles"]["method"] == "stereo-channels"
    # the chat transcript keeps its turns one-to-one
    chat_in = json.loads((SAMPLE_CALLS / "sample-005.transcript.json").read_text())
    chat_out = json.loads((out / "sample-005" / "result.json").read_text())
    assert [t["speaker"] for t in chat_out["turns"]] == [t["speaker"] for t in chat_in["turns"]]
    assert verify_log(out / "audit" / "redaction.jsonl").ok
    assert not any(p.name.startswith(".") and p.is_dir() for p in out.iterdir())  # no temp folders left


@pytest.mark.slow
def test_progress_moves_inside_a_call_and_each_outcome_is_reported(first_run, reports):
    _, _, _, summary = first_run
    assert reports["outcomes"] == summary.outcomes and all(isinstance(o, CallOutcome) for o in reports["outcomes"])
    calls = [(done, total) for step, done, total in reports["progress"] if step == "calls"]
    assert calls == [(0, 2), (1, 2), (2, 2)]
    # Transcription reports seconds of audio (both channels of the stereo call) as segments arrive.
    transcribe = [(done, total) for step, done, total in reports["progress"] if step == "transcribe"]
    total = transcribe[0][1]
    audio_s = next(o.audio_s for o in summary.outcomes if o.call_id == "sample-004")
    assert total == round(2 * audio_s) and transcribe[0][0] == 0 and transcribe[-1] == (total, total)
    done = [d for d, _ in transcribe]
    assert done == sorted(done)  # channel 0 fills the first half, channel 1 the second
    assert len({d for d in done if 0 < d < total}) >= 2  # movement inside the call, not only start and end


@pytest.mark.slow
def test_rerun_skips_then_reassesses_only_what_changed(first_run, inputs, tmp_path):
    settings, models, out, _ = first_run
    audit_lines = (out / "audit" / "redaction.jsonl").read_text().count("\n")
    again = run_batch(inputs, out, settings, models)
    assert again.counts()["skipped"] == 2
    site = tmp_path / "site.yaml"
    site.write_text("stages:\n  score: {purpose: summative}\n")
    changed = load_settings(site)
    rerun = run_batch(inputs, out, changed, Models(changed))
    assert [o.reason for o in rerun.outcomes] == ["reassessed", "reassessed"]
    result = json.loads((out / "sample-004" / "result.json").read_text())
    assert result["scorecard"]["purpose"] == "summative"
    assert (out / "sample-004" / "audio.redacted.wav").is_file()
    # redaction did not run again: the audit log has no new records
    assert (out / "audit" / "redaction.jsonl").read_text().count("\n") == audit_lines


@pytest.mark.slow
def test_a_failed_index_write_is_completed_by_the_next_run_not_skipped(tmp_path, monkeypatch):
    """The database write fails after out/<id>/ and the audit records are written: the next run
    completes the call (index row, no second set of audit records) instead of skipping it."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from pipeline.redact.audit import read_log
    from pipeline.store import Store, open_store

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLE_CALLS / "sample-005.transcript.json", folder / "sample-005.transcript.json")
    items = discover_inputs([folder])
    settings = load_settings()
    models = Models(settings)
    out = tmp_path / "out"
    real = Store.save_result

    def down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(Store, "save_result", down)
    first = run_batch(items, out, settings, models)
    assert [(o.status, o.reason) for o in first.outcomes] == [("failed", "internal_error")]
    assert (out / "sample-005" / "result.json").is_file()  # on disk, but not yet recorded everywhere
    monkeypatch.setattr(Store, "save_result", real)

    second = run_batch(items, out, settings, models)
    assert [(o.status, o.reason) for o in second.outcomes] == [("done", "completed")]
    third = run_batch(items, out, settings, models)
    assert [(o.status, o.reason) for o in third.outcomes] == [("skipped", "already_done")]
    records = list(read_log(out / "audit" / "redaction.jsonl"))
    assert sum(r.kind == "call" for r in records) == 1  # appended once, over three runs
    assert sum(r.kind == "finding" for r in records) == json.loads(
        (out / "sample-005" / "result.json").read_text())["redaction"]["findings"]
    store = open_store(out / "callqa.db")
    with store.session() as s:
        assert s.scalar(text("SELECT count(*) FROM results WHERE call_id = 'sample-005'")) == 1
    store.dispose()
    # Private: the folder, its result (which holds the findings' digests) and the index.
    assert (out / "sample-005").stat().st_mode & 0o777 == 0o700
    assert (out / "sample-005" / "result.json").stat().st_mode & 0o777 == 0o600
    assert (out / "callqa.db").stat().st_mode & 0o777 == 0o600


@pytest.mark.slow
def test_a_file_named_by_a_phone_number_is_never_named_in_outcomes_or_logs(tmp_path, caplog):
    """A telephony export names files by the caller's number: a bad one is reported by its
    keyed call id, never by its name (outcome, message, log line)."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "07700 900123.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    settings = load_settings()
    with caplog.at_level("DEBUG"):
        summary = run_batch(discover_inputs([folder]), tmp_path / "out", settings, Models(settings))
    [outcome] = summary.outcomes
    assert outcome.status == "failed"
    shown = json.dumps(outcome.model_dump()) + caplog.text
    assert "900123" not in shown and "07700" not in shown
    assert "withheld:call-" in outcome.path


def test_a_quarantine_record_holds_only_the_shown_name(tmp_path):
    from flows.quarantine import write_quarantine_record

    bad = tmp_path / "07700900123.wav"
    bad.write_bytes(b"x")
    record = write_quarantine_record(bad, "corrupt", "cannot decode", tmp_path / "q", shown="<withheld:call-0123abcd>.wav")
    assert "900123" not in record.name and "900123" not in record.read_text()
    assert json.loads(record.read_text())["file"] == "<withheld:call-0123abcd>.wav"
