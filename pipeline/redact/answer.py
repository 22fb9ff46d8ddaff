"""Answer windows: the reply to a request for personal data is redacted even when no
recogniser matches it.

A transcriber garbles exactly the values it has never heard before ("LS6 to be in" for a
postcode, "12 mill lanes" for an address), so pattern recognisers miss them on audio input.
What does survive is the structure of the exchange: the agent asks for a postcode, the
customer answers. When a turn requests a sensitive item (a cue from the policy's
`answer_window.cues`, in a question or after a request phrase), the other party's next turns
(up to `max_turns` turns and `max_words` words, until the requester speaks at length again)
are searched for value-like words - digits, number words, spelled letters, short capitals,
capitalised words that do not start a sentence, date words - and each group of them is a
finding of recogniser `answer_window` with a lower score, so `callqa audit report` lists it
for review. Street addresses and e-mails also take the rest of their clause ("12 mill
lanes", "j smith at ... dot com"), postcodes the short tokens after an outward code.
"""

from __future__ import annotations

import re

from pipeline.redact.analyzer import Detection
from pipeline.redact.normalise import number_token, normalise_value
from pipeline.redact.options import AnswerWindowOptions
from pipeline.redact.recognizers.person import NOT_NAMES
from pipeline.schema import Turn

__all__ = ["answer_windows", "answer_gaps", "requested_types"]

_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
_SENTENCE_RE = re.compile(r"[^.?!]*[.?!]?")
_NOT_NAMES = {w.casefold() for w in NOT_NAMES.replace("?", "").split("|")}
_DATE_WORDS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
    "nineteenth", "twentieth", "thirtieth", "hundred", "thousand",
}
_REPEATS = {"double", "triple", "treble"}
# Words that may sit inside one value without ending it ("eleventh of November", "flat 2, 14 ...").
_JOINERS = {"of", "and", "the", "dash", "hyphen", "slash", "dot", "at", "underscore", "flat", "apartment", "unit"}
# Words that open an answer rather than belong to an address ("yes, it's 17 Mill Brow").
_LEAD_STOP = _NOT_NAMES | {"it's", "its", "is", "my", "it", "at", "in", "on", "that's", "thats", "er", "erm", "um",
                           "uh", "yeah", "yep", "yes", "sure", "ok", "okay", "address", "live", "i", "we", "the", "a",
                           "to", "number", "house", "still", "now", "just", "so", "well"}
_SPOKEN_EMAIL_RE = re.compile(r"\b(?:at|dot)\b|@", re.IGNORECASE)
_OUTWARD_RE = re.compile(r"^[A-Za-z]{1,2}\d{1,2}[A-Za-z]?$")


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_RE.findall(text) if s.strip()]


def _clean(text: str) -> str:
    """Lower case, punctuation (hyphens too: "e-mail") as single spaces, padded for whole-word search."""
    return " " + " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("’", "'")).split()) + " "


def requested_types(text: str, options: AnswerWindowOptions) -> set[str]:
    """Entity types a turn asks for: a cue inside a question, a sentence with a request phrase,
    or one that starts with 'and' ("And the postcode." - a transcriber drops question marks)."""
    out: set[str] = set()
    for sentence in _sentences(text):
        low = _clean(sentence)
        asking = (sentence.rstrip().endswith("?") or low.startswith(" and ")
                  or any(f" {p} " in low for p in options.request_phrases))
        # A cue among the turn's last words asks too: the agent stops right after naming the item.
        tail = " " + " ".join(_clean(text).split()[-options.cue_at_end_words:]) + " "
        for entity_type, cues in options.cues.items():
            # The cue's last word may carry a suffix: a transcriber writes "you're addressed" for "your address".
            patterns = [re.compile(rf" {re.escape(_clean(c).strip())}[a-z]{{0,3}} ") for c in cues]
            if any(p.search(low) and (asking or p.search(tail)) for p in patterns):
                out.add(entity_type)
    return out


def _value_like(tok: str, sentence_start: bool, types: set[str]) -> bool:
    low = tok.lower().replace("’", "'")
    if any(ch.isdigit() for ch in tok) or number_token(tok) is not None or low in _REPEATS:
        return True
    if len(tok) == 1 and tok.isalpha() and tok not in {"a", "I"}:
        return True  # a spelled letter
    if tok.isupper() and tok.isalpha() and 1 < len(tok) <= 4 and tok != "OK":
        return True
    if "DATE_OF_BIRTH" in types or "CARD_EXPIRY" in types:
        if low in _DATE_WORDS:
            return True
    if tok[0].isupper() and not sentence_start and low not in _NOT_NAMES and low.removesuffix("'s") not in _NOT_NAMES:
        return True  # a name, street or town
    return False


def _clause_end(text: str, at: int) -> int:
    m = re.search(r"[.?!,;]", text[at:])
    return at + m.start() if m else len(text)


