"""The assessor's workflow over the results index: review, feedback, calibration, exports.

Plain keyword-only functions; the `callqa review` / `callqa calibrate` commands and the web app
call the same ones. Every call records who did what in the access log, in the same transaction
as the change it makes. Decisions are appended, never overwritten: an item's state is its latest
review decision, and the earlier ones stay as its history.

    list_cards       the queue (pending / by agent / flagged)
    show_card        one card with evidence, times and decision history
    confirm_item     accept an item's suggestion
    override_item    set another value, with a required reason
    finalise         close a card (refused while any item is pending)
    self_assess      the agent's own marks, recorded before the assessor's are shown to them
    add_note ...     feedback notes: strengths and development points in the assessor's words
    add_action ...   agreed actions with owner and review date
    agent_summary    strengths, development points and trend over time, per agent
    mark_item        an assessor's independent calibration mark
    calibrate        agreement between assessors, and between pre-fill and final values
    calibration_marks  each assessor's independent marks on one call, side by side
    call_agent, log_access, access_log   ownership look-up and the access log (web app)
    export_html, export_period
"""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import io
import json
import logging
import os
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.errors import CallqaError
from pipeline.schema import CallResult, EvidenceRef, Scorecard, ScorecardItem
from pipeline.score.agreement import cohen_kappa, fleiss_kappa, percent_agreement
from pipeline.score.engine import apply_decisions, card_totals
from pipeline.score.render import render_scorecard_html
from pipeline.store import Store
from pipeline.store.models import (
    AccessLogRow,
    ActionRow,
    CallRow,
    FeedbackNoteRow,
    DecisionRow,
    ItemRow,
    ResultRow,
    ScorecardRow,
    SelfAssessmentRow,
    utcnow,
)

__all__ = [
    "VALUES",
    "USER_ENV",
    "ReviewError",
    "DecisionView",
    "CardSummary",
    "CardView",
    "ActionView",
    "AgentSummary",
    "ItemAgreement",
    "CalibrationReport",
    "current_user",
    "list_cards",
    "show_card",
    "confirm_item",
    "override_item",
    "finalise",
    "self_assess",
    "add_action",
    "list_actions",
    "close_action",
    "agent_summary",
    "mark_item",
    "calibrate",
    "export_html",
    "export_period",
    "AccessEntry",
    "call_agent",
    "log_access",
    "access_log",
    "calibration_marks",
    "NoteView",
    "NOTE_KINDS",
    "add_note",
    "list_notes",
]

log = logging.getLogger(__name__)

VALUES: tuple[str, ...] = ("yes", "no", "partial", "n/a")
USER_ENV = "CALLQA_USER"
Value = Literal["yes", "no", "partial", "n/a"]


class ReviewError(CallqaError):
    """A review action was refused (unknown call or item, card finalised, items pending, ...).

    Attributes:
        call_id: the call concerned, when known.
        reason: a short code: unknown_call, unknown_item, finalised, pending, bad_value,
            reason_required, no_suggestion, already_self_assessed, unknown_action.
    """

    def __init__(self, message: str, *, reason: str, call_id: str | None = None):
        self.call_id = call_id
        self.reason = reason
        super().__init__((f"call {call_id}: " if call_id else "") + message)


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class DecisionView(_View):
    item_id: str
    who: str
    at: dt.datetime
    kind: str = Field(description="confirm | override | mark")
    value: str | None
    reason: str | None
    mode: str = Field(description="review | calibration")


class CardSummary(_View):
    call_id: str
    agent_id: str | None
    channel_type: str
    started_at: dt.datetime | None
    template: str
    purpose: str
    status: Literal["open", "finalised"]
    items: int
    pending: int
    suggested_score: float | None
    final_score: float | None
    critical_failed: bool
    flags: list[str]


class CardView(_View):
    summary: CardSummary
    card: Scorecard = Field(description="The card with decisions applied; quotes from result.json when readable.")
    history: dict[str, list[DecisionView]] = Field(description="Review decisions per item, oldest first.")
    self_assessment: dict[str, str] | None = Field(None, description="The agent's own marks, when made.")
    assessor_marks_hidden: bool = Field(False, description="True when shown to an agent before self-assessment.")
    result_path: str | None = None


