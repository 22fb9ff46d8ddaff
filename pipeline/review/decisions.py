"""Assessors' decisions on a card's items, calibration marks, and finalising a card.

Every decision is appended with its access-log row in one transaction, under the card's lock,
so two assessors deciding at once both land and finalising sees every decision made before it.
"""

from __future__ import annotations

from typing import Literal

from pipeline.errors import ReviewError
from pipeline.store import Store
from pipeline.store.access import record_access
from pipeline.store.reviews import add_decision, card_item, card_items, finalise_card

from .calibration import marks_locked
from .cards import card_or_refuse, check_value, decision_view, scored, summary
from .views import CardSummary, DecisionView

__all__ = ["confirm_item", "override_item", "mark_item", "finalise"]


def _decide(store: Store, user: str, call_id: str, item_id: str, *, kind: Literal["confirm", "override", "mark"],
            value: str | None, reason: str | None, mode: Literal["review", "calibration"]) -> DecisionView:
    """Append one decision (a confirm takes the item's suggestion as its value)."""
    with store.session() as s:
        card = card_or_refuse(s, call_id, lock=True)
        if mode == "review" and card.finalised_at is not None:
            raise ReviewError("the scorecard is finalised; decisions are closed", reason="finalised", call_id=call_id)
        if mode == "calibration" and marks_locked(s, call_id):
            raise ReviewError("the calibration session holding this call is closed; its marks are locked",
                              reason="locked", call_id=call_id)
        item = card_item(s, card.id, item_id)
        if item is None:
            allowed = ", ".join(i.item_id for i in card_items(s, card.id))
            raise ReviewError(f"no item {item_id!r} on this card; items: {allowed}", reason="unknown_item",
                              call_id=call_id)
        if kind == "confirm":
            if item.suggestion is None:
                raise ReviewError(f"item {item_id!r} has no suggestion to confirm; override it with a value",
                                  reason="no_suggestion", call_id=call_id)
            value = item.suggestion
        row = add_decision(s, scorecard_id=card.id, item_id=item_id, who=user, kind=kind, value=value, reason=reason,
                           mode=mode)
        record_access(s, user, kind if mode == "review" else "calibration_mark", call_id=call_id,
                      scorecard_id=card.id, item_id=item_id, detail=value)
        return decision_view(row)


def confirm_item(*, store: Store, user: str, call_id: str, item_id: str, reason: str | None = None) -> DecisionView:
    """Accept an item's suggestion as the assessor's value (appends a decision).

    Raises:
        ReviewError: unknown call or item, the card is finalised, or the item has no suggestion.
    """
    return _decide(store, user, call_id, item_id, kind="confirm", value=None, reason=reason, mode="review")


def override_item(*, store: Store, user: str, call_id: str, item_id: str, value: str, reason: str) -> DecisionView:
    """Set the assessor's own value for an item, with the reason (appends a decision).

    Raises:
        ReviewError: empty reason, a value outside yes/no/partial/n/a, unknown call or item,
            or the card is finalised.
    """
    if not reason or not reason.strip():
        raise ReviewError("an override needs a reason", reason="reason_required", call_id=call_id)
    return _decide(store, user, call_id, item_id, kind="override", value=check_value(value, call_id),
                   reason=reason.strip(), mode="review")


def mark_item(*, store: Store, user: str, call_id: str, item_id: str, value: str) -> DecisionView:
    """Record an assessor's independent calibration mark (it does not change the card).

    Raises:
        ReviewError: unknown call, item or value.
    """
    return _decide(store, user, call_id, item_id, kind="mark", value=check_value(value, call_id), reason=None,
                   mode="calibration")


def finalise(*, store: Store, user: str, call_id: str) -> CardSummary:
    """Close a card: its final score and critical result are fixed; no more decisions.

    Raises:
        ReviewError: items still pending (their number is in the message), or already finalised.
    """
    with store.session() as s:
        card = card_or_refuse(s, call_id, lock=True)
        if card.finalised_at is not None:
            raise ReviewError("the scorecard is already finalised", reason="finalised", call_id=call_id)
        card_now = scored(s, card)
        if card_now.pending:
            pending = [i.id for i in card_now.items if i.status == "pending"]
            raise ReviewError(f"{len(pending)} item(s) still pending: {', '.join(pending)}", reason="pending",
                              call_id=call_id)
        finalise_card(s, card, who=user, score=card_now.score, critical_failed=card_now.critical_failed)
        record_access(s, user, "finalise", call_id=call_id, scorecard_id=card.id)
        return summary(s, card, card_now)
