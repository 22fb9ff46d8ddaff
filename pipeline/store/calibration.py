"""Queries on calibration sessions (revision 0008)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import CalibrationSessionRow, utcnow

__all__ = ["add_session", "get_session", "list_sessions", "sessions_with_call", "close_session"]


def add_session(s: Session, *, name: str, call_ids: list[str], who: str) -> CalibrationSessionRow:
    row = CalibrationSessionRow(name=name, call_ids=list(call_ids), opened_by=who, opened_at=utcnow())
    s.add(row)
    s.flush()
    return row


def get_session(s: Session, name: str, *, lock: bool = False) -> CalibrationSessionRow | None:
    query = select(CalibrationSessionRow).where(CalibrationSessionRow.name == name)
    if lock:
        query = query.with_for_update()
    return s.scalars(query).first()


def list_sessions(s: Session) -> list[CalibrationSessionRow]:
    return list(s.scalars(select(CalibrationSessionRow).order_by(CalibrationSessionRow.opened_at.desc())))


def sessions_with_call(s: Session, call_id: str) -> list[CalibrationSessionRow]:
    # call_ids is a short JSON list: filtered here rather than with backend-specific JSON operators.
    return [row for row in list_sessions(s) if call_id in (row.call_ids or [])]


def close_session(s: Session, row: CalibrationSessionRow, *, who: str) -> None:
    row.closed_by = who
    row.closed_at = utcnow()
    s.flush()
