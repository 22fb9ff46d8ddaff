"""Queries on the access log: who viewed or changed what, and when (appended, never updated).

Each function takes a Session from `Store.session()`, so that an entry is written in the same
transaction as the view or change it records.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AccessLogRow, utcnow

__all__ = ["record_access", "access_entries"]

_DETAIL_CHARS = 256  # the column's width


def record_access(s: Session, who: str, action: str, *, call_id: str | None = None, scorecard_id: int | None = None,
                  item_id: str | None = None, detail: str | None = None) -> None:
    """Append an access-log entry (a longer detail is cut to the column's width)."""
    s.add(AccessLogRow(at=utcnow(), who=who, action=action, call_id=call_id, scorecard_id=scorecard_id,
                       item_id=item_id, detail=detail[:_DETAIL_CHARS] if detail else None))


def access_entries(s: Session, *, limit: int, call_id: str | None = None, who: str | None = None) -> list[AccessLogRow]:
    """The newest entries first, at most `limit`, optionally about one call or by one user."""
    query = select(AccessLogRow).order_by(AccessLogRow.id.desc()).limit(limit)
    if call_id:
        query = query.where(AccessLogRow.call_id == call_id)
    if who:
        query = query.where(AccessLogRow.who == who)
    return list(s.scalars(query))
