"""Score stage: scorecard templates per channel and the pre-filled, pending scorecard.

    templates = load_templates()                       # or load_templates(site_dir)
    card = score(result, templates[result.channel_type], ScoreOptions())
    result = score_result(result, templates, ScoreOptions())   # the same, attached to the result
    html = render_scorecard_html(result.model_copy(update={"scorecard": card}))
"""

from __future__ import annotations

from .engine import ScoreOptions, apply_decisions, card_totals, effective_value, format_mmss, score, score_result
from .render import render_scorecard_html
from .template import (
    NaWhen,
    SatisfiedBy,
    ScorecardTemplate,
    TemplateItem,
    TemplateSection,
    default_templates_dir,
    load_template,
    load_templates,
)

__all__ = [
    "ScoreOptions",
    "ScorecardTemplate",
    "TemplateItem",
    "TemplateSection",
    "SatisfiedBy",
    "NaWhen",
    "load_template",
    "load_templates",
    "default_templates_dir",
    "score",
    "score_result",
    "card_totals",
    "apply_decisions",
    "effective_value",
    "format_mmss",
    "render_scorecard_html",
]
