"""The score stage: a CallResult's events and SLA results -> a pre-filled, pending Scorecard.

Rules, in the order they apply to an item:

1. `needs_observation`: never pre-filled (suggestion None); the assessor observes.
2. `na_when`: the item does not apply to this call (no complaint -> LASS items n/a); it leaves
   the totals.
3. A listed SLA rule that is not met -> "no", with the SLA result as evidence.
4. Listed events: at least `min_count` matching events -> "yes"; at least `partial_count` ->
   "partial"; none -> "no" (a detector can miss, so the confidence of an absence is modest).
   Only SLA rules listed (no events): every applicable rule met -> "yes"; all report met = null
   -> "n/a"; none present in the result -> None for a critical item (not evaluated: the
   assessor decides), "n/a" otherwise (the site switched the rule off for the channel).

A positive suggestion ("yes" / "partial") always carries at least one evidence reference: this
is checked, not assumed. The stage is pure: same result, template and options -> same card.

Every suggestion and evidence reference carries its basis (issue #18): objective when it rests on
measurements only (SLA figures, timing, loudness, events the detect config calls objective),
interpretive when anything judged enters it (an apology, a complaint, the absence of a behaviour
whose kind the call never showed), so an assessor sees which suggestions need their judgement.
An item's `context_metrics` (the customer's sentiment trajectory on LASS satisfy) are shown as
interpretive evidence beside the suggestion and never decide it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import Field

from pipeline.config import Options
from pipeline.errors import ConfigError, StageError
from pipeline.schema import Basis, CallResult, Event, EvidenceRef, Scorecard, ScorecardItem, SectionScore, SlaResult

from .template import ScorecardTemplate, TemplateItem

__all__ = [
    "ScoreOptions",
    "VALUE_POINTS",
    "score",
    "score_result",
    "card_totals",
    "apply_decisions",
    "effective_value",
    "format_mmss",
]

Value = Literal["yes", "no", "partial", "n/a"]

VALUE_POINTS: dict[str, float] = {"yes": 1.0, "partial": 0.5, "no": 0.0}

# How an anchor event reads inside a strength ("12 s after the complaint was raised").
_ANCHOR_WORDS = {
    "complaint.raised": "the complaint was raised",
    "call.hold_request": "the hold request",
    "call.greeting": "the greeting",
}


class ScoreOptions(Options):
    """Options of the score stage (defaults suit the packaged templates)."""

    purpose: Literal["formative", "summative"] | None = Field(
        None, description="Monitoring purpose written on each card; None = the template's own."
    )
    absence_confidence: float = Field(
        0.6, ge=0, le=1, description="Confidence of a 'no' that rests on an event not being found."
    )
    sla_confidence: float = Field(0.95, ge=0, le=1, description="Confidence of a measured SLA result.")
    na_confidence: float = Field(0.9, ge=0, le=1, description="Confidence of an n/a from the template's rule.")
    max_evidence: int = Field(5, ge=1, description="Evidence references kept per item, earliest first.")
    metric_confidence: float = Field(
        0.5, ge=0, le=1, description="Confidence shown on a context metric (a judged figure, never a verdict)."
    )
    max_quote_chars: int = Field(200, ge=20, description="Quotes longer than this are cut with an ellipsis.")
    max_strengths: int = Field(5, ge=0)
    max_development_points: int = Field(5, ge=0)


def format_mmss(seconds: float | None) -> str:
    """02:14 for 134.2 s (h:mm:ss past an hour); '--:--' when there is no time."""
    if seconds is None:
        return "--:--"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def score(result: CallResult, template: ScorecardTemplate, options: ScoreOptions | None = None) -> Scorecard:
    """Pre-fill `template` from a call's events and SLA results.

    Args:
        result: the call, after detect (events and sla filled; its `scorecard` is ignored).
        template: the channel's template (see `load_templates`).
        options: stage options; defaults when None.

    Returns:
        A Scorecard whose items are all pending, with suggestions, confidences, evidence,
        section and overall totals, strengths and development points.

    Raises:
        StageError: the template is for another channel, or a positive suggestion would lack
            evidence (a bug in a rule, never silently passed on).
    """
    options = options or ScoreOptions()
    if template.channel_type != result.channel_type:
        raise StageError(
            f"template {template.ref} is for {template.channel_type}, the call is {result.channel_type}",
            stage="score",
            call_id=result.call_id,
        )
    items = [_score_item(item, result, options) for item in template.items]
    for item in items:
        if item.suggestion in ("yes", "partial") and not item.evidence:
            raise StageError(f"item {item.id!r} suggests {item.suggestion} without evidence", stage="score",
                             call_id=result.call_id)
    # Context after the check: a metric shown beside a suggestion is never its evidence.
    items = [_with_context(spec, item, result, options) for spec, item in zip(template.items, items)]
    strengths, development = _feedback(template, items, result, options)
    totals = card_totals(items, section_order=[s.id for s in template.sections],
                         titles={s.id: s.title for s in template.sections})
    return Scorecard(
        template=template.ref,
        channel_type=template.channel_type,
        items=items,
        strengths=strengths,
        development_points=development,
        purpose=options.purpose or template.purpose,
        **totals,
    )


def score_result(result: CallResult, templates: Mapping[str, ScorecardTemplate],
                 options: ScoreOptions | None = None) -> CallResult:
    """The run loop's step: `result` with its channel's pre-filled scorecard attached.

    Args:
        result: the call after detect.
        templates: `load_templates(...)`, loaded once per run.
        options: stage options.

    Returns:
        A new CallResult (the input is not changed) with `scorecard` set and "score" in stages_run.

    Raises:
        ConfigError: no template for the call's channel.
        StageError: see `score`.
    """
    template = templates.get(result.channel_type)
    if template is None:
        raise ConfigError(f"no scorecard template for channel {result.channel_type!r}; "
                          f"templates exist for: {', '.join(sorted(templates)) or 'none'}", key="channel_type")
    card = score(result, template, options)
    return result.model_copy(update={"scorecard": card, "stages_run": [*result.stages_run, "score"]})


# --------------------------------------------------------------------------------- one item


def _score_item(item: TemplateItem, result: CallResult, options: ScoreOptions) -> ScorecardItem:
    base = dict(
        id=item.id,
        section=item.section,
        question=item.question,
        standard_ref=item.standard_ref,
        weight=item.weight,
        critical=item.critical,
        needs_observation=item.needs_observation,
    )
    if item.needs_observation:
        return ScorecardItem(**base, suggestion=None, confidence=0.0,
                             rule="needs the assessor's observation: a recording cannot show it")
    na = _not_applicable(item, result)
    if na is not None:
        na_rule, na_basis = na
        return ScorecardItem(**base, suggestion="n/a", confidence=options.na_confidence, rule=na_rule, basis=na_basis)

    sla_by_rule = {s.rule: s for s in result.sla}
    listed = [sla_by_rule[name] for name in item.satisfied_by.sla if name in sla_by_rule]
    failed = [s for s in listed if s.met is False]
    passed = [s for s in listed if s.met is True]
    if failed:
        evidence = [_sla_ref(s, options) for s in failed]
        names = ", ".join(s.rule for s in failed)
        return ScorecardItem(**base, suggestion="no", confidence=options.sla_confidence, evidence=evidence,
                             rule=f"no: SLA rule {names} not met", basis="objective")

    sla_evidence = [_sla_ref(s, options) for s in passed]
    if item.satisfied_by.events:
        matched = _matching_events(item, result)
        event_evidence = [_event_ref(i, e, options) for i, e in matched][: options.max_evidence]
        evidence = event_evidence + sla_evidence
        need, partial = item.satisfied_by.min_count, item.satisfied_by.partial_count
        kinds = " or ".join(item.satisfied_by.events)
        scope = _scope_words(item)
        found_basis = _joint_basis(e.basis for _, e in matched)
        if len(matched) >= need:
            confidence = max(e.confidence for e in event_evidence)
            return ScorecardItem(**base, suggestion="yes", confidence=confidence, evidence=evidence,
                                 rule=f"yes: {len(matched)} {kinds} event(s){scope}, {need} needed", basis=found_basis)
        if partial is not None and len(matched) >= partial:
            confidence = sum(e.confidence for e in event_evidence) / len(event_evidence)
            return ScorecardItem(**base, suggestion="partial", confidence=confidence, evidence=evidence,
                                 rule=f"partial: {len(matched)} {kinds} event(s){scope}, {need} needed for yes",
                                 basis=found_basis)
        return ScorecardItem(**base, suggestion="no", confidence=options.absence_confidence, evidence=sla_evidence,
                             rule=f"no: {len(matched)} {kinds} event(s){scope}, {need} needed",
                             basis=_kinds_basis(item.satisfied_by.events, result))

    # SLA rules only.
    if passed and len(passed) == len([s for s in listed if s.met is not None]):
        return ScorecardItem(**base, suggestion="yes", confidence=options.sla_confidence, evidence=sla_evidence,
                             rule=f"yes: SLA rule {', '.join(s.rule for s in passed)} met", basis="objective")
    if listed:
        return ScorecardItem(**base, suggestion="n/a", confidence=options.na_confidence, basis="objective",
                             rule=f"n/a: SLA rule {', '.join(s.rule for s in listed)} does not apply to this call")
    names = ", ".join(item.satisfied_by.sla)
    if item.critical:
        # A critical check must never pass or drop out silently: the assessor decides.
        return ScorecardItem(**base, suggestion=None, confidence=0.0,
                             rule=f"not evaluated: SLA rule {names} missing from the result")
    # A site switches a rule off for a channel by leaving it out (configs/sla.yaml).
    return ScorecardItem(**base, suggestion="n/a", confidence=options.na_confidence, basis="objective",
                         rule=f"n/a: SLA rule {names} not reported for this call")


def _not_applicable(item: TemplateItem, result: CallResult) -> tuple[str, Basis] | None:
    """Why the item does not apply, and the basis of that reading; None when it applies."""
    rule = item.na_when
    kinds = {e.kind for e in result.events}
    if rule.no_event and not kinds.intersection(rule.no_event):
        return f"n/a: no {' or '.join(rule.no_event)} event in the call", _kinds_basis(rule.no_event, result)
    present = sorted(kinds.intersection(rule.any_event))
    if present:
        return f"n/a: the call has a {present[0]} event", _joint_basis(e.basis for e in result.events if e.kind in present)
    if rule.no_times and all(t.start_s is None for t in result.turns):
        return "n/a: the interaction has no turn times", "objective"
    if rule.sla_not_applicable:
        by_rule = {s.rule: s for s in result.sla}
        if all(by_rule.get(name) is None or by_rule[name].met is None for name in rule.sla_not_applicable):
            return f"n/a: SLA rule {', '.join(rule.sla_not_applicable)} does not apply to this call", "objective"
    return None


def _joint_basis(bases: Iterable[str]) -> Basis:
    """Objective only when everything it rests on is measured."""
    return "objective" if all(b == "objective" for b in bases) else "interpretive"


def _kinds_basis(kinds: Iterable[str], result: CallResult) -> Basis:
    """The basis of an absence of `kinds`: what the call's own events of those kinds say (the detect
    config gives every event of a kind one basis); a kind the call never showed could have been
    missed by a judging detector, so its absence is interpretive."""
    wanted = set(kinds)
    bases = {e.kind: e.basis for e in result.events if e.kind in wanted}
    if set(bases) != wanted:
        return "interpretive"
    return _joint_basis(bases.values())


def _with_context(spec: TemplateItem, item: ScorecardItem, result: CallResult, options: ScoreOptions) -> ScorecardItem:
    """`item` with its template's context metrics appended as interpretive evidence."""
    refs = [ref for name in spec.context_metrics if (ref := _metric_ref(name, result, options)) is not None]
    return item.model_copy(update={"evidence": [*item.evidence, *refs]}) if refs else item


