"""Retention: what is past its period goes (`callqa retention apply`, the `retention` deployment).

The periods are the redaction policy's `retention` section (configs/redaction.yaml,
`pipeline.redact.options.RetentionOptions`), in days from the call's start (its metadata's
started_at) or, when that is unknown, from when its result was written:

- results_days: out/<call_id>/ goes with every other artefact naming the call (as an erasure
  does, `pipeline.compliance.remove_call_artefacts`), and so does the call's redacted text in
  the index's search tables (`pipeline.store.search`); a tombstone stops the next run from
  processing the recording again while the site still holds it.
- redacted_audio_days: out/<call_id>/audio.redacted.wav alone.
- index_days: the call's rows in the results index (as `pipeline.store.erase` erases them).
- original_retention_days: callqa keeps no originals (the incoming folder is the site's).

Every category that removed something is recorded in the audit log as a "retention" record
holding counts only (no call ids). A dry run reports what would go and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from pipeline.compliance import remove_call_artefacts, tombstone_digests
from pipeline.redact.audit import append_records
from pipeline.redact.keys import audit_key_for
from pipeline.redact.options import RetentionOptions
from pipeline.schema import CallResult, is_valid_call_id
from pipeline.store import add_tombstones, erase_call_rows
from pipeline.store.search import drop_calls

if TYPE_CHECKING:
    from pipeline.store import Store

__all__ = ["RetentionReport", "apply_retention"]

log = logging.getLogger(__name__)

# Folders under out/ that are not calls (pipeline.paths.RunPaths).
_NOT_CALLS = frozenset({"quarantine", "audit"})


class RetentionReport(BaseModel):
    """What retention removed (or, on a dry run, would remove): counts only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dry_run: bool
    now: str
    periods_days: dict[str, int | None]
    results: int = Field(0, description="out/<call_id>/ folders removed.")
    redacted_audio: int = Field(0, description="audio.redacted.wav files removed (folders kept).")
    index_calls: int = Field(0, description="Calls whose index rows were erased.")
    originals: str = "callqa keeps no originals"
    audit_records: int = 0


def _call_time(result: CallResult | None, folder: Path) -> dt.datetime:
    """When the retention period of a call folder starts: the call's start, else the result's write."""
    started = result.metadata.started_at if result is not None else None
    if started:
        try:
            value = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        except ValueError:
            pass
    target = folder / "result.json"
    stamp = (target if target.exists() else folder).stat().st_mtime
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC)


def _read_result(folder: Path) -> CallResult | None:
    try:
        return CallResult.model_validate_json((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _call_folders(out_dir: Path) -> list[Path]:
    if not out_dir.is_dir():
        return []
    return sorted(p for p in out_dir.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.name not in _NOT_CALLS and is_valid_call_id(p.name))


def _expired_index_calls(store: Store, cutoff: dt.datetime) -> list[str]:
    from sqlalchemy import func, select

    from pipeline.store.models import CallRow

    # SQLite keeps times naive (in UTC): compare without the offset there.
    limit = cutoff if store.dialect == "postgresql" else cutoff.replace(tzinfo=None)
    when = func.coalesce(CallRow.started_at, CallRow.first_seen_at)
    with store.session() as s:
        return list(s.scalars(select(CallRow.call_id).where(when < limit)))


def apply_retention(options: RetentionOptions, out_dir: Path, audit_log: Path, store: Store | None, *,
                    key: bytes | None, dry_run: bool = False, now: dt.datetime | None = None) -> RetentionReport:
    """Remove what is past its retention period; record it in the audit log (counts only).

    Args:
        options: the redaction policy's `retention` section.
        out_dir: the output folder (`RunPaths.out_dir`).
        audit_log: the audit log (`RunPaths.audit_log`).
        store: the results index, or None when there is none.
        key: the redaction key, for the tombstones of removed results (needed unless dry_run).
        dry_run: count only; remove nothing, record nothing.
        now: the time to count from (tests pass their own).

    Returns:
        What was (or would be) removed.
    """
    now = now or dt.datetime.now(dt.UTC)
    counts = {"results": 0, "redacted_audio": 0, "index_calls": 0}

    def cutoff(days: int | None) -> dt.datetime | None:
        return now - dt.timedelta(days=days) if days is not None else None

    results_cut, audio_cut, index_cut = (cutoff(options.results_days), cutoff(options.redacted_audio_days),
                                         cutoff(options.index_days))
    removed: list[str] = []
    if results_cut is not None or audio_cut is not None:
        for folder in _call_folders(out_dir):
            result = _read_result(folder)
            started = _call_time(result, folder)
            if results_cut is not None and started < results_cut:
                counts["results"] += 1
                if not dry_run:
                    if store is not None and key is not None:
                        add_tombstones(store, tombstone_digests(key, folder.name,
                                                                result.source.sha256 if result else None), "retention")
                    shutil.rmtree(folder, ignore_errors=True)
                    remove_call_artefacts(out_dir, folder.name, result.source.sha256 if result else None)
                    removed.append(folder.name)
                continue
            audio = folder / "audio.redacted.wav"
            if audio_cut is not None and started < audio_cut and audio.is_file():
                counts["redacted_audio"] += 1
                if not dry_run:
                    audio.unlink(missing_ok=True)
    if removed and store is not None:
        # The transcript's text goes with its result.json: one purge of the full-text index for all.
        drop_calls(store, removed)
    if index_cut is not None and store is not None:
        expired = _expired_index_calls(store, index_cut)
        counts["index_calls"] = len(expired)
        if not dry_run:
            for call_id in expired:
                erase_call_rows(store, call_id, f"expired:{secrets.token_hex(8)}")
    records = 0
    if not dry_run and any(counts.values()):
        entries = [{"kind": "retention", "call_id": None,
                    "reason": f"retention: {what} {n} removed (period {days} days)"}
                   for what, n, days in (("results", counts["results"], options.results_days),
                                         ("redacted_audio", counts["redacted_audio"], options.redacted_audio_days),
                                         ("index_calls", counts["index_calls"], options.index_days)) if n]
        records = len(append_records(audit_log, entries, store=store,
                                     key=audit_key_for(key) if key is not None else None))
    log.info("retention%s: %s", " (dry run)" if dry_run else "", counts)
    return RetentionReport(dry_run=dry_run, now=now.isoformat(timespec="seconds"),
                           periods_days={"results": options.results_days,
                                         "redacted_audio": options.redacted_audio_days,
                                         "index": options.index_days, "originals": options.original_retention_days},
                           audit_records=records, **counts)
