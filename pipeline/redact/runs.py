"""Spoken code runs: digits and spelled letters said in a row, however a person or a transcriber
puts them, found in the original text (no canonical rewrite needed).

A *unit* is one written character of a code: a digit ("4", "four", "oh" next to a digit,
"nought"; "forty-five" is two; "double four" is two), a spelled letter ("X", "S for Sierra",
"Sierra" from the phonetic alphabet), or a character of a mixed token ("M14", "6PD"). A *run*
is a maximal sequence of units with only separators between them - spaces, commas, hyphens,
full stops ("555-55, 4-double, 4-4", "X -X -2 -6") - or a few joining words of a correction
("four five - sorry, four six"). "hundred" / "thousand" and ordinals ("14th") are amounts and
dates, never units, so they end a run.

Weak units ("a", "I", a lone "oh", a dangling "double") never start or end a run: "A 2 year
deal" is one unit, not two. A run of phonetic-alphabet words alone is `weak` ("Victor" alone is
a name): the caller counts it only beside other spelling (`phonetic`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.redact.normalise import TEENS, TENS, UNITS
from pipeline.redact.options import CodeRunOptions

__all__ = ["Unit", "Run", "find_runs", "words_before", "words_after"]

_TOKEN_RE = re.compile(
    r"(?i:x-ray)|[£$€%]|\d+(?:[.,:]\d+)*(?:st|nd|rd|th)?|[A-Za-z]+(?:['’][A-Za-z]+)*"
)
_GAP_RE = re.compile(r"^[\s,\-–—.…/]*$")
# "Devil 7. Devil 0.": how a small transcriber writes "double" said fast on a telephone line.
_REPEAT = {"double": 2, "triple": 3, "treble": 3, "devil": 2}
# After "double" only, a transcriber's "oh": "double low", "double lo" (never a phrase of its own).
_REPEATED_OH = {"low", "lo", "loh"}
_BREAKERS = {"hundred", "thousand", "million", "billion"}


@dataclass(frozen=True)
class Unit:
    """Written characters of one or more tokens: `text` digits/letters, [start, end) in the original."""

    text: str
    start: int
    end: int
    weak: bool = False
    phonetic: bool = False
    written: str = ""  # the token as written when it was a digit string ("2019", "45.50", "10:30")
    spelled: bool = False  # "B for Bravo", "Be for Bravo": a letter spelled out on purpose


@dataclass(frozen=True)
class Run:
    """A run of units in one turn.

    Attributes:
        units: the units in order.
        start, end: original character span (first unit's start, last unit's end).
        at_start, at_end: only separators or filler words lie between the run and the turn's edge.
    """

    units: tuple[Unit, ...]
    start: int
    end: int
    at_start: bool
    at_end: bool

    @property
    def code(self) -> str:
        return "".join(u.text for u in self.units)

    @property
    def weak(self) -> bool:
        """Only weak units: a lone "Victor" (a name more often than a letter) or "upper alpha"."""
        return all(u.weak for u in self.units)

    @property
    def phonetic(self) -> int:
        """How many units were said with the phonetic alphabet or as "X for Word"."""
        return sum(u.phonetic for u in self.units)

    @property
    def spelled(self) -> bool:
        """Whether a letter in it was spelled with the phonetic alphabet ("B for Bravo"): personal data
        however short, as nobody spells a word that way for nothing."""
        return any(u.spelled for u in self.units)

    @property
    def digits_only(self) -> bool:
        return self.code.isdigit()

    def __len__(self) -> int:
        return len(self.code)


@dataclass(frozen=True)
class _Tok:
    text: str
    start: int
    end: int


_NOT_LETTERS = frozenset("pay ask the and not now all one two for you out our get got go so was are but had has "
                         "did can may use buy say".split())


def _digit_word(word: str) -> str | None:
    w = word.lower()
    return UNITS.get(w) if w not in {"oh", "o"} else "0"


def _unit_at(text: str, toks: list[_Tok], k: int, opts: CodeRunOptions) -> tuple[Unit, int] | None:
    """The unit starting at token k and the tokens it takes, or None."""
    tok = toks[k]
    low = tok.text.lower()
    nxt = toks[k + 1] if k + 1 < len(toks) else None
    if re.fullmatch(r"\d+(?:st|nd|rd|th)", low):
        return None  # an ordinal: a date, not a code
    if tok.text[0].isdigit():
        digits = re.sub(r"\D", "", tok.text)
        return Unit(digits, tok.start, tok.end, written=tok.text), 1
    # "S for Sierra" / "B as in Bravo": one letter, whatever the example word ("O for Oscar" too);
    # a transcriber's "Be for Victor" / "C for Zoolard" still spells one: a short word or a single
    # letter before "for", and a phonetic-alphabet word or any capitalised word after it.
    j = k + 1
    while j < len(toks) and toks[j].text.lower() in opts.spelling_words and j - k <= 2:
        j += 1
    if j > k + 1 and j < len(toks) and (len(toks[j].text) > 1 or toks[j].text.lower() == "x") and len(tok.text) <= 6 \
            and tok.text.isalpha() \
            and re.fullmatch(r"[\s,.-]*", text[tok.end:toks[j].start].replace(" for", "").replace(" as in", "")
                             .replace(" like", "").replace(" as", "")) is not None:
        example = toks[j].text
        if example.lower() == "x" and j + 1 < len(toks) and toks[j + 1].text.lower() == "ray":
            # a transcriber's "X -ray": spelled on purpose when a single letter stands before "for"
            return Unit("X", tok.start, toks[j + 1].end, phonetic=True, spelled=len(tok.text) == 1), j - k + 2
        if (len(tok.text) == 1 and (example[0].lower() == low or example[0].isupper())) \
                or example.lower() in opts.phonetic_alphabet:
            letter = tok.text.upper() if len(tok.text) == 1 else example[0].upper()
            # A short word before "for <phonetic word>" is the letter however transcribed ("my fee for Delta").
            letter_like = len(tok.text) == 1 or low in opts.letter_words or (len(low) <= 3 and low not in _NOT_LETTERS)
            spelled = letter_like and example.lower() in opts.phonetic_alphabet
            return Unit(letter, tok.start, toks[j].end, phonetic=True, spelled=spelled), j - k + 1
    if low == "plus" and nxt is not None and (nxt.text[0].isdigit() or nxt.text.lower() in UNITS):
        return Unit("", tok.start, tok.end), 1  # "plus four four ...": part of the number
    if low in _REPEAT:
        if nxt is not None and (_digit_word(nxt.text) is not None or (len(nxt.text) == 1 and nxt.text.isalnum())
                                or nxt.text.lower() in _REPEATED_OH):
            one = _digit_word(nxt.text) or ("0" if nxt.text.lower() in _REPEATED_OH else nxt.text.upper())
            return Unit(one * _REPEAT[low], tok.start, nxt.end), 2
        return Unit("", tok.start, tok.end, weak=True), 1  # a dangling "double": the digit comes after a break
    if low in UNITS and low not in {"oh", "o"}:
        return Unit(UNITS[low], tok.start, tok.end), 1
    if low in {"oh", "o"}:
        return Unit("0", tok.start, tok.end, weak=True), 1
    if low == "though" and k > 0 and (toks[k - 1].text[0].isdigit() or toks[k - 1].text.lower() in UNITS) \
            and re.fullmatch(r",?\s", text[toks[k - 1].end:tok.start]):
        return Unit("0", tok.start, tok.end, weak=True), 1  # "three oh" heard as "three, though"
    if low in TEENS:
        return Unit(TEENS[low], tok.start, tok.end), 1
    if low in TENS:
        if nxt is not None and nxt.text.lower() in UNITS and nxt.text.lower() not in {"oh", "o", "zero", "nought", "nil"} \
                and re.fullmatch(r"[\s-]?", text[tok.end:nxt.start]):
            return Unit(TENS[low] + UNITS[nxt.text.lower()], tok.start, nxt.end), 2
        return Unit(TENS[low] + "0", tok.start, tok.end), 1
    if len(tok.text) == 1 and tok.text.isalpha():
        # "a" / "I" are words far more often than letters, and so is a capital "A" opening a sentence.
        weak = tok.text in {"a", "i", "I"} or (tok.text == "A" and re.search(r"(?:^|[.?!])\s*$", text[:tok.start]) is not None)
        return Unit(tok.text.upper(), tok.start, tok.end, weak=weak), 1
    if low in opts.phonetic_alphabet:
        return Unit(low[0].upper(), tok.start, tok.end, weak=True, phonetic=True), 1
    if re.fullmatch(r"[A-Z]{2,3}", tok.text) and tok.text not in {"OK", "TV", "ID", "PIN"}:
        # "FL 7723", "M14 6 PD": letters of a code, or an acronym: kept only beside another unit.
        return Unit(tok.text, tok.start, tok.end, weak=True), 1
    if re.fullmatch(r"(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9]{2,8}", tok.text):
        return Unit(tok.text.upper(), tok.start, tok.end), 1  # "M14", "6PD", "SW1A"
    return None


def find_runs(text: str, opts: CodeRunOptions) -> list[Run]:
    """Every run of code units in one turn's text.

    Args:
        text: the turn text.
        opts: the policy's code_runs section (joining words, phonetic alphabet).

    Returns:
        list[Run]: runs in order, each with at least one unit that is not weak (or two
        phonetic-alphabet words); their lengths are not checked here.
    """
    toks = [_Tok(m.group(0), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]
    return _runs(text, toks, opts)


def _runs(text: str, toks: list[_Tok], opts: CodeRunOptions) -> list[Run]:
    items: list[tuple[Unit | None, int, int]] = []  # (unit or None for a joiner, first token, last token)
    k = 0
    while k < len(toks):
        found = _unit_at(text, toks, k, opts)
        if found is not None:
            unit, used = found
            items.append((unit, k, k + used - 1))
            k += used
        elif toks[k].text.lower() in opts.joiners:
            items.append((None, k, k))
            k += 1
        else:
            items.append((None, -1, k))  # a break
            k += 1
    groups: list[list[Unit]] = []
    current: list[Unit] = []
    pending_joiners = 0
    last_tok = -2
    for unit, first, last in items:
        connected = last_tok >= 0 and _GAP_RE.match(text[toks[last_tok].end:toks[first if first >= 0 else last].start])
        if first < 0 or not connected and current:
            if current:
                groups.append(current)
            current, pending_joiners = [], 0
            if first < 0:
                last_tok = -2
                continue
        if unit is None:
            if current and pending_joiners < 2:
                pending_joiners += 1
                last_tok = last
            else:
                if current:
                    groups.append(current)
                current, pending_joiners, last_tok = [], 0, -2
            continue
        current.append(unit)
        pending_joiners = 0
        last_tok = last
    if current:
        groups.append(current)
    out: list[Run] = []
    for group in groups:
        group = _trim(group, text)
        if not group:
            continue
        if all(u.weak for u in group) and not any(u.phonetic for u in group):
            continue
        start, end = group[0].start, group[-1].end
        out.append(Run(tuple(group), start, end, _edge(text[:start], opts), _edge(text[end:], opts, after=True)))
    return out


def _trim(group: list[Unit], text: str) -> list[Unit]:
    """Weak units at a run's edges go, except phonetic words and "oh"s beside the code.

    A block of "oh"s is kept when the unit beside it is a digit ("oh, nine, oh, oh": the chunk of a
    number said in pieces must end where it was said) or, at the run's end, any strong unit ("M Y,
    oh oh": the digits of a reference after its letters); a leading "oh" before a letter is an
    interjection ("Oh, B for Bravo"), a lone capital "O" or "I" there is the code's first letter
    when two strong units follow, the first a letter ("O X four", "I V two", not "A 2 year deal")."""
    def zeros(units: list[Unit]) -> int:
        n = 0
        while n < len(units) and units[n].weak and units[n].text == "0":
            n += 1
        return n

    def keep(u: Unit, neighbour: Unit | None) -> bool:
        if not u.weak or u.phonetic:
            return True
        if len(u.text) > 1 and u.text.isalpha() and neighbour is not None and not neighbour.weak:
            return True  # capitals beside a digit or letter of the code
        return False

    while group:
        n = zeros(group)
        if n and n < len(group) and not group[n].weak and group[n].text[:1].isdigit():
            break
        if len(group) >= 3 and text[group[0].start:group[0].end] in {"O", "I"} and group[1].text.isalpha() \
                and not group[1].weak and not group[2].weak:
            break
        if keep(group[0], group[1] if len(group) > 1 else None):
            break
        group = group[1:]
    while group:
        n = zeros(group[::-1])
        if n and n < len(group) and not group[-n - 1].weak:
            break
        if keep(group[-1], group[-2] if len(group) > 1 else None):
            break
        group = group[:-1]
    return group


_EDGE_FILLERS = {"and", "then", "it's", "its", "it", "is", "yeah", "yes", "yep", "so", "okay", "ok", "right", "next",
                 "the", "rest", "um", "er", "erm", "uh", "that's", "last", "ends", "with", "in", "sorry"}


def _edge(outside: str, opts: CodeRunOptions, after: bool = False) -> bool:
    """Whether only separators and filler words lie between a run and the turn's edge; after a run, a
    dangling "double" too ("three one double." - "three four two.": the repeated digit opens the next turn)."""
    words = [w.lower() for w in re.findall(r"[A-Za-z0-9']+", outside)]
    return all(w in _EDGE_FILLERS or w in opts.joiners or (after and w in _REPEAT) for w in words) and len(words) <= 3


def words_before(text: str, at: int, n: int) -> list[str]:
    """The n words (and £ $ € % signs) just before character `at`, lower case, nearest last."""
    return [m.group(0).lower() for m in _TOKEN_RE.finditer(text[:at])][-n:]


def words_after(text: str, at: int, n: int) -> list[str]:
    """The n words (and signs) just after character `at`, lower case, nearest first."""
    return [m.group(0).lower() for m in _TOKEN_RE.finditer(text[at:])][:n]
