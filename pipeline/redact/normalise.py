"""Spoken forms -> a canonical written form, with a map back to the original characters.

Transcripts spell codes out: "oh seven seven double oh, nine double oh, four six two",
"S W one A one A A", "d dot okafor seventy-eight at example dot com". A recogniser that sees
only digits misses all of them, so every turn is rewritten into the form a person would have
typed ("07700 900 462", "SW1A 1AA", "d.okafor78@example.com") and recognised there.

Rules (general, not tied to any script):
- a *code token* is a number word ("oh", "seven", "twenty-four", "nineteen"), "double X" /
  "triple X", a digit string, a single letter, or an all-capitals token of up to three letters
  or one mixing capitals and digits ("M14", "6PD");
- a maximal run of code tokens separated only by spaces, commas or hyphens becomes one code:
  tokens with only spaces between them are joined ("seven seven" -> "77"); a comma marks a
  chunk boundary, written as one space ("... oh, nine ..." -> "0 9"), as people group digits;
- a spoken e-mail ("<local> at <domain words> dot <tld>") becomes one written address;
- everything else is copied verbatim, so that the NER model still sees ordinary sentences.

`Canonical.span_to_original(a, b)` maps a canonical span back to the original characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Canonical", "canonicalise", "normalise_value", "UNITS", "TEENS", "TENS", "number_token"]

UNITS = {"zero": "0", "oh": "0", "nought": "0", "nil": "0", "one": "1", "two": "2", "three": "3",
         "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
TEENS = {"ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
         "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19"}
TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7",
        "eighty": "8", "ninety": "9"}
_REPEAT = {"double": 2, "triple": 3, "treble": 3}
_TLDS = {"com", "org", "net", "uk", "io", "info", "biz", "gov", "ac", "co", "me", "edu", "eu", "ie"}
_CONNECTORS = {"dot": ".", "underscore": "_", "dash": "-", "hyphen": "-", "period": "."}
# Words that end a spoken e-mail's local part when scanning back from "at".
_LOCAL_STOP = {"it's", "its", "is", "was", "to", "me", "my", "the", "on", "at", "email", "e-mail", "address",
               "that", "that's", "this", "be", "it", "and", "or", "please", "yes", "yeah", "so", "er", "um",
               "erm", "send", "use", "from", "via", "by", "for", "with", "your", "our", "new", "old", "still",
               "a", "an", "of", "in", "i'm", "we", "you", "he", "she", "they", "him", "her", "us", "them", "just"}

# Stop words a transcriber also writes for the sound of a name's end ("Okafor" as "OCA for"): taken into
# a local part only between a name-like word before them and what was already taken after them.
_LOCAL_SOUNDS = {"for", "to", "too"}

# Written e-mails and placeholders first, then words with inner apostrophes/hyphens/dots.
_TOKEN_RE = re.compile(
    r"<[A-Z_]+>"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*"
)
_CODE_SEP_RE = re.compile(r"^[\s,\-–—]*$")
_DOT_GAP_RE = re.compile(r"^\.\s+$")
_WRITTEN_RE = re.compile(r"^(?=.*\d)[A-Z0-9]{2,}$|^[A-Z]{2,3}$")
_LONE_VERBATIM = {"oh", "one", "a", "i", "o"}
_MIXED_CODE_RE = re.compile(r"^(?=.*\d)[A-Z0-9]+$|^[A-Z]{1,3}$")


def number_token(word: str) -> str | None:
    """The digits a spoken number word stands for ("twenty-four" -> "24"), or None."""
    w = word.lower().replace("’", "'")
    if w in UNITS:
        return UNITS[w]
    if w in TEENS:
        return TEENS[w]
    if w in TENS:
        return TENS[w] + "0"
    if "-" in w:
        head, _, tail = w.partition("-")
        if head in TENS and tail in UNITS and tail not in {"oh", "zero", "nought", "nil"}:
            return TENS[head] + UNITS[tail]
    if w.isdigit():
        return w
    return None


@dataclass(frozen=True)
class _Tok:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Canonical:
    """A turn's canonical text and, per canonical character, the original span it came from.

    Attributes:
        original: the turn text as given.
        text: the canonical text.
        starts, ends: for canonical character i, the original span [starts[i], ends[i]).
    """

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original character span covering canonical characters [start, end)."""
        if end <= start:
            at = self.starts[start] if start < len(self.starts) else len(self.original)
            return at, at
        return min(self.starts[start:end]), max(self.ends[start:end])


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def verbatim(self, text: str, offset: int) -> None:
        self.parts.append(text)
        self.starts.extend(range(offset, offset + len(text)))
        self.ends.extend(range(offset + 1, offset + len(text) + 1))

    def mapped(self, text: str, start: int, end: int) -> None:
        self.parts.append(text)
        self.starts.extend([start] * len(text))
        self.ends.extend([end] * len(text))


