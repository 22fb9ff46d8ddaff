"""PII recall and over-redaction on labelled call scripts (tests/data/SCHEMA.md).

Definitions
- A labelled value is *leaked* when any identifying part of it survives redaction. Its
  identifying parts are its words and spoken numbers, except fillers that identify no one
  ("the", "of", "and", "at", "dot", "double", titles such as "Mr"). On transcript input,
  where the redacted spans are known exactly, a part survives when any of its characters lies
  outside every redacted span. On other text (a re-transcription of redacted audio), a part
  survives when its word reappears (ordinals, month names and street words excepted: too
  common on their own), or when any four consecutive characters of the value's
  code (digits and letters as written, e.g. "07700900462") reappear inside one code of the text
  (the whole code when shorter than four).
- Recall per entity type = 1 - leaked / labelled values of that type (the predicted type does
  not matter: what counts is that nothing identifying is left).
- Over-redaction = words outside every labelled value that were redacted / all such words.

Scripts are read by pipeline.lab.scripts. Reports name entity types, call ids and turn
indices, never a value.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

from pydantic import BaseModel, ConfigDict, Field

from pipeline.lab.scripts import CallScript, PiiSpan, load_scripts
from pipeline.progress import ProgressHook
from pipeline.redact.normalise import canonicalise, number_token

__all__ = [
    "TypeRecall",
    "PiiEvaluation",
    "Miss",
    "score_spans",
    "value_leaks",
    "evaluate_transcripts",
    "evaluate_dir",
    "recall_on_text",
    "over_redaction_on_text",
]

_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
# Words a value is said with that identify nothing by themselves: "S for Sierra", "j hyphen
# smith, all one word" (each would otherwise "leak" wherever else the call says it).
FILLERS = {"the", "of", "and", "at", "dot", "double", "triple", "treble", "it's", "that's", "mr", "mrs", "ms", "miss",
           "mx", "dr", "in", "flat", "on", "is", "for", "as", "hyphen", "dash", "underscore", "all", "word", "capital"}


# On text that cannot be aligned to the original (a re-transcription), these words are too
# common to show a leak by themselves ("the third time", "in September"); the digits of a date
# still do.
_COMMON_IN_VALUES = {
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
    "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
    "twentieth", "thirtieth", "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "road", "street", "lane", "house", "flat", "close", "way",
    "plus",  # "plus four four": the "+" of any international number
    "com", "co", "uk", "org", "net", "io", "ie",  # the last labels of any e-mail's domain ("... gmail dot com" heard ".com")
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TypeRecall(_Frozen):
    labelled: int
    leaked: int
    recall: float


class Miss(_Frozen):
    call_id: str
    turn_index: int
    entity_type: str


class PiiEvaluation(_Frozen):
    """Recall per entity type and overall, and over-redaction of the other words."""

    per_type: dict[str, TypeRecall]
    recall: float
    labelled: int
    leaked: int
    non_pii_words: int
    non_pii_words_redacted: int
    over_redaction: float
    misses: list[Miss] = Field(default_factory=list, description="Leaked values: where and which type, no value.")


def _identifying(tokens: Iterable[re.Match]) -> list[re.Match]:
    return [m for m in tokens if m.group(0).lower() not in FILLERS]


def _label_spans(text: str, pii: list[PiiSpan]) -> list[tuple[str, int, int]]:
    """(type, start, end) of each labelled value, successive occurrences for repeats."""
    spans, used = [], []
    for span in pii:
        entity_type, value = span.type, span.text
        start = text.find(value)
        while start >= 0 and any(s == start for s in used):
            start = text.find(value, start + 1)
        if start < 0:
            start = text.lower().find(value.lower())
        if start < 0:
            raise ValueError(f"a labelled {entity_type} value is not in its turn's text")
        used.append(start)
        spans.append((entity_type, start, start + len(value)))
    return spans


def _covered(start: int, end: int, redacted: list[tuple[int, int]]) -> bool:
    """True when every character of [start, end) lies inside a redacted span."""
    return all(any(a <= pos < b for a, b in redacted) for pos in range(start, end))


def score_spans(calls: list[CallScript], redacted: dict[str, dict[int, list[tuple[int, int]]]]) -> PiiEvaluation:
    """Score redacted character spans against the labels.

    Args:
        calls: labelled scripts.
        redacted: call_id -> turn index -> redacted (start, end) spans in the original text.

    Returns:
        PiiEvaluation: recall per type and overall, over-redaction, and where values leaked.
    """
    labelled: dict[str, int] = {}
    leaked: dict[str, int] = {}
    misses: list[Miss] = []
    non_pii = removed = 0
    for call in calls:
        for i, turn in enumerate(call.turns):
            spans = redacted.get(call.call_id, {}).get(i, [])
            labels = _label_spans(turn.text, turn.pii)
            for entity_type, start, end in labels:
                labelled[entity_type] = labelled.get(entity_type, 0) + 1
                parts = _identifying(_TOKEN_RE.finditer(turn.text, start, end))
                if any(not _covered(m.start(), m.end(), spans) for m in parts):
                    leaked[entity_type] = leaked.get(entity_type, 0) + 1
                    misses.append(Miss(call_id=call.call_id, turn_index=i, entity_type=entity_type))
            for m in _TOKEN_RE.finditer(turn.text):
                if any(m.start() < e and s < m.end() for _, s, e in labels):
                    continue
                non_pii += 1
                if any(m.start() < b and a < m.end() for a, b in spans):
                    removed += 1
    per_type = {
        t: TypeRecall(labelled=n, leaked=leaked.get(t, 0), recall=1.0 - leaked.get(t, 0) / n)
        for t, n in sorted(labelled.items())
    }
    total, lost = sum(labelled.values()), sum(leaked.values())
    return PiiEvaluation(
        per_type=per_type,
        recall=1.0 - lost / total if total else 1.0,
        labelled=total,
        leaked=lost,
        non_pii_words=non_pii,
        non_pii_words_redacted=removed,
        over_redaction=removed / non_pii if non_pii else 0.0,
        misses=misses,
    )


def _codes(text: str) -> list[str]:
    canonical = canonicalise(text).text
    # A year said "two thousand and five" is one code, "2005", not two lone digits that any digit of the call matches.
    canonical = re.sub(r"\b(\d) thousand(?: and)? (\d{1,2})\b", lambda m: f"{m[1]}0{int(m[2]):02d}", canonical)
    return [re.sub(r"[^0-9A-Za-z]", "", c).upper() for c in re.findall(r"[0-9A-Z](?:[0-9A-Z ]*[0-9A-Z])?", canonical)]


def value_leaks(value: str, entity_type: str, text: str) -> bool:
    """True when an identifying part of `value` appears in `text` (for text whose alignment to
    the original is unknown, e.g. a re-transcription of redacted audio).

    Args:
        value: the labelled value as written in the script.
        entity_type: its PII type.
        text: the text to search (e.g. the whole re-transcribed call).
    """
    words = {w.lower() for w in re.findall(r"[a-z]+", text.lower())}
    value_words = value.split(" at ")[0] if entity_type == "EMAIL_ADDRESS" else value
    for m in _identifying(_TOKEN_RE.finditer(value_words)):
        token = m.group(0)
        if (number_token(token) is None and len(token) > 1 and "-" not in token
                and token.lower() not in _COMMON_IN_VALUES and token.lower() in words):
            return True
    text_codes = _codes(text)
    for code in _codes(value_words):
        if not re.search(r"\d", code) or len(code) < 2:
            continue  # one digit alone ("flat 2") is in any call's talk
        window = min(4, len(code))
        pieces = {code[k:k + window] for k in range(len(code) - window + 1)}
        if any(p in c for c in text_codes for p in pieces):
            return True
    return False


def evaluate_transcripts(calls: list[CallScript], analyzer, options,
                         keep_words: dict[str, tuple[str, ...]] | None = None,
                         progress: ProgressHook | None = None) -> PiiEvaluation:
    """Redact each labelled call as transcript input and score it (see module docstring).

    Args:
        calls: labelled scripts (`pipeline.lab.scripts.load_scripts`).
        analyzer: from `load_analyzer(options)`.
        options: RedactOptions.
        keep_words: call_id -> words never taken for names (the organisation, as the run passes it).
        progress: the one progress hook; reports ("calls", done, total).

    Returns:
        Recall per type and overall, over-redaction, and where values leaked.
    """
    from pipeline.redact.scan import detect_call

    redacted: dict[str, dict[int, list[tuple[int, int]]]] = {}
    for call in calls:
        found = detect_call([t.text for t in call.turns], [t.speaker for t in call.turns], analyzer, options,
                            (keep_words or {}).get(call.call_id, ()))
        per_turn: dict[int, list[tuple[int, int]]] = {}
        for d in found:
            per_turn.setdefault(d.turn_index, []).append((d.start, d.end))
        redacted[call.call_id] = per_turn
        if progress:
            progress("calls", len(redacted), len(calls))
    return score_spans(calls, redacted)


def evaluate_dir(scripts_dir: Path, *, keep_organisation: bool = True,
                 progress: ProgressHook | None = None) -> PiiEvaluation:
    """Transcript-input PII recall and over-redaction of a folder of labelled scripts, with the
    packaged redaction policy (what `callqa redact eval` prints).

    Args:
        scripts_dir: a folder of labelled call scripts.
        keep_organisation: pass each script's organisation as keep words, as a run passes the
            sidecar's; False scores a call with no sidecar.
        progress: the one progress hook; reports ("calls", done, total).

    Returns:
        The evaluation (no values: misses by call, turn and type).

    Raises:
        InputError: the folder is missing or holds no scripts.
        ConfigError: a script or the redaction policy is invalid.
        ModelUnavailableError: the spaCy model or Presidio cannot be loaded.
    """
    from pipeline.redact.analyzer import load_analyzer
    from pipeline.redact.options import load_redact_options

    options = load_redact_options()
    calls = load_scripts(scripts_dir)
    keep = {c.call_id: (c.organisation,) for c in calls if c.organisation} if keep_organisation else {}
    return evaluate_transcripts(calls, load_analyzer(options), options, keep, progress)


def recall_on_text(calls: list[CallScript], texts: dict[str, str]) -> PiiEvaluation:
    """PII recall when only the redacted output's text is known (the audio path: the text of
    a re-transcription of audio.redacted.wav, or a redacted transcript of synthesised audio).

    A value counts as leaked when `value_leaks` finds any identifying part of it anywhere in its
    call's text. Over-redaction needs an alignment to the script and is not computed here (its
    fields are 0).

    Args:
        calls: labelled scripts.
        texts: call_id -> the text to search (calls missing from it are skipped).
    """
    labelled: dict[str, int] = {}
    leaked: dict[str, int] = {}
    misses: list[Miss] = []
    for call in calls:
        if call.call_id not in texts:
            continue
        for i, turn in enumerate(call.turns):
            for span in turn.pii:
                entity_type, value = span.type, span.text
                labelled[entity_type] = labelled.get(entity_type, 0) + 1
                if value_leaks(value, entity_type, texts[call.call_id]):
                    leaked[entity_type] = leaked.get(entity_type, 0) + 1
                    misses.append(Miss(call_id=call.call_id, turn_index=i, entity_type=entity_type))
    per_type = {t: TypeRecall(labelled=n, leaked=leaked.get(t, 0), recall=1.0 - leaked.get(t, 0) / n)
                for t, n in sorted(labelled.items())}
    total, lost = sum(labelled.values()), sum(leaked.values())
    return PiiEvaluation(per_type=per_type, recall=1.0 - lost / total if total else 1.0, labelled=total, leaked=lost,
                         non_pii_words=0, non_pii_words_redacted=0, over_redaction=0.0, misses=misses)


def over_redaction_on_text(calls: list[CallScript], before: dict[str, str], after: dict[str, str]) -> tuple[int, int]:
    """Over-redaction where the text is a transcription (the audio path), without an alignment.

    Counts, per call, the script's words outside every labelled value that the transcription
    heard (`before`, the unredacted transcript) and how many of those the redaction removed
    (missing from `after`, the redacted transcript), word by word as multisets: an estimate,
    since a word heard twice is matched by count, not by position.

    Returns:
        (non-PII words heard, of those removed): over-redaction is removed / heard.
    """
    from collections import Counter

    heard = removed = 0
    for call in calls:
        if call.call_id not in before or call.call_id not in after:
            continue
        script: Counter[str] = Counter()
        for turn in call.turns:
            labels = _label_spans(turn.text, turn.pii)
            script.update(m.group(0).lower() for m in _TOKEN_RE.finditer(turn.text)
                          if not any(m.start() < e and s < m.end() for _, s, e in labels))
        b = Counter(m.group(0).lower() for m in _TOKEN_RE.finditer(before[call.call_id]))
        kept = re.sub(r"<[A-Z_]+>", " ", after[call.call_id])  # a placeholder's words were not heard
        a = Counter(m.group(0).lower() for m in _TOKEN_RE.finditer(kept))
        for word, n in script.items():
            seen = min(n, b[word])
            heard += seen
            removed += max(0, seen - min(n, a[word]))
    return heard, removed