def _window_spans(text: str, types: set[str], budget: int, options: AnswerWindowOptions) -> tuple[list[tuple[int, int]], int]:
    """(start, end) spans of the value-like groups in one reply turn, and the words it used."""
    tokens = list(_TOKEN_RE.finditer(text))[:budget]
    flags = []
    for k, m in enumerate(tokens):
        before = text[:m.start()].rstrip()
        sentence_start = not before or before[-1] in ".?!"
        flags.append(_value_like(m.group(0), sentence_start, types))
    spans: list[tuple[int, int]] = []
    k = 0
    while k < len(tokens):
        if not flags[k]:
            k += 1
            continue
        first = last = k
        gap = 0
        for j in range(k + 1, len(tokens)):
            if flags[j]:
                last, gap = j, 0
            elif tokens[j].group(0).lower() in _JOINERS and gap < options.max_gap_words:
                gap += 1
            else:
                break
        group = [tokens[n].group(0) for n in range(first, last + 1)]
        start, end = tokens[first].start(), tokens[last].end()
        if "UK_POSTCODE" in types and _OUTWARD_RE.match(tokens[last].group(0)):
            # An outward code heard right, the inward code misheard as short words ("LS6 to be in").
            tail = [m for m in tokens[last + 1:last + 1 + options.postcode_tail_words] if len(m.group(0)) <= 3]
            if tail:
                end = tail[-1].end()
        if "STREET_ADDRESS" in types:
            # A house name before the number ("Rose Cottage, 17 ..."), heard in lower case.
            lead = first
            while lead > 0 and first - lead < options.address_lead_words and \
                    re.fullmatch(r"[\s]*", text[tokens[lead - 1].end():tokens[lead].start()]) and \
                    tokens[lead - 1].group(0).lower().replace("’", "'") not in _LEAD_STOP:
                lead -= 1
            start = tokens[lead].start()
        if types & {"STREET_ADDRESS", "EMAIL_ADDRESS"}:
            end = max(end, min(_clause_end(text, end), tokens[min(last + options.clause_tail_words, len(tokens) - 1)].end()))
        if "EMAIL_ADDRESS" in types and _SPOKEN_EMAIL_RE.search(text[start:_clause_end(text, end)]):
            end = _clause_end(text, end)  # "jay smith at fast mail dot co dot uk": the whole clause
        if types == {"EMAIL_ADDRESS"} and not _SPOKEN_EMAIL_RE.search(text[start:end]):
            k = last + 1
            continue  # an e-mail said aloud has its "at" / "dot"; other capitalised words are not it
        strong = any(any(ch.isdigit() for ch in t) or t.isupper() or t[0].isupper() for t in group)
        if len(group) >= 2 or (strong and group[0].lower() not in {"one", "oh"}):
            spans.append((start, end))
        k = last + 1
        while k < len(tokens) and tokens[k].start() < end:
            k += 1
    return spans, len(tokens)


def answer_windows(texts: list[str], speakers: list[str], options: AnswerWindowOptions) -> list[Detection]:
    """Findings in the replies to requests for personal data (recogniser `answer_window`).

    Args:
        texts: turn texts of one call.
        speakers: speaker of each turn; replies are turns of another known speaker.
        options: the policy's answer_window section.

    Returns:
        list[Detection]: one per value-like group in a reply, scored `options.score`, typed by
        the request (the first requested type in the policy's order when several were asked).
    """
    if not options.enabled:
        return []
    out: list[Detection] = []
    order = list(options.cues)
    for i, text in enumerate(texts):
        types = requested_types(text, options)
        if not types or speakers[i] not in options.requesters:
            continue
        entity_type = min(types, key=order.index)
        budget, replies = options.max_words, 0
        for j in range(i + 1, len(texts)):
            if speakers[j] == speakers[i]:
                if len(_TOKEN_RE.findall(texts[j])) > options.max_interjection_words or requested_types(texts[j], options):
                    break
                continue  # "Mm-hm." from the requester does not end the answer
            if speakers[j] not in {"agent", "customer"} or replies >= options.max_turns or budget <= 0:
                break
            spans, used = _window_spans(texts[j], types, budget, options)
            budget -= used
            replies += 1
            for start, end in spans:
                out.append(Detection(entity_type, j, start, end, options.score, "answer_window",
                                     normalise_value(texts[j][start:end], entity_type)))
    return out


def answer_gaps(turns: list[Turn], options: AnswerWindowOptions) -> list[tuple[int, str, float, float]]:
    """Untranscribed time right after a request: (request turn, requested type, start_s, end_s).

    A transcriber may drop a reply altogether (a short answer said over the end of the
    question), and what it did not write no text redaction can remove. The time from the end
    of a request to the next transcribed turn, at most `max_gap_s`, holds no transcribed word,
    so silencing it costs nothing that was understood.
    """
    if not options.enabled or options.max_gap_s <= 0:
        return []
    order = list(options.cues)
    out = []
    for i, turn in enumerate(turns):
        if turn.speaker not in options.requesters or turn.end_s is None:
            continue
        types = requested_types(turn.text, options)
        if not types:
            continue
        starts = [t.start_s for t in turns if t.start_s is not None and t.start_s >= turn.end_s]
        end = min([turn.end_s + options.max_gap_s, *starts])
        if end - turn.end_s >= 0.2:
            out.append((i, min(types, key=order.index), turn.end_s, end))
    return out
