"""Call-level detection: every finding in one call's turns, in original-text coordinates.

1. each turn is canonicalised (spoken codes written out, see `normalise`) and analysed with the
   words of the turns before it, back to the other party's last turn, as Presidio context (the
   agent asks "date of birth?", the customer answers, perhaps over several segments);
2. a code read across two turns of one speaker (possibly split by the other party's short
   "Yep.") is analysed joined, and the finding split back onto both turns;
3. a name or street found anywhere is redacted wherever else it is said in the call;
4. overlapping findings merge (the union is redacted, the best-scored type names it).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import date
from difflib import SequenceMatcher

from presidio_analyzer import AnalyzerEngine, RecognizerResult

from pipeline.redact.analyzer import Detection
from pipeline.redact.answer import answer_windows
from pipeline.redact.orgs import OPENING_TURNS, organisation_names
from pipeline.redact.payment import non_payment_requests, payment_findings, repeated_codes
from pipeline.redact.runs import find_runs
from pipeline.redact.recognizers.address import STREET_WORDS
from pipeline.redact.recognizers.person import LOWER_NOT_NAMES, NOT_NAMES
from pipeline.redact.normalise import Canonical, canonicalise, normalise_value, number_token
from pipeline.redact.options import PAYMENT_TYPES, RedactOptions

__all__ = ["detect_call", "analyse_text", "merge_detections"]

logger = logging.getLogger(__name__)

_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def _context_words(texts: list[str]) -> list[str]:
    return [w.lower() for t in texts for w in _WORD_RE.findall(t)]


def analyse_text(
    analyzer: AnalyzerEngine, canonical: Canonical, options: RedactOptions, context: list[str], nlp_artifacts=None
) -> list[tuple[RecognizerResult, int, int]]:
    """Analyse one canonical text; results with their spans mapped to the original text."""
    results = analyzer.analyze(
        text=canonical.text, language="en", entities=list(options.entities), context=context or None,
        allow_list=list(options.allow_list) or None, nlp_artifacts=nlp_artifacts,
    )
    out = []
    for r in results:
        if r.score < options.threshold(r.entity_type):
            continue
        start, end = canonical.span_to_original(r.start, r.end)
        out.append((r, start, end))
    return out


def _recognizer_name(r: RecognizerResult) -> str:
    meta = r.recognition_metadata or {}
    return str(meta.get(RecognizerResult.RECOGNIZER_NAME_KEY, "unknown"))


def _detections(turn_index: int, canonical: Canonical, found) -> list[Detection]:
    return [
        Detection(r.entity_type, turn_index, start, end, float(r.score), _recognizer_name(r),
                  normalise_value(canonical.text[r.start:r.end], r.entity_type))
        for r, start, end in found
    ]


def _edge_run(canonical: Canonical, at_end: bool) -> tuple[int, int] | None:
    """Canonical span of a code (digits/capitals, groups split by spaces) at the text's edge."""
    pattern = r"[A-Z0-9][A-Z0-9 ]*[A-Z0-9]|[A-Z0-9]"
    trimmed = r"[\s.,…!?-]*"
    m = re.search(rf"({pattern}){trimmed}$", canonical.text) if at_end else re.match(rf"^{trimmed}({pattern})", canonical.text)
    if not m or not re.search(r"\d", m.group(1)):
        return None
    return m.span(1)


