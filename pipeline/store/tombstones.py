"""Tombstones: what was erased stays erased (GDPR Article 17, `callqa erase`, retention).

A tombstone is a keyed digest (the caller's HMAC under the redaction key) of an erased call's
id or of its source recording's sha256. Runs check an input's two digests before processing it,
so the next nightly batch over the same incoming folder does not bring the call back. The
table holds digests only: without the key it cannot be turned back into call ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import select

from pipeline.store.db import Store
from pipeline.store.models import TombstoneRow, utcnow

__all__ = ["TombstoneKind", "TombstoneReason", "add_tombstones", "tombstoned"]

TombstoneKind = Literal["call_id", "source"]
TombstoneReason = Literal["erasure", "retention"]


def add_tombstones(store: Store, digests: dict[str, TombstoneKind], reason: TombstoneReason) -> int:
    """Record digests (digest -> what it is a digest of); idempotent. Returns how many were new."""
    added = 0
    with store.session() as s:
        for digest, kind in digests.items():
            if s.get(TombstoneRow, digest) is None:
                s.add(TombstoneRow(digest=digest, kind=kind, reason=reason, created_at=utcnow()))
                added += 1
    return added


def tombstoned(store: Store, digests: Iterable[str]) -> bool:
    """Whether any of these digests marks an erased call (one indexed query)."""
    wanted = [d for d in digests if d]
    if not wanted:
        return False
    with store.session() as s:
        return s.scalar(select(TombstoneRow.digest).where(TombstoneRow.digest.in_(wanted)).limit(1)) is not None
