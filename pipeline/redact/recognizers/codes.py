"""UK codes with fixed formats: postcode, National Insurance number, NHS number (mod 11)."""

from __future__ import annotations

import re

from pipeline.redact.recognizers._base import DIGIT_SEP, TablePatternRecognizer, digits_of

__all__ = ["UkPostcodeRecognizer", "UkNinoRecognizer", "UkNhsRecognizer"]

_S = DIGIT_SEP


class UkPostcodeRecognizer(TablePatternRecognizer):
    """Outward code (area letters, district) + inward code (sector digit, unit letters).
    Any case: chat customers type "m14 6pd"."""

    ENTITY = "UK_POSTCODE"
    FLAGS = re.DOTALL | re.MULTILINE | re.IGNORECASE
    PATTERNS = [
        ("uk_postcode", r"(?<![A-Za-z0-9])(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-HJKPSTUW\d]? ?\d[ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])", 0.6),
    ]
    CONTEXT = ["postcode", "post", "address", "live"]


class UkNinoRecognizer(TablePatternRecognizer):
    """Two prefix letters (not D, F, I, Q, U, V; second not O; not BG GB KN NK NT TN ZZ),
    six digits, a suffix A-D."""

    ENTITY = "UK_NINO"
    FLAGS = re.DOTALL | re.MULTILINE | re.IGNORECASE
    PATTERNS = [
        ("uk_nino", rf"(?<![A-Za-z0-9])(?!(?i:BG|GB|KN|NK|NT|TN|ZZ))[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]{_S}\d{{2}}{_S}\d{{2}}{_S}\d{{2}}{_S}[A-D](?![A-Za-z0-9])", 0.6),
    ]
    CONTEXT = ["insurance", "nino", "ni"]


class UkNhsRecognizer(TablePatternRecognizer):
    """Ten digits (3-3-4) whose last is the mod-11 check digit of the first nine."""

    ENTITY = "UK_NHS"
    PATTERNS = [("uk_nhs", rf"(?<![\d-])\d{{3}}{_S}\d{{3}}{_S}\d{{4}}(?![\d-])", 0.4)]
    CONTEXT = ["nhs", "health", "patient", "hospital"]

    def validate_result(self, pattern_text: str) -> bool:
        return nhs_check(digits_of(pattern_text))


def nhs_check(digits: str) -> bool:
    """True when `digits` is ten digits with a valid NHS mod-11 check digit."""
    if not re.fullmatch(r"\d{10}", digits) or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])