def _metric_ref(name: str, result: CallResult, options: ScoreOptions) -> EvidenceRef | None:
    value = getattr(result.metrics, name, None)
    if value is None:
        return None
    # Only this metric exists so far (template.ContextMetric); its words say how it was read.
    movement = "rose" if value > 0.05 else "fell" if value < -0.05 else "held steady"
    quote = (f"customer sentiment {movement}: {value:+.2f} from the first third of the customer's turns "
             "to the last (turn sentiment classifier)")
    return EvidenceRef(kind=f"metric:{name}", quote=quote, start_s=None, confidence=options.metric_confidence,
                       basis="interpretive")


def _anchor(item: TemplateItem, result: CallResult) -> Event | None:
    kind = item.satisfied_by.after
    if kind is None:
        return None
    anchors = [e for e in result.events if e.kind == kind]
    return min(anchors, key=_event_order) if anchors else None


def _event_order(event: Event) -> tuple[float, int]:
    return (event.start_s if event.start_s is not None else float("inf"),
            event.turn_index if event.turn_index is not None else 1 << 30)


def _matching_events(item: TemplateItem, result: CallResult) -> list[tuple[int, Event]]:
    rule = item.satisfied_by
    anchor = _anchor(item, result)
    matched: list[tuple[int, Event]] = []
    for index, event in enumerate(result.events):
        if event.kind not in rule.events:
            continue
        if rule.speaker != "any" and event.speaker != rule.speaker:
            continue
        if anchor is not None and not _after(event, anchor, rule.within_s):
            continue
        matched.append((index, event))
    matched.sort(key=lambda pair: _event_order(pair[1]))
    return matched


