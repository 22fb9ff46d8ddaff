"""Quarantine records: which input was bad and why, as JSON under out/quarantine/ (never its content)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

from flows.report import write_json_atomic

__all__ = ["write_quarantine_record"]


def write_quarantine_record(path: Path, reason: str, message: str, folder: Path) -> Path:
    """Record a bad input in out/quarantine/<name>.<hash of its path>.json, atomically.

    The input itself stays where it is: operations move or fix it; a record holds only its name,
    its path, the reason code and the message (which names files and reasons, not content).

    Args:
        path: the bad input.
        reason: InputError.reason (e.g. "corrupt", "not_audio").
        message: InputError's message.
        folder: the quarantine folder (`RunPaths.quarantine_dir`).

    Returns:
        The record's path. A re-run overwrites the same record: one per input, no duplicates.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tag = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]
    target = folder / f"{path.name}.{tag}.json"
    record = {
        "file": path.name,
        "path": str(path),
        "reason": reason,
        "message": message,
        "quarantined_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return write_json_atomic(record, target)
