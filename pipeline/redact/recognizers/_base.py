"""Shared base of callqa's pattern recognisers: a pattern table, context words, a check hook.

Recognisers run on the canonical text of a turn (see `pipeline.redact.normalise`), where
spoken codes are already written as a person would type them ("07700 900 462", "BS3 4QJ").
Presidio matches with the `regex` module, so variable-length look-behinds are allowed.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern, PatternRecognizer

__all__ = ["TablePatternRecognizer", "DIGIT_SEP", "digits_of"]

# Canonical digit groups are separated by at most one space or hyphen.
DIGIT_SEP = r"[ -]?"


def digits_of(text: str) -> str:
    """Only the digits of `text`."""
    return re.sub(r"\D", "", text)


class TablePatternRecognizer(PatternRecognizer):
    """A PatternRecognizer configured from class attributes.

    Subclasses set ENTITY, PATTERNS [(name, regex, score)], CONTEXT and, where letter case
    carries meaning (postcodes, names), keep FLAGS case-sensitive.
    """

    ENTITY: ClassVar[str] = ""
    PATTERNS: ClassVar[list[tuple[str, str, float]]] = []
    CONTEXT: ClassVar[list[str]] = []
    FLAGS: ClassVar[int] = re.DOTALL | re.MULTILINE

    def __init__(self, patterns: list[tuple[str, str, float]] | None = None, context: list[str] | None = None):
        table = patterns if patterns is not None else self.PATTERNS
        super().__init__(
            supported_entity=self.ENTITY,
            patterns=[Pattern(name, regex, score) for name, regex, score in table],
            context=context if context is not None else list(self.CONTEXT),
            supported_language="en",
            name=type(self).__name__,
            global_regex_flags=self.FLAGS,
        )

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):  # noqa: D102
        # AnalyzerEngine passes its own flags (IGNORECASE); letter case is part of these formats.
        return super().analyze(text, entities, nlp_artifacts=nlp_artifacts, regex_flags=self.FLAGS)
