"""Quarantine records: which input was bad and why, as JSON under out/quarantine/ (never its content)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from pathlib import Path

from flows.report import write_json_atomic

__all__ = ["write_quarantine_record"]


def write_quarantine_record(path: Path, reason: str, message: str, folder: Path, shown: str | None = None) -> Path:
    """Record a bad input in out/quarantine/<name>.<hash of its path>.json, atomically.

    The input itself stays where it is: operations move or fix it; a record holds only its name,
    its path, the reason code and the message (which names files and reasons, not content).

    Args:
        path: the bad input.
        reason: InputError.reason (e.g. "corrupt", "not_audio").
        message: InputError's message.
        folder: the quarantine folder (`RunPaths.quarantine_dir`).
        shown: the path as it may be shown (`pipeline.ingest.shown_path`: a file named by the
            caller's number is `<withheld:CALL_ID>.wav`); the record and its name hold only this.

    Returns:
        The record's path. A re-run overwrites the same record: one per input, no duplicates.
    """
    folder.mkdir(parents=True, exist_ok=True)
    shown = shown if shown is not None else str(path)
    tag = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(shown).name).strip("_") or "input"
    target = folder / f"{name}.{tag}.json"
    record = {
        "file": Path(shown).name,
        "path": shown,
        "reason": reason,
        "message": message,
        "quarantined_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return write_json_atomic(record, target)
