"""One page of the review queue, filtered, sorted and counted in the database.

The queue used to load every current card and show the first 200; here the database filters
(`pipeline.store.call_filters`), sorts and cuts the page, and only that page's cards are
loaded. Sorts are stable: every order ends with the call id, so pages never overlap or skip.

- date: the call's start time (calls without one last, either way)
- score: the final score once finalised, else the pre-fill's suggested score (cards without one last)
- agent: the agent id (calls without one last)
- flag: critical failed first, then any other flag, then none (descending; ascending reverses it)
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import String, and_, case, cast, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from .call_filters import CallFilters, Scope, call_conditions, card_score
from .models import CallRow, DecisionRow, ItemRow, ResultRow, ScorecardRow

__all__ = ["SORTS", "SHOWS", "card_page"]

SORTS = ("date", "score", "agent", "flag")
SHOWS = ("pending", "flagged", "all")


def _flags_text():
    return func.coalesce(cast(ResultRow.flags, String), "[]")


def _critical():
    return or_(ScorecardRow.final_critical_failed.is_(True),
               _flags_text().contains('"critical_failed"', autoescape=True))


def _pending():
    """The card has an item without a review decision."""
    decided = exists(select(DecisionRow.id).where(DecisionRow.scorecard_id == ItemRow.scorecard_id,
                                                  DecisionRow.item_id == ItemRow.item_id,
                                                  DecisionRow.mode == "review"))
    return exists(select(ItemRow.id).where(ItemRow.scorecard_id == ScorecardRow.id, not_(decided)))


def _sort_key(sort: str):
    if sort == "date":
        return CallRow.started_at
    if sort == "score":
        return card_score()
    if sort == "agent":
        return CallRow.agent_id
    return case((_critical(), 2), (_flags_text() != "[]", 1), else_=0)


def card_page(s: Session, *, filters: CallFilters, scope: Scope, show: Literal["pending", "flagged", "all"] = "all",
              sort: Literal["date", "score", "agent", "flag"] = "date", descending: bool = True, limit: int = 50,
              offset: int = 0) -> tuple[list[ScorecardRow], int]:
    """(the page's current cards in order, how many cards match in all).

    Raises:
        ValueError: an unknown sort or show (the caller validates user input first).
    """
    if sort not in SORTS or show not in SHOWS:
        raise ValueError(f"sort must be one of {SORTS} and show one of {SHOWS}")
    conditions = [ScorecardRow.current.is_(True), *call_conditions(filters, scope)]
    if show == "pending":
        conditions.append(_pending())
    elif show == "flagged":
        conditions.append(or_(_flags_text() != "[]", ScorecardRow.final_critical_failed.is_(True)))
    base = (select(ScorecardRow).join(CallRow, CallRow.call_id == ScorecardRow.call_id)
            .outerjoin(ResultRow, ResultRow.id == ScorecardRow.result_id).where(and_(*conditions)))
    total = s.scalar(select(func.count()).select_from(base.with_only_columns(ScorecardRow.id).subquery()))
    key = _sort_key(sort)
    ordered = key.desc() if descending else key.asc()
    if sort != "flag":
        ordered = ordered.nulls_last()
    rows = s.scalars(base.order_by(ordered, ScorecardRow.call_id).limit(limit).offset(offset)).all()
    return list(rows), int(total or 0)