def _bridges(texts: list[str], speakers: list[str], canon: list[Canonical], options: RedactOptions,
             analyzer: AnalyzerEngine) -> list[Detection]:
    """Findings in codes read across two turns of one speaker."""
    out: list[Detection] = []
    for a in range(len(texts)):
        tail = _edge_run(canon[a], at_end=True)
        if tail is None:
            continue
        for c in (a + 1, a + 2):
            if c >= len(texts) or speakers[c] != speakers[a]:
                continue
            if c == a + 2 and (speakers[a + 1] == speakers[a]
                               or len(_WORD_RE.findall(texts[a + 1])) > options.bridge_max_interjection_words):
                continue
            head = _edge_run(canon[c], at_end=False)
            if head is None:
                continue
            left = canon[a].text[tail[0]:tail[1]]
            right = canon[c].text[head[0]:head[1]]
            joined = left + " " + right
            ctx = _context_words(texts[_context_start(speakers, a, options.context_turns):c + 1])
            results = analyzer.analyze(text=joined, language="en", entities=list(options.entities), context=ctx)
            for r in results:
                if r.score < options.threshold(r.entity_type) or not (r.start < len(left) and r.end > len(left) + 1):
                    continue  # only codes that really cross the join
                value = normalise_value(joined[r.start:r.end], r.entity_type)
                s1, e1 = canon[a].span_to_original(tail[0] + r.start, tail[1])
                s2, e2 = canon[c].span_to_original(head[0], head[0] + (r.end - len(left) - 1))
                name = _recognizer_name(r) + "+bridge"
                out.append(Detection(r.entity_type, a, s1, e1, float(r.score), name, value))
                out.append(Detection(r.entity_type, c, s2, e2, float(r.score), name, value))
            break
    return out


_NAME_TOKEN_RE = re.compile(r"[A-Z][a-z]+(?:['’-][A-Z]?[a-z]+)?|[A-Za-z](?:-[A-Za-z]){2,}")
_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame"}


_COMMON_WORDS = {w.casefold() for w in (NOT_NAMES + "|" + LOWER_NOT_NAMES).replace("?", "").split("|")}


def _propagate_names(texts: list[str], found: list[Detection]) -> list[Detection]:
    """Every other mention of a name already found (case-insensitive in all-lower-case turns)."""
    names: dict[str, float] = {}
    for d in found:
        if d.entity_type != "PERSON":
            continue
        for token in _NAME_TOKEN_RE.findall(texts[d.turn_index][d.start:d.end]):
            key = token.replace("-", "").casefold()
            # A word a garbled name was heard as ("That is speaking", "That's Koreshi") is no name elsewhere.
            if key not in _TITLES and len(key) > 1 and key not in _COMMON_WORDS:
                names[key] = max(names.get(key, 0.0), min(d.score, 0.85))
    out: list[Detection] = []
    if not names:
        return out
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b",
                         re.IGNORECASE)
    spelled = re.compile(r"(?<![A-Za-z-])[A-Za-z](?:[- ][A-Za-z]){2,}(?![A-Za-z-])")
    for i, text in enumerate(texts):
        lower_turn = text == text.lower()
        for m in pattern.finditer(text):
            if m.group(0)[0].isupper() or lower_turn:
                key = m.group(0).casefold()
                out.append(Detection("PERSON", i, m.start(), m.end(), names[key], "NamePropagation", key))
        for m in spelled.finditer(text):
            key = re.sub(r"[- ]", "", m.group(0)).casefold()
            if key in names:
                out.append(Detection("PERSON", i, m.start(), m.end(), names[key], "NamePropagation", key))
    return out


def _propagate_streets(texts: list[str], found: list[Detection]) -> list[Detection]:
    """Every other mention of a street already found ("orchard lane" in the agent's recap of
    "14 Orchard Lane"), any letter case: a recap repeats it without the house number."""
    streets: dict[str, float] = {}
    street_re = re.compile(rf"\b((?:[A-Za-z][a-z'’]+ ){{1,3}}(?:{STREET_WORDS}))\b", re.IGNORECASE)
    for d in found:
        if d.entity_type != "STREET_ADDRESS":
            continue
        for m in street_re.finditer(texts[d.turn_index][d.start:d.end]):
            words = [w for w in m.group(1).split() if w.casefold() not in _STREET_FILLERS and number_token(w) is None]
            if len(words) >= 2:
                streets[" ".join(words).casefold()] = min(d.score, 0.85)
    if not streets:
        return []
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(s).replace(r"\ ", r"\s+") for s in streets) + r")\b",
                         re.IGNORECASE)
    return [Detection("STREET_ADDRESS", i, m.start(), m.end(), streets[re.sub(r"\s+", " ", m.group(0)).casefold()],
                      "StreetPropagation", re.sub(r"\s+", " ", m.group(0)).casefold())
            for i, text in enumerate(texts) for m in pattern.finditer(text)]


