"""The organisation's name, found in the call itself, so that the NER model's habit of tagging
it PERSON ("Good morning, Acme Telecom, Priya speaking") does not redact it when no sidecar
names the organisation.

Three general signs, none tied to a particular organisation:
- a cue that introduces an organisation: "welcome to X", "you've reached X", "calling from X",
  "here at X", and in the opening turns "thanks for calling X";
- the greeting position of an agent's opening: "[Good morning,] X [team words], <name> speaking"
  (or "<name> here", "you're through to", "my name is", "this is", "I'm");
- a capitalised phrase ending in a company word from the policy ("Ltd", "Telecom", "Council").
A phrase of one word needs a cue or a company word: a lone capitalised word after a greeting is
more often the agent's or customer's name.
"""

from __future__ import annotations

import re

from pipeline.redact.options import RedactOptions
from pipeline.redact.recognizers.person import NOT_NAMES

__all__ = ["organisation_names", "OPENING_TURNS"]

_CAP = r"[A-Z][A-Za-z&'’-]*"
_PHRASE = rf"(?P<org>{_CAP}(?: (?:(?:&|and|of|the|on) )?{_CAP}){{0,4}})"
_CUE_RE = re.compile(rf"\b(?:[Ww]elcome to|you've reached|you have reached|[Cc]alling from|[Hh]ere at|on behalf of) {_PHRASE}")
# "Thanks for calling X" names the organisation in the opening; in the closing, X is as often the
# customer ("Thanks for calling, Ms Iyer"), so it counts in the first two turns only.
_OPENING_CUE_RE = re.compile(rf"\b[Tt]hanks? (?:you )?for (?:calling|contacting|choosing) {_PHRASE}")
OPENING_TURNS = 2
_GREETING_RE = re.compile(
    rf"^(?:(?:[Gg]ood (?:morning|afternoon|evening)|[Hh]ello|[Hh]i|[Hh]iya|[Mm]orning|[Aa]fternoon|[Ee]vening)[,.!]? )?"
    rf"{_PHRASE}(?: [a-z]+){{0,3}}[,.] (?=(?:{_CAP} (?:speaking|here)|you're through|you are through|you're speaking|[Mm]y name|[Tt]his is|I'm))"
)
_NOT = {w.casefold() for w in NOT_NAMES.replace("?", "").split("|")}


def _clean(phrase: str, suffixes: set[str], cue: bool) -> str | None:
    words = phrase.split()
    while words and words[0].casefold() in _NOT:
        words = words[1:]
    if not words:
        return None
    has_suffix = any(w.casefold().strip(".") in suffixes for w in words)
    if len(words) == 1 and not (cue or has_suffix):
        return None
    return " ".join(words)


def organisation_names(texts: list[str], speakers: list[str], options: RedactOptions) -> tuple[str, ...]:
    """Organisation names said in a call (kept from PERSON redaction for this call).

    Args:
        texts: turn texts.
        speakers: speaker of each turn; the greeting position counts for the agent's turns only.
        options: the policy (organisation_suffixes).

    Returns:
        tuple[str, ...]: distinct phrases, in order of first mention.
    """
    suffixes = {s.casefold() for s in options.organisation_suffixes}
    suffix_re = re.compile(
        rf"\b(?P<org>(?:{_CAP} ){{1,4}}(?:{'|'.join(re.escape(s) for s in options.organisation_suffixes)}))\b"
    ) if suffixes else None
    found: list[str] = []
    for i, (text, speaker) in enumerate(zip(texts, speakers)):
        candidates: list[tuple[str, bool]] = [(m.group("org"), True) for m in _CUE_RE.finditer(text)]
        if i < OPENING_TURNS:
            candidates += [(m.group("org"), True) for m in _OPENING_CUE_RE.finditer(text)]
        if speaker == "agent":
            candidates += [(m.group("org"), False) for m in _GREETING_RE.finditer(text)]
        if suffix_re is not None:
            candidates += [(m.group("org"), False) for m in suffix_re.finditer(text)]
        for phrase, cue in candidates:
            name = _clean(phrase, suffixes, cue)
            if name and name not in found:
                found.append(name)
    return tuple(found)
