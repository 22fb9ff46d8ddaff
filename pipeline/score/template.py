"""Scorecard templates: one YAML file per channel under configs/scorecards/, validated on load.

A template lists sections and items. Each item says what it asks, its weight, whether it is
critical (a failed critical item fails the card whatever the total), which organisation standard
or SLA clause it checks, which events and SLA results satisfy it, when it does not apply, and
whether only an observer can judge it (face-to-face non-verbal behaviour).

A site adds or edits templates in its own folder (`load_templates(dir)`); no code changes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipeline.config import Options, configs_dir, read_yaml, validate_model
from pipeline.errors import ConfigError
from pipeline.schema import EVENT_KINDS, MEASURED_EVENT_KINDS, ChannelType

__all__ = [
    "SatisfiedBy",
    "NaWhen",
    "TemplateItem",
    "TemplateSection",
    "ScorecardTemplate",
    "load_template",
    "load_templates",
    "default_templates_dir",
]

Suggestion = Literal["yes", "no", "partial", "n/a"]
# Kinds a template may name: the taxonomy and the measured kinds (voice.raised).
_KINDS: tuple[str, ...] = EVENT_KINDS + MEASURED_EVENT_KINDS
# Metrics an item may show as context beside its suggestion (issue #18).
ContextMetric = Literal["customer_sentiment_trajectory"]

# Feedback is about what the agent did, never who they are: wording that judges character is
# refused at load time so that a site's template cannot slip it into every card.
_TRAIT_WORDS = re.compile(
    r"\b(rude|lazy|careless|arrogant|unprofessional|incompetent|attitude|personality|"
    r"friendly person|nice person|stupid|useless|sloppy|moody|aggressive person)\b",
    re.IGNORECASE,
)


class SatisfiedBy(Options):
    """What counts as evidence for an item."""

    events: list[str] = Field(default_factory=list, description="Event kinds that count as evidence.")
    sla: list[str] = Field(
        default_factory=list,
        description="SLA rule names: met -> positive evidence; not met -> the item fails; absent -> no data.",
    )
    min_count: int = Field(1, ge=1, description="Matching events needed for 'yes'.")
    partial_count: int | None = Field(
        None, ge=1, description="Matching events that earn 'partial' when fewer than min_count are found."
    )
    after: str | None = Field(None, description="Only events at or after the first event of this kind count.")
    speaker: Literal["agent", "customer", "any"] = Field("agent", description="Whose turns the events must come from.")
    within_s: float | None = Field(
        None, gt=0, description="With `after`: the event must start within this many seconds of that event."
    )

    @field_validator("events")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k not in _KINDS]
        if unknown:
            raise ValueError(f"unknown event kind {unknown[0]!r}; allowed: {', '.join(_KINDS)}")
        return kinds

    @field_validator("after")
    @classmethod
    def _known_after(cls, kind: str | None) -> str | None:
        if kind is not None and kind not in _KINDS:
            raise ValueError(f"unknown event kind {kind!r}; allowed: {', '.join(_KINDS)}")
        return kind

    @model_validator(mode="after")
    def _consistent(self) -> SatisfiedBy:
        if self.partial_count is not None and self.partial_count >= self.min_count:
            raise ValueError("partial_count must be smaller than min_count")
        if self.within_s is not None and self.after is None:
            raise ValueError("within_s needs `after` (the event the time is measured from)")
        return self


class NaWhen(Options):
    """When an item does not apply (it is then 'n/a' and leaves the totals)."""

    no_event: list[str] = Field(
        default_factory=list, description="n/a when the call has none of these events (e.g. complaint.raised)."
    )
    any_event: list[str] = Field(
        default_factory=list, description="n/a when the call has any of these events (e.g. no sales on a complaint)."
    )
    sla_not_applicable: list[str] = Field(
        default_factory=list, description="n/a when each of these SLA rules is absent or reports met = null."
    )
    no_times: bool = Field(False, description="n/a when the interaction has no turn times (untimed chat / email).")

    @field_validator("no_event", "any_event")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k not in _KINDS]
        if unknown:
            raise ValueError(f"unknown event kind {unknown[0]!r}; allowed: {', '.join(_KINDS)}")
        return kinds


class TemplateItem(Options):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Stable id; decisions refer to it.")
    section: str
    question: str = Field(min_length=3)
    weight: float = Field(1.0, ge=0.0)
    critical: bool = False
    standard_ref: str = Field(min_length=1, description="The organisation standard or SLA clause the item checks.")
    satisfied_by: SatisfiedBy = SatisfiedBy()
    na_when: NaWhen = NaWhen()
    needs_observation: bool = Field(False, description="Only an observer can judge it: never pre-filled.")
    context_metrics: list[ContextMetric] = Field(
        default_factory=list,
        description="Call metrics shown as evidence beside the suggestion, for the assessor's judgement; they never "
        "decide it (e.g. the customer's sentiment trajectory on LASS satisfy).",
    )
    strength: str | None = Field(None, description="Behaviour wording when met, e.g. 'apologised for the delay'.")
    development: str | None = Field(
        None, description="Behaviour wording when not met, e.g. 'state the recording notice'.")

    @field_validator("strength", "development")
    @classmethod
    def _behaviour_not_personality(cls, text: str | None) -> str | None:
        if text is not None and _TRAIT_WORDS.search(text):
            raise ValueError("word feedback as an observable behaviour, not a personal trait")
        return text

    @model_validator(mode="after")
    def _has_evidence_source(self) -> TemplateItem:
        if self.needs_observation:
            if self.satisfied_by.events or self.satisfied_by.sla:
                raise ValueError("an item that needs observation cannot also be satisfied by events or SLA rules")
        elif not (self.satisfied_by.events or self.satisfied_by.sla):
            raise ValueError("satisfied_by needs events or sla (or set needs_observation: true)")
        return self


class TemplateSection(Options):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    title: str


class ScorecardTemplate(Options):
    """A channel's scorecard: sections and items, as configs/scorecards/<channel>.yaml holds it."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    version: int = Field(1, ge=1)
    channel_type: ChannelType
    description: str = ""
    purpose: Literal["formative", "summative"] = Field("formative", description="Default purpose of its cards.")
    sections: list[TemplateSection] = Field(min_length=1)
    items: list[TemplateItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> ScorecardTemplate:
        section_ids = [s.id for s in self.sections]
        if len(set(section_ids)) != len(section_ids):
            raise ValueError("section ids must be unique")
        item_ids = [i.id for i in self.items]
        duplicates = sorted({i for i in item_ids if item_ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"item ids must be unique; repeated: {', '.join(duplicates)}")
        for item in self.items:
            if item.section not in section_ids:
                raise ValueError(f"item {item.id!r} names section {item.section!r}; allowed: {', '.join(section_ids)}")
        return self

    @property
    def ref(self) -> str:
        """`name@version`, as a scorecard records it."""
        return f"{self.name}@{self.version}"


def default_templates_dir() -> Path:
    """The packaged configs/scorecards/ folder."""
    return configs_dir() / "scorecards"


def load_template(path: Path) -> ScorecardTemplate:
    """Load and validate one template file.

    Raises:
        ConfigError: unreadable, not YAML, an unknown key, a bad value or a dangling reference;
            the message names the file and the key.
    """
    return validate_model(ScorecardTemplate, read_yaml(path), file=str(path))


def load_templates(dir: Path | str | None = None) -> dict[str, ScorecardTemplate]:
    """Every template in a folder, keyed by channel type.

    The packaged templates load first; a site folder's templates replace them channel by channel.

    Args:
        dir: a site's folder of `*.yaml` templates; None for the packaged ones only.

    Returns:
        {channel_type: template}.

    Raises:
        ConfigError: a file is invalid, or two files in one folder claim the same channel.
    """
    templates = _load_folder(default_templates_dir())
    if dir is not None:
        folder = Path(dir)
        if not folder.is_dir():
            raise ConfigError("not a folder of scorecard templates", file=str(folder))
        templates.update(_load_folder(folder))
    return templates


def _load_folder(folder: Path) -> dict[str, ScorecardTemplate]:
    found: dict[str, ScorecardTemplate] = {}
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")):
        template = load_template(path)
        if template.channel_type in found:
            raise ConfigError(
                f"channel {template.channel_type!r} already has a template in {seen[template.channel_type].name}",
                file=str(path),
                key="channel_type",
            )
        found[template.channel_type] = template
        seen[template.channel_type] = path
    return found