def _after(event: Event, anchor: Event, within_s: float | None) -> bool:
    """Whether `event` is at or after `anchor` (by time when both have one, else by turn)."""
    if event.start_s is not None and anchor.start_s is not None:
        if event.start_s < anchor.start_s:
            return False
        return within_s is None or event.start_s - anchor.start_s <= within_s
    if event.turn_index is not None and anchor.turn_index is not None:
        return event.turn_index >= anchor.turn_index
    return True


def _scope_words(item: TemplateItem) -> str:
    rule = item.satisfied_by
    if rule.after is None:
        return ""
    within = f" within {rule.within_s:g} s" if rule.within_s else ""
    return f" at or after {rule.after}{within}"


def _quote(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _event_ref(index: int, event: Event, options: ScoreOptions) -> EvidenceRef:
    return EvidenceRef(event_index=index, kind=event.kind, quote=_quote(event.evidence, options.max_quote_chars),
                       start_s=event.start_s, confidence=event.confidence, basis=event.basis)


def _sla_ref(sla: SlaResult, options: ScoreOptions) -> EvidenceRef:
    return EvidenceRef(sla_rule=sla.rule, kind="sla", quote=_sla_words(sla), start_s=None,
                       confidence=options.sla_confidence, basis="objective")


def _sla_words(sla: SlaResult) -> str:
    verdict = "met" if sla.met else "not met"
    if isinstance(sla.threshold, bool) or sla.threshold is None or sla.observed is None:
        return f"{sla.rule}: {verdict}"
    return f"{sla.rule}: {verdict}, observed {_fmt(sla.observed)}, threshold {_fmt(sla.threshold)}"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


# ----------------------------------------------------------------------------------- feedback


def _feedback(template: ScorecardTemplate, items: list[ScorecardItem], result: CallResult,
              options: ScoreOptions) -> tuple[list[str], list[str]]:
    """Strengths and development points worded as behaviours, with evidence times."""
    by_id = {t.id: t for t in template.items}
    strengths: list[tuple[tuple, str]] = []
    development: list[tuple[tuple, str]] = []
    for position, card_item in enumerate(items):
        spec = by_id[card_item.id]
        if card_item.suggestion == "yes" and spec.strength:
            # Meeting a compliance must is expected rather than praised: behaviours first, heaviest first.
            strengths.append(((card_item.critical, -card_item.weight, position),
                              _strength_text(spec, card_item, result)))
        elif card_item.suggestion == "no" and spec.development:
            # Critical gaps first: they are what the agent must change before anything else.
            development.append(((not card_item.critical, -card_item.weight, position),
                                _development_text(spec, card_item)))
    strengths.sort(key=lambda pair: pair[0])
    development.sort(key=lambda pair: pair[0])
    return ([text for _, text in strengths][: options.max_strengths],
            [text for _, text in development][: options.max_development_points])


def _strength_text(spec: TemplateItem, item: ScorecardItem, result: CallResult) -> str:
    timed = [e for e in item.evidence if e.start_s is not None]
    if timed:
        first = timed[0]
        anchor = _anchor(spec, result)
        if anchor is not None and anchor.start_s is not None:
            gap = first.start_s - anchor.start_s
            words = _ANCHOR_WORDS.get(anchor.kind, f"the {anchor.kind} event")
            return f"{spec.strength} {gap:.0f} s after {words} ({format_mmss(first.start_s)})"
        return f"{spec.strength} ({format_mmss(first.start_s)})"
    sla = [e for e in item.evidence if e.sla_rule]
    if sla:
        return f"{spec.strength} ({sla[0].quote})"
    return spec.strength or ""


def _development_text(spec: TemplateItem, item: ScorecardItem) -> str:
    sla = [e for e in item.evidence if e.sla_rule]
    if sla:
        return f"{spec.development} ({sla[0].quote})"
    return f"{spec.development} (not found in this interaction)"


# ------------------------------------------------------------------------------------- totals


def effective_value(item: ScorecardItem, *, decided_only: bool = False) -> str | None:
    """The value an item counts with: the assessor's once decided, else its suggestion."""
    if item.status != "pending":
        return item.assessor_value
    return None if decided_only else item.suggestion


def _weighted(items: Iterable[ScorecardItem], decided_only: bool) -> tuple[float | None, float]:
    points = weight = 0.0
    for item in items:
        value = effective_value(item, decided_only=decided_only)
        if value in VALUE_POINTS:
            points += item.weight * VALUE_POINTS[value]
            weight += item.weight
    return (round(100.0 * points / weight, 1) if weight > 0 else None), weight


def card_totals(items: list[ScorecardItem], *, section_order: list[str] | None = None,
                titles: Mapping[str, str] | None = None) -> dict:
    """Totals of a card's items: score, suggested_score, sections, pending, critical_failed.

    `score` counts decided items only; `suggested_score` takes each pending item's suggestion.
    n/a items and items without a value leave both. A critical item whose value (decided, else
    suggested) is "no" fails the card whatever the total.
    """
    order = list(section_order or [])
    for item in items:
        if item.section not in order:
            order.append(item.section)
    sections = []
    for section in order:
        members = [i for i in items if i.section == section]
        if not members:
            continue
        decided, _ = _weighted(members, decided_only=True)
        suggested, weight = _weighted(members, decided_only=False)
        sections.append(SectionScore(section=section, title=(titles or {}).get(section), score=decided,
                                     suggested_score=suggested, weight=weight, items=len(members),
                                     pending=sum(i.status == "pending" for i in members)))
    decided, _ = _weighted(items, decided_only=True)
    suggested, _ = _weighted(items, decided_only=False)
    return {
        "score": decided,
        "suggested_score": suggested,
        "sections": sections,
        "pending": sum(i.status == "pending" for i in items),
        "critical_failed": any(i.critical and effective_value(i) == "no" for i in items),
    }


def apply_decisions(card: Scorecard, decisions: Mapping[str, tuple[str, str | None, str | None]]) -> Scorecard:
    """A new card with assessor decisions applied and totals recomputed.

    Args:
        card: the pre-filled card.
        decisions: {item_id: (status, value, reason)}, status "confirmed" or "overridden";
            items not named stay pending.

    Returns:
        The updated card (the input is not changed).
    """
    items = []
    for item in card.items:
        if item.id in decisions:
            status, value, reason = decisions[item.id]
            item = item.model_copy(update={"status": status, "assessor_value": value, "assessor_reason": reason})
        items.append(item)
    order = [s.section for s in card.sections]
    titles = {s.section: s.title for s in card.sections if s.title}
    return card.model_copy(update={"items": items, **card_totals(items, section_order=order, titles=titles)})
