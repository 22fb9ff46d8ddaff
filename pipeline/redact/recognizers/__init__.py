"""UK recognisers for Presidio, one small class each (patterns, context words, check hook)."""

from pipeline.redact.recognizers.account import AccountReferenceRecognizer
from pipeline.redact.recognizers.address import StreetAddressRecognizer
from pipeline.redact.recognizers.bank import (
    CardExpiryRecognizer,
    CardNumberRecognizer,
    CardSecurityCodeRecognizer,
    UkBankAccountRecognizer,
    UkSortCodeRecognizer,
    luhn_check,
)
from pipeline.redact.recognizers.codes import UkNhsRecognizer, UkNinoRecognizer, UkPostcodeRecognizer, nhs_check
from pipeline.redact.recognizers.dob import DateOfBirthRecognizer
from pipeline.redact.recognizers.email import MisheardEmailRecognizer, OfflineEmailRecognizer, offline_extractor
from pipeline.redact.recognizers.person import LowerCaseIntroRecognizer, PersonContextRecognizer, SpelledNameRecognizer
from pipeline.redact.recognizers.phone import UkPhoneRecognizer

__all__ = [
    "AccountReferenceRecognizer",
    "StreetAddressRecognizer",
    "CardExpiryRecognizer",
    "CardNumberRecognizer",
    "CardSecurityCodeRecognizer",
    "UkBankAccountRecognizer",
    "UkSortCodeRecognizer",
    "UkNhsRecognizer",
    "UkNinoRecognizer",
    "UkPostcodeRecognizer",
    "DateOfBirthRecognizer",
    "OfflineEmailRecognizer",
    "MisheardEmailRecognizer",
    "PersonContextRecognizer",
    "LowerCaseIntroRecognizer",
    "SpelledNameRecognizer",
    "UkPhoneRecognizer",
    "luhn_check",
    "nhs_check",
    "offline_extractor",
]
