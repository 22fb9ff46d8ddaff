"""The feedback cycle: the agent's self-assessment, assessors' notes, agreed actions, and per-agent trends."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Literal

from pipeline.errors import ReviewError
from pipeline.store import Store
from pipeline.store import feedback as rows
from pipeline.store.access import record_access
from pipeline.store.models import ActionRow, FeedbackNoteRow, as_utc
from pipeline.store.reviews import call_row, card_items, current_cards

from .cards import bulk_scored, card_or_refuse, check_value
from .views import ActionView, AgentSummary, NoteView

__all__ = ["NOTE_KINDS", "self_assess", "add_note", "list_notes", "add_action", "list_actions", "close_action",
           "agent_summary"]

NOTE_KINDS: tuple[str, ...] = ("strength", "development")


# ----------------------------------------------------------------------------- self-assessment


def self_assess(*, store: Store, user: str, call_id: str, marks: Mapping[str, str]) -> dict[str, str]:
    """Record the agent's own marks for a card (once per agent and card).

    Args:
        marks: {item_id: value}; at least one, each value yes/no/partial/n/a.

    Returns:
        The marks recorded.

    Raises:
        ReviewError: no marks, an unknown item or value, or this user already self-assessed.
    """
    if not marks:
        raise ReviewError("give at least one mark (ITEM=VALUE)", reason="bad_value", call_id=call_id)
    with store.session() as s:
        card = card_or_refuse(s, call_id, lock=True)
        known = {i.item_id for i in card_items(s, card.id)}
        for item_id, value in marks.items():
            if item_id not in known:
                raise ReviewError(f"no item {item_id!r} on this card", reason="unknown_item", call_id=call_id)
            check_value(value, call_id)
        if rows.has_self_assessed(s, card.id, user):
            raise ReviewError("you have already self-assessed this call", reason="already_self_assessed",
                              call_id=call_id)
        rows.add_self_assessment(s, card.id, user, marks)
        record_access(s, user, "self_assess", call_id=call_id, scorecard_id=card.id, detail=f"{len(marks)} marks")
        return dict(marks)


# -------------------------------------------------------------------------------------- notes


def _note_view(r: FeedbackNoteRow) -> NoteView:
    return NoteView(id=r.id, kind=r.kind, text=r.text, who=r.who, at=as_utc(r.at))


def add_note(*, store: Store, user: str, call_id: str, kind: str, text: str) -> NoteView:
    """Record a feedback note on the call's current card (a behaviour the agent showed or can develop).

    Raises:
        ReviewError: unknown call, a kind other than strength / development, or an empty note.
    """
    if kind not in NOTE_KINDS:
        raise ReviewError(f"a note is one of: {', '.join(NOTE_KINDS)}", reason="bad_value", call_id=call_id)
    if not text or not text.strip():
        raise ReviewError("a note needs some text", reason="bad_value", call_id=call_id)
    with store.session() as s:
        card = card_or_refuse(s, call_id)
        row = rows.add_note(s, scorecard_id=card.id, kind=kind, text=text.strip()[:2000], who=user)
        record_access(s, user, "note_add", call_id=call_id, scorecard_id=card.id, detail=f"{kind} note {row.id}")
        return _note_view(row)


def list_notes(*, store: Store, user: str, call_id: str) -> list[NoteView]:
    """The card's feedback notes, oldest first (read with the card: its view is logged there).

    Raises:
        ReviewError: unknown call.
    """
    with store.session() as s:
        card = card_or_refuse(s, call_id)
        return [_note_view(r) for r in rows.card_notes(s, card.id)]


# ------------------------------------------------------------------------------------ actions


def _action_view(a: ActionRow) -> ActionView:
    return ActionView(id=a.id, call_id=a.call_id, agent_id=a.agent_id, description=a.description, owner=a.owner,
                      review_date=a.review_date, created_by=a.created_by, status=a.status)


def add_action(*, store: Store, user: str, call_id: str, description: str, owner: str,
               review_date: dt.date) -> ActionView:
    """Record an agreed development action for the call's agent.

    Raises:
        ReviewError: unknown call, or an empty description or owner.
    """
    if not description.strip() or not owner.strip():
        raise ReviewError("an action needs a description and an owner", reason="bad_value", call_id=call_id)
    with store.session() as s:
        call = call_row(s, call_id)
        if call is None:
            raise ReviewError("no such call in the results index", reason="unknown_call", call_id=call_id)
        row = rows.add_action(s, call_id=call_id, agent_id=call.agent_id, description=description.strip(),
                              owner=owner.strip()[:128], review_date=review_date, created_by=user)
        record_access(s, user, "action_add", call_id=call_id, detail=f"action {row.id}")
        return _action_view(row)


def list_actions(*, store: Store, user: str, agent: str | None = None, open_only: bool = True,
                 due_by: dt.date | None = None) -> list[ActionView]:
    """Agreed actions, soonest review date first."""
    with store.session() as s:
        out = [_action_view(a) for a in rows.find_actions(s, agent=agent or None, open_only=open_only, due_by=due_by)]
        record_access(s, user, "action_list", detail=f"agent={agent or ''} n={len(out)}")
        return out


def close_action(*, store: Store, user: str, action_id: int) -> ActionView:
    """Mark an action done at its review.

    Raises:
        ReviewError: no such action.
    """
    with store.session() as s:
        row = rows.close_action(s, action_id)
        if row is None:
            raise ReviewError(f"no action {action_id}", reason="unknown_action")
        record_access(s, user, "action_close", call_id=row.call_id, detail=f"action {action_id}")
        return _action_view(row)


# ---------------------------------------------------------------------------- agent summaries


def agent_summary(*, store: Store, user: str, agent_id: str, since: dt.datetime | None = None,
                  until: dt.datetime | None = None, period: Literal["week", "month"] = "month",
                  top: int = 3, teams: Collection[str] | None = None) -> AgentSummary:
    """An agent's strengths, development points and trend, for coaching and development plans.

    Finalised cards count with their final values; open cards with decided values where made
    and suggestions elsewhere. Strengths are the items most often met, development points the
    items most often missed (n/a and unmarked items leave the counts). `teams` narrows to the calls
    of those teams (a team leader's scope; None: every call).
    """
    with store.session() as s:
        met: Counter[str] = Counter()
        missed: Counter[str] = Counter()
        seen: Counter[str] = Counter()
        questions: dict[str, str] = {}
        by_period: dict[str, list[float]] = defaultdict(list)
        scores: list[float] = []
        cards = finalised = fails = 0
        found = [(card, call) for card, call in current_cards(s, agent=agent_id, since=since, until=until)
                 if teams is None or call.team_id in teams]
        bulk = bulk_scored(s, [card for card, _ in found])
        for card, call in found:
            scored_card = bulk[card.id]
            cards += 1
            finalised += card.finalised_at is not None
            value_score = card.final_score if card.finalised_at is not None else scored_card.suggested_score
            failed = card.final_critical_failed if card.finalised_at is not None else scored_card.critical_failed
            fails += bool(failed)
            if value_score is not None:
                scores.append(value_score)
                when = as_utc(call.started_at) or as_utc(card.created_at)
                year, week, _ = when.isocalendar()
                key = when.strftime("%Y-%m") if period == "month" else f"{year}-W{week:02d}"
                by_period[key].append(value_score)
            for item in scored_card.items:
                value = item.assessor_value if item.status != "pending" else item.suggestion
                questions[item.id] = item.question
                if value in ("yes", "partial"):
                    met[item.id] += 1
                    seen[item.id] += 1
                elif value == "no":
                    missed[item.id] += 1
                    seen[item.id] += 1
        trend = [{"period": k, "cards": len(v), "mean_score": round(sum(v) / len(v), 1)}
                 for k, v in sorted(by_period.items())]
        actions = [_action_view(a) for a in rows.find_actions(s, agent=agent_id, open_only=True)]
        record_access(s, user, "agent_summary", detail=f"agent={agent_id}")
        return AgentSummary(
            agent_id=agent_id, cards=cards, finalised=finalised,
            mean_score=round(sum(scores) / len(scores), 1) if scores else None, critical_fails=fails,
            trend=trend, direction=_direction([t["mean_score"] for t in trend]),
            strengths=[{"item_id": k, "question": questions[k], "met": n, "of": seen[k]}
                       for k, n in met.most_common(top)],
            development_points=[{"item_id": k, "question": questions[k], "missed": n, "of": seen[k]}
                                for k, n in missed.most_common(top)],
            open_actions=actions,
        )


def _direction(means: Sequence[float], *, tolerance: float = 2.0) -> str:
    """Least-squares slope of the per-period means, in score points per period."""
    if len(means) < 2:
        return "not enough data"
    n = len(means)
    x_bar = (n - 1) / 2
    y_bar = sum(means) / n
    slope = sum((i - x_bar) * (y - y_bar) for i, y in enumerate(means)) / sum((i - x_bar) ** 2 for i in range(n))
    if slope > tolerance:
        return "improving"
    if slope < -tolerance:
        return "declining"
    return "steady"
