"""The audit log: a real log verifies; one edited, deleted, reordered or inserted record, or a
cut-off tail, is named; report, find-by-HMAC and erasure; the CLI; no value in any output."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.errors import InputError
from pipeline.compliance import erase_call
from pipeline.redact.audit import append_call, find_value, report, verify_log
from pipeline.cli.compliance import app
from pipeline.lab.scripts import load_scripts
from pipeline.redact.keys import DEV_KEY
from pipeline.redact.text import redact_text
from pipeline.schema import Turn
from tests._paths import DEV_CALLS
from tests._redact_support import analyzer, options


@pytest.fixture(scope="module")
def calls():
    return load_scripts(DEV_CALLS)[:3]


@pytest.fixture(scope="module")
def real_log(tmp_path_factory: pytest.TempPathFactory, calls) -> Path:
    """A real log: three dev calls redacted with the development key (built once)."""
    path = tmp_path_factory.mktemp("audit") / "redaction.jsonl"
    for call in calls:
        turns = [Turn(index=i, speaker=t.speaker, start_s=None, end_s=None, text=t.text) for i, t in enumerate(call.turns)]
        append_call(path, call.call_id, redact_text(turns, options(), analyzer(), DEV_KEY))
    return path


@pytest.fixture()
def log(tmp_path: Path, real_log: Path) -> Path:
    """A private copy of the real log (and its head) for one test to tamper with."""
    path = tmp_path / "audit" / "redaction.jsonl"
    path.parent.mkdir()
    for src in (real_log, real_log.with_name(real_log.name + ".head")):
        shutil.copy(src, path.parent / src.name)
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines))


def test_real_log_verifies(log: Path) -> None:
    result = verify_log(log)
    assert result.ok and result.records == len(_lines(log)) > 20


def test_edited_record_is_named(log: Path) -> None:
    lines = _lines(log)
    record = json.loads(lines[7])
    record["score"] = 0.99
    lines[7] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    _write(log, lines)
    result = verify_log(log)
    assert not result.ok and result.problem == "changed" and result.line == 8 and result.seq == 7


def test_deleted_record_is_named(log: Path) -> None:
    lines = _lines(log)
    del lines[5]
    _write(log, lines)
    result = verify_log(log)
    assert not result.ok and result.problem == "removed" and result.seq == 5 and result.line == 6


def test_reordered_records_are_named(log: Path) -> None:
    lines = _lines(log)
    lines[3], lines[4] = lines[4], lines[3]
    _write(log, lines)
    result = verify_log(log)
    assert not result.ok and result.problem == "reordered" and result.line == 4 and result.seq == 4


def test_inserted_record_is_named(log: Path) -> None:
    lines = _lines(log)
    lines.insert(2, lines[1])
    _write(log, lines)
    result = verify_log(log)
    assert not result.ok and result.problem == "inserted" and result.line == 3


def test_cut_off_tail_is_detected(log: Path) -> None:
    _write(log, _lines(log)[:-2])
    result = verify_log(log)
    assert not result.ok and result.problem == "truncated"


def test_report_counts(log: Path, calls) -> None:
    result = report(log)
    assert result.findings == sum(result.by_call.values()) == sum('"kind":"finding"' in line for line in _lines(log))
    assert set(result.by_call) == {c.call_id for c in calls}
    assert result.by_entity_type["PERSON"] >= 5
    assert report(log, since="2999-01-01").findings == 0


def test_find_value_by_hmac_in_spoken_or_written_form(log: Path) -> None:
    # dev-002's customer reads her mobile number as words; look it up in digits.
    matches = find_value(log, "07700 900185", DEV_KEY)
    assert {m.call_id for m in matches} == {"dev-002"}
    assert find_value(log, "07700 900999", DEV_KEY) == []


def test_erase_removes_artefacts_and_is_recorded(tmp_path: Path, log: Path) -> None:
    out = tmp_path / "out"
    (out / "dev-001").mkdir(parents=True)
    (out / "dev-001" / "result.json").write_text("{}")
    (out / "dev-002").mkdir()
    result = erase_call("dev-001", out, log)
    assert result.files_removed == 1 and not (out / "dev-001").exists() and (out / "dev-002").exists()
    assert verify_log(log).ok
    assert report(log).erased_calls == ["dev-001"]
    with pytest.raises(InputError):
        erase_call("../etc", out, log)


def test_cli_verify_report_find_erase(tmp_path: Path, log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--audit-log", str(log)])
    assert ok.exit_code == 0, ok.output
    test_key = os.environ["CALLQA_REDACTION_KEY"]  # the log's chain is keyed by it (tests/conftest.py)
    monkeypatch.delenv("CALLQA_REDACTION_KEY", raising=False)
    no_key = runner.invoke(app, ["audit", "find", "--stdin", "--audit-log", str(log)], input="07700 900185\n")
    assert no_key.exit_code == 2 and "900185" not in no_key.output
    found = runner.invoke(app, ["audit", "find", "--stdin", "--audit-log", str(log), "--allow-dev-key"],
                          input="07700 900185\n")
    assert found.exit_code == 0 and "dev-002" in found.output and "900185" not in found.output
    # A hidden prompt when --stdin is not given; the typed value is not echoed.
    prompted = runner.invoke(app, ["audit", "find", "--audit-log", str(log), "--allow-dev-key"],
                             input="07700 900185\n")
    assert prompted.exit_code == 0 and "dev-002" in prompted.output and "900185" not in prompted.output
    # On the command line it is refused (shell history, `ps`), and not repeated back.
    argv = runner.invoke(app, ["audit", "find", "--value", "07700 900185", "--audit-log", str(log),
                               "--allow-dev-key"])
    assert argv.exit_code == 2 and "--stdin" in argv.output and "900185" not in argv.output
    rep = runner.invoke(app, ["audit", "report", "--audit-log", str(log), "--since", "2000-01-01"])
    assert rep.exit_code == 0 and json.loads(rep.output)["findings"] > 0
    monkeypatch.setenv("CALLQA_REDACTION_KEY", test_key)  # the log's key: an append under another is refused
    erased = runner.invoke(app, ["erase", "dev-003", "--out", str(tmp_path / "out"), "--audit-log", str(log),
                                    "--allow-dev-key", "--no-prefect"])
    assert erased.exit_code == 0
    lines = _lines(log)
    lines[0] = lines[0].replace('"kind":"finding"', '"kind":"flag"')
    _write(log, lines)
    bad = runner.invoke(app, ["audit", "verify", "--out", str(tmp_path / "out"), "--audit-log", str(log)])
    assert bad.exit_code == 1 and "line 1" in bad.output and "FAIL changed" in bad.output


def test_log_holds_no_values(log: Path, calls) -> None:
    text = log.read_text().lower()
    for call in calls:
        for turn in call.turns:
            for span in turn.pii:
                assert span.text.lower() not in text
