"""Street addresses: (flat N,) house number, one to three capitalised words and a street word,
optionally a town."""

from __future__ import annotations

from pipeline.redact.recognizers._base import TablePatternRecognizer

__all__ = ["StreetAddressRecognizer", "STREET_WORDS"]

STREET_WORDS = (
    "Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Grove|Crescent|Close|Drive|Way|Court|Ct|Place|Gardens|Terrace|House"
    "|Row|Walk|Hill|Park|View|Square|Mews|Rise|Green|Parade|Wharf|Yard|Lodge|Cottages|Gate|Grange|Vale|Mount"
    "|Croft|Fold|Meadows?|Chase|Heights|Boulevard|Embankment|Quay|Approach|Wynd|Brow|Bank|Side|End|Buildings"
    "|Mansions|Villas|Tower|Point|Circus|Broadway|Promenade|Hall|Farm|Manor|Cross|Fields?|Dale|Leys|Orchard"
    "|Mead|Glade|Copse|Spinney|Hollow|Nook|Garth|Path|Passage|Alley|Ridge|Heath|Common|Moor|Woods?|Dene|Holt|Lea"
    "|Shaw|Acres?|Bridge|Bottom|Coombe|Combe|Downs?|Knoll|Lawns?|Paddock|Pastures?|Reach|Retreat|Strand|Loke"
    "|Vennel|Circle|Oval|Crest|Brae|Cottages?|Steps|Gdns|Ter|Cres|Dr|Pl|Sq"
)
_WORD = r"[A-Z][a-z'’]+"
# Street words that are not also everyday words ("close", "park", "view", "bank" are): a street however its
# name was transcribed.
_PLAIN_STREET_WORDS = ("[Rr]oad|[Ss]treet|[Ll]ane|[Aa]venue|[Cc]rescent|[Pp]arade|[Gg]ardens|[Tt]errace|[Mm]ews|[Gg]rove"
                       "|[Ww]harf|[Bb]oulevard|[Ee]mbankment|[Qq]uay|[Pp]romenade|[Cc]ottages|[Mm]ansions|[Vv]illas")
# Words that are no part of a street's name ("the same street", "on the main road"); "of" may be ("chandel of parade").
_NOT_STREET_WORDS = ("the|a|an|my|our|your|their|down|up|along|on|in|at|to|from|and|or|this|that|same|old|new|main|high|busy"
               "|quiet|long|short|big|small|next|other|another|every|any|some|still|as|is|was|be|very|just|it's|which|by")
_NOT_STREET = "|".join(f"[{w[0].upper()}{w[0]}]{w[1:]}" for w in _NOT_STREET_WORDS.split("|"))
# "one hundred and 28 Harcourt Street": the canonical form keeps a spoken hundred in words.
_HUNDREDS = r"(?:(?:[Oo]ne|[Tt]wo|[Tt]hree|[Ff]our|[Ff]ive|[Ss]ix|[Ss]even|[Ee]ight|[Nn]ine|\d) hundred(?: and)? )?"
_TOWN = rf"(?:, (?!(?:And|But|The|So|Then|And)\b){_WORD}(?: {_WORD})?(?=[,.!?]|$))?"


class StreetAddressRecognizer(TablePatternRecognizer):
    """'Flat 3, 27 Moorland Road', '12 Sandholme Crescent, Leeds', '22 Calder House'."""

    ENTITY = "STREET_ADDRESS"
    PATTERNS = [
        (
            "street_address",
            rf"(?<![\w-])(?:(?:Flat|flat|Apartment|Apt|Unit|Suite) \d+[A-Z]?,? )?{_HUNDREDS}\d{{1,4}}[A-Za-z]?,? "
            rf"(?:{_WORD} ){{1,3}}(?:{STREET_WORDS})\b{_TOWN}",
            0.6,
        ),
        # Typed in a chat, or a transcriber's lower case ("100A orchard grove"): only near "address" / "live".
        ("street_address_lower", rf"(?<![\w-])(?:flat \d+[a-z]?,? )?\d{{1,4}}[A-Za-z]?,? (?:[a-z]+ ){{1,3}}(?:{STREET_WORDS.lower()})\b", 0.3),
        # No house number ("The Old Forge, Orchard Grove" read back from the account): only near "address".
        ("named_street", rf"(?<![\w-])(?:(?:The )?{_WORD}(?: {_WORD}){{0,2}}, )?(?:{_WORD} ){{1,2}}(?:{STREET_WORDS})\b", 0.3),
        # A street name a transcriber wrote as common words before an unmistakable street word ("Chando's
        # parade", "take chandel of parade"): only near "address" / "line".
        ("garbled_street", rf"(?<![\w-])(?!(?:{_NOT_STREET})\b)[A-Za-z][a-z'’]+ (?:(?!(?:{_NOT_STREET})\b)[A-Za-z][a-z'’]+ ){{0,2}}"
                           rf"(?:{_PLAIN_STREET_WORDS})\b", 0.3),
        ("flat_in_building", rf"(?<![\w-])(?:Flat|flat|Apartment|Unit) \d{{1,4}}[A-Za-z]?,? (?:{_WORD} ){{1,3}}(?:{STREET_WORDS})\b", 0.6),
    ]
    CONTEXT = ["address", "live", "line", "street", "flat", "house"]
