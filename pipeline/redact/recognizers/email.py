"""E-mail addresses, written or spoken (the normaliser writes "j dot smith at example dot com"
as "j.smith@example.com"), validated against an offline public-suffix snapshot."""

from __future__ import annotations

from functools import lru_cache

import tldextract
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from pipeline.redact.recognizers._base import TablePatternRecognizer

__all__ = ["OfflineEmailRecognizer", "MisheardEmailRecognizer", "offline_extractor"]


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


# A mail provider's domain, as a transcriber writes it ("gmail dot com", "yahoo .co.uk"; "yahoo .co .uk" where digits
# end the local part - after words alone, the spaced form let the local part run back over talk).
_PROVIDERS = r"(?:g ?mail|hotmail|outlook|yahoo|icloud|aol|btinternet|sky|virgin ?media|talktalk|live|msn|proton ?mail|me)"
_PROVIDER = _PROVIDERS + r"(?: ?\.| dot )(?:com|org|net|co(?:\.| dot )uk|uk)\b"
_PROVIDER_SPACED = _PROVIDERS + r"(?: ?\.| dot )(?:com|org|net|co(?: ?\.| dot )uk|uk)\b"


class MisheardEmailRecognizer(TablePatternRecognizer):
    """An e-mail a transcriber ran together: its "at" lost, the domain's dot kept
    ("gsmith65atexample .org"). Weak alone (a web address looks the same): needs 'email' nearby."""

    ENTITY = "EMAIL_ADDRESS"
    PATTERNS = [
        ("glued_email", r"(?<![\w@.])[A-Za-z0-9][\w+-]{4,}(?: ?\.[\w-]+)*? ?\.(?:com|org|net|co\.uk|org\.uk|uk|io|ie|info)\b", 0.3),
        # ... with its "at" glued between digits and the domain ("Shopify42atoutwork .com"): an address, no web
        # page name looks like that, so no context is needed.
        ("glued_at", r"(?<![\w@.])[A-Za-z][A-Za-z0-9._-]*\dat[a-z]{3,}(?: ?\.[a-z]{2,})*? ?\.(?:com|org|net|co\.uk|uk|io|ie|info)\b", 0.6),
        # Said with "at" but a domain the normaliser could not join ("he dot catwalked his nine to four at
        # B -tontonet .com"): the words of one sentence before "at" are the local part. A web address said
        # the same way ("a look at bt .com") loses a few words: cheap beside an address heard.
        # Commas may part its words ("Ramuandat korashi, all one word, at virginmedia .com").
        # A word after the first may start with the transcriber's "-" for a spoken "hyphen" ("in grid -hicomvaticoria at
        # b -tempernich .com").
        ("spoken_email", r"(?<![\w@.-])[A-Za-z0-9][\w'-]*(?:,? -?[A-Za-z0-9][\w'-]*){0,6},? at [A-Za-z0-9][\w-]*"
                         r"(?: -?[A-Za-z0-9][\w-]*){0,2} ?\.(?:com|org|net|co\.uk|org\.uk|uk|io|ie|info)\b", 0.5),
        # ... its "at" heard as "a" / "add" / "and" before a mail provider's name ("pardon underscore jang all one word
        # a gmail dot com"): the provider says what the rest is.
        ("spoken_email_provider", r"(?<![\w@.-])[A-Za-z0-9][\w'-]*(?:,? [A-Za-z0-9][\w'-]*){0,6},? (?:a|add|had|and|it) "
                                  rf"{_PROVIDER}", 0.5),
        # ... or lost, after a local part that ends in digits ("extrovert 37 -8, yahoo .co .uk"); words alone before a
        # provider are talk ("it's all on sky dot com").
        ("spoken_email_provider_digits", r"(?<![\w@.-])[A-Za-z][\w'-]*(?: [A-Za-z][\w'-]*){0,3},? -?\d+(?: -?\d+){0,3},? "
                                         rf"{_PROVIDER_SPACED}", 0.5),
        # ... its "at" lost, two "dot"s left: one in the local part, one before the top-level domain ("tie right park
        # dot chilviet prote mill dot com" for "tariq dot chaudhry at protonmail dot com"); a web address said aloud
        # starts "www" or has no dot before its domain's.
        ("spoken_dotted_email", r"(?<![\w@.-])(?!www\b)[A-Za-z0-9][\w'-]*(?: (?!www\b)[A-Za-z0-9][\w'-]*){0,2} dot [A-Za-z0-9][\w'-]*"
                                r"(?: [A-Za-z0-9][\w'-]*){0,3} dot (?:com|net|org|co dot uk|org dot uk)\b", 0.5),
        # A local part spelled with "underscore" (or "under score"), its domain said in another turn or not yet
        # ("Tariq under score O by S." before the agent asks "And your email?"): nobody says "underscore" in talk.
        ("underscore_local", r"(?<![\w@.-])[A-Za-z0-9][\w'-]*,? (?:underscore|under score),? [A-Za-z0-9][\w'-]*"
                             r"(?: [A-Za-z0-9][\w'-]*){0,2}?(?=[.,!?]|$| at\b)", 0.5),
    ]
    CONTEXT = ["email", "e-mail", "mail", "emails", "emailed", "address", "send"]
