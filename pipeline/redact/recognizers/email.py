"""E-mail addresses, written or spoken (the normaliser writes "j dot smith at example dot com"
as "j.smith@example.com"), validated against an offline public-suffix snapshot."""

from __future__ import annotations

from functools import lru_cache

import tldextract
from presidio_analyzer.predefined_recognizers import EmailRecognizer

__all__ = ["OfflineEmailRecognizer", "offline_extractor"]


@lru_cache(maxsize=1)
def offline_extractor() -> tldextract.TLDExtract:
    """A TLDExtract that uses the snapshot bundled with tldextract: no network, no cache dir.

    Presidio's EmailRecognizer calls `tldextract.extract`, which fetches the public suffix list
    on first use and logs tracebacks when offline.
    """
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail pattern with the domain checked offline."""

    def __init__(self) -> None:
        super().__init__(name="OfflineEmailRecognizer")

    def validate_result(self, pattern_text: str) -> bool:
        domain = pattern_text.rpartition("@")[2]
        return offline_extractor()(domain).suffix != ""
