"""The keyed audit chain against tampering: every case is detected and named (docs/redaction.md's table).

A small world per test: a real SQLite results index under out/, three calls indexed, their
audit records appended with the head anchored in the index, result folders on disk. Each test
tampers the way an attacker without the key could, and checks `verify_log` (or `callqa audit
verify --out`) names it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest
from _score_support import scored_result, store_url
from typer.testing import CliRunner

from pipeline.cli.compliance import app
from pipeline.paths import RunPaths, open_index, resolve_paths
from pipeline.redact.audit import append_records, read_log, repair_log, verify_log
from pipeline.redact.keys import DEV_KEY, AuditKey, derive_audit_key
from pipeline.store import Store, open_store, read_audit_head

KEY_TEXT = "tamper-test-key-0123456789"
KEY = derive_audit_key(KEY_TEXT.encode())
CALLS = ("call-a", "call-b", "call-c")


@dataclass
class World:
    paths: RunPaths
    store: Store

    @property
    def log(self) -> Path:
        return self.paths.audit_log

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def write(self, lines: list[str]) -> None:
        self.log.write_text("".join(line + "\n" for line in lines))

    def verify(self, key: AuditKey = KEY):
        return verify_log(self.log, key, store=self.store)


@lru_cache(maxsize=1)
def _template_result():
    return scored_result("dev-001")


def _result(call_id: str):
    return _template_result().model_copy(update={"call_id": call_id})


def _record_call(world: World, call_id: str, n_findings: int = 3) -> None:
    run = world.store.record_run(pipeline_version="test", config_hash="f" * 64)
    folder = world.paths.out_dir / call_id
    folder.mkdir(parents=True, exist_ok=True)
    result = _result(call_id)
    (folder / "result.json").write_text(result.model_dump_json())
    entries = [{"kind": "finding", "call_id": call_id, "entity_type": "PERSON", "turn_index": i, "char_start": 0,
                "char_end": 4, "recognizer": "test", "score": 0.9, "operator": "replace",
                "value_hmac": hashlib.sha256(f"{call_id}{i}".encode()).hexdigest()} for i in range(n_findings)]
    entries.append({"kind": "call", "call_id": call_id, "reason": f"redaction recorded: {n_findings} finding"})
    append_records(world.log, entries, key=KEY, store=world.store)
    world.store.save_result(run, result, folder / "result.json")


@pytest.fixture()
def world(tmp_path: Path) -> World:
    paths = resolve_paths(tmp_path / "out", environ={})
    store = open_index(paths)
    w = World(paths=paths, store=store)
    for call_id in CALLS:
        _record_call(w, call_id)
    yield w
    store.dispose()


def _codes(result) -> list[str]:
    return [p.code for p in result.problems]


def _rehash_plain(lines: list[str], start: int) -> list[str]:
    """What an attacker without the key does: recompute every hash from `start` on (plain SHA-256)."""
    out = list(lines)
    prev = json.loads(out[start - 1])["record_hash"] if start else "0" * 64
    for i in range(start, len(out)):
        record = json.loads(out[i])
        record["prev_hash"] = prev
        body = {k: v for k, v in record.items() if k != "record_hash"}
        record["record_hash"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
                                               ).hexdigest()
        prev = record["record_hash"]
        out[i] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return out


# ------------------------------------------------------------------------------ clean

def test_a_clean_log_verifies_and_is_anchored(world: World) -> None:
    result = world.verify()
    assert result.ok, result.message
    assert result.records == len(world.lines()) == 12 and result.anchored == 12
    head = read_audit_head(world.store, str(world.log.resolve()))
    assert head.n_records == 12 and head.key_id == KEY.key_id and head.last_hash == json.loads(world.lines()[-1])[
        "record_hash"]
    assert all(json.loads(line)["key_id"] == KEY.key_id for line in world.lines())


# ------------------------------------------------------------------------------ tamper cases

def test_edit_rehashed_without_the_key_is_named_changed(world: World) -> None:
    lines = world.lines()
    record = json.loads(lines[4])
    record["entity_type"] = "EMAIL_ADDRESS"
    lines[4] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    lines = _rehash_plain(lines, 4)
    world.write(lines)
    world.log.with_name(world.log.name + ".head").write_text(json.dumps(
        {"seq": 11, "record_hash": json.loads(lines[-1])["record_hash"], "n_records": 12, "key_id": KEY.key_id}))
    result = world.verify()
    assert not result.ok and _codes(result)[0] == "changed" and result.line == 5 and result.seq == 4


def test_deleted_record_is_named_removed(world: World) -> None:
    lines = world.lines()
    del lines[6]
    world.write(lines)
    result = world.verify()
    assert not result.ok and result.problem == "removed" and result.seq == 6 and result.line == 7


def test_inserted_copy_is_named_inserted(world: World) -> None:
    lines = world.lines()
    lines.insert(3, lines[2])
    world.write(lines)
    result = world.verify()
    assert not result.ok and result.problem == "inserted" and result.line == 4


def test_inserted_forged_record_is_named_inserted(world: World) -> None:
    lines = world.lines()
    forged = json.loads(lines[3])
    forged["entity_type"] = "UK_PHONE_NUMBER"
    lines.insert(3, json.dumps(forged, sort_keys=True, separators=(",", ":")))  # same seq, unkeyed hash
    world.write(lines)
    result = world.verify()
    assert not result.ok and result.problem == "inserted" and result.line == 4


def test_reordered_records_are_named_reordered(world: World) -> None:
    lines = world.lines()
    lines[5], lines[6] = lines[6], lines[5]
    world.write(lines)
    result = world.verify()
    assert not result.ok and result.problem == "reordered" and result.line == 6


def test_cut_tail_with_head_file_deleted_is_named_truncated(world: World) -> None:
    world.write(world.lines()[:-4])  # call-c's records gone
    world.log.with_name(world.log.name + ".head").unlink()
    result = world.verify()
    assert not result.ok and result.problem == "truncated" and "anchors 12 records, the log holds 8" in result.message
    # The same log checked without the index has nothing to compare with: why the index is the authority.
    assert verify_log(world.log, KEY).ok


def test_log_deleted_while_the_index_holds_calls_is_named_missing_log(world: World) -> None:
    world.log.unlink()
    world.log.with_name(world.log.name + ".head").unlink()
    result = world.verify()
    assert not result.ok and result.problem == "missing_log" and "anchors 12" in result.message


def test_wrong_key_is_named_wrong_key(world: World) -> None:
    other = derive_audit_key(b"another-site-key-0123456789")
    result = world.verify(other)
    assert not result.ok and result.problem == "wrong_key"
    assert KEY.key_id in result.message and other.key_id in result.message


def test_log_swapped_for_another_valid_log_is_named_rewritten(world: World, tmp_path: Path) -> None:
    # Another folder's log under the same key, longer than this one: every record verifies, the anchor does not.
    other = World(paths=resolve_paths(tmp_path / "other", environ={}), store=world.store)
    for call_id in ("x-1", "x-2", "x-3", "x-4"):
        _record_call(other, call_id, n_findings=2)
    shutil.copy(other.log, world.log)
    result = world.verify()
    assert not result.ok and result.problem == "rewritten"


def test_call_in_the_index_without_audit_records_is_named_unaudited_calls(world: World) -> None:
    world.store.save_result(None, _result("call-z"), world.paths.out_dir / "call-z" / "result.json")
    result = world.verify()
    assert not result.ok and result.problem == "unaudited_calls" and "call-z" in result.message


def test_log_the_index_never_anchored_is_named_not_anchored(world: World, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "redaction.jsonl"
    append_records(elsewhere, [{"kind": "call", "call_id": c, "reason": "r"} for c in CALLS], key=KEY)
    result = verify_log(elsewhere, KEY, store=world.store)
    assert not result.ok and result.problem == "not_anchored"


def test_unkeyed_records_of_an_older_log_are_named_unkeyed(tmp_path: Path) -> None:
    body = {"seq": 0, "kind": "call", "at": "2026-01-01T00:00:00+00:00", "call_id": "c", "prev_hash": "0" * 64}
    body["record_hash"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    log = tmp_path / "old.jsonl"
    log.write_text(json.dumps(body) + "\n")
    result = verify_log(log, KEY)
    assert not result.ok and result.problem == "unkeyed"


# ------------------------------------------------------------------------------ torn lines

def test_torn_line_then_append_then_repair_then_verify_clean(world: World) -> None:
    with open(world.log, "ab") as handle:
        handle.write(b'{"at":"2026-12-06T01:00:00.000+00:00","call_id":"call-d","char_end":4,"ki')  # power loss
    torn = world.verify()
    assert not torn.ok and torn.problem == "torn" and "callqa audit repair" in torn.message and torn.line == 13

    _record_call(world, "call-d")  # appends still work, after the torn line
    records = list(read_log(world.log))
    assert [r.seq for r in records] == list(range(16)) and records[-1].call_id == "call-d"
    after = world.verify()
    assert _codes(after) == ["torn"] and after.line == 13  # still reported, nothing else wrong

    fixed = repair_log(world.log, KEY, store=world.store)
    assert fixed.removed_lines == [13] and fixed.record_seq == 16 and fixed.anchored == 17
    quarantine = Path(fixed.quarantine)
    assert quarantine.read_bytes().startswith(b'{"at":"2026-12-06T01:00') and stat.S_IMODE(
        quarantine.stat().st_mode) == 0o600
    assert list(read_log(world.log))[-1].kind == "repair"
    clean = world.verify()
    assert clean.ok, clean.message


def test_repair_refuses_a_log_broken_otherwise(world: World) -> None:
    from pipeline.errors import InputError

    lines = world.lines()
    del lines[2]
    world.write(lines)
    with pytest.raises(InputError) as caught:
        repair_log(world.log, KEY, store=world.store)
    assert caught.value.reason == "removed"


# ------------------------------------------------------------------------------ the command

def _verify_cli(world: World, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CALLQA_REDACTION_KEY", KEY_TEXT)
    for name in ("CALLQA_AUDIT_KEY", "CALLQA_DATABASE_URL", "CALLQA_AUDIT_LOG", "CALLQA_OUT"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner().invoke(app, ["audit", "verify", "--out", str(world.paths.out_dir)])


def test_cli_verify_out_passes_on_a_clean_run(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _verify_cli(world, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.output and "anchored" in result.output


def test_cli_verify_out_fails_when_the_audit_folder_is_emptied(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for path in world.log.parent.iterdir():
        path.unlink()
    result = _verify_cli(world, monkeypatch)
    assert result.exit_code == 1 and "FAIL missing_log" in result.output


def test_cli_verify_out_fails_when_the_last_record_is_cut_and_side_files_removed(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.write(world.lines()[:-1])
    for side in world.log.parent.iterdir():
        if side != world.log:
            side.unlink()
    result = _verify_cli(world, monkeypatch)
    assert result.exit_code == 1 and "FAIL truncated" in result.output


def test_cli_verify_out_fails_on_a_wrong_key(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLQA_AUDIT_KEY", "a-separate-audit-key-0123456789")
    monkeypatch.setenv("CALLQA_REDACTION_KEY", KEY_TEXT)
    result = CliRunner().invoke(app, ["audit", "verify", "--out", str(world.paths.out_dir)])
    assert result.exit_code == 1 and "FAIL wrong_key" in result.output


def test_cli_verify_out_fails_when_log_and_index_are_both_gone(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.store.dispose()
    shutil.rmtree(world.log.parent)
    world.paths.sqlite_path.unlink()
    result = _verify_cli(world, monkeypatch)  # the results on disk still need their records
    assert result.exit_code == 1 and "FAIL unaudited_calls" in result.output


def test_cli_repair_then_verify(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    with open(world.log, "ab") as handle:
        handle.write(b'{"seq":12,"kind":"fi')
    assert "FAIL torn" in _verify_cli(world, monkeypatch).output
    repaired = CliRunner().invoke(app, ["audit", "repair", "--out", str(world.paths.out_dir)])
    assert repaired.exit_code == 0, repaired.output
    assert json.loads(repaired.output)["removed_lines"] == [13]
    assert _verify_cli(world, monkeypatch).exit_code == 0


# ------------------------------------------------------------------------------ files and keys

def test_log_is_0600_and_its_folder_0700_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        log = tmp_path / "out" / "audit" / "redaction.jsonl"
        append_records(log, [{"kind": "call", "call_id": "c-1", "reason": "r"}], key=KEY)
    finally:
        os.umask(old)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(log.with_name(log.name + ".head").stat().st_mode) == 0o600


def test_development_key_records_carry_a_dev_key_id(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    dev = derive_audit_key(DEV_KEY)
    append_records(log, [{"kind": "call", "call_id": "c-1", "reason": "r"}], key=dev)
    record = next(read_log(log))
    assert record.key_id.startswith("dev-") and not KEY.key_id.startswith("dev-")
    assert any("development key" in note for note in verify_log(log, dev).notes)


@pytest.mark.postgres
def test_anchor_on_postgresql_catches_a_cut_tail(tmp_path: Path) -> None:
    with store_url("postgresql", tmp_path) as url:
        store = open_store(url)
        try:
            store.upgrade()
            log = tmp_path / "audit" / "redaction.jsonl"
            for call_id in CALLS:
                append_records(log, [{"kind": "call", "call_id": call_id, "reason": "r"}], key=KEY, store=store)
            assert read_audit_head(store, str(log.resolve())).n_records == 3
            assert verify_log(log, KEY, store=store).ok
            log.write_text("".join(line + "\n" for line in log.read_text().splitlines()[:-1]))
            log.with_name(log.name + ".head").unlink()
            result = verify_log(log, KEY, store=store)
            assert not result.ok and result.problem == "truncated"
        finally:
            store.dispose()


def test_an_append_under_another_key_is_refused(world: World) -> None:
    from pipeline.errors import ConfigError

    before = world.lines()
    with pytest.raises(ConfigError, match="keyed by"):
        append_records(world.log, [{"kind": "call", "call_id": "dev-x", "reason": "r"}],
                       key=derive_audit_key(DEV_KEY), store=world.store)
    assert world.lines() == before and world.verify().ok


def test_an_append_after_a_cut_tail_is_refused_so_the_cut_stays_visible(world: World) -> None:
    from pipeline.errors import ConfigError

    cut = world.lines()[:-4]
    world.write(cut)
    with pytest.raises(ConfigError, match="anchors 12"):
        _record_call(world, "call-d")  # the next run's append would otherwise re-anchor over the cut
    assert world.lines() == cut and world.verify().problem == "truncated"


def test_repair_refuses_a_cut_tail_unless_the_loss_is_accepted_and_then_records_it(world: World) -> None:
    from pipeline.errors import InputError

    world.write(world.lines()[:-4])
    with pytest.raises(InputError) as caught:
        repair_log(world.log, KEY, store=world.store)
    assert caught.value.reason == "truncated" and "--accept-loss" in str(caught.value)
    fixed = repair_log(world.log, KEY, store=world.store, accept_loss=True)
    last = list(read_log(world.log))[-1]
    assert last.kind == "repair" and "loss accepted" in last.reason and "anchors 12" in last.reason
    assert fixed.record_seq == 8 and fixed.anchored == 9
    # call-c's results remain without records: still named, the loss is not hidden.
    assert world.verify().problem == "unaudited_calls"
