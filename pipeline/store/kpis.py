"""Queries for the KPI report and the dashboard: per-call handling times, customer feedback,
scorecard results, auto-vs-assessor item outcomes and calibrated calls (issue #18).

Reads only; the figures are worked out by pipeline.review.kpis from the typed records here.
`call_kpi_values` is what `Store.save_result` writes into a call's KPI columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, distinct, select
from sqlalchemy.orm import Session

from pipeline.schema import CallResult

from .models import CallRow, DecisionRow, ItemRow, ScorecardRow, as_utc

__all__ = ["CONTACT_TYPES", "KpiCall", "ItemOutcome", "call_kpi_values", "kpi_calls", "item_outcomes",
           "calibrated_calls"]

# Findings whose keyed digests tell the same customer when no customer_ref was given: numbers a
# caller quotes again on the next call. Names, postcodes and dates are too often shared.
CONTACT_TYPES: tuple[str, ...] = ("PHONE_NUMBER", "ACCOUNT_NUMBER", "UK_BANK_ACCOUNT")
_CHUNK = 500  # ids per IN (...): well under both backends' bound-parameter limits


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KpiCall(_Record):
    """One call's KPI inputs as the index holds them (ids, numbers and keyed digests only)."""

    call_id: str
    agent_id: str | None
    team_id: str | None
    queue: str | None
    started_at: dt.datetime | None
    talk_s: float | None
    hold_s: float | None
    wrap_up_s: float | None
    csat: int | None
    nps: int | None
    disposition: str | None
    customer_digest: str | None
    contact_digests: list[str]
    score: float | None = None  # the final score once finalised, else the suggested one
    critical_failed: bool | None = None
    finalised: bool = False
    has_card: bool = False


class ItemOutcome(_Record):
    """An item's pre-filled suggestion beside the assessor's latest review value."""

    call_id: str
    item_id: str
    question: str
    suggestion: str | None
    value: str | None  # None: no review decision yet


def call_kpi_values(result: CallResult) -> dict[str, Any]:
    """The call's KPI columns from its result: talk (connected time less hold), hold, the
    metadata's wrap-up and customer feedback, and the keyed digests that find a repeat contact."""
    meta, metrics = result.metadata, result.metrics
    length = result.source.duration_s if result.source.duration_s is not None else metrics.call_length_s
    hold = round(sum(h.duration_s for h in metrics.holds), 3) if length is not None else None
    return {
        "talk_s": round(max(0.0, length - (hold or 0.0)), 3) if length is not None else None,
        "hold_s": hold,
        "wrap_up_s": meta.wrap_up_s,
        "csat": meta.csat,
        "nps": meta.nps,
        "disposition": meta.disposition,
        "queue": meta.queue,
        "customer_digest": meta.customer_digest,
        # "TYPE:digest": the same number under the same key in two calls gives the same string.
        "contact_digests": sorted({f"{f.entity_type}:{f.value_hmac}" for f in result.pii
                                   if f.entity_type in CONTACT_TYPES}),
    }


def _in_scope(query, *, since: dt.datetime | None, until: dt.datetime | None, teams: Collection[str] | None):
    if since is not None:
        query = query.where(CallRow.started_at >= since)
    if until is not None:
        query = query.where(CallRow.started_at < until)
    if teams is not None:
        query = query.where(CallRow.team_id.in_(sorted(teams)))
    return query


def kpi_calls(s: Session, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
              teams: Collection[str] | None = None) -> list[KpiCall]:
    """Calls started in [since, until) with their current scorecard's result, oldest first.

    Args:
        teams: only calls of these teams (None: every call, with or without a team).
    """
    query = (select(CallRow, ScorecardRow)
             .outerjoin(ScorecardRow, and_(ScorecardRow.call_id == CallRow.call_id, ScorecardRow.current.is_(True)))
             .order_by(CallRow.started_at, CallRow.call_id))
    out = []
    for call, card in s.execute(_in_scope(query, since=since, until=until, teams=teams)):
        finalised = card is not None and card.finalised_at is not None
        out.append(KpiCall(
            call_id=call.call_id, agent_id=call.agent_id, team_id=call.team_id, queue=call.queue,
            started_at=as_utc(call.started_at), talk_s=call.talk_s, hold_s=call.hold_s, wrap_up_s=call.wrap_up_s,
            csat=call.csat, nps=call.nps, disposition=call.disposition, customer_digest=call.customer_digest,
            contact_digests=list(call.contact_digests or []),
            score=None if card is None else (card.final_score if finalised else card.suggested_score),
            critical_failed=None if card is None else (card.final_critical_failed if finalised
                                                       else card.critical_failed_suggested),
            finalised=finalised, has_card=card is not None))
    return out


def item_outcomes(s: Session, call_ids: Sequence[str]) -> list[ItemOutcome]:
    """Every item of the calls' current cards with its latest review value (None: undecided)."""
    out: list[ItemOutcome] = []
    for start in range(0, len(call_ids), _CHUNK):
        chunk = list(call_ids[start:start + _CHUNK])
        cards = {c.id: c.call_id for c in s.scalars(select(ScorecardRow).where(
            ScorecardRow.call_id.in_(chunk), ScorecardRow.current.is_(True)))}
        if not cards:
            continue
        latest: dict[tuple[int, str], str | None] = {}
        for d in s.scalars(select(DecisionRow).where(DecisionRow.scorecard_id.in_(list(cards)),
                                                     DecisionRow.mode == "review").order_by(DecisionRow.id)):
            latest[(d.scorecard_id, d.item_id)] = d.value  # ordered by id: the last one wins
        for item in s.scalars(select(ItemRow).where(ItemRow.scorecard_id.in_(list(cards)))
                              .order_by(ItemRow.scorecard_id, ItemRow.position)):
            out.append(ItemOutcome(call_id=cards[item.scorecard_id], item_id=item.item_id, question=item.question,
                                   suggestion=item.suggestion, value=latest.get((item.scorecard_id, item.item_id))))
    return out


def calibrated_calls(s: Session, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                     teams: Collection[str] | None = None) -> list[tuple[str, dt.datetime | None]]:
    """(call id, start time) of the calls whose current card carries calibration marks, oldest first."""
    query = (select(distinct(CallRow.call_id), CallRow.started_at)
             .join(ScorecardRow, and_(ScorecardRow.call_id == CallRow.call_id, ScorecardRow.current.is_(True)))
             .join(DecisionRow, and_(DecisionRow.scorecard_id == ScorecardRow.id, DecisionRow.mode == "calibration"))
             .order_by(CallRow.started_at, CallRow.call_id))
    return [(call_id, as_utc(started)) for call_id, started in s.execute(_in_scope(query, since=since, until=until,
                                                                                 teams=teams))]
