"""The redaction audit log's head, anchored in the results index (revision 0004).

The log is a file anyone with write access to out/ can edit; its head (record count, last
record's keyed hash, audit key id) is written here on every append, so a log cut short,
emptied or deleted no longer matches what the index says it held. The row names the log by its
absolute path and holds no record content.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from .models import AuditHeadRow, CallRow, as_utc, utcnow

if TYPE_CHECKING:
    from .db import Store

__all__ = ["AuditHead", "read_audit_head", "write_audit_head", "audit_heads", "indexed_call_ids"]


@dataclass(frozen=True)
class AuditHead:
    chain: str
    n_records: int
    last_hash: str
    key_id: str
    updated_at: dt.datetime | None = None


def _head(row: AuditHeadRow) -> AuditHead:
    return AuditHead(chain=row.chain, n_records=row.n_records, last_hash=row.last_hash, key_id=row.key_id,
                     updated_at=as_utc(row.updated_at))


def read_audit_head(store: Store, chain: str) -> AuditHead | None:
    """The anchored head of the log named `chain` (its absolute path), or None if never anchored."""
    with store.session() as s:
        row = s.get(AuditHeadRow, chain)
        return _head(row) if row is not None else None


def write_audit_head(store: Store, chain: str, *, n_records: int, last_hash: str, key_id: str) -> None:
    """Anchor the log's head (insert or replace; the caller holds the log's lock)."""
    with store.session() as s:
        row = s.get(AuditHeadRow, chain, with_for_update=True)
        if row is None:
            s.add(AuditHeadRow(chain=chain, n_records=n_records, last_hash=last_hash, key_id=key_id,
                               updated_at=utcnow()))
        else:
            row.n_records, row.last_hash, row.key_id, row.updated_at = n_records, last_hash, key_id, utcnow()


def audit_heads(store: Store) -> list[AuditHead]:
    """Every anchored log's head (a moved or deleted log shows up as a head with no file)."""
    with store.session() as s:
        return [_head(row) for row in s.scalars(select(AuditHeadRow).order_by(AuditHeadRow.chain))]


def indexed_call_ids(store: Store) -> set[str]:
    """The call ids the index holds (to compare with the calls the audit log records)."""
    with store.session() as s:
        return set(s.scalars(select(CallRow.call_id)))
