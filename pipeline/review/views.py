"""What the review functions return: small frozen records, free of database rows."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.schema import Scorecard

__all__ = ["VALUES", "Value", "DecisionView", "CardSummary", "CardView", "ActionView", "AgentSummary",
           "ItemAgreement", "CalibrationReport", "CalibrationMarks", "CalibrationSessionView", "AccessEntry",
           "NoteView"]

VALUES: tuple[str, ...] = ("yes", "no", "partial", "n/a")
Value = Literal["yes", "no", "partial", "n/a"]


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
    alpha: float | None = Field(None, description="Krippendorff's alpha, ordinal (no < partial < yes), n/a missing.")
    alpha_ci: tuple[float, float] | None = Field(None, description="95% bootstrap interval of alpha.")


class CalibrationReport(_View):
    calls: list[str]
    raters: list[str]
    method: str = Field(description="cohen (two raters) or fleiss (three or more)")
    items: list[ItemAgreement]
    overall_percent_agreement: float | None
    overall_kappa: float | None
    auto_percent_agreement: float | None
    auto_kappa: float | None
    overall_alpha: float | None = Field(None, description="Krippendorff's alpha over every item and call.")
    overall_alpha_ci: tuple[float, float] | None = Field(None, description="95% bootstrap interval of alpha.")
    alpha_units: int = Field(0, description="(call, item) pairs with two or more ratings behind the alpha.")


class CalibrationMarks(_View):
    """What one viewer may see of the independent marks on a call."""

    marks: dict[str, dict[str, str]] = Field(description="item -> rater -> value, as far as revealed.")
    revealed: bool = Field(description="False: only the viewer's own marks (theirs are not all in yet).")
    locked: bool = Field(description="True: a closed calibration session holds this call; marks are final.")


class CalibrationSessionView(_View):
    name: str
    call_ids: list[str]
    opened_by: str
    opened_at: dt.datetime
    closed_by: str | None
    closed_at: dt.datetime | None


class AccessEntry(_View):
    at: dt.datetime
    who: str
    action: str
    call_id: str | None
    item_id: str | None
    detail: str | None


class NoteView(_View):
    id: int
    kind: str = Field(description="strength | development")
    text: str
    who: str
    at: dt.datetime
