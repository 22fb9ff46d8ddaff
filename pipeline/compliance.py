"""Compliance operations that span stages: erasure across the results index, out/ and the audit log.

The redaction audit log (pipeline.redact.audit) and the results index (pipeline.store) are each
a stage's own; erasing a call touches both and the call's output folder, so it lives here, above
the stages, and the CLI and web app call it.
"""

from __future__ import annotations

import logging
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import InputError
from pipeline.redact.audit import append_records
from pipeline.schema import is_valid_call_id
from pipeline.store import erase_call_rows

if TYPE_CHECKING:
    from pipeline.store import Store

__all__ = ["ErasureResult", "erase_call"]

logger = logging.getLogger(__name__)


class ErasureResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    call_id: str
    files_removed: int
    record_seq: int
    index_rows: dict[str, int] | None = Field(None, description="Rows erased per table; None: no index given.")
    reference: str = Field(description="Replaces the call id in the index's access log (random).")


def erase_call(call_id: str, out_dir: Path, log_path: Path, store: Store | None = None) -> ErasureResult:
    """Erase a call: its index rows (see pipeline.store.erase), then out/<call_id>/, then record
    the erasure in the log (the log keeps only HMACs, counts and the random reference).

    Where these live is the caller's to resolve, once, like every command:

        paths = resolve_paths(out, database_url=..., audit_log=..., output=settings.core.output)
        erase_call(call_id, paths.out_dir, paths.audit_log, open_index(paths))

    Args:
        call_id: the call to erase.
        out_dir: the output folder holding <call_id>/ (`RunPaths.out_dir`).
        log_path: the audit log (`RunPaths.audit_log`).
        store: the results index (`pipeline.paths.open_index`), or None when there is none.

    Raises:
        InputError: the call id is not a safe identifier (it would leave out_dir).
    """
    if not is_valid_call_id(call_id):
        raise InputError("not a valid call id", path=str(out_dir), reason="bad_call_id")
    reference = f"erased:{secrets.token_hex(8)}"
    rows = erase_call_rows(store, call_id, reference) if store is not None else None
    target = Path(out_dir) / call_id
    files = [p for p in target.rglob("*") if p.is_file()] if target.is_dir() else []
    if target.is_dir():
        shutil.rmtree(target)
    index = f"index rows: {rows.summary()}" if rows is not None else "no results index given"
    record = append_records(log_path, [{"kind": "erasure", "call_id": call_id,
                                        "reason": f"erased on request: {len(files)} file(s) removed; {index}; "
                                                  f"access-log reference {reference}"}])[0]
    logger.info("erased call %s (%d files)", call_id, len(files))
    return ErasureResult(call_id=call_id, files_removed=len(files), record_seq=record.seq,
                         index_rows=rows.model_dump() if rows is not None else None, reference=reference)