def _code_value(tokens: list[_Tok], i: int) -> tuple[str, int] | None:
    """(written form, tokens consumed) of the code token at i, or None."""
    tok = tokens[i].text
    low = tok.lower()
    head, _, tail = low.partition("-")
    if head in _REPEAT and tail and number_token(tail) is not None and len(number_token(tail)) == 1:
        return number_token(tail) * _REPEAT[head], 1  # "double-oh"
    if low in _REPEAT and i + 1 < len(tokens):
        nxt = number_token(tokens[i + 1].text)
        if tokens[i + 1].text.lower() == "o":
            nxt = "0"  # "double o" is said for 00
        if nxt is not None and len(nxt) == 1:
            return nxt * _REPEAT[low], 2
        if len(tokens[i + 1].text) == 1 and tokens[i + 1].text.isalpha():
            return tokens[i + 1].text.upper() * _REPEAT[low], 2
        return None
    if low in TENS and i + 1 < len(tokens) and tokens[i + 1].start == tokens[i].end + 1 \
            and tokens[i + 1].text.lower() in UNITS and tokens[i + 1].text.lower() not in {"oh", "zero", "nought", "nil"}:
        return TENS[low] + UNITS[tokens[i + 1].text.lower()], 2  # "eighty six" is 86, as "eighty-six"
    digits = number_token(tok)
    if digits is not None:
        return digits, 1
    if low == "plus" and i + 1 < len(tokens) and (number_token(tokens[i + 1].text) or "").startswith("4"):
        return "+", 1  # "plus four four ...": an international prefix
    if "-" in tok:
        written = _hyphenated_code(tok.split("-"))
        if written is not None:
            return written, 1
    if low == "o" and i + 1 < len(tokens) and number_token(tokens[i + 1].text) is not None:
        return "0", 1  # "o seven seven ...": said as a letter, meant as zero
    if len(tok) == 1 and tok.isalpha() and tok not in {"a", "i"}:
        return tok.upper(), 1
    if _MIXED_CODE_RE.match(tok):
        return tok, 1
    return None


def _hyphenated_code(parts: list[str]) -> str | None:
    """A code spelled with hyphens, letters and digit words mixed ("B-one-five", "two-T-T"), or None.

    All-letter forms ("O-K-A-F-O-R") stay a spelled word for the name recognisers."""
    out: list[str] = []
    k = 0
    while k < len(parts):
        part = parts[k].lower()
        digit = number_token(part)
        if part in _REPEAT and k + 1 < len(parts) and len(parts[k + 1]) == 1:
            nxt = number_token(parts[k + 1]) or parts[k + 1].upper()
            out.append(nxt * _REPEAT[part])
            k += 2
            continue
        if digit is not None and len(digit) <= 2 and not part.isdigit():
            out.append(digit)
        elif len(part) == 1 and part.isalnum():
            out.append(part.upper())
        else:
            return None
        k += 1
    written = "".join(out)
    return written if re.search(r"\d", written) and len(out) >= 2 else None


def _dotted_group(previous: str, following: str) -> bool:
    """Whether a full stop between two code tokens is a transcriber's group separator: both
    digit groups, or one of them a single character ("C. F. 24. 3.")."""
    if previous.isdigit() and following.isdigit():
        return True
    return (len(previous) == 1 or len(following) == 1) and previous.isalnum() and following.isalnum() \
        and (previous.isupper() or previous.isdigit()) and (following.isupper() or following.isdigit())


