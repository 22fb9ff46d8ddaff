"""Queries on the feedback cycle: agents' self-assessments, agreed actions and assessors' notes.

Each function takes a Session from `Store.session()`, so that the caller keeps a change and its
access-log row in one transaction. Self-assessments and notes are appended, never updated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ActionRow, FeedbackNoteRow, SelfAssessmentRow, utcnow

__all__ = ["self_assessment", "has_self_assessed", "add_self_assessment", "add_action", "find_actions",
           "close_action", "add_note", "card_notes"]


def self_assessment(s: Session, scorecard_id: int) -> dict[str, str]:
    """{item_id: value}: the agent's own marks on a card (empty when not made)."""
    return {r.item_id: r.value for r in s.scalars(
        select(SelfAssessmentRow).where(SelfAssessmentRow.scorecard_id == scorecard_id).order_by(SelfAssessmentRow.id))}


def has_self_assessed(s: Session, scorecard_id: int, who: str) -> bool:
    """Whether this user has recorded marks on the card."""
    return s.scalars(select(SelfAssessmentRow.id).where(SelfAssessmentRow.scorecard_id == scorecard_id,
                                                        SelfAssessmentRow.who == who)).first() is not None


def add_self_assessment(s: Session, scorecard_id: int, who: str, marks: Mapping[str, str]) -> None:
    """Append one row per mark, all with the same time."""
    now = utcnow()
    for item_id, value in marks.items():
        s.add(SelfAssessmentRow(scorecard_id=scorecard_id, item_id=item_id, who=who, value=value, at=now))


def add_action(s: Session, *, call_id: str, agent_id: str | None, description: str, owner: str,
               review_date: dt.date, created_by: str) -> ActionRow:
    """Record an open action; returns its row with the new id."""
    row = ActionRow(call_id=call_id, agent_id=agent_id, description=description, owner=owner, review_date=review_date,
                    created_by=created_by, created_at=utcnow(), status="open")
    s.add(row)
    s.flush()
    return row


def find_actions(s: Session, *, agent: str | None = None, open_only: bool = True,
                 due_by: dt.date | None = None) -> list[ActionRow]:
    """Actions, soonest review date first.

    Args:
        agent: only this agent's.
        open_only: only those not yet done.
        due_by: only those with a review date on or before this day.
    """
    query = select(ActionRow).order_by(ActionRow.review_date, ActionRow.id)
    if agent is not None:
        query = query.where(ActionRow.agent_id == agent)
    if open_only:
        query = query.where(ActionRow.status == "open")
    if due_by:
        query = query.where(ActionRow.review_date <= due_by)
    return list(s.scalars(query))


def close_action(s: Session, action_id: int) -> ActionRow | None:
    """Mark an action done (under its row lock); None when there is no such action."""
    row = s.get(ActionRow, action_id, with_for_update=True)
    if row is None:
        return None
    row.status = "done"
    row.closed_at = utcnow()
    s.flush()
    return row


def add_note(s: Session, *, scorecard_id: int, kind: str, text: str, who: str) -> FeedbackNoteRow:
    """Append a feedback note; returns its row with the new id."""
    row = FeedbackNoteRow(scorecard_id=scorecard_id, kind=kind, text=text, who=who, at=utcnow())
    s.add(row)
    s.flush()
    return row


def card_notes(s: Session, scorecard_id: int) -> list[FeedbackNoteRow]:
    """A card's feedback notes, oldest first."""
    return list(s.scalars(select(FeedbackNoteRow).where(FeedbackNoteRow.scorecard_id == scorecard_id)
                          .order_by(FeedbackNoteRow.id)))
