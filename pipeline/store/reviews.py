"""Queries on scorecards, their items and the assessors' decisions (the review service's reads and writes).

Each function takes a Session from `Store.session()`, so that the caller keeps a change and its
access-log row in one transaction. Nothing here decides what is allowed: that is pipeline.review's job.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import CallRow, DecisionRow, ItemRow, ResultRow, ScorecardRow, utcnow

__all__ = ["CardRows", "current_card", "current_cards", "card_items", "card_item", "card_decisions", "cards_rows",
           "call_row", "result_row", "add_decision", "finalise_card"]

# Ids per IN (...) list: well under SQLite's and PostgreSQL's bound-parameter limits.
_CHUNK = 500


@dataclass(frozen=True)
class CardRows:
    """The items and review decisions of several cards, keyed by scorecard row id."""

    items: dict[int, list[ItemRow]]  # per card, in template order
    decisions: dict[int, list[DecisionRow]]  # per card, review decisions oldest first


def current_card(s: Session, call_id: str, *, lock: bool = False) -> ScorecardRow | None:
    """The call's current scorecard, or None when the index has none.

    Args:
        lock: take the card's row lock, which serialises decisions and finalising on one card
            (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the database write lock).
    """
    query = select(ScorecardRow).where(ScorecardRow.call_id == call_id, ScorecardRow.current.is_(True))
    if lock:
        query = query.with_for_update()
    return s.scalars(query).first()


def current_cards(s: Session, *, agent: str | None = None, since: dt.datetime | None = None,
                  until: dt.datetime | None = None,
                  order: Literal["newest", "oldest"] | None = None) -> list[tuple[ScorecardRow, CallRow]]:
    """Current scorecards with their calls.

    Args:
        agent: only this agent's calls.
        since, until: the call's start time window (inclusive, exclusive).
        order: newest call first (undated last), oldest first, or None for the database's order;
            ties go by call id.
    """
    query = (select(ScorecardRow, CallRow).join(CallRow, CallRow.call_id == ScorecardRow.call_id)
             .where(ScorecardRow.current.is_(True)))
    if agent is not None:
        query = query.where(CallRow.agent_id == agent)
    if since:
        query = query.where(CallRow.started_at >= since)
    if until:
        query = query.where(CallRow.started_at < until)
    if order == "newest":
        query = query.order_by(CallRow.started_at.desc().nulls_last(), ScorecardRow.call_id)
    elif order == "oldest":
        query = query.order_by(CallRow.started_at, ScorecardRow.call_id)
    return [(card, call) for card, call in s.execute(query)]


def card_items(s: Session, scorecard_id: int) -> list[ItemRow]:
    """A card's items in template order."""
    return list(s.scalars(select(ItemRow).where(ItemRow.scorecard_id == scorecard_id).order_by(ItemRow.position)))


def card_item(s: Session, scorecard_id: int, item_id: str) -> ItemRow | None:
    """One item of a card, or None when the card has no such item."""
    return s.scalars(select(ItemRow).where(ItemRow.scorecard_id == scorecard_id, ItemRow.item_id == item_id)).first()


def card_decisions(s: Session, scorecard_id: int, mode: Literal["review", "calibration"] = "review") -> list[DecisionRow]:
    """A card's decisions of one mode, oldest first."""
    return list(s.scalars(select(DecisionRow).where(DecisionRow.scorecard_id == scorecard_id, DecisionRow.mode == mode)
                          .order_by(DecisionRow.id)))


def cards_rows(s: Session, cards: Sequence[ScorecardRow]) -> CardRows:
    """Items and review decisions of many cards in a few queries however many cards (queues, exports).

    The cards' calls and results are loaded into the session too, so that `call_row` and
    `result_row` on them answer from memory.
    """
    ids = [c.id for c in cards]
    items: dict[int, list[ItemRow]] = defaultdict(list)
    decisions: dict[int, list[DecisionRow]] = defaultdict(list)
    for chunk_start in range(0, len(ids), _CHUNK):
        chunk = ids[chunk_start:chunk_start + _CHUNK]
        for row in s.scalars(select(ItemRow).where(ItemRow.scorecard_id.in_(chunk))
                             .order_by(ItemRow.scorecard_id, ItemRow.position)):
            items[row.scorecard_id].append(row)
        for row in s.scalars(select(DecisionRow).where(DecisionRow.scorecard_id.in_(chunk),
                                                       DecisionRow.mode == "review").order_by(DecisionRow.id)):
            decisions[row.scorecard_id].append(row)
        list(s.scalars(select(CallRow).where(CallRow.call_id.in_({c.call_id for c in cards if c.id in chunk}))))
        list(s.scalars(select(ResultRow).where(ResultRow.id.in_({c.result_id for c in cards if c.id in chunk}))))
    return CardRows(items=items, decisions=decisions)


def call_row(s: Session, call_id: str) -> CallRow | None:
    """The call's row, or None when it is not in the index."""
    return s.get(CallRow, call_id)


def result_row(s: Session, result_id: int) -> ResultRow | None:
    """A result row by id."""
    return s.get(ResultRow, result_id)


def add_decision(s: Session, *, scorecard_id: int, item_id: str, who: str, kind: str, value: str | None,
                 reason: str | None, mode: str) -> DecisionRow:
    """Append a decision (decisions are never updated); it is written at the next flush."""
    row = DecisionRow(scorecard_id=scorecard_id, item_id=item_id, who=who, at=utcnow(), kind=kind, value=value,
                      reason=reason, mode=mode)
    s.add(row)
    return row


def finalise_card(s: Session, card: ScorecardRow, *, who: str, score: float | None, critical_failed: bool) -> None:
    """Close a card with its final score and critical result (the caller has locked it)."""
    card.finalised_at = utcnow()
    card.finalised_by = who
    card.final_score = score
    card.final_critical_failed = critical_failed
    s.flush()
