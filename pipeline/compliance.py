"""Compliance operations that span stages: erasure across the results index, out/ and the audit log.

The redaction audit log (pipeline.redact.audit) and the results index (pipeline.store) are each
a stage's own; erasing a call touches both and the call's output folder, so it lives here, above
the stages, and the CLI and web app call it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import ConfigError, InputError
from pipeline.redact.audit import append_records
from pipeline.redact.keys import audit_key_for, hmac_value
from pipeline.schema import CallResult, is_valid_call_id
from pipeline.store import add_tombstones, erase_call_rows

if TYPE_CHECKING:
    from pipeline.store import Store

__all__ = ["ErasureResult", "erase_call", "is_erased", "tombstone_digests", "remove_call_artefacts"]

logger = logging.getLogger(__name__)

# Folders and files under out/ that may name a call besides out/<call_id>/ (pipeline.paths.RunPaths).
_CACHE = (".callqa", "cache")
_SHARDS = (".callqa", "shards")
_WORK = (".callqa", "work")


class ErasureResult(BaseModel):
    """What an erasure did (counts only). The random reference that replaced the call id in the
    access log is not returned or recorded anywhere: nothing links it back to the call."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    call_id: str
    files_removed: int
    artefacts_removed: dict[str, int] = Field(default_factory=dict,
                                              description="Other artefacts naming the call, removed per kind.")
    tombstones: int = Field(0, description="Keyed digests written so no later run processes the call again.")
    record_seq: int
    index_rows: dict[str, int] | None = Field(None, description="Rows erased per table; None: no index given.")


def tombstone_digests(key: bytes, call_id: str, source_sha256: str | None) -> dict[str, str]:
    """The keyed digests that mark a call as erased: one of its id, one of its recording's bytes.

    The recording's digest stops the same file coming back under another name or call id.

    Returns:
        digest -> "call_id" | "source".
    """
    digests = {hmac_value(key, f"callqa-tombstone:call_id:{call_id}"): "call_id"}
    if source_sha256:
        digests[hmac_value(key, f"callqa-tombstone:source:{source_sha256}")] = "source"
    return digests


def is_erased(store: Store, key: bytes, call_id: str, source_sha256: str | None) -> bool:
    """Whether a call id or a recording (by its sha256) has a tombstone: it must not be processed."""
    from pipeline.store import tombstoned

    return tombstoned(store, tombstone_digests(key, call_id, source_sha256))


def _source_sha256(out_dir: Path, call_id: str, store: Store | None) -> str | None:
    """The call's recording sha256, from its result.json or the index (read before either goes)."""
    try:
        return CallResult.model_validate_json((out_dir / call_id / "result.json").read_text(encoding="utf-8")).source.sha256
    except (OSError, ValueError):
        pass
    if store is None:
        return None
    from sqlalchemy import select

    from pipeline.store.models import CallRow

    with store.session() as s:
        return s.scalar(select(CallRow.source_sha256).where(CallRow.call_id == call_id))


def _names(text: str, call_id: str, source_sha256: str | None) -> bool:
    """Whether a text names the call: its id as a whole token (a JSON value, escaped or not, a file
    stem, a task name's suffix), or its recording's hash."""
    if source_sha256 and source_sha256 in text:
        return True
    return re.search(rf"(?<![A-Za-z0-9._-]){re.escape(call_id)}(?![A-Za-z0-9_-])", text) is not None


def _entry_names(entry: Any, call_id: str, source_sha256: str | None) -> bool:
    return _names(json.dumps(entry), call_id, source_sha256)


def _rewrite_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(path)


