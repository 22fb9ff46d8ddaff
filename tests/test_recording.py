"""Crash-safe recording helpers (pipeline.recording): leftovers of dead writers, the journal, and
finding a call's audit records after a journaled offset."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from pipeline.recording import Journal, audit_holds, clean_leftovers, read_journal, write_journal


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_dead_writers_are_removed_or_put_back_and_a_live_ones_kept(tmp_path):
    dead, live = _dead_pid(), os.getpid()
    (tmp_path / f".c-1.tmp.{dead}.x1y2").mkdir()                 # a folder being filled: removed
    (tmp_path / f".c-2.old.{dead}").mkdir()                      # moved aside, new one never renamed in
    (tmp_path / f".c-2.old.{dead}" / "result.json").write_text("{}")
    (tmp_path / "c-3").mkdir()
    (tmp_path / f".c-3.old.{dead}").mkdir()                      # moved aside, new one in place: removed
    (tmp_path / f".c-4.tmp.{live}.abcd").mkdir()                 # this process is writing it: kept
    assert clean_leftovers(tmp_path) == {"removed": 2, "restored": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".c-4.tmp.{live}.abcd", "c-2", "c-3"]
    assert (tmp_path / "c-2" / "result.json").is_file()


def test_the_journal_is_replaced_whole_and_private(tmp_path):
    write_journal(tmp_path, Journal(key="k", audit="pending", audit_offset=10))
    write_journal(tmp_path, Journal(key="k", audit="done", audit_offset=10, index="done"))
    journal = read_journal(tmp_path)
    assert journal is not None and journal.complete() and journal.audit_offset == 10
    assert (tmp_path / ".recording.json").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [".recording.json"]  # no temporary left
    (tmp_path / ".recording.json").write_text("{not json")
    assert read_journal(tmp_path) is None  # unreadable: the call is completed again, not skipped


def test_a_calls_closing_record_is_found_after_its_offset_only(tmp_path):
    log = tmp_path / "audit.jsonl"
    lines = [{"kind": "finding", "call_id": "a"}, {"kind": "call", "call_id": "a"}]
    first = "".join(json.dumps(x) + "\n" for x in lines)
    log.write_text(first)
    offset = log.stat().st_size
    assert audit_holds(log, "a", 0) and not audit_holds(log, "a", offset)  # an earlier run's records
    # Another call's records came between; then a torn line; then this call's closing record.
    with log.open("a") as f:
        f.write(json.dumps({"kind": "call", "call_id": "b"}) + "\n" + '{"kind": "fin\n')
        f.write(json.dumps({"kind": "finding", "call_id": "a"}) + "\n")
    assert not audit_holds(log, "a", offset)  # findings without the closing record: not complete
    with log.open("a") as f:
        f.write(json.dumps({"kind": "call", "call_id": "a"}) + "\n")
    assert audit_holds(log, "a", offset) and audit_holds(log, "b", offset)
    assert not audit_holds(log, "b", offset + 3)  # an offset inside a line starts at the next line
    assert not audit_holds(tmp_path / "missing.jsonl", "a", 0)