class ActionView(_View):
    id: int
    call_id: str | None
    agent_id: str | None
    description: str
    owner: str
    review_date: dt.date
    created_by: str
    status: str


class AgentSummary(_View):
    agent_id: str
    cards: int
    finalised: int
    mean_score: float | None = Field(description="Mean final score of finalised cards (suggested for open ones).")
    critical_fails: int
    trend: list[dict] = Field(description="[{period, cards, mean_score}] oldest first.")
    direction: Literal["improving", "declining", "steady", "not enough data"]
    strengths: list[dict] = Field(description="[{item_id, question, met, of}] items most often met.")
    development_points: list[dict] = Field(description="[{item_id, question, missed, of}] items most often missed.")
    open_actions: list[ActionView]


class ItemAgreement(_View):
    item_id: str
    subjects: int = Field(description="Calls on which the raters' marks are compared.")
    percent_agreement: float | None
    kappa: float | None
    auto_subjects: int = Field(description="Calls with a final assessor value to compare the suggestion with.")
    auto_percent_agreement: float | None
    auto_kappa: float | None


class CalibrationReport(_View):
    calls: list[str]
    raters: list[str]
    method: str = Field(description="cohen (two raters) or fleiss (three or more)")
    items: list[ItemAgreement]
    overall_percent_agreement: float | None
    overall_kappa: float | None
    auto_percent_agreement: float | None
    auto_kappa: float | None


# ------------------------------------------------------------------------------------ helpers


def current_user(assessor: str | None = None) -> str:
    """Who is acting: the --assessor option, else $CALLQA_USER, else the OS user."""
    user = (assessor or os.environ.get(USER_ENV) or getpass.getuser() or "").strip()
    if not user:
        raise ReviewError("cannot tell who you are; pass --assessor or set CALLQA_USER", reason="unknown_user")
    return user[:128]


def _log(s: Session, who: str, action: str, *, call_id: str | None = None, scorecard_id: int | None = None,
         item_id: str | None = None, detail: str | None = None) -> None:
    s.add(AccessLogRow(at=utcnow(), who=who, action=action, call_id=call_id, scorecard_id=scorecard_id,
                       item_id=item_id, detail=detail[:256] if detail else None))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _card_row(s: Session, call_id: str, *, lock: bool = False) -> ScorecardRow:
    query = select(ScorecardRow).where(ScorecardRow.call_id == call_id, ScorecardRow.current.is_(True))
    if lock:
        # Serialises decisions and finalising on one card (PostgreSQL row lock; SQLite's
        # BEGIN IMMEDIATE already holds the database write lock).
        query = query.with_for_update()
    row = s.scalars(query).first()
    if row is None:
        raise ReviewError("no scorecard for this call in the results index", reason="unknown_call", call_id=call_id)
    return row


def _items(s: Session, card: ScorecardRow) -> list[ItemRow]:
    return list(s.scalars(select(ItemRow).where(ItemRow.scorecard_id == card.id).order_by(ItemRow.position)))


def _decisions(s: Session, card: ScorecardRow, mode: str = "review") -> list[DecisionRow]:
    return list(s.scalars(select(DecisionRow).where(DecisionRow.scorecard_id == card.id, DecisionRow.mode == mode)
                          .order_by(DecisionRow.id)))


def _latest(decisions: Sequence[DecisionRow]) -> dict[str, DecisionRow]:
    latest: dict[str, DecisionRow] = {}
    for d in decisions:  # ordered by id: the last one wins
        latest[d.item_id] = d
    return latest


def _decision_view(d: DecisionRow) -> DecisionView:
    return DecisionView(item_id=d.item_id, who=d.who, at=_aware(d.at), kind=d.kind, value=d.value, reason=d.reason,
                        mode=d.mode)


def _state(latest: Mapping[str, DecisionRow]) -> dict[str, tuple[str, str | None, str | None]]:
    return {item_id: ("confirmed" if d.kind == "confirm" else "overridden", d.value, d.reason)
            for item_id, d in latest.items()}