_STREET_FILLERS = {"the", "and", "of", "flat", "in", "on", "at", "it's", "its", "is"}

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]
_ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
             "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
             "eighteenth", "nineteenth", "twentieth"]
_ORDINAL_DAY = {w: k + 1 for k, w in enumerate(_ORDINALS)} | {"thirtieth": 30} | {
    f"{tens}{sep}{w}": base + k + 1 for tens, base in (("twenty", 20), ("thirty", 30)) for sep in ("-", " ")
    for k, w in enumerate(_ORDINALS[:9])}
_DAY = r"(?:\d{1,2}(?:st|nd|rd|th)?|" + "|".join(sorted(map(re.escape, _ORDINAL_DAY), key=len, reverse=True)) + ")"
_MONTH = r"(?:" + "|".join(m for m in _MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
_WORDED_DATE_RE = re.compile(
    rf"\b(?:(?:the\s+)?(?P<d1>{_DAY}),?\s+(?:of\s+)?)?(?P<m>{_MONTH})\b(?:\s+(?:the\s+)?(?P<d2>{_DAY}))?(?P<sep>[,.]?)\s+"
    r"(?P<y>\d{4}|2 thousand(?:,? (?:and )?\d{1,2})?|\d{2})\b", re.IGNORECASE)
_NUMERIC_DATE_RE = re.compile(r"\b(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{2}|\d{4})\b")


def _dates(text: str) -> list[tuple[int, int, tuple[int | None, int, int]]]:
    """(start, end, (day or None, month, year)) of each date said or written with a month name and a
    year ("the fifth of September, nineteen thirty-nine", "May 3rd 2004"), or as day/month/year digits.
    Spans are in the original text; years are read from its canonical form (`canonicalise`)."""
    canon = canonicalise(text)
    out = []
    for m in _WORDED_DATE_RE.finditer(canon.text):
        day = m.group("d1") or m.group("d2")
        d = None
        if day:
            low = day.lower()
            d = _ORDINAL_DAY.get(low) or int(re.sub(r"\D", "", low) or 0) or None
        month = next(k + 1 for k, name in enumerate(_MONTHS) if name.startswith(m.group("m").lower()[:3]))
        said = m.group("y")  # "1939", "84", or "2 thousand and 4" / "2 thousand"
        if m.group("sep") == "." and not re.fullmatch(r"\d{4}", said):
            continue  # a transcriber's full stop before a year ("the 11th of March. 1989."), never before "22"
        year = 2000 + (int(said.rpartition(" ")[2]) if said[-1].isdigit() else 0) if "thousand" in said else int(said)
        out.append((*canon.span_to_original(m.start(), m.end()), (d, month, year)))
    for m in _NUMERIC_DATE_RE.finditer(canon.text):
        year = int(m.group("y"))
        out.append((*canon.span_to_original(m.start(), m.end()),
                    (int(m.group("d")), int(m.group("m")), year if year > 99 else 1900 + year)))
    return out


def _repeated_phrases(texts: list[str], found: list[Detection], options: RedactOptions) -> list[Detection]:
    """Every other place a payment finding's words are said again (recogniser `PaymentPhrase`): a code
    the transcriber wrote as words ("by they go") is written the same way when said twice, once
    volunteered before the request ("Right, by they go, got it ready.") where nothing asked for it.
    So is an e-mail written as words (recogniser `EmailPhrase`, up to 12 words): the agent reads it back
    ("look high than cash loss because the sky .com" - "So that's a look high than cash loss because
    the sky .com, is that right?"). Findings with a digit or a letter of a code in them are
    `repeated_codes`' job."""
    phrases = {}
    for d in found:
        value = texts[d.turn_index][d.start:d.end]
        words = re.findall(r"[a-z0-9']+", value.lower())
        longest = 8 if d.entity_type in PAYMENT_TYPES else 12 if d.entity_type == "EMAIL_ADDRESS" else 0
        if 3 <= len(words) <= longest \
                and not any(not u.weak for r in find_runs(value, options.code_runs) for u in r.units):
            phrases.setdefault(" ".join(words), d.entity_type)
    out = []
    for phrase, entity_type in phrases.items():
        pattern = re.compile(r"(?<![A-Za-z0-9'])" + r"[^A-Za-z0-9']+".join(map(re.escape, phrase.split())) + r"(?![A-Za-z0-9'])",
                             re.IGNORECASE)
        name = "EmailPhrase" if entity_type == "EMAIL_ADDRESS" else "PaymentPhrase"
        hits = [Detection(entity_type, i, m.start(), m.end(), 0.6, name, phrase)
                for i, text in enumerate(texts) for m in pattern.finditer(text)]
        if len(hits) <= 3:  # a value is said once or twice more; a phrase said more often is common talk
            out.extend(hits)
    return out


# "speak" too, where the greeting goes on ("... I just speak calls are recorded": Idris speaking).
_SPEAKING_RE = re.compile(r"\b[Ss]peaking\b(?!\s+(?:to|with|for|on|about|of|as)\b)"
                          r"|\b[Ss]peak(?=[.,!]|\s+(?:calls?|how|this|thank|your call)\b)")
_NOT_NAME_BEFORE_SPEAKING = {"i'm", "i", "am", "you're", "you", "are", "who", "generally", "strictly", "broadly",
                             "roughly", "technically", "honestly", "personally", "now", "currently", "still",
                             "hello", "hi"}
# tiny.en's "Clodagh speaking" -> "quote, I'm speaking", "Matthias" -> "as I", "Bilal speaking" -> "..., still speaking"
_SALUTATIONS = {"good morning", "good afternoon", "good evening", "morning", "afternoon", "evening"}


def _greeting_names(texts: list[str], words: int) -> list[Detection]:
    """The agent's name in the greeting, as whatever words stand before "speaking" in the first two
    turns ("You're through to Harbor Side Bank, be for speaking."), back to a punctuation mark."""
    out = []
    for i, text in enumerate(texts[:2]):
        for m in _SPEAKING_RE.finditer(text):
            before = re.sub(r"[\s,]+$", "", text[:m.start()])  # "..., imaging, speaking.": the name between commas
            # A name heard as initials ("Eleri" as "L .A. speaking"): a single letter's dot ends no clause.
            clause = re.split(r"(?<!\b[A-Z])(?<!\b[A-Z] )[.,!?;:]", before)[-1]
            toks = list(re.finditer(r"[A-Za-z'’-]+", clause))[-words:]
            goes_on = i == 0 and bool(toks) and toks[-1].end() == len(clause.rstrip()) and not before.endswith(">") and \
                re.match(r"\W*(?:calls?|this call|how can|you're through|thanks? for calling)\b", text[m.end():], re.I)
            if goes_on:
                # The first turn's "..., I'm speaking" / "I ask you speaking. Calls are recorded": where the
                # greeting goes on at once, the words before "speaking" are the name, heard as pronouns or verbs
                # too (the lookahead already left "I'm speaking to you" alone).
                toks = [t for t in toks if t.group(0).lower() not in {"hello", "hi", "yes"}]
            while not goes_on and toks and toks[0].group(0).lower() in _NOT_NAME_BEFORE_SPEAKING:
                toks = toks[1:]
            # "Good morning, speaking." names nobody; a lone "morning" after the organisation, with the greeting going
            # on, is the name heard as one ("through the feminine power, morning speaking, calls are recorded").
            salutation = clause.strip().lower() in _SALUTATIONS and not (goes_on and len(toks) == 1 and before != clause)
            if toks and (goes_on or toks[-1].group(0).lower() not in _NOT_NAME_BEFORE_SPEAKING) and not salutation:
                offset = len(before) - len(clause)
                a, b = offset + toks[0].start(), offset + toks[-1].end()
                out.append(Detection("PERSON", i, a, b, 0.5, "GreetingName", text[a:b].lower()))
    return out


_CLOSING_RE = re.compile(
    r"\b[Tt]hanks?(?: you)?(?: so much| very much)? for (?:calling|contacting|your call)"
    # the name straight after, or as a sentence of its own before the goodbye ("Thanks for calling. Ms Iyer. Take care.")
    r"(?:,? (?P<rest>[^.,!?;:]+)|[.!] (?P<alone>[^.,!?;:]+)[.!,]?(?= (?:[Tt]ake care|[Bb]ye|[Hh]ave a|[Gg]oodbye|[Aa]ll the best"
    r"|[Ss]peak soon|[Cc]heers)|\s*$))")
# A title after it: the word or two before the goodbye are the name, whatever they were written as
# ("Thanks for calling. Mrs. that I'll take care of now.", "for calling missus at take care now", "MS -WODs that you take
# care of now").
_CLOSING_TITLE_RE = re.compile(
    r"\bfor (?:calling|contacting|your call)[.,!]? (?:Mrs|Mr|Ms|Miss|Mx|Dr|missus|mister|M(?: ?\.? ?[RSF]){1,3})\.? "
    r"(?P<name>[A-Za-z'’-]+(?: [A-Za-z'’-]+){0,2})(?=[.,!]? (?:take care|bye|have a|goodbye|all the best|speak soon|cheers)\b|[.!?]?\s*$)",
    re.IGNORECASE)
_NOT_CLOSING_NAME = {"today", "us", "again", "then", "bye", "goodbye", "now", "and", "take", "care", "have", "a", "good",
                     "great", "lovely", "nice", "day", "evening", "weekend", "back", "in", "with", "the", "team", "everyone",
                     "all", "for", "that", "this", "it", "so", "much", "very", "you", "your", "patience", "time", "bye-bye",
                     "cheers", "speak", "soon", "later", "all the best", "morning", "afternoon", "night", "goodnight"}


def _closing_names(texts: list[str], speakers: list[str], keep: set[str], words: int) -> list[Detection]:
    """The words after "thanks for calling" in an agent turn after the opening, up to the next
    punctuation mark: the customer's name ("Thanks for calling, Ms Iyer.") however the transcriber wrote
    it ("Thanks for calling MSO Risk Call."), unless they are the organisation's name said in the call
    (`keep`) or the usual closing words ("Thanks for calling today, bye now")."""
    out = []
    for i, text in enumerate(texts):
        if i < OPENING_TURNS or speakers[i] == "customer":
            continue
        for m in _CLOSING_RE.finditer(text):
            group = "rest" if m.group("rest") is not None else "alone"
            toks = list(re.finditer(r"[A-Za-z'’-]+", m.group(group)))
            while toks and toks[0].group(0).lower() in _NOT_CLOSING_NAME:
                toks = toks[1:]
            while toks and toks[-1].group(0).lower() in _NOT_CLOSING_NAME:
                toks = toks[:-1]
            if not toks or len(toks) > words:
                continue
            a, b = m.start(group) + toks[0].start(), m.start(group) + toks[-1].end()
            if not _not_a_person(text[a:b], keep):
                out.append(Detection("PERSON", i, a, b, 0.5, "ClosingName", text[a:b].lower()))
        for m in _CLOSING_TITLE_RE.finditer(text):
            a, b = m.span("name")
            if not _not_a_person(text[a:b], keep):
                out.append(Detection("PERSON", i, a, b, 0.5, "ClosingName", text[a:b].lower()))
    return out


def _old_full_dates(texts: list[str], latest_year: int) -> list[Detection]:
    """Full dates - day, month and year - from 1800 to `latest_year`: in a service call, a date of birth
    whatever the words around it became (from 1800: a small transcriber writes "nineteen" as "eighteen").
    A two-digit year from 20 on is read as 19xx ("eighth June ninety-three"); one below ("the fifth of
    May, 10") is too ambiguous to count."""
    out = []
    for i, text in enumerate(texts):
        for a, b, (day, month, year) in _dates(text):
            if not re.search(r"[A-Za-z]", text[a:b]) and not re.search(r"\d{4}", text[a:b]):
                continue  # digits only with a two-digit year: "11-05-22" is a sort code's shape, "05/06/24" recent
            if year < 100:
                year = 1900 + year if year >= 20 else 0
            if day is not None and 1 <= day <= 31 and 1 <= month <= 12 and 1800 <= year <= latest_year:
                out.append(Detection("DATE_OF_BIRTH", i, a, b, 0.6, "DateOfBirthByAge", text[a:b].lower()))
    return out


def _propagate_dates(texts: list[str], found: list[Detection]) -> list[Detection]:
    """Every other mention of a date of birth already found ("So that's the 5th of September 1939"
    after "the fifth of September, 1939"): the same month and year (and day, when both say one)."""
    births = [date for d in found if d.entity_type == "DATE_OF_BIRTH"
              for _, _, date in _dates(texts[d.turn_index][d.start:d.end])]
    if not births:
        return []
    out = []
    for i, text in enumerate(texts):
        for a, b, (day, month, year) in _dates(text):
            if any(month == m and year % 100 == y % 100 and (day is None or d is None or day == d) for d, m, y in births):
                out.append(Detection("DATE_OF_BIRTH", i, a, b, 0.85, "DatePropagation", text[a:b].lower()))
    return out


def merge_detections(found: list[Detection]) -> list[Detection]:
    """Overlapping findings in a turn become one: the union span, the best-scored type."""
    out: list[Detection] = []
    by_turn: dict[int, list[Detection]] = {}
    for d in found:
        by_turn.setdefault(d.turn_index, []).append(d)
    for turn in sorted(by_turn):
        items = sorted(by_turn[turn], key=lambda d: (d.start, -d.end))
        group: list[Detection] = []
        end = -1
        for d in items + [None]:  # type: ignore[list-item]
            if d is not None and group and d.start < end:
                group.append(d)
                end = max(end, d.end)
                continue
            if group:
                best = max(group, key=lambda g: (g.score, g.end - g.start))
                start = min(g.start for g in group)
                out.append(replace(best, start=start, end=end))
            if d is not None:
                group, end = [d], d.end
    return out


def _agent_names(texts: list[str], speakers: list[str], found: list[Detection]) -> set[str]:
    """First names the agent introduces themself with ('Priya speaking', 'my name's Priya')."""
    intro = re.compile(r"(?:[Mm]y name(?:'s| is)|speaking (?:to|with)|chatting (?:to|with)|I'm|this is) ([A-Z][a-z]+)"
                       r"|\b([A-Z][a-z]+) speaking\b")
    names = set()
    for text, speaker in zip(texts, speakers):
        if speaker == "agent":
            for m in intro.finditer(text):
                names.add((m.group(1) or m.group(2)).casefold())
    return names


def _context_start(speakers: list[str], i: int, other_turns: int, limit: int = 6) -> int:
    """First turn of turn i's context: the same speaker's turns just before it, then the
    `other_turns` blocks of consecutive turns before those (a transcriber cuts one question
    into several segments), at most `limit` turns back."""
    start = i
    while start > 0 and i - start < limit and speakers[start - 1] == speakers[i]:
        start -= 1
    for _ in range(other_turns):
        if start == 0:
            break
        block = speakers[start - 1]
        while start > 0 and i - start < limit and speakers[start - 1] == block:
            start -= 1
    return start


def _not_a_person(text: str, keep: set[str], heard_as: set[str] = frozenset()) -> bool:
    """Whether every word of a PERSON finding is a kept word - or, for `heard_as` (the organisation's own words,
    in the opening), one the transcriber may have made of it: its start ("Blue" for "Bluewake") or a close spelling
    ("Finland's" for "Fenland", "Copperley's" for "Copperleaf"), of four letters or more ("Sam" at Samsung is a name)."""
    tokens = [t.casefold().removesuffix("'s").removesuffix("’s") for t in re.findall(r"[A-Za-z][A-Za-z'’-]*", text)]
    return bool(tokens) and all(t in keep or (len(t) >= 4 and any(
        w.startswith(t) or SequenceMatcher(None, t, w).ratio() >= 0.75 for w in heard_as)) for t in tokens)


def detect_call(texts: list[str], speakers: list[str], analyzer: AnalyzerEngine,
                options: RedactOptions, keep_words: tuple[str, ...] = ()) -> list[Detection]:
    """All findings in one call's turns, merged, in original-text coordinates.

    Args:
        texts: turn texts (turn text only: never a speaker label).
        speakers: speaker of each turn ('agent' | 'customer' | 'unknown').
        analyzer: from `load_analyzer`.
        options: the redaction policy.
        keep_words: words that are never a person's name in this call (the organisation's name
            from the recording's metadata), on top of the policy's allow_list and the
            organisation names said in the call (`orgs.organisation_names`).

    Returns:
        list[Detection]: non-overlapping findings, ordered by (turn, start).
    """
    canon = [canonicalise(t) for t in texts]
    # spaCy over all turns in one batch: several times faster than one call per turn.
    artifacts = [a for _, a in analyzer.nlp_engine.process_batch([c.text for c in canon], "en", batch_size=64)]
    found: list[Detection] = []
    for i, c in enumerate(canon):
        ctx = _context_words(texts[_context_start(speakers, i, options.context_turns):i])
        found.extend(_detections(i, c, analyse_text(analyzer, c, options, ctx, artifacts[i])))
    found.extend(_bridges(texts, speakers, canon, options, analyzer))
    found.extend(answer_windows(texts, speakers, options.answer_window))
    found.extend(payment_findings(texts, speakers, options, non_payment_requests(texts, options)))
    orgs = organisation_names(texts, speakers, options)
    keep = {w.casefold() for phrase in (*options.allow_list, *keep_words, *orgs)
            for w in re.findall(r"[A-Za-z'’-]+", phrase)}
    # The organisation's name from the metadata as the transcriber heard it in the opening ("you're through to
    # Finland's power" for Fenland Power): no name, so the words around it stay audible.
    heard_as = {w.casefold() for phrase in keep_words for w in re.findall(r"[A-Za-z]{3,}", phrase)}
    if keep:
        found = [d for d in found
                 if not ((d.entity_type == "PERSON" or d.recognizer == "answer_window")
                         and _not_a_person(texts[d.turn_index][d.start:d.end], keep,
                                           heard_as if d.turn_index < OPENING_TURNS and speakers[d.turn_index] == "agent"
                                           else frozenset()))]
    if options.greeting_name_words and "PERSON" in options.entities:
        found.extend(_greeting_names(texts, options.greeting_name_words))
        found.extend(_closing_names(texts, speakers, keep, options.greeting_name_words + 2))
    if options.propagate_names and "PERSON" in options.entities:
        found.extend(_propagate_names(texts, found))
    if options.propagate_names and "STREET_ADDRESS" in options.entities:
        found.extend(_propagate_streets(texts, found))
    found.extend(repeated_codes(texts, found, options))
    found.extend(_repeated_phrases(texts, found, options))
    if options.propagate_names and "DATE_OF_BIRTH" in options.entities:
        found.extend(_propagate_dates(texts, found))
    if options.birth_date_min_age is not None and "DATE_OF_BIRTH" in options.entities:
        found.extend(_old_full_dates(texts, date.today().year - options.birth_date_min_age))
    if options.keep_agent_names:
        keep = _agent_names(texts, speakers, found)
        found = [d for d in found if not (d.entity_type == "PERSON" and texts[d.turn_index][d.start:d.end].casefold() in keep)]
    return merge_detections(found)
