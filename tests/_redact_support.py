"""Shared helpers for the redaction tests (pytest only auto-loads conftest.py, so they live here)."""

from __future__ import annotations

from pipeline.redact.analyzer import load_analyzer
from pipeline.redact.scan import detect_call
from pipeline.redact.options import RedactOptions, load_redact_options
from pipeline.schema import Turn, Word

KEY = b"test-key-0123456789abcdef"


def options(**overrides) -> RedactOptions:
    return load_redact_options(overrides=overrides or None)


def analyzer(opts: RedactOptions | None = None):
    return load_analyzer(opts or options())


def found(texts: list[str], entity: str | None = None, speakers: list[str] | None = None,
          opts: RedactOptions | None = None) -> list[tuple[int, str, str]]:
    """(turn, entity type, original substring) of every finding in a little call."""
    opts = opts or options()
    speakers = speakers or ["customer" if i % 2 else "agent" for i in range(len(texts))]
    out = []
    for d in detect_call(texts, speakers, analyzer(opts), opts):
        if entity is None or d.entity_type == entity:
            out.append((d.turn_index, d.entity_type, texts[d.turn_index][d.start:d.end]))
    return out


def spans_of(texts: list[str], entity: str | None = None, **kw) -> list[str]:
    """Redacted substrings of the LAST turn (the turn under test; earlier turns are context)."""
    last = len(texts) - 1
    return [s for t, _, s in found(texts, entity, **kw) if t == last]


def timed_turn(index: int, speaker: str, text: str, start: float = 0.0, word_s: float = 0.3) -> Turn:
    """A turn whose words get consecutive times (word_s each) from `start`."""
    words = []
    t = start
    for w in text.split():
        words.append(Word(start_s=t, end_s=t + word_s * 0.9, text=w, probability=0.9))
        t += word_s
    return Turn(index=index, speaker=speaker, start_s=start, end_s=t, text=text, words=words)