def _quotes(result_path: str | None) -> dict[tuple, str]:
    """Quotes of the evidence, from result.json (the index keeps none)."""
    if not result_path or not Path(result_path).is_file():
        return {}
    try:
        result = CallResult.model_validate_json(Path(result_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("result.json of a call could not be read for quotes; showing evidence without them")
        return {}
    quotes: dict[tuple, str] = {}
    if result.scorecard is not None:
        for item in result.scorecard.items:
            for ev in item.evidence:
                quotes[(ev.event_index, ev.sla_rule, ev.kind)] = ev.quote
    for index, event in enumerate(result.events):
        quotes.setdefault((index, None, event.kind), event.evidence)
    return quotes


def _base_card(card: ScorecardRow, items: Sequence[ItemRow], quotes: Mapping[tuple, str]) -> Scorecard:
    schema_items = [
        ScorecardItem(
            id=i.item_id, section=i.section, question=i.question, standard_ref=i.standard_ref, weight=i.weight,
            critical=i.critical, suggestion=i.suggestion, confidence=i.confidence,
            needs_observation=i.needs_observation, rule=i.rule,
            evidence=[EvidenceRef(event_index=e.get("event_index"), sla_rule=e.get("sla_rule"), kind=e["kind"],
                                  quote=quotes.get((e.get("event_index"), e.get("sla_rule"), e["kind"]), ""),
                                  start_s=e.get("start_s"), confidence=e["confidence"]) for e in i.evidence],
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


def _summary(s: Session, card: ScorecardRow, scored: Scorecard) -> CardSummary:
    call = s.get(CallRow, card.call_id)
    result = s.get(ResultRow, card.result_id)
    finalised = card.finalised_at is not None
    return CardSummary(
        call_id=card.call_id, agent_id=call.agent_id if call else None,
        channel_type=card.channel_type, started_at=_aware(call.started_at) if call else None,
        template=card.template, purpose=card.purpose, status="finalised" if finalised else "open",
        items=len(scored.items), pending=scored.pending, suggested_score=scored.suggested_score,
        final_score=card.final_score if finalised else scored.score,
        critical_failed=bool(card.final_critical_failed) if finalised else scored.critical_failed,
        flags=list(result.flags or []) if result else [],
    )


def _scored(s: Session, card: ScorecardRow, quotes: Mapping[tuple, str] | None = None) -> Scorecard:
    base = _base_card(card, _items(s, card), quotes or {})
    return apply_decisions(base, _state(_latest(_decisions(s, card))))


def _bulk_scored(s: Session, cards: Sequence[ScorecardRow]) -> dict[int, Scorecard]:
    """Cards with decisions applied, in three queries however many cards (queues, exports)."""
    ids = [c.id for c in cards]
    items: dict[int, list[ItemRow]] = defaultdict(list)
    decisions: dict[int, list[DecisionRow]] = defaultdict(list)
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start:chunk_start + 500]
        for row in s.scalars(select(ItemRow).where(ItemRow.scorecard_id.in_(chunk))
                             .order_by(ItemRow.scorecard_id, ItemRow.position)):
            items[row.scorecard_id].append(row)
        for row in s.scalars(select(DecisionRow).where(DecisionRow.scorecard_id.in_(chunk),
                                                       DecisionRow.mode == "review").order_by(DecisionRow.id)):
            decisions[row.scorecard_id].append(row)
        # Load the cards' calls and results into the session so that _summary's get() hits memory.
        call_ids = {c.call_id for c in cards if c.id in chunk}
        list(s.scalars(select(CallRow).where(CallRow.call_id.in_(call_ids))))
        list(s.scalars(select(ResultRow).where(ResultRow.id.in_({c.result_id for c in cards if c.id in chunk}))))
    return {c.id: apply_decisions(_base_card(c, items[c.id], {}), _state(_latest(decisions[c.id]))) for c in cards}


# -------------------------------------------------------------------------------------- review


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
        query = (select(ScorecardRow).join(CallRow, CallRow.call_id == ScorecardRow.call_id)
                 .where(ScorecardRow.current.is_(True)))
        if agent:
            query = query.where(CallRow.agent_id == agent)
        if since:
            query = query.where(CallRow.started_at >= since)
        if until:
            query = query.where(CallRow.started_at < until)
        query = query.order_by(CallRow.started_at.desc().nulls_last(), ScorecardRow.call_id)
        cards = list(s.scalars(query))
        scored = _bulk_scored(s, cards)
        out = []
        for card in cards:
            summary = _summary(s, card, scored[card.id])
            if pending and summary.pending == 0:
                continue
            if flagged and not (summary.flags or summary.critical_failed):
                continue
            out.append(summary)
        _log(s, user, "list", detail=f"pending={pending} agent={agent or ''} flagged={flagged} n={len(out)}")
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
        card = _card_row(s, call_id)
        result_row = s.get(ResultRow, card.result_id)
        path = result_row.result_path if result_row else None
        scored = _scored(s, card, _quotes(path))
        history: dict[str, list[DecisionView]] = defaultdict(list)
        for d in _decisions(s, card):
            history[d.item_id].append(_decision_view(d))
        own = {r.item_id: r.value for r in s.scalars(
            select(SelfAssessmentRow).where(SelfAssessmentRow.scorecard_id == card.id).order_by(SelfAssessmentRow.id))}
        hidden = as_agent and not own
        summary = _summary(s, card, scored)
        if hidden:
            scored = _base_card(card, _items(s, card), _quotes(path))
            history = defaultdict(list)
            summary = summary.model_copy(update={"final_score": None, "critical_failed": scored.critical_failed})
        _log(s, user, "view", call_id=call_id, scorecard_id=card.id, detail="as_agent" if as_agent else None)
        return CardView(summary=summary, card=scored, history=dict(history), self_assessment=own or None,
                        assessor_marks_hidden=hidden, result_path=path)


def _decide(store: Store, user: str, call_id: str, item_id: str, *, kind: str, value: str | None,
            reason: str | None, mode: str) -> DecisionView:
    with store.session() as s:
        card = _card_row(s, call_id, lock=True)
        if mode == "review" and card.finalised_at is not None:
            raise ReviewError("the scorecard is finalised; decisions are closed", reason="finalised", call_id=call_id)
        item = s.scalars(select(ItemRow).where(ItemRow.scorecard_id == card.id, ItemRow.item_id == item_id)).first()
        if item is None:
            allowed = ", ".join(i.item_id for i in _items(s, card))
            raise ReviewError(f"no item {item_id!r} on this card; items: {allowed}", reason="unknown_item",
                              call_id=call_id)
        if kind == "confirm":
            if item.suggestion is None:
                raise ReviewError(f"item {item_id!r} has no suggestion to confirm; override it with a value",
                                  reason="no_suggestion", call_id=call_id)
            value = item.suggestion
        row = DecisionRow(scorecard_id=card.id, item_id=item_id, who=user, at=utcnow(), kind=kind, value=value,
                          reason=reason, mode=mode)
        s.add(row)
        _log(s, user, kind if mode == "review" else "calibration_mark", call_id=call_id, scorecard_id=card.id,
             item_id=item_id, detail=value)
        s.flush()
        return _decision_view(row)


def _check_value(value: str, call_id: str) -> str:
    if value not in VALUES:
        raise ReviewError(f"value must be one of {', '.join(VALUES)}", reason="bad_value", call_id=call_id)
    return value


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
    return _decide(store, user, call_id, item_id, kind="override", value=_check_value(value, call_id),
                   reason=reason.strip(), mode="review")


def finalise(*, store: Store, user: str, call_id: str) -> CardSummary:
    """Close a card: its final score and critical result are fixed; no more decisions.

    Raises:
        ReviewError: items still pending (their number is in the message), or already finalised.
    """
    with store.session() as s:
        card = _card_row(s, call_id, lock=True)
        if card.finalised_at is not None:
            raise ReviewError("the scorecard is already finalised", reason="finalised", call_id=call_id)
        scored = _scored(s, card)
        if scored.pending:
            pending = [i.id for i in scored.items if i.status == "pending"]
            raise ReviewError(f"{len(pending)} item(s) still pending: {', '.join(pending)}", reason="pending",
                              call_id=call_id)
        card.finalised_at = utcnow()
        card.finalised_by = user
        card.final_score = scored.score
        card.final_critical_failed = scored.critical_failed
        _log(s, user, "finalise", call_id=call_id, scorecard_id=card.id)
        s.flush()
        return _summary(s, card, scored)


# ------------------------------------------------------------------------------------ feedback


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
        card = _card_row(s, call_id, lock=True)
        known = {i.item_id for i in _items(s, card)}
        for item_id, value in marks.items():
            if item_id not in known:
                raise ReviewError(f"no item {item_id!r} on this card", reason="unknown_item", call_id=call_id)
            _check_value(value, call_id)
        done = s.scalars(select(SelfAssessmentRow.id).where(SelfAssessmentRow.scorecard_id == card.id,
                                                            SelfAssessmentRow.who == user)).first()
        if done is not None:
            raise ReviewError("you have already self-assessed this call", reason="already_self_assessed",
                              call_id=call_id)
        now = utcnow()
        for item_id, value in marks.items():
            s.add(SelfAssessmentRow(scorecard_id=card.id, item_id=item_id, who=user, value=value, at=now))
        _log(s, user, "self_assess", call_id=call_id, scorecard_id=card.id, detail=f"{len(marks)} marks")
        return dict(marks)


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
        call = s.get(CallRow, call_id)
        if call is None:
            raise ReviewError("no such call in the results index", reason="unknown_call", call_id=call_id)
        row = ActionRow(call_id=call_id, agent_id=call.agent_id, description=description.strip(),
                        owner=owner.strip()[:128], review_date=review_date, created_by=user, created_at=utcnow(),
                        status="open")
        s.add(row)
        s.flush()
        _log(s, user, "action_add", call_id=call_id, detail=f"action {row.id}")
        return _action_view(row)


def list_actions(*, store: Store, user: str, agent: str | None = None, open_only: bool = True,
                 due_by: dt.date | None = None) -> list[ActionView]:
    """Agreed actions, soonest review date first."""
    with store.session() as s:
        query = select(ActionRow).order_by(ActionRow.review_date, ActionRow.id)
        if agent:
            query = query.where(ActionRow.agent_id == agent)
        if open_only:
            query = query.where(ActionRow.status == "open")
        if due_by:
            query = query.where(ActionRow.review_date <= due_by)
        out = [_action_view(a) for a in s.scalars(query)]
        _log(s, user, "action_list", detail=f"agent={agent or ''} n={len(out)}")
        return out


def close_action(*, store: Store, user: str, action_id: int) -> ActionView:
    """Mark an action done at its review.

    Raises:
        ReviewError: no such action.
    """
    with store.session() as s:
        row = s.get(ActionRow, action_id, with_for_update=True)
        if row is None:
            raise ReviewError(f"no action {action_id}", reason="unknown_action")
        row.status = "done"
        row.closed_at = utcnow()
        _log(s, user, "action_close", call_id=row.call_id, detail=f"action {action_id}")
        s.flush()
        return _action_view(row)


def agent_summary(*, store: Store, user: str, agent_id: str, since: dt.datetime | None = None,
                  until: dt.datetime | None = None, period: Literal["week", "month"] = "month",
                  top: int = 3) -> AgentSummary:
    """An agent's strengths, development points and trend, for coaching and development plans.

    Finalised cards count with their final values; open cards with decided values where made
    and suggestions elsewhere. Strengths are the items most often met, development points the
    items most often missed (n/a and unmarked items leave the counts).
    """
    with store.session() as s:
        query = (select(ScorecardRow, CallRow).join(CallRow, CallRow.call_id == ScorecardRow.call_id)
                 .where(ScorecardRow.current.is_(True), CallRow.agent_id == agent_id))
        if since:
            query = query.where(CallRow.started_at >= since)
        if until:
            query = query.where(CallRow.started_at < until)
        met: Counter[str] = Counter()
        missed: Counter[str] = Counter()
        seen: Counter[str] = Counter()
        questions: dict[str, str] = {}
        by_period: dict[str, list[float]] = defaultdict(list)
        scores: list[float] = []
        cards = finalised = fails = 0
        rows = list(s.execute(query))
        bulk = _bulk_scored(s, [card for card, _ in rows])
        for card, call in rows:
            scored = bulk[card.id]
            cards += 1
            finalised += card.finalised_at is not None
            value_score = card.final_score if card.finalised_at is not None else scored.suggested_score
            failed = card.final_critical_failed if card.finalised_at is not None else scored.critical_failed
            fails += bool(failed)
            if value_score is not None:
                scores.append(value_score)
                when = _aware(call.started_at) or _aware(card.created_at)
                year, week, _ = when.isocalendar()
                key = when.strftime("%Y-%m") if period == "month" else f"{year}-W{week:02d}"
                by_period[key].append(value_score)
            for item in scored.items:
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
        actions = [_action_view(a) for a in s.scalars(select(ActionRow).where(
            ActionRow.agent_id == agent_id, ActionRow.status == "open").order_by(ActionRow.review_date))]
        _log(s, user, "agent_summary", detail=f"agent={agent_id}")
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


# --------------------------------------------------------------------------------- calibration


def mark_item(*, store: Store, user: str, call_id: str, item_id: str, value: str) -> DecisionView:
    """Record an assessor's independent calibration mark (it does not change the card).

    Raises:
        ReviewError: unknown call, item or value.
    """
    return _decide(store, user, call_id, item_id, kind="mark", value=_check_value(value, call_id), reason=None,
                   mode="calibration")


def calibrate(*, store: Store, user: str, call_ids: Sequence[str]) -> CalibrationReport:
    """Agreement between assessors' independent marks, and between pre-fill and final values.

    Each assessor's latest calibration mark per item counts. Per item, the subjects are the
    calls every rater marked; with two raters Cohen's kappa, with more Fleiss' kappa; percent
    agreement is the mean pairwise agreement. The auto figures compare each item's suggestion
    with the assessor's final review value (decided items only).

    Raises:
        ReviewError: a call has no scorecard.
    """
    marks: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # (call, item) -> rater -> value
    auto_pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    item_order: list[str] = []
    raters: set[str] = set()
    with store.session() as s:
        for call_id in call_ids:
            card = _card_row(s, call_id)
            items = _items(s, card)
            for item in items:
                if item.item_id not in item_order:
                    item_order.append(item.item_id)
            for d in _decisions(s, card, mode="calibration"):
                marks[(call_id, d.item_id)][d.who] = d.value
                raters.add(d.who)
            final = _latest(_decisions(s, card))
            for item in items:
                if item.item_id in final and item.suggestion is not None:
                    auto_pairs[item.item_id].append((item.suggestion, final[item.item_id].value))
        _log(s, user, "calibrate", detail=f"{len(call_ids)} calls")
    rater_list = sorted(raters)
    method = "cohen" if len(rater_list) == 2 else "fleiss"

    def agreement(subjects: list[list[str]]) -> tuple[float | None, float | None]:
        if not subjects:
            return None, None
        if method == "cohen":
            return percent_agreement(subjects), cohen_kappa([(a, b) for a, b in subjects])
        return percent_agreement(subjects), fleiss_kappa(subjects)

    per_item: list[ItemAgreement] = []
    all_subjects: list[list[str]] = []
    all_auto: list[tuple[str, str]] = []
    for item_id in item_order:
        subjects = []
        for call_id in call_ids:
            by_rater = marks.get((call_id, item_id), {})
            if len(rater_list) >= 2 and all(r in by_rater for r in rater_list):
                subjects.append([by_rater[r] for r in rater_list])
        pct, kappa = agreement(subjects)
        all_subjects.extend(subjects)
        pairs = auto_pairs.get(item_id, [])
        all_auto.extend(pairs)
        per_item.append(ItemAgreement(
            item_id=item_id, subjects=len(subjects), percent_agreement=pct, kappa=kappa, auto_subjects=len(pairs),
            auto_percent_agreement=percent_agreement([list(p) for p in pairs]), auto_kappa=cohen_kappa(pairs)))
    overall_pct, overall_kappa = agreement(all_subjects)
    return CalibrationReport(
        calls=list(call_ids), raters=rater_list, method=method, items=per_item,
        overall_percent_agreement=overall_pct, overall_kappa=overall_kappa,
        auto_percent_agreement=percent_agreement([list(p) for p in all_auto]), auto_kappa=cohen_kappa(all_auto))


# ------------------------------------------------------------------------------------- exports


def export_html(*, store: Store, user: str, call_id: str, out_path: Path | str) -> Path:
    """Write the call's scorecard.html with decisions, history and who decided (atomic write).

    Raises:
        ReviewError: no scorecard for the call.
    """
    view = show_card(store=store, user=user, call_id=call_id)
    result = _result_for_render(view)
    history = {k: [{"who": d.who, "at": d.at.strftime("%Y-%m-%d %H:%M UTC"), "kind": d.kind, "value": d.value,
                    "reason": d.reason} for d in v] for k, v in view.history.items()}
    html = render_scorecard_html(result, history=history, status=view.summary.status)
    out = Path(out_path)
    _atomic_write(out, html)
    with store.session() as s:
        _log(s, user, "export_html", call_id=call_id)
    return out


def _result_for_render(view: CardView) -> CallResult:
    if view.result_path and Path(view.result_path).is_file():
        try:
            result = CallResult.model_validate_json(Path(view.result_path).read_text(encoding="utf-8"))
            card = view.card
            if result.scorecard is not None:
                # The index keeps section ids only; the titles come from the card as scored.
                titles = {s.section: s.title for s in result.scorecard.sections}
                card = card.model_copy(update={"sections": [
                    s.model_copy(update={"title": s.title or titles.get(s.section)}) for s in card.sections]})
            return result.model_copy(update={"scorecard": card})
        except ValueError:
            log.warning("result.json could not be read; rendering from the index alone")
    from pipeline.schema import PipelineInfo, RecordingMetadata, Source

    return CallResult(call_id=view.summary.call_id, channel_type=view.summary.channel_type,
                      source=Source(path="(index)", sha256="0" * 64, format="unknown", duration_s=None,
                                    sample_rate=None, channels=None),
                      metadata=RecordingMetadata(agent_id=view.summary.agent_id,
                                                 started_at=view.summary.started_at.isoformat()
                                                 if view.summary.started_at else None),
                      pipeline=PipelineInfo(version="unknown", config_hash="0" * 64), turns=[], scorecard=view.card)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


EXPORT_COLUMNS = ("call_id", "agent_id", "channel_type", "started_at", "template", "purpose", "status",
                  "score", "suggested_score", "critical_failed", "item_id", "section", "critical", "weight",
                  "suggestion", "confidence", "item_status", "value", "decided_by", "decided_at", "evidence_times")


def export_period(*, store: Store, user: str, since: dt.datetime | None, until: dt.datetime | None,
                  fmt: Literal["csv", "json"], out_path: Path | str, agent: str | None = None) -> Path:
    """Scorecards of calls started in [since, until) as CSV (a row per item) or JSON (a card per call).

    Rows hold ids, values, scores and times only (no quotes). Each card says its purpose
    (formative / summative).
    """
    if fmt not in ("csv", "json"):
        raise ReviewError("format must be csv or json", reason="bad_value")
    cards_out: list[dict] = []
    with store.session() as s:
        query = (select(ScorecardRow).join(CallRow, CallRow.call_id == ScorecardRow.call_id)
                 .where(ScorecardRow.current.is_(True)).order_by(CallRow.started_at, ScorecardRow.call_id))
        if since:
            query = query.where(CallRow.started_at >= since)
        if until:
            query = query.where(CallRow.started_at < until)
        if agent:
            query = query.where(CallRow.agent_id == agent)
        cards = list(s.scalars(query))
        bulk = _bulk_scored(s, cards)
        for card in cards:
            scored = bulk[card.id]
            summary = _summary(s, card, scored)
            latest = _latest(_decisions(s, card))
            items = []
            for item in scored.items:
                d = latest.get(item.id)
                items.append({
                    "item_id": item.id, "section": item.section, "critical": item.critical, "weight": item.weight,
                    "suggestion": item.suggestion, "confidence": item.confidence, "item_status": item.status,
                    "value": item.assessor_value, "decided_by": d.who if d else None,
                    "decided_at": _aware(d.at).isoformat() if d else None,
                    "evidence_times": [e.start_s for e in item.evidence if e.start_s is not None],
                })
            cards_out.append({**json.loads(summary.model_dump_json()), "score": summary.final_score,
                              "sections": [json.loads(x.model_dump_json()) for x in scored.sections],
                              "items_detail": items})
        _log(s, user, f"export_{fmt}", detail=f"{len(cards_out)} cards")
    out = Path(out_path)
    if fmt == "json":
        _atomic_write(out, json.dumps({"since": since.isoformat() if since else None,
                                       "until": until.isoformat() if until else None, "cards": cards_out}, indent=2))
        return out
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for card in cards_out:
        for item in card["items_detail"]:
            writer.writerow({
                "call_id": card["call_id"], "agent_id": card["agent_id"], "channel_type": card["channel_type"],
                "started_at": card["started_at"], "template": card["template"], "purpose": card["purpose"],
                "status": card["status"], "score": card["score"], "suggested_score": card["suggested_score"],
                "critical_failed": card["critical_failed"], **{k: item[k] for k in (
                    "item_id", "section", "critical", "weight", "suggestion", "confidence", "item_status", "value",
                    "decided_by", "decided_at")},
                "evidence_times": ";".join(f"{t:.3f}" for t in item["evidence_times"]),
            })
    _atomic_write(out, buffer.getvalue())
    return out


# ---------------------------------------------------------------------------------- access log


class AccessEntry(_View):
    at: dt.datetime
    who: str
    action: str
    call_id: str | None
    item_id: str | None
    detail: str | None


def call_agent(*, store: Store, call_id: str) -> tuple[bool, str | None]:
    """Whether the call is in the index, and its agent id (for access checks before a view)."""
    with store.session() as s:
        call = s.get(CallRow, call_id)
        return (call is not None, call.agent_id if call is not None else None)


def log_access(*, store: Store, user: str, action: str, call_id: str | None = None,
               detail: str | None = None) -> None:
    """Record a view or a refusal that no other review function records (audio, audit, denied)."""
    with store.session() as s:
        _log(s, user, action[:32], call_id=call_id, detail=detail)


def access_log(*, store: Store, user: str, call_id: str | None = None, who: str | None = None,
               limit: int = 500) -> list[AccessEntry]:
    """The newest access-log entries first (the read itself is logged)."""
    with store.session() as s:
        query = select(AccessLogRow).order_by(AccessLogRow.id.desc()).limit(max(1, min(limit, 5000)))
        if call_id:
            query = query.where(AccessLogRow.call_id == call_id)
        if who:
            query = query.where(AccessLogRow.who == who)
        out = [AccessEntry(at=_aware(r.at), who=r.who, action=r.action, call_id=r.call_id, item_id=r.item_id,
                           detail=r.detail) for r in s.scalars(query)]
        _log(s, user, "access_log", call_id=call_id, detail=f"n={len(out)}")
        return out


def calibration_marks(*, store: Store, user: str, call_id: str) -> dict[str, dict[str, str]]:
    """{item_id: {assessor: value}}: each assessor's latest independent mark on the call.

    Raises:
        ReviewError: no scorecard for the call.
    """
    with store.session() as s:
        card = _card_row(s, call_id)
        marks: dict[str, dict[str, str]] = defaultdict(dict)
        for d in _decisions(s, card, mode="calibration"):
            marks[d.item_id][d.who] = d.value
        _log(s, user, "calibration_view", call_id=call_id, scorecard_id=card.id)
        return {k: dict(v) for k, v in marks.items()}


# ------------------------------------------------------------------------------ feedback notes

NOTE_KINDS: tuple[str, ...] = ("strength", "development")


class NoteView(_View):
    id: int
    kind: str = Field(description="strength | development")
    text: str
    who: str
    at: dt.datetime


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
        card = _card_row(s, call_id)
        row = FeedbackNoteRow(scorecard_id=card.id, kind=kind, text=text.strip()[:2000], who=user, at=utcnow())
        s.add(row)
        s.flush()
        _log(s, user, "note_add", call_id=call_id, scorecard_id=card.id, detail=f"{kind} note {row.id}")
        return NoteView(id=row.id, kind=kind, text=row.text, who=user, at=_aware(row.at))


def list_notes(*, store: Store, user: str, call_id: str) -> list[NoteView]:
    """The card's feedback notes, oldest first (read with the card: its view is logged there).

    Raises:
        ReviewError: unknown call.
    """
    with store.session() as s:
        card = _card_row(s, call_id)
        return [NoteView(id=r.id, kind=r.kind, text=r.text, who=r.who, at=_aware(r.at)) for r in s.scalars(
            select(FeedbackNoteRow).where(FeedbackNoteRow.scorecard_id == card.id).order_by(FeedbackNoteRow.id))]
