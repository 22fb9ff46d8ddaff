"""The review queue and one card's view."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from pipeline.store import Store
from pipeline.store.access import record_access
from pipeline.store.feedback import self_assessment
from pipeline.store.reviews import card_decisions, card_items, current_cards, result_row

from .cards import base_card, bulk_scored, card_or_refuse, decision_view, quotes, scored, summary
from .views import CardSummary, CardView, DecisionView

__all__ = ["list_cards", "show_card"]


def list_cards(*, store: Store, user: str, pending: bool = False, agent: str | None = None, flagged: bool = False,
               since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[CardSummary]:
    """The review queue: current scorecards, newest call first.

    Args:
        pending: only cards with items still pending.
        agent: only this agent's calls.
        flagged: only calls with a flag (failed critical item, low confidence, not evaluated, warnings).
        since, until: the call's start time window (inclusive, exclusive).

    Returns:
        One summary per card.
    """
    with store.session() as s:
        cards = [card for card, _call in current_cards(s, agent=agent or None, since=since, until=until,
                                                       order="newest")]
        scored_cards = bulk_scored(s, cards)
        out = []
        for card in cards:
            line = summary(s, card, scored_cards[card.id])
            if pending and line.pending == 0:
                continue
            if flagged and not (line.flags or line.critical_failed):
                continue
            out.append(line)
        record_access(s, user, "list", detail=f"pending={pending} agent={agent or ''} flagged={flagged} n={len(out)}")
        return out


def show_card(*, store: Store, user: str, call_id: str, as_agent: bool = False) -> CardView:
    """One call's scorecard: items with suggestion, evidence (quote, time) and decision history.

    Args:
        as_agent: the viewer is the agent; until they have self-assessed, the assessor's
            marks and history are hidden (feedback cycle: own marks first).

    Raises:
        ReviewError: no scorecard for the call.
    """
    with store.session() as s:
        card = card_or_refuse(s, call_id)
        result = result_row(s, card.result_id)
        path = result.result_path if result else None
        card_now = scored(s, card, quotes(path))
        history: dict[str, list[DecisionView]] = defaultdict(list)
        for d in card_decisions(s, card.id):
            history[d.item_id].append(decision_view(d))
        own = self_assessment(s, card.id)
        hidden = as_agent and not own
        line = summary(s, card, card_now)
        if hidden:
            card_now = base_card(card, card_items(s, card.id), quotes(path))
            history = defaultdict(list)
            line = line.model_copy(update={"final_score": None, "critical_failed": card_now.critical_failed})
        record_access(s, user, "view", call_id=call_id, scorecard_id=card.id, detail="as_agent" if as_agent else None)
        return CardView(summary=line, card=card_now, history=dict(history), self_assessment=own or None,
                        assessor_marks_hidden=hidden, result_path=path)
