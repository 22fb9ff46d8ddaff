"""scorecard.html: one call's scorecard as a readable, printable page (Jinja2, autoescaped).

For each item the page shows the suggestion, its confidence, the evidence with mm:ss times, the
rule that produced it, the standard it checks, and who confirmed or overrode it (with reason).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import jinja2

from pipeline.errors import StageError
from pipeline.schema import CallResult

from .engine import format_mmss

__all__ = ["render_scorecard_html"]


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # Autoescape: quotes are redacted call text, still untrusted as HTML.
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["mmss"] = format_mmss
    return env


def render_scorecard_html(
    result: CallResult,
    *,
    history: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    status: str | None = None,
    generated_at: dt.datetime | None = None,
) -> str:
    """Render `result.scorecard` as HTML.

    Args:
        result: a call with its scorecard (the card may carry assessor decisions).
        history: {item_id: [{"who", "at", "kind", "value", "reason"}, ...]} oldest first, the
            decisions recorded in the store; None or missing items show none.
        status: card status to print (e.g. "open", "finalised"); None prints "pre-filled".
        generated_at: time printed in the footer; default now (UTC).

    Returns:
        A complete HTML document.

    Raises:
        StageError: the result has no scorecard.
    """
    if result.scorecard is None:
        raise StageError("the result has no scorecard to render", stage="score", call_id=result.call_id)
    card = result.scorecard
    sections = []
    for total in card.sections:
        sections.append({"total": total, "rows": [i for i in card.items if i.section == total.section]})
    return _environment().get_template("scorecard.html").render(
        result=result,
        card=card,
        sections=sections,
        history=history or {},
        status=status or "pre-filled",
        generated_at=(generated_at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC"),
    )
