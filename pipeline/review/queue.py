"""The review queue (a page of it, or every card), the search over it, and one card's view.

Who may see which calls is the caller's `Scope` (a team leader's teams, an agent's own calls):
the face decides it from the account, these functions apply it in the query.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from typing import Literal

from pydantic import BaseModel, ConfigDict

from pipeline.store import Store
from pipeline.store.access import record_access
from pipeline.store.call_filters import CallFilters, Scope
from pipeline.store.feedback import self_assessment
from pipeline.store.queue_page import card_page
from pipeline.store.reviews import card_decisions, card_items, current_cards, result_row
from pipeline.store.search import SearchPage, search

from .cards import base_card, bulk_scored, card_or_refuse, decision_view, quotes, scored, summary
from .views import CardSummary, CardView, DecisionView

__all__ = ["QueuePage", "list_cards", "queue_page", "search_calls", "show_card"]


class QueuePage(BaseModel):
    """One page of the queue and where it lies in the whole."""

    model_config = ConfigDict(frozen=True)

    cards: list[CardSummary]
    total: int  # cards matching, on every page
    page: int  # from 1
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def queue_page(*, store: Store, user: str, filters: CallFilters, scope: Scope,
               show: Literal["pending", "flagged", "all"] = "pending",
               sort: Literal["date", "score", "agent", "flag"] = "date", descending: bool = True,
               page: int = 1, page_size: int = 50) -> QueuePage:
    """A page of the review queue: the database filters, sorts and counts; only the page's cards load.

    Args:
        filters: what the user narrowed to.
        scope: the calls this user may see at all.
        show: cards with items pending, flagged cards (any flag or critical failed), or all.
        sort, descending: the order (pipeline.store.queue_page); ties go by call id.
        page, page_size: which page (from 1) and its length (the caller caps it).
    """
    with store.session() as s:
        rows, total = card_page(s, filters=filters, scope=scope, show=show, sort=sort, descending=descending,
                                limit=page_size, offset=(page - 1) * page_size)
        scored_cards = bulk_scored(s, rows)
        cards = [summary(s, card, scored_cards[card.id]) for card in rows]
        record_access(s, user, "list", detail=f"show={show} sort={sort} page={page} n={len(cards)}/{total}")
    return QueuePage(cards=cards, total=total, page=page, page_size=page_size)


def search_calls(*, store: Store, user: str, query: str, filters: CallFilters, scope: Scope, limit: int = 50,
                 offset: int = 0) -> SearchPage:
    """Full-text search over the redacted turns of the calls in scope (the access log records that a
    search ran and how many hits it had, never the query text)."""
    found = search(store, query, filters=filters, scope=scope, limit=limit, offset=offset)
    with store.session() as s:
        record_access(s, user, "search", detail=f"offset={offset} n={len(found.hits)}")
    return found


def list_cards(*, store: Store, user: str, pending: bool = False, agent: str | None = None, flagged: bool = False,
               since: dt.datetime | None = None, until: dt.datetime | None = None,
               teams: Collection[str] | None = None) -> list[CardSummary]:
    """Every current scorecard that matches, newest call first (the CLI's queue, an agent's history).

    Args:
        pending: only cards with items still pending.
        agent: only this agent's calls.
        flagged: only calls with a flag (failed critical item, low confidence, not evaluated, warnings).
        since, until: the call's start time window (inclusive, exclusive).
        teams: only calls of these teams (a team leader's scope); None for any.

    Returns:
        One summary per card.
    """
    with store.session() as s:
        cards = [card for card, call in current_cards(s, agent=agent or None, since=since, until=until,
                                                      order="newest")
                 if teams is None or call.team_id in teams]
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