def _spoken_email(text: str, tokens: list[_Tok], at: int) -> tuple[int, int, str] | None:
    """(first token, last token, written address) of a spoken e-mail around tokens[at] == 'at'."""
    # Domain: word (dot word)+ ending in a known top-level domain.
    labels: list[str] = []
    j = at + 1
    last = None
    while j < len(tokens) and re.fullmatch(r"[A-Za-z0-9-]+", tokens[j].text):
        labels.append(tokens[j].text.lower())
        if j + 2 < len(tokens) and tokens[j + 1].text.lower() == "dot" and _gap_ok(text, tokens, j, j + 1) \
                and _gap_ok(text, tokens, j + 1, j + 2):
            j += 2
            continue
        if j + 1 < len(tokens) and re.fullmatch(r"\s*\.\s*", text[tokens[j].end:tokens[j + 1].start]) \
                and tokens[j + 1].text.lower() in _TLDS and not labels[-1] in _TLDS:
            j += 1  # a transcriber's "example .org" / "example. com"
            continue
        last = j
        break
    if last is None or len(labels) < 2 or labels[-1] not in _TLDS:
        return None
    # Local part: scan back over letters, numbers, connectors and at most two name-like words.
    local: list[str] = []
    words = 0
    k = at - 1
    first = None
    while k >= 0 and (_gap_ok(text, tokens, k, k + 1) or _dot_gap(text, tokens, k, k + 1)):
        if _dot_gap(text, tokens, k, k + 1):
            local.append(".")  # a transcriber's "d .okafor"
        tok = tokens[k].text
        low = tok.lower()
        if low in _CONNECTORS:
            local.append(_CONNECTORS[low])
        elif number_token(tok) is not None:
            local.append(number_token(tok))
        elif len(tok) == 1 and tok.isalpha():
            local.append(low)
        elif re.fullmatch(r"[a-z0-9]+", low) and any(ch.isdigit() for ch in low):
            local.append(low)  # a transcriber's letters and digits run together ("7T8" for "78")
        elif _name_like(tok) and words < 2:
            local.append(low)
            words += 1
        elif low in _LOCAL_SOUNDS and local and k > 0 and _name_like(tokens[k - 1].text) \
                and _gap_ok(text, tokens, k - 1, k):
            local.append(low)  # the end of a name heard as a word ("D .OCA for 7T8" for "d.okafor78")
        else:
            break
        first = k
        k -= 1
    while local and local[-1] in _CONNECTORS.values():
        local.pop()
    if first is None or not local:
        return None
    address = "".join(reversed(local)) + "@" + ".".join(labels)
    return first, last, address


def _name_like(tok: str) -> bool:
    """A token that can be part of a spoken e-mail's local part: not a stop word, a letter or a name-like word."""
    low = tok.lower()
    return low not in _LOCAL_STOP and re.fullmatch(r"[a-z][a-z0-9'_-]*", low) is not None


def _dot_gap(text: str, tokens: list[_Tok], a: int, b: int) -> bool:
    """True when a full stop with a space on one side separates tokens a and b ("d .okafor")."""
    return b < len(tokens) and re.fullmatch(r" \.|\. ", text[tokens[a].end:tokens[b].start]) is not None


def _gap_ok(text: str, tokens: list[_Tok], a: int, b: int) -> bool:
    """True when only whitespace separates tokens a and b (inside a spoken e-mail)."""
    return text[tokens[a].end:tokens[b].start].strip() == "" if b < len(tokens) else False


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    for m in _TOKEN_RE.finditer(text):
        tok = m.group(0)
        # Hyphenated single letters ("O-K-A-F-O-R") stay one verbatim token: a spelled word.
        out.append(_Tok(tok, m.start(), m.end()))
    return out


