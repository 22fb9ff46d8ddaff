"""Crash-safe recording of one call: its output folder, its audit records and its index row.

The three are written in that order, and a crash (kill -9, power loss, a database that went
away) may stop the run between any two. The call's folder carries a journal, `.recording.json`,
written inside the folder before it is renamed into place, so the folder never exists without
it. The journal says which of the later steps are done, keyed by the input fingerprint (call
id, source sha256, settings fingerprint):

    audit: "none" (nothing to log, e.g. a re-assessment) | "pending" | "done"
    audit_offset: the audit log's size just before this call's records were appended
    index: "pending" | "done"

Before appending, the journal records the log's size; a run that finds the journal "pending"
with an offset looks for the call's records after that offset, so a crash between the append
and the journal update never appends them twice. The index step is idempotent by the result's
sha256 (`Store.has_result`). A call is done only when all three are: `is_recorded` is what a
re-run checks before it skips.

Leftovers of a crash inside out/ (a temporary folder being filled, or the previous folder moved
aside while the new one took its place) are named with the writing process's id, so the next
run can tell a dead writer's leftovers from a live one's (`clean_leftovers`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from pipeline.files import write_private
from pipeline.models import sha256_uncached

if TYPE_CHECKING:
    from pipeline.store import Store

__all__ = ["process_alive", "JOURNAL", "Journal", "read_journal", "write_journal", "audit_holds", "is_recorded", "clean_leftovers",
           "leftover_name"]

log = logging.getLogger(__name__)

JOURNAL = ".recording.json"
# .<call id>.tmp.<pid>.<random> (being written) and .<call id>.old.<pid> (the folder it replaces)
_LEFTOVER = re.compile(r"^\.(?P<call_id>.+)\.(?P<what>tmp|old)\.(?P<pid>\d+)(\..*)?$")


class Journal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    audit: Literal["none", "pending", "done"]
    audit_offset: int | None = None
    index: Literal["pending", "done"] = "pending"

    def complete(self) -> bool:
        return self.audit in ("none", "done") and self.index == "done"


def write_journal(folder: Path, journal: Journal) -> None:
    """Replace the journal atomically (a crash leaves the old one or the new one)."""
    tmp = folder / f"{JOURNAL}.{os.getpid()}.tmp"
    write_private(tmp, journal.model_dump_json().encode())
    tmp.replace(folder / JOURNAL)


def read_journal(folder: Path) -> Journal | None:
    """The folder's journal; None when it has none (written before journals) or it is unreadable."""
    try:
        return Journal.model_validate_json((folder / JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def audit_holds(audit_log: Path, call_id: str, offset: int) -> bool:
    """Whether the audit log holds this call's closing record written at or after byte `offset`.

    The records of one call are appended together right after the offset was taken (other calls'
    records may come between when several calls finish at once), so this reads only a little of
    the log. A line that does not parse (a torn last line) is passed over.
    """
    try:
        size = audit_log.stat().st_size
    except OSError:
        return False
    if size <= offset:
        return False
    with open(audit_log, "rb") as handle:
        handle.seek(offset)
        if offset:  # the offset is a line start unless the log was rewritten: resynchronise
            handle.seek(offset - 1)
            if handle.read(1) != b"\n":
                handle.readline()
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            # The closing "call" record is the last of a call's records (pipeline.redact.audit.append_call).
            if isinstance(record, dict) and record.get("call_id") == call_id and record.get("kind") == "call":
                return True
    return False


def is_recorded(folder: Path, key: str, call_id: str, audit_log: Path, store: Store | None) -> bool:
    """Whether a call's folder, audit records and index row are all there for this fingerprint."""
    journal = read_journal(folder)
    if journal is None or journal.key != key or journal.audit == "pending":
        return False
    if journal.audit == "done" and not audit_holds(audit_log, call_id, journal.audit_offset or 0):
        return False
    if store is not None:  # without an index (a plain function call), the index step is not asked for
        if journal.index != "done":
            return False
        try:
            return store.has_result(call_id, sha256_uncached(folder / "result.json"))
        except OSError:
            return False
    return True


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def leftover_name(call_id: str, what: Literal["tmp", "old"]) -> str:
    """The name of a temporary (`tmp`, a prefix) or replaced (`old`) folder of this process."""
    return f".{call_id}.{what}.{os.getpid()}" + ("." if what == "tmp" else "")


def clean_leftovers(out_dir: Path) -> dict[str, int]:
    """Remove what crashed writers left in out/: temporary folders, and replaced folders (put back
    when the crash came between moving the old folder aside and renaming the new one in).

    Only leftovers of processes no longer running on this host are touched.

    Returns:
        {"removed": n, "restored": n}
    """
    counts = {"removed": 0, "restored": 0}
    if not out_dir.is_dir():
        return counts
    for entry in out_dir.iterdir():
        match = _LEFTOVER.match(entry.name)
        if match is None or not entry.is_dir() or process_alive(int(match["pid"])):
            continue
        final = out_dir / match["call_id"]
        if match["what"] == "old" and not final.exists():
            entry.rename(final)
            counts["restored"] += 1
            continue
        shutil.rmtree(entry, ignore_errors=True)
        counts["removed"] += 1
    if any(counts.values()):
        log.warning("cleaned what a crashed run left in %s: %s", out_dir, counts)
    return counts
