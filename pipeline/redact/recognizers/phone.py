"""UK telephone numbers: landline (01/02/03), mobile (07), non-geographic (08/09), +44."""

from __future__ import annotations

from pipeline.redact.recognizers._base import DIGIT_SEP, TablePatternRecognizer, digits_of

__all__ = ["UkPhoneRecognizer"]

_S = DIGIT_SEP


class UkPhoneRecognizer(TablePatternRecognizer):
    """A UK number: 0 or +44 followed by a 9 or 10 digit national significant number."""

    ENTITY = "PHONE_NUMBER"
    PATTERNS = [
        ("uk_phone", rf"(?<![\d+-])(?:(?:\+|plus ?|00 ?)44{_S}(?:\(0\){_S})?|\(?0)(?:\)?{_S}\d){{9,10}}(?![\d-])", 0.6),
        # A transcriber may drop the leading "oh" ("a 113 496 0228"): ten digits, only near "phone".
        ("uk_phone_no_trunk", rf"(?<![\d+-])[1237](?:{_S}\d){{9}}(?![\d-])", 0.2),
        # Part of a number (a transcriber cut it off, or the caller gave the last digits): six
        # to nine digits, only near "phone" / "number" / "mobile".
        ("uk_phone_partial", rf"(?<![\d+-])\d(?:{_S}\d){{5,8}}(?![\d-])", 0.15),
        # A number begun as the turn ends ("No, I misread that. It's plus four four"): the rest was cut off or
        # dropped by the transcriber, and its time runs on past the turn (text._times).
        ("uk_phone_begun", rf"(?<![\d+-])(?:\+|plus ?)44{_S}?[.,!?]?\s*$", 0.5),
    ]
    CONTEXT = ["phone", "mobile", "number", "landline", "call", "ring", "contact", "text", "tel"]

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = digits_of(pattern_text)
        if len(digits) < 10:
            return None  # a partial number: its low score needs context to count
        if pattern_text[:1] in "1237":
            national = digits  # no trunk prefix
        elif digits.startswith("0044"):
            national = digits[4:]
        elif pattern_text.lstrip("(").startswith("0"):
            national = digits[1:]
        else:
            national = digits[2:]
        if len(national) not in (9, 10) or national[0] not in "1235789":
            return False
        if national[0] == "7" and len(national) != 10:  # mobiles are always 07xxx xxxxxx
            return False
        return None  # plausible: keep the pattern's score, let context raise it