def canonicalise(text: str) -> Canonical:
    """Rewrite one turn's text into its canonical written form.

    Args:
        text: the turn text, as transcribed or typed.

    Returns:
        Canonical: the canonical text with a per-character map to the original.
    """
    tokens = _tokens(text)
    emails: dict[int, tuple[int, str]] = {}
    for k, tok in enumerate(tokens):
        if tok.text.lower() == "at" and k > 0:
            found = _spoken_email(text, tokens, k)
            if found is not None:
                emails[found[0]] = (found[1], found[2])
    b = _Builder()
    pos = 0  # next original character not yet emitted
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if i in emails:
            last, address = emails[i]
            b.verbatim(text[pos:tok.start], pos)
            b.mapped(address, tok.start, tokens[last].end)
            pos = tokens[last].end
            i = last + 1
            continue
        value = _code_value(tokens, i)
        if value is None:
            b.verbatim(text[pos:tok.end], pos)
            pos = tok.end
            i += 1
            continue
        # A run of code tokens.
        run: list[tuple[str, int, int, bool]] = []  # (written, start, end, chunk break before)
        written, used = value
        end = tokens[i + used - 1].end
        run.append((written, tok.start, end, False))
        i += used
        while i < len(tokens) and i not in emails:
            gap = text[end:tokens[i].start]
            spoken_dash = False
            if tokens[i].text.lower() in {"dash", "hyphen"} and i + 1 < len(tokens) and _CODE_SEP_RE.match(gap) \
                    and _CODE_SEP_RE.match(text[tokens[i].end:tokens[i + 1].start]) and _code_value(tokens, i + 1):
                spoken_dash, i = True, i + 1  # "nine, dash, oh one": a spoken group separator
                gap = ","
            if _DOT_GAP_RE.match(gap) and _dotted_group(text[run[-1][1]:run[-1][2]], tokens[i].text):
                gap = ","  # "01632. 960. 471." / "O. 4. 7.": a transcriber's full stops between groups
            nxt = _code_value(tokens, i) if _CODE_SEP_RE.match(gap) else None
            if nxt is None:
                if spoken_dash:
                    i -= 1
                break
            written, used = nxt
            prev_written = run[-1][2] - run[-1][1] > 1 and _WRITTEN_RE.match(text[run[-1][1]:run[-1][2]])
            # A comma is a chunk boundary; between tokens already written as codes keep the space.
            brk = spoken_dash or "," in gap or bool(prev_written) or bool(_WRITTEN_RE.match(tokens[i].text))
            run.append((written, tokens[i].start, tokens[i + used - 1].end, brk))
            end = tokens[i + used - 1].end
            i += used
        if len(run) == 1 and text[run[0][1]:run[0][2]].lower() in _LONE_VERBATIM:
            # "Oh, hang on" / "the one on the booking": a lone word is not a code.
            b.verbatim(text[pos:end], pos)
        else:
            b.verbatim(text[pos:tok.start], pos)
            for k, (written, start, stop, brk) in enumerate(run):
                if brk:
                    b.mapped(" ", run[k - 1][2], start)
                b.mapped(written, start, stop)
        pos = end
    b.verbatim(text[pos:], pos)
    canonical = "".join(b.parts)
    return Canonical(original=text, text=canonical, starts=tuple(b.starts), ends=tuple(b.ends))


_TITLES_RE = re.compile(r"^(?:mr|mrs|ms|miss|mx|dr|sir)\.?\s+", re.IGNORECASE)


def normalise_value(value: str, entity_type: str | None = None) -> str:
    """The form of a value that is HMAC'd: spoken and written forms of one value agree.

    "oh seven seven double oh, nine double oh, four six two" and "07700 900462" both give
    "07700900462"; names lose titles and case; e-mails are lower-cased.

    Args:
        value: the value as said or written.
        entity_type: its PII type, when known (PERSON drops titles).

    Returns:
        str: the canonical, separator-free value.
    """
    text = canonicalise(value.strip()).text
    if entity_type == "PERSON":
        text = _TITLES_RE.sub("", text)
    if "@" in text:
        return re.sub(r"\s+", "", text).lower()
    return re.sub(r"[^0-9a-z]", "", text.casefold())
