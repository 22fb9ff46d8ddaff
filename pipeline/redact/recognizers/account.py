"""The organisation's own customer / account / policy / booking references (patterns from config)."""

from __future__ import annotations

from pipeline.redact.recognizers._base import TablePatternRecognizer, digits_of

__all__ = ["AccountReferenceRecognizer"]


class AccountReferenceRecognizer(TablePatternRecognizer):
    """Site-configured reference formats; context words raise weak (digits-only) patterns."""

    ENTITY = "ACCOUNT_NUMBER"
    CONTEXT = ["account", "reference", "customer", "policy", "booking", "membership", "tenancy", "ref"]

    def __init__(self, patterns: list[tuple[str, str, float]], context: list[str] | None = None):
        super().__init__(patterns=patterns, context=context)

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = digits_of(pattern_text)
        return False if digits and len(set(digits)) == 1 and len(digits) > 3 else None
