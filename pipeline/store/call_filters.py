"""Which calls a query may return: the user's filters and the viewer's scope, as SQL conditions on `calls`.

Shared by full-text search (`pipeline.store.search`) and the review queue's page
(`pipeline.store.queue_page`), so that a filter means the same in both. Every condition is on
`CallRow` (directly or through a correlated EXISTS), so a query only has to select from or join
`calls`. Values are bound parameters; a flag or event kind is checked against a safe alphabet
first because it is matched inside a stored text.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import String, and_, cast, exists, false, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from .models import CallRow, ResultRow, ScorecardRow, SearchCallRow

__all__ = ["SENTIMENTS", "SENTIMENT_BAND", "Scope", "CallFilters", "call_conditions", "card_score", "flag_condition"]

# Codes only: flags (result_flags) and event kinds (schema.EVENT_KINDS) are lower-case words with . and _.
_CODE = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
SENTIMENTS = ("negative", "neutral", "positive")
# A call's customer sentiment in [-1, 1] is "neutral" within this band (VADER's customary +-0.05).
SENTIMENT_BAND = 0.05


class Scope(BaseModel):
    """The calls a viewer may see at all, whatever they filter: None means no limit on that axis."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    teams: frozenset[str] | None = None  # a team leader: these teams' calls only (empty: none)
    agent: str | None = None  # an agent: their own calls only


class CallFilters(BaseModel):
    """What a user asked for: every field narrows, None means any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str | None = Field(None, max_length=128)
    team: str | None = Field(None, max_length=128)
    queue: str | None = Field(None, max_length=128)
    channel: str | None = Field(None, max_length=16)
    since: dt.datetime | None = Field(None, description="The call started at or after (inclusive).")
    until: dt.datetime | None = Field(None, description="The call started before (exclusive).")
    event_kind: str | None = None
    score_min: float | None = Field(None, ge=0.0, le=100.0)
    score_max: float | None = Field(None, ge=0.0, le=100.0)
    flag: str | None = None
    sentiment: Literal["negative", "neutral", "positive"] | None = None

    @field_validator("event_kind", "flag")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        if value is not None and not _CODE.match(value):
            raise ValueError("must be a code: lower-case letters, digits, '.' and '_' (e.g. critical_failed)")
        return value

    @model_validator(mode="after")
    def _ranges(self) -> CallFilters:
        if self.score_min is not None and self.score_max is not None and self.score_min > self.score_max:
            raise ValueError("score_min is above score_max")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("the date range is empty (since is not before until)")
        return self


def card_score() -> ColumnElement:
    """A current card's score for filters and sorting: the final score once finalised, else the
    pre-fill's suggested score (an open card's live score depends on decisions the index does not total)."""
    return func.coalesce(ScorecardRow.final_score, ScorecardRow.suggested_score)


def _current_card() -> ColumnElement:
    return and_(ScorecardRow.call_id == CallRow.call_id, ScorecardRow.current.is_(True))


def flag_condition(flag: str) -> ColumnElement:
    """The call's current card's result carries the flag (critical_failed: or the card was finalised so)."""
    listed = cast(ResultRow.flags, String).contains(f'"{flag}"', autoescape=True)
    if flag == "critical_failed":
        listed = or_(listed, ScorecardRow.final_critical_failed.is_(True))
    return exists(select(ScorecardRow.id).join(ResultRow, ResultRow.id == ScorecardRow.result_id)
                  .where(_current_card(), listed))


def call_conditions(filters: CallFilters, scope: Scope) -> list[ColumnElement]:
    """SQL conditions on CallRow for the filters within the scope (all must hold)."""
    out: list[ColumnElement] = []
    if scope.teams is not None:
        # A team leader without a team sees nothing, never everything.
        out.append(CallRow.team_id.in_(sorted(scope.teams)) if scope.teams else false())
    if scope.agent is not None:
        out.append(CallRow.agent_id == scope.agent)
    if filters.agent:
        out.append(CallRow.agent_id == filters.agent)
    if filters.team:
        out.append(CallRow.team_id == filters.team)
    if filters.queue:
        out.append(CallRow.queue == filters.queue)
    if filters.channel:
        out.append(CallRow.channel_type == filters.channel)
    if filters.since is not None:
        out.append(CallRow.started_at >= filters.since)
    if filters.until is not None:
        out.append(CallRow.started_at < filters.until)
    if filters.score_min is not None or filters.score_max is not None:
        score = card_score()
        bounds = [_current_card(), score.is_not(None)]
        if filters.score_min is not None:
            bounds.append(score >= filters.score_min)
        if filters.score_max is not None:
            bounds.append(score <= filters.score_max)
        out.append(exists(select(ScorecardRow.id).where(*bounds)))
    if filters.flag:
        out.append(flag_condition(filters.flag))
    if filters.event_kind:
        out.append(exists(select(SearchCallRow.call_id).where(
            SearchCallRow.call_id == CallRow.call_id,
            SearchCallRow.event_kinds.contains(f" {filters.event_kind} ", autoescape=True))))
    if filters.sentiment:
        value = SearchCallRow.customer_sentiment
        band = {"negative": value < -SENTIMENT_BAND, "positive": value > SENTIMENT_BAND,
                "neutral": value.between(-SENTIMENT_BAND, SENTIMENT_BAND)}[filters.sentiment]
        out.append(exists(select(SearchCallRow.call_id).where(SearchCallRow.call_id == CallRow.call_id, band)))
    return out
