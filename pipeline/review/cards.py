"""A card as the assessor sees it, rebuilt from the index: items, decisions applied, summary.

Decisions are appended, never overwritten: an item's state is its latest review decision.
Shared by the queue, decisions, feedback, calibration and exports; not part of the public API.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import ReviewError
from pipeline.schema import CallResult, EvidenceRef, Scorecard, ScorecardItem
from pipeline.score.engine import apply_decisions, card_totals
from pipeline.store.models import DecisionRow, ItemRow, ScorecardRow, as_utc
from pipeline.store.reviews import call_row, card_decisions, card_items, cards_rows, current_card, result_row

from .views import VALUES, CardSummary, DecisionView

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["card_or_refuse", "check_value", "latest", "decision_view", "quotes", "base_card", "summary", "scored",
           "bulk_scored"]

log = logging.getLogger(__name__)


def card_or_refuse(s: Session, call_id: str, *, lock: bool = False) -> ScorecardRow:
    """The call's current card (locked for a change when `lock`).

    Raises:
        ReviewError: the index has no scorecard for the call (unknown_call).
    """
    row = current_card(s, call_id, lock=lock)
    if row is None:
        raise ReviewError("no scorecard for this call in the results index", reason="unknown_call", call_id=call_id)
    return row


def check_value(value: str, call_id: str) -> str:
    """The value, when it is one of VALUES.

    Raises:
        ReviewError: any other value (bad_value).
    """
    if value not in VALUES:
        raise ReviewError(f"value must be one of {', '.join(VALUES)}", reason="bad_value", call_id=call_id)
    return value


def latest(decisions: Sequence[DecisionRow]) -> dict[str, DecisionRow]:
    """{item_id: its latest decision}, from decisions oldest first."""
    out: dict[str, DecisionRow] = {}
    for d in decisions:  # ordered by id: the last one wins
        out[d.item_id] = d
    return out


def decision_view(d: DecisionRow) -> DecisionView:
    return DecisionView(item_id=d.item_id, who=d.who, at=as_utc(d.at), kind=d.kind, value=d.value, reason=d.reason,
                        mode=d.mode)


def _state(latest_decisions: Mapping[str, DecisionRow]) -> dict[str, tuple[str, str | None, str | None]]:
    return {item_id: ("confirmed" if d.kind == "confirm" else "overridden", d.value, d.reason)
            for item_id, d in latest_decisions.items()}


def quotes(result_path: str | None) -> dict[tuple, str]:
    """Quotes of the evidence, from result.json (the index keeps none); empty when unreadable."""
    if not result_path or not Path(result_path).is_file():
        return {}
    try:
        result = CallResult.model_validate_json(Path(result_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("result.json of a call could not be read for quotes; showing evidence without them")
        return {}
    out: dict[tuple, str] = {}
    if result.scorecard is not None:
        for item in result.scorecard.items:
            for ev in item.evidence:
                out[(ev.event_index, ev.sla_rule, ev.kind)] = ev.quote
    for index, event in enumerate(result.events):
        out.setdefault((index, None, event.kind), event.evidence)
    return out


def base_card(card: ScorecardRow, items: Sequence[ItemRow], quotes_by_ref: Mapping[tuple, str]) -> Scorecard:
    """The card as pre-filled, before any decision."""
    schema_items = [
        ScorecardItem(
            id=i.item_id, section=i.section, question=i.question, standard_ref=i.standard_ref, weight=i.weight,
            critical=i.critical, suggestion=i.suggestion, confidence=i.confidence,
            needs_observation=i.needs_observation, rule=i.rule, basis=i.basis,
            evidence=[EvidenceRef(event_index=e.get("event_index"), sla_rule=e.get("sla_rule"), kind=e["kind"],
                                  quote=quotes_by_ref.get((e.get("event_index"), e.get("sla_rule"), e["kind"]), ""),
                                  start_s=e.get("start_s"), confidence=e["confidence"], basis=e.get("basis"))
                      for e in i.evidence],
        )
        for i in items
    ]
    order: list[str] = []
    for i in items:
        if i.section not in order:
            order.append(i.section)
    return Scorecard(template=card.template, channel_type=card.channel_type, items=schema_items,
                     strengths=list(card.strengths or []), development_points=list(card.development_points or []),
                     purpose=card.purpose, **card_totals(schema_items, section_order=order))


def summary(s: Session, card: ScorecardRow, scored_card: Scorecard) -> CardSummary:
    """The queue's line for a card: a finalised card shows its fixed result, an open one the live one."""
    call = call_row(s, card.call_id)
    result = result_row(s, card.result_id)
    finalised = card.finalised_at is not None
    return CardSummary(
        call_id=card.call_id, agent_id=call.agent_id if call else None,
        channel_type=card.channel_type, started_at=as_utc(call.started_at) if call else None,
        template=card.template, purpose=card.purpose, status="finalised" if finalised else "open",
        items=len(scored_card.items), pending=scored_card.pending, suggested_score=scored_card.suggested_score,
        final_score=card.final_score if finalised else scored_card.score,
        critical_failed=bool(card.final_critical_failed) if finalised else scored_card.critical_failed,
        flags=list(result.flags or []) if result else [],
    )


def scored(s: Session, card: ScorecardRow, quotes_by_ref: Mapping[tuple, str] | None = None) -> Scorecard:
    """The card with its latest review decisions applied."""
    base = base_card(card, card_items(s, card.id), quotes_by_ref or {})
    return apply_decisions(base, _state(latest(card_decisions(s, card.id))))


def bulk_scored(s: Session, cards: Sequence[ScorecardRow]) -> dict[int, Scorecard]:
    """Cards with decisions applied (without quotes), in a few queries however many cards (queues, exports)."""
    rows = cards_rows(s, cards)
    return {c.id: apply_decisions(base_card(c, rows.items[c.id], {}), _state(latest(rows.decisions[c.id])))
            for c in cards}