def remove_call_artefacts(out_dir: Path, call_id: str, source_sha256: str | None) -> dict[str, int]:
    """Remove or rewrite everything under out/ that names a call, besides out/<call_id>/ itself:
    a crashed writer's temporary and replaced folders, Prefect's task cache records, the shard
    records and running batches' work lists of out/.callqa/, the run report's entries, and
    quarantine records.

    Returns:
        Count per kind: leftover_folders, cache_records, shard_entries, work_entries,
        report_entries, quarantine_records.
    """
    counts = {"leftover_folders": 0, "cache_records": 0, "shard_entries": 0, "work_entries": 0,
              "report_entries": 0, "quarantine_records": 0}
    if not out_dir.is_dir():
        return counts
    leftover = re.compile(rf"^\.{re.escape(call_id)}\.(tmp|old)\.\d+(\..*)?$")
    for entry in out_dir.iterdir():
        if entry.is_dir() and leftover.match(entry.name):
            shutil.rmtree(entry, ignore_errors=True)
            counts["leftover_folders"] += 1
    cache = out_dir.joinpath(*_CACHE)
    for record in (p for p in cache.rglob("*") if p.is_file()) if cache.is_dir() else []:
        try:
            text = record.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _names(text, call_id, source_sha256):
            record.unlink(missing_ok=True)
            counts["cache_records"] += 1
    shards = out_dir.joinpath(*_SHARDS)
    for record in sorted(shards.glob("*.json")) if shards.is_dir() else []:
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        kept = [o for o in data.get("outcomes", []) if not _entry_names(o, call_id, source_sha256)]
        if len(kept) != len(data.get("outcomes", [])):
            counts["shard_entries"] += len(data["outcomes"]) - len(kept)
            _rewrite_json(record, {**data, "outcomes": kept})
    work = out_dir.joinpath(*_WORK)
    for record in sorted(work.glob("*.json")) if work.is_dir() else []:
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        kept = {k: v for k, v in data.items() if not (k == call_id or k.startswith(f"{call_id}~")
                                                      or _entry_names(v, call_id, source_sha256))}
        if len(kept) != len(data):
            counts["work_entries"] = counts.get("work_entries", 0) + len(data) - len(kept)
            _rewrite_json(record, kept)
    report = out_dir / "run-report.json"
    if report.is_file():
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict):
            removed = 0
            for section in ("calls", "failures"):
                entries = data.get(section) or []
                kept = [e for e in entries if not _entry_names(e, call_id, source_sha256)]
                removed += len(entries) - len(kept)
                data[section] = kept
            if removed:
                counts["report_entries"] = removed
                _rewrite_json(report, data)
    quarantine = out_dir / "quarantine"
    for record in sorted(quarantine.glob("*.json")) if quarantine.is_dir() else []:
        try:
            text = record.read_text(encoding="utf-8")
        except OSError:
            continue
        if record.name.startswith(f"{call_id}.") or _names(text, call_id, source_sha256):
            record.unlink(missing_ok=True)
            counts["quarantine_records"] += 1
    return counts


def erase_call(call_id: str, out_dir: Path, log_path: Path, store: Store | None = None, *,
               key: bytes | None = None) -> ErasureResult:
    """Erase a call so that it stays erased: tombstones first (no run may bring it back while the
    rest goes), then its index rows (see pipeline.store.erase), out/<call_id>/ and every other
    artefact under out/ naming it (`remove_call_artefacts`), then the erasure record in the log.

    The log's record holds the call id and counts only. The access log's rows get a random
    reference in place of the call id that is kept nowhere, so it links to no one.

    Where these live is the caller's to resolve, once, like every command:

        paths = resolve_paths(out, database_url=..., audit_log=..., output=settings.core.output)
        erase_call(call_id, paths.out_dir, paths.audit_log, open_index(paths), key=redaction_key())

    Args:
        call_id: the call to erase.
        out_dir: the output folder holding <call_id>/ (`RunPaths.out_dir`).
        log_path: the audit log (`RunPaths.audit_log`).
        store: the results index (`pipeline.paths.open_index`), or None when there is none.
        key: the redaction key, for the tombstones' keyed digests (needed with an index).

    Raises:
        InputError: the call id is not a safe identifier (it would leave out_dir).
        ConfigError: an index is given without the key (the erasure would not last).
    """
    if not is_valid_call_id(call_id):
        raise InputError("not a valid call id", path=str(out_dir), reason="bad_call_id")
    if store is not None and key is None:
        raise ConfigError("erasure needs the redaction key to write its tombstone (set CALLQA_REDACTION_KEY)",
                          file="<environment>", key="CALLQA_REDACTION_KEY")
    out_dir = Path(out_dir)
    source_sha256 = _source_sha256(out_dir, call_id, store)
    tombstones = 0
    if store is not None and key is not None:
        tombstones = add_tombstones(store, tombstone_digests(key, call_id, source_sha256), "erasure")
    rows = erase_call_rows(store, call_id, f"erased:{secrets.token_hex(8)}") if store is not None else None
    target = out_dir / call_id
    files = [p for p in target.rglob("*") if p.is_file()] if target.is_dir() else []
    if target.is_dir():
        shutil.rmtree(target)
    artefacts = remove_call_artefacts(out_dir, call_id, source_sha256)
    index = f"index rows: {rows.summary()}" if rows is not None else "no results index given"
    record = append_records(log_path, [{"kind": "erasure", "call_id": call_id,
                                        "reason": f"erased on request: {len(files)} file(s) removed; {index}; "
                                                  f"other artefacts: {sum(artefacts.values())}; "
                                                  f"tombstones {tombstones}"}],
                            key=audit_key_for(key) if key is not None else None, store=store)[0]
    logger.info("erased a call (%d files)", len(files))
    return ErasureResult(call_id=call_id, files_removed=len(files), artefacts_removed=artefacts,
                         tombstones=tombstones, record_seq=record.seq,
                         index_rows=rows.model_dump() if rows is not None else None)
