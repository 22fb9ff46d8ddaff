"""Score the text redaction policy on real transcriber output in seconds: the unredacted ASR turns
dumped by `callqa challenge run` (dump_asr), redacted again with the current policy.

For each call: its dumped turns (with words) go through `redact_text` as a run would (the
organisation as keep words); a labelled value leaks when `eval_redact.value_leaks` finds an
identifying part of it in the redacted text. Values the transcriber never wrote down are counted
too (they cannot leak in text; `heard` says how many were there to catch). Over-redaction is
`eval_redact.over_redaction_on_text` (non-PII script words the transcriber heard, of those removed).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pipeline.lab.eval_redact import Miss, over_redaction_on_text, value_leaks
from pipeline.lab.scripts import load_scripts

__all__ = ["TextPolicyScore", "score_asr_dumps"]

_PLACEHOLDER = re.compile(r"<[A-Z_]+>")


class TextPolicyScore(BaseModel):
    """Recall per entity type on ASR text, values heard, over-redaction, and where values leaked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    calls: int
    labelled: dict[str, int]
    heard: dict[str, int]
    leaked: dict[str, int]
    recall: float
    non_pii_words_heard: int
    non_pii_words_removed: int
    over_redaction: float
    misses: list[Miss]


def score_asr_dumps(scripts_dir: Path, asr_dir: Path, *, config: Path | None = None,
                    progress=None) -> TextPolicyScore:
    """Redact every dumped call with the current policy and score it against the script's labels.

    Args:
        scripts_dir: the labelled scripts (e.g. /work/challenge/train).
        asr_dir: <call_id>.turns.json dumps of those calls.
        config: a site configuration (default: the packaged policy).
        progress: the one progress hook; reports ("calls", done, total).

    Raises:
        InputError: no dump in `asr_dir` matches a script.
    """
    from pipeline.errors import InputError
    from pipeline.redact import load_analyzer, redact_text, redaction_key
    from pipeline.schema import Turn
    from pipeline.settings import load_settings

    settings = load_settings(config)
    analyzer = load_analyzer(settings.redact, settings.core.models)
    key = redaction_key(True)  # lab data only: the HMACs are thrown away
    calls = [c for c in load_scripts(scripts_dir) if (Path(asr_dir) / f"{c.call_id}.turns.json").is_file()]
    if not calls:
        raise InputError("no <call_id>.turns.json dump matches a script", path=str(asr_dir), reason="empty")
    before, after = {}, {}
    labelled: dict[str, int] = {}
    heard: dict[str, int] = {}
    leaked: dict[str, int] = {}
    misses: list[Miss] = []
    for n, call in enumerate(calls):
        dump = json.loads((Path(asr_dir) / f"{call.call_id}.turns.json").read_text(encoding="utf-8"))
        turns = [Turn.model_validate(t) for t in dump["turns"]]
        keep = (dump["organisation"],) if dump.get("organisation") else ()
        red = redact_text(turns, settings.redact, analyzer, key, keep_words=keep)
        before[call.call_id] = " ".join(t.text for t in turns)
        after[call.call_id] = " ".join(t.text for t in red.turns)
        kept = _PLACEHOLDER.sub(" ", after[call.call_id])
        for i, turn in enumerate(call.turns):
            for span in turn.pii:
                labelled[span.type] = labelled.get(span.type, 0) + 1
                if value_leaks(span.text, span.type, before[call.call_id]):
                    heard[span.type] = heard.get(span.type, 0) + 1
                if value_leaks(span.text, span.type, kept):
                    leaked[span.type] = leaked.get(span.type, 0) + 1
                    misses.append(Miss(call_id=call.call_id, turn_index=i, entity_type=span.type))
        if progress:
            progress("calls", n + 1, len(calls))
    words, removed = over_redaction_on_text(calls, before, after)
    total = sum(labelled.values())
    return TextPolicyScore(calls=len(calls), labelled=labelled, heard=heard, leaked=leaked,
                           recall=1 - sum(leaked.values()) / total if total else 1.0, non_pii_words_heard=words,
                           non_pii_words_removed=removed, over_redaction=removed / words if words else 0.0,
                           misses=misses)
