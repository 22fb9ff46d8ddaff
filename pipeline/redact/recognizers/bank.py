"""Payment data: card number (Luhn), security code and expiry (by context), sort code and
bank account number (by context)."""

from __future__ import annotations

import re

from pipeline.redact.recognizers._base import DIGIT_SEP, TablePatternRecognizer, digits_of
from pipeline.redact.recognizers.dob import MONTH as _MONTH

__all__ = [
    "CardNumberRecognizer",
    "CardSecurityCodeRecognizer",
    "CardExpiryRecognizer",
    "UkSortCodeRecognizer",
    "UkBankAccountRecognizer",
    "luhn_check",
]

_S = DIGIT_SEP
# A match starts and ends at a chunk edge: never inside "4111", but it may stop where a comma
# (a canonical space) ends a spoken group, since a transcriber may run the next number on.
_ALONE_BEFORE = r"(?<![\d-])"
_ALONE_AFTER = r"(?![\d-]\d?)"


def luhn_check(digits: str) -> bool:
    """True when the Luhn checksum of `digits` is valid."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class CardNumberRecognizer(TablePatternRecognizer):
    """12-19 digits in any grouping (every brand and length) passing the Luhn check."""

    ENTITY = "CREDIT_CARD"
    PATTERNS = [
        # 0.3: a number that fails Luhn is still a card number near "card" / "visa" (a
        # transcriber drops or mishears a digit, which breaks the checksum, not the privacy).
        ("card_number", rf"{_ALONE_BEFORE}\d(?:{_S}\d){{11,18}}{_ALONE_AFTER}", 0.3),
        # The last four digits identify a card too ("the card ending in 4242").
        ("card_last_four", rf"(?<=\b(?:ending|ends|last (?:four|4)(?: digits| numbers)?(?: are| is)?)(?: in| with)?,? ){_ALONE_BEFORE}\d(?:{_S}\d){{3}}{_ALONE_AFTER}", 0.6),
    ]
    CONTEXT = ["card", "visa", "mastercard", "amex", "debit", "credit"]

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = digits_of(pattern_text)
        if len(digits) > 4 and luhn_check(digits) and set(digits) != {"0"}:
            return True  # score 1.0
        return None  # keep the pattern's score; context decides


class CardSecurityCodeRecognizer(TablePatternRecognizer):
    """Three or four digits standing alone, only near words about the security code."""

    ENTITY = "CARD_SECURITY_CODE"
    PATTERNS = [("card_cvv", rf"{_ALONE_BEFORE}\d{{3,4}}{_ALONE_AFTER}", 0.2)]
    # Presidio matches context per word (lemma), so context entries are single words.
    CONTEXT = ["cvv", "cvc", "csc", "cv2", "security", "digit"]


class CardExpiryRecognizer(TablePatternRecognizer):
    """MM/YY, MM YY, MMYY or MM/YYYY, only near words about expiry."""

    ENTITY = "CARD_EXPIRY"
    FLAGS = re.DOTALL | re.MULTILINE | re.IGNORECASE
    PATTERNS = [
        ("card_expiry", rf"{_ALONE_BEFORE}(?:(?:0[1-9]|1[0-2])(?: ?/ ?|[ -])?|[1-9] ?/ ?)(?:20)?\d{{2}}{_ALONE_AFTER}", 0.25),
        ("card_expiry_month", rf"\b{_MONTH},? (?:20)?\d{{2}}{_ALONE_AFTER}", 0.25),
    ]
    CONTEXT = ["expiry", "expire", "expiration", "valid"]


class UkSortCodeRecognizer(TablePatternRecognizer):
    """Six digits in three pairs, only near 'sort code'."""

    ENTITY = "UK_SORT_CODE"
    PATTERNS = [("uk_sort_code", rf"{_ALONE_BEFORE}\d{{2}}{_S}\d{{2}}{_S}\d{{2}}{_ALONE_AFTER}", 0.2)]
    CONTEXT = ["sort"]


class UkBankAccountRecognizer(TablePatternRecognizer):
    """Seven or eight digits, only near 'account' / 'bank'."""

    ENTITY = "UK_BANK_ACCOUNT"
    PATTERNS = [("uk_bank_account", rf"{_ALONE_BEFORE}\d(?:{_S}\d){{6,7}}{_ALONE_AFTER}", 0.2)]
    CONTEXT = ["account", "bank"]

    def validate_result(self, pattern_text: str) -> bool | None:
        return False if len(set(digits_of(pattern_text))) == 1 else None
