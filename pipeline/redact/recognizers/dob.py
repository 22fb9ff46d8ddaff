"""Dates of birth: any date form, kept only near words about birth (a date alone is not PII)."""

from __future__ import annotations

import re

from pipeline.redact.recognizers._base import TablePatternRecognizer

__all__ = ["DateOfBirthRecognizer", "MONTH", "ORDINAL"]

_UNITS = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth"
_ORD = (
    rf"(?:{_UNITS}|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth"
    rf"|nineteenth|twentieth|twenty[- ]?(?:{_UNITS})|thirtieth|thirty[- ]?first|[0-3]?\d(?:st|nd|rd|th)?)"
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# "two thousand and four" is canonicalised to "2 thousand and 4" (normalise.canonicalise).
_YEAR = r"(?:(?:19|20)\d{2}|2 thousand(?:,? (?:and )?[1-9]\d?)?|'?\d{2})"
MONTH, ORDINAL = _MONTH, _ORD


class DateOfBirthRecognizer(TablePatternRecognizer):
    """'the 3rd of September, 1978', 'May the fifth 86', '07/03/1993', '07 03 93' near 'birth'."""

    ENTITY = "DATE_OF_BIRTH"
    FLAGS = re.DOTALL | re.MULTILINE | re.IGNORECASE
    PATTERNS = [
        ("dob_born", rf"(?<=\b(?:born|birth is|birth's|d ?o ?b is|dob|d\.o\.b\.?),?(?: on| in)? )(?:(?:the )?{_ORD},? (?:of )?{_MONTH}\b(?:,? {_YEAR})?|[0-3]?\d ?[/.-] ?[01]?\d ?[/.-] ?(?:19|20)?\d{{2}})(?![ ./-]?\d)", 0.6),
        ("dob_born_year", r"(?<=\bborn (?:in )?)(?:19|20)\d{2}(?![ ]?\d)", 0.6),
        ("dob_day_month", rf"\b(?:the )?{_ORD},? (?:of )?{_MONTH}\b(?:[,.]? (?:in )?{_YEAR}(?![ ]?\d))?", 0.3),
        ("dob_month_day", rf"\b{_MONTH},? (?:the )?{_ORD}\b(?:[,.]? {_YEAR}(?![ ]?\d))?", 0.3),
        # "date of birth start October 92": the day lost to the transcriber, the month and year left
        ("dob_month_year", rf"\b{_MONTH},? (?:of )?(?:(?:19|20)\d{{2}}|'?\d{{2}})\b(?![ ./-]?\d)", 0.3),
        ("dob_ordinal_of_ordinal", rf"\b(?:the )?{_ORD} of the {_ORD}\b(?:,? {_YEAR}(?![ ]?\d))?", 0.3),
        ("dob_numeric", r"(?<!\d[ ./-]?)[0-3]?\d ?[/.-] ?[01]?\d ?[/.-] ?(?:19|20)?\d{2}(?![ ./-]?\d)", 0.3),
        ("dob_digits", r"(?<!\d[ ]?)(?:0[1-9]|[12]\d|3[01]) ?(?:0[1-9]|1[0-2]) ?(?:19|20)?\d{2}(?![ ]?\d)", 0.2),
    ]
    CONTEXT = ["birth", "born", "dob", "birthday", "d.o.b"]
