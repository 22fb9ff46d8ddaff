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
from pipeline.redact.recognizers.address import STREET_WORDS
from pipeline.redact.recognizers.person import NOT_NAMES
from pipeline.schema import Turn

__all__ = ["answer_windows", "answer_gaps", "asks_again", "answered_in_next_turn", "declared_addresses", "declared_emails", "mid_turn_answer_gaps", "reply_gaps", "requested_types", "closing_request",
           "spelled_names"]

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
# Capitalised, but no name: "I" and a transcriber's sentence start with no full stop before it
# ("... dot com I need to change it", "... two six Could you read me the expiry").
_NOT_VALUE_CAPS = {"i", "i've", "i'm", "i'll", "i'd", "do", "does", "did", "can", "could", "would", "shall", "should",
                   "are", "is", "have", "has"}
# Words that may sit inside one value without ending it ("eleventh of November", "flat 2, 14 ...").
_JOINERS = {"of", "and", "the", "dash", "hyphen", "slash", "dot", "at", "underscore", "flat", "apartment", "unit"}
# Words that open an answer rather than belong to an address ("yes, it's 17 Mill Brow").
_LEAD_STOP = _NOT_NAMES | {"it's", "its", "is", "my", "it", "at", "in", "on", "that's", "thats", "er", "erm", "um",
                           "uh", "yeah", "yep", "yes", "sure", "ok", "okay", "address", "live", "i", "we", "the", "a",
                           "to", "number", "house", "still", "now", "just", "so", "well"}
_SPOKEN_EMAIL_RE = re.compile(r"\b(?:at|dot)\b|@", re.IGNORECASE)
_OUTWARD_RE = re.compile(r"^[A-Za-z]{1,2}\d{1,2}[A-Za-z]?$")
_STREET_WORD_RE = re.compile(STREET_WORDS, re.IGNORECASE)


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_RE.findall(text) if s.strip()]


def _clean(text: str) -> str:
    """Lower case, punctuation (hyphens too: "e-mail") as single spaces, padded for whole-word search."""
    return " " + " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("’", "'")).split()) + " "


def requested_types(text: str, options: AnswerWindowOptions) -> set[str]:
    """Entity types a turn asks for: a cue inside a question, a sentence with a request phrase,
    or one that starts with 'and' ("And the postcode." - a transcriber drops question marks)."""
    out: set[str] = set()
    sentences = _sentences(text)
    for k, sentence in enumerate(sentences):
        low = _clean(sentence)
        asking = _asking(sentence, options)
        # A question mark the transcriber put inside a cue ("Could I take the post? Good now." for "postcode
        # now"): a cue that starts in the question may run on into the next sentence.
        if sentence.rstrip().endswith("?") and k + 1 < len(sentences):
            low_on = _clean(sentence + " " + sentences[k + 1])
        else:
            low_on = low
        # A cue among the turn's last words asks too: the agent stops right after naming the item.
        tail = " " + " ".join(_clean(text).split()[-options.cue_at_end_words:]) + " "
        for entity_type, cues in options.cues.items():
            # The cue's last word may carry a suffix: a transcriber writes "you're addressed" for "your address".
            patterns = [re.compile(rf" {re.escape(_clean(c).strip())}[a-z]{{0,3}} ") for c in cues]
            if any((p.search(low) or ((m := p.search(low_on)) and m.start() < len(low) - 1)) and (asking or p.search(tail))
                   for p in patterns):
                out.add(entity_type)
    return out


def _asking(sentence: str, options: AnswerWindowOptions) -> bool:
    low = _clean(sentence)
    return (sentence.rstrip().endswith("?") or low.startswith(" and ")
            or any(f" {p} " in low for p in options.request_phrases))


def closing_request(text: str, options: AnswerWindowOptions) -> set[str]:
    """The types a turn's last sentence asks for, in a question or with a request phrase (not a cue word
    merely ending a statement: "It's 59 -B hardcore street.")."""
    last = (_sentences(text) or [""])[-1]
    return requested_types(last, options) if _asking(last, options) else set()


def hands_back(text: str, options: AnswerWindowOptions) -> bool:
    """Whether a turn's last sentence holds a closing question ("Is there anything else I can help with?"): the
    reply answers it, not a request earlier in the turn."""
    last = _clean((_sentences(text) or [""])[-1])
    return any(f" {_clean(q).strip()} " in last for q in options.closing_questions)


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
    if tok[0].isupper() and not sentence_start and low not in _NOT_NAMES and low.removesuffix("'s") not in _NOT_NAMES \
            and low not in _NOT_VALUE_CAPS:
        return True  # a name, street or town
    return False


_PRONOUNS = {"you", "he", "she", "they", "we", "me", "him", "her", "them", "us", "your", "our", "their"}


def _name_first(tokens: list[re.Match]) -> bool:
    """A reply to a name request that opens with a full name ("Arjun Adami", "Arjun is Amy"):
    a capitalised first word followed by another, maybe after 'is'."""
    words = [t.group(0) for t in tokens[:3]]
    low = words[0].lower().replace("’", "'") if words else ""
    if not words or low in _LEAD_STOP or low in _PRONOUNS or low in _NOT_NAMES:
        return False
    rest = words[2:] if len(words) > 2 and words[1].lower() == "is" else words[1:2]
    return bool(rest) and rest[0][0].isupper() and rest[0].lower() not in _NOT_NAMES


def _clause_end(text: str, at: int) -> int:
    m = re.search(r"[.?!,;]", text[at:])
    return at + m.start() if m else len(text)


# Two-letter words and abbreviations that follow a number in talk ("two pm", "5 kg"): not an inward code's letters.
_TWO_LETTER_WORDS = {"am", "an", "as", "at", "be", "by", "do", "go", "he", "hi", "if", "in", "is", "it", "me", "my", "no",
                     "of", "oh", "ok", "on", "or", "so", "to", "up", "us", "we", "ye", "ya", "pm", "kg", "km", "cm", "mm",
                     "ml", "mb", "gb", "kb", "st", "nd", "rd", "th", "ft", "hp", "kw", "uk", "tv", "pc", "id", "vs",
                     "mr", "ms", "dr", "eh", "ah", "er", "um", "uh", "mo", "yo", "ta", "aw"}


def _window_spans(text: str, types: set[str], budget: int, options: AnswerWindowOptions) -> tuple[list[tuple[int, int]], int]:
    """(start, end) spans of the value-like groups in one reply turn, and the words it used. A correction
    ("Oh, hang on, no, I've misread that. It's ...") gives the words after its sentence a budget of their own:
    the value said again comes after it."""
    tokens = list(_TOKEN_RE.finditer(text))
    fix = _correction_end(text, options)
    if fix is not None:
        budget = max(budget, sum(1 for m in tokens if m.end() <= fix) + options.max_words)
    tokens = tokens[:budget]
    flags = []
    for k, m in enumerate(tokens):
        before = text[:m.start()].rstrip()
        # The first word of a reply to a name request is the name ("Arjun is Amy ..."), not a sentence opener.
        sentence_start = (not before or before[-1] in ".?!") and not (k == 0 and "PERSON" in types and _name_first(tokens))
        flags.append(_value_like(m.group(0), sentence_start, types))
    if "UK_POSTCODE" in types:
        for k in range(1, len(tokens)):
            # An inward code's letters heard in lower case after its digit ("seven wb" for "7 W B").
            tok = tokens[k].group(0)
            if len(tok) == 2 and tok.isalpha() and tok.lower() not in _TWO_LETTER_WORDS and \
                    (number_token(tokens[k - 1].group(0)) is not None or tokens[k - 1].group(0).isdigit()):
                flags[k] = True
    if types & set(options.digit_types):
        homophones = set(options.digit_homophones)
        numbers = [number_token(m.group(0)) is not None or any(c.isdigit() for c in m.group(0)) for m in tokens]
        for k, m in enumerate(tokens):
            if m.group(0).lower() in homophones and ((k > 0 and numbers[k - 1]) or (k + 1 < len(tokens) and numbers[k + 1])):
                flags[k] = True  # "one for one" is "one four one"
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
        outward = _outward_at(tokens, first, last) if "UK_POSTCODE" in types else None
        if outward is not None and last - outward <= 1:
            # An outward code heard right, the inward code misheard as short words ("LS6 to be in"), its digit
            # perhaps heard right ("M1 Three to beat").
            tail = []
            for m in tokens[last + 1:last + 1 + options.postcode_tail_words - (last - outward)]:
                if len(m.group(0)) > 4 or m.group(0).lower() in _CONJUNCTIONS | _SUBJECTS | _FILLERS:
                    break  # "M 14 and I'll be in": a new clause, not the inward code
                tail.append(m)
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
        if "STREET_ADDRESS" in types and len(group) == 1 and number_token(group[0]) is not None \
                and end == tokens[last].end() and text[end:end + 1] == ",":
            # A house number, then its street after a comma, to the sentence end when that is short ("It's 47, no length.").
            stop = re.search(r"[.?!]|$", text[end + 1:])
            rest = list(_TOKEN_RE.finditer(text, end + 1, end + 1 + stop.start()))
            if 0 < len(rest) <= options.clause_tail_words and not text[end + 1 + stop.start():].startswith("?") \
                    and rest[0].group(0).lower() not in _CONJUNCTIONS | _SUBJECTS | _FILLERS | {"thanks", "please", "cheers"}:
                end = rest[-1].end()
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
    if "STREET_ADDRESS" in types:
        limit = tokens[-1].end() if tokens else 0
        spans.extend(s for s in _led_addresses(text[:limit], options) if not _covered(s, spans))
    return spans, len(tokens)


def _correction_end(text: str, options: AnswerWindowOptions) -> int | None:
    """The end of the last sentence with one of `correction_cues` ("I've misread that."), or None."""
    if not options.correction_cues:
        return None
    cue = re.compile(r"\b(?:" + "|".join(re.escape(c) for c in options.correction_cues) + r")\b", re.I)
    ends = [m.end() for m in re.finditer(r"[^.?!]+[.?!]*", text) if cue.search(m.group(0))]
    return ends[-1] if ends else None


def _outward_at(tokens: list[re.Match], first: int, last: int) -> int | None:
    """The last token of an outward code in tokens[first..last] ("M1", or "M 14" as two), or None."""
    for n in range(last, first - 1, -1):
        if _OUTWARD_RE.match(tokens[n].group(0)) or (n > first and _OUTWARD_RE.match(tokens[n - 1].group(0) + tokens[n].group(0))):
            return n
    return None


# Openings of a reply that come before its lead ("yes, it's ...").
_FILLERS = {"yes", "yeah", "yep", "er", "erm", "um", "uh", "so", "well", "oh", "ok", "okay", "sure", "right"}
# ... and what opens a reply as a sentence of its own before the value ("Yeah. Sorry. It's ...")
_LEAD_FILLERS = _FILLERS | {"sorry", "hi", "hello"}
# Question tags that end a read-back value ("... down as 15b tollgate mews, is that still right?").
_TAG_VERBS = {"is", "isn't", "was", "does", "did", "right", "correct", "yeah"}
_TAG_OBJECTS = {"that", "it", "this"}
# A new clause after a value ("58 a large kill and I told three people", "115b Bramblewood Close, I think").
_CONJUNCTIONS = {"and", "but", "so", "because", "cos", "then"}
_SUBJECTS = {"i", "we", "she", "he", "it", "they", "you", "i've", "i'm", "i'd", "that", "there", "my"}


def _words(tokens: list[re.Match]) -> list[str]:
    return [t.group(0).lower().replace("’", "'") for t in tokens]


def _phrase_at(words: list[str], k: int, phrase: str) -> int:
    """Length of `phrase` (whole words) if it starts at words[k], else 0."""
    parts = _clean(phrase).split()
    return len(parts) if parts and words[k:k + len(parts)] == parts else 0


def _covered(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(s <= span[0] and span[1] <= e for s, e in spans)


def _value_span(sentence: str, offset: int, tokens: list[re.Match], start: int,
                options: AnswerWindowOptions) -> tuple[int, int] | None:
    """The address value from tokens[start]: to the sentence end, a question tag or a postcode
    clause, at most `declare_max_words` words; None when it opens with a non-value ('correct')."""
    words = _words(tokens)
    rest = " " + " ".join(words[start:]) + " "
    if start >= len(words) or any(rest.startswith(f" {_clean(v).strip()} ") for v in options.not_values):
        return None
    end = start
    while end < len(words) and end - start < options.declare_max_words:
        w, nxt = words[end], words[end + 1] if end + 1 < len(words) else ""
        if (w in _TAG_VERBS and nxt in _TAG_OBJECTS) or w.startswith("post") or \
                (w in _CONJUNCTIONS and nxt in _SUBJECTS) or \
                (end > start and w in _SUBJECTS and "," in sentence[tokens[end - 1].end():tokens[end].start()]) or \
                (w == "and" and any(x.startswith("post") for x in words[end + 1:end + 3])):
            break
        end += 1
    while end > start and words[end - 1] in {"and", "or", "the", "a"} and tokens[end - 1].group(0) != "A":  # a letter
        end -= 1
    return (offset + tokens[start].start(), offset + tokens[end - 1].end()) if end > start else None


def _led_addresses(text: str, options: AnswerWindowOptions) -> list[tuple[int, int]]:
    """In a reply to an address request, the rest of a sentence opened by an answer lead ("It's
    rose -coated or she banked"): a street the transcriber never heard is lower-case words."""
    out = []
    sentences = [sm for sm in _SENTENCE_RE.finditer(text) if sm.group(0).strip()]
    for si, sm in enumerate(sentences):
        tokens = list(_TOKEN_RE.finditer(sm.group(0)))
        words = _words(tokens)
        k = 0
        while k < len(words) and words[k] in _FILLERS:
            k += 1
        n = max((_phrase_at(words, k, lead) for lead in options.address_answer_leads), default=0)
        span = _value_span(sm.group(0), sm.start(), tokens, k + n, options) if n else None
        if not span:
            continue
        # A transcriber's false full stop splits the street ("It's Rose Covid. For she bank."): a short
        # next sentence that opens with no filler, lead or courtesy word goes on with the value.
        if si + 1 < len(sentences) and span[1] >= sm.start() + len(sm.group(0).rstrip(" .?!")):
            nxt = sentences[si + 1]
            more = _words(list(_TOKEN_RE.finditer(nxt.group(0))))
            if 0 < len(more) <= options.continuation_words and more[0] not in _FILLERS | _LEAD_STOP | _PRONOUNS \
                    and more[0].removesuffix("'s") not in _NOT_NAMES and not nxt.group(0).rstrip().endswith("?"):
                tail = list(_TOKEN_RE.finditer(nxt.group(0)))[-1]
                span = (span[0], nxt.start() + tail.end())
        out.append(span)
    return out + [s for s in _street_sentences(sentences, options) if not _covered(s, out)]


def _street_sentences(sentences: list[re.Match], options: AnswerWindowOptions) -> list[tuple[int, int]]:
    """In a reply to an address request, a sentence of at most `declare_max_words` that ends on a street word,
    and the short sentence before it (a house name): "Fernbank. Kingfisher way." - a transcriber's full stops
    make each word a sentence start, which no name rule reads as a name; "E .B. Care of the old place." - a
    garbled street name runs over several plain words."""
    out = []
    for si, sm in enumerate(sentences):
        tokens = list(_TOKEN_RE.finditer(sm.group(0)))
        words = _words(tokens)
        if not 2 <= len(words) <= options.declare_max_words or sm.group(0).rstrip().endswith("?") \
                or not _STREET_WORD_RE.fullmatch(tokens[-1].group(0)) or words[0] in _FILLERS | _LEAD_STOP | _PRONOUNS:
            continue
        start = sm.start() + tokens[0].start()
        if si > 0:
            prev = sentences[si - 1]
            before = list(_TOKEN_RE.finditer(prev.group(0)))
            low = _words(before)
            if 0 < len(low) <= options.continuation_words and not prev.group(0).rstrip().endswith("?") \
                    and low[0] not in _FILLERS | _LEAD_STOP | _PRONOUNS and low[0] not in _NOT_NAMES:
                start = prev.start() + before[0].start()
        out.append((start, sm.start() + tokens[-1].end()))
    return out


def declared_addresses(text: str, options: AnswerWindowOptions, entity_type: str = "STREET_ADDRESS") -> list[tuple[int, int]]:
    """An address (or, with `entity_type` UK_POSTCODE, a postcode: "And the postcode is C50 to Tp.")
    stated in the sentence of its own cue, by either party: the words after a link ("the first line
    of the address you want is 58, a large kill"; "I've got it down as ...")."""
    cues = options.cues.get(entity_type, [])
    out: list[tuple[int, int]] = []
    sentences = [sm for sm in _SENTENCE_RE.finditer(text) if sm.group(0).strip()]
    for si, sm in enumerate(sentences):
        tokens = list(_TOKEN_RE.finditer(sm.group(0)))
        words = _words(tokens)
        for i in range(len(words)):
            n = max((_phrase_at(words, i, c) for c in cues), default=0)
            if not n and entity_type == "STREET_ADDRESS" and words[i] == "addresses" \
                    and words[max(0, i - 3):i] == ["line", "of", "the"]:
                # "address is" run together ("But the first line of the addresses, okravens, we're guard.")
                span = _value_span(sm.group(0), sm.start(), tokens, i + 1, options)
                if span and not _covered(span, out):
                    out.append(span)
                continue
            if not n:
                continue
            for j in range(i + n, min(i + n + options.declare_cue_gap + 1, len(words))):
                m = max((_phrase_at(words, j, link) for link in options.declare_links), default=0)
                if m:
                    span = _value_span(sm.group(0), sm.start(), tokens, j + m, options)
                    if span and entity_type == "UK_POSTCODE" and not any(
                            any(ch.isdigit() for ch in w) or number_token(w) or w in options.postcode_digit_words
                            for w in words[j + m:j + m + 3]):
                        span = None  # a postcode has a digit in its first words ("... is changing next year")
                    elif span and span[1] >= sm.start() + len(sm.group(0).rstrip(" .?!")):
                        span = _to_confirmation(span, sentences[si + 1:], words[j + m:], options)
                    if span and not _covered(span, out):
                        out.append(span)
                    break
    return out


def declared_emails(text: str, options: AnswerWindowOptions) -> list[tuple[int, int]]:
    """An e-mail volunteered in a statement of its cue, by either party ("Before you ask, my email addresses. He dot
    trial on E -92it. Yeah, he dot -co -dot -uk. I've got it in front of me."): from after the cue (and a link
    word) to the end of the last of the sentences straight after it that hold `declare_email_words`, when they
    hold two of those at least - "my email is the same. I'm at work now." declares nothing."""
    cues = options.cues.get("EMAIL_ADDRESS", [])
    marks = set(options.declare_email_words)
    sentences = [sm for sm in _SENTENCE_RE.finditer(text) if sm.group(0).strip()]
    out: list[tuple[int, int]] = []
    for si, sm in enumerate(sentences):
        if sm.group(0).rstrip().endswith("?") or (out and sm.start() < out[-1][1]):
            continue
        tokens = list(_TOKEN_RE.finditer(sm.group(0)))
        words = _words(tokens)
        at = next((i + n for i in range(len(words)) if (n := max((_phrase_at(words, i, c) for c in cues), default=0))),
                  None)
        if at is None:
            continue
        # "... the email address you want is X": a link a few words on; or the cue ends its sentence ("my email
        # addresses." - a transcriber's stop where "is" was said). "Which email should it go to" declares nothing.
        link = next((j + m for j in range(at, min(at + options.declare_cue_gap + 1, len(words)))
                     if (m := max((_phrase_at(words, j, k) for k in options.declare_links), default=0))), None)
        if link is None and len(words) - at > 1:
            continue
        at = len(words) if link is None else link
        pieces = ([(sm.start() + tokens[at].start(), sm.end())] if at < len(tokens) else []) + \
            [(s.start(), s.end()) for s in sentences[si + 1:]]
        start, end, seen = None, None, 0
        for a, b in pieces:
            toks = list(re.finditer(r"[A-Za-z0-9]+", text[a:b]))
            found = [m for m in toks if m.group(0).lower() in marks]
            if not found:
                break
            start = a + toks[0].start() if start is None else start
            # The last sentence ends at its last e-mail word, or the word a joiner ("dot", "at") needs after it:
            # "... at gmail dot com and the phone is the same" keeps its talk.
            last = found[-1]
            after = [m for m in toks if m.start() > last.start()]
            tail = after[0] if after and last.group(0).lower() in _EMAIL_JOINERS else last
            end, seen = a + tail.end(), seen + len(found)
        if start is not None and seen >= 2:
            out.append((start, end))
    return out


_EMAIL_JOINERS = {"at", "dot", "underscore", "hyphen"}


def _to_confirmation(span: tuple[int, int], after: list[re.Match], value: list[str],
                     options: AnswerWindowOptions) -> tuple[int, int]:
    """A declared address read back for confirmation goes on over a transcriber's false full
    stops ("down as Rosecottage. Station approach. Is that still right?"): the statements between
    the value and the question are the value too, at most `declare_max_words` words in all. With no
    question, so are the short statements straight after it, up to `continuation_words` words each
    ("... is flat 33. Blend in height. Ball quen rise. I've got it in front of me.")."""
    count, end = len(value), span[1]
    # only a value with no street word yet ("flat 33."): "12 Glebe Avenue. Station approach." ends at its stop
    short, shorts = span[1], not any(_STREET_WORD_RE.fullmatch(w) for w in value)
    for nxt in after:
        body = nxt.group(0).rstrip()
        words = _words(list(_TOKEN_RE.finditer(nxt.group(0))))
        if body.endswith("?"):
            return (span[0], end)
        count += len(words)
        if not words or count > options.declare_max_words or words[0] in _FILLERS | _LEAD_STOP | _PRONOUNS:
            break
        end = nxt.start() + list(_TOKEN_RE.finditer(nxt.group(0)))[-1].end()
        shorts = shorts and len(words) <= options.continuation_words
        short = end if shorts else short
    return (span[0], short)


def _letters(tok: str) -> int:
    """Spelled letters in one token ("F", "DY", "S-M-I"), 0 if it is not a spelling."""
    parts = tok.split("-")
    if all(p.isalpha() and (len(p) == 1 or (p.isupper() and len(p) <= 3)) for p in parts) and tok not in {"I", "a"}:
        return sum(len(p) for p in parts)
    return 0


def spelled_names(text: str, options: AnswerWindowOptions) -> list[tuple[int, int]]:
    """The words right before a letter-by-letter spelling ("That in the sorensen, that's F -O -R
    -D"): the name being spelled, in whatever case the transcriber wrote it."""
    tokens = list(_TOKEN_RE.finditer(text))
    words = _words(tokens)
    cue_words = {w for cues in options.cues.values() for c in cues for w in _clean(c).split()}
    out = []
    for k in range(len(words)):
        n = max((_phrase_at(words, k, link) for link in options.spell_links), default=0)
        if not n:
            continue
        j = k + n
        if j < len(words) and words[j] in {"the", "a"}:
            j += 1
        letters = 0
        while j < len(tokens) and _letters(tokens[j].group(0)):
            letters += _letters(tokens[j].group(0))
            j += 1
        if letters < options.spell_min_letters:
            continue
        first = k
        while first > 0 and k - first < options.spell_name_words:
            prev = words[first - 1]
            between = text[tokens[first - 1].end():tokens[first].start()]
            if re.search(r"[.?!]", between) or prev in _LEAD_STOP or prev in cue_words or \
                    prev.removesuffix("'s") in _NOT_NAMES or number_token(prev) is not None:
                break
            first -= 1
        if first < k:
            out.append((tokens[first].start(), tokens[k - 1].end()))
    return out


# Words of a reply to a name request that are no name: a non-answer ("Sorry?", "Spot on.") or its lead-in.
_NON_ANSWERS = {"sorry", "pardon", "what", "yes", "yeah", "no", "hello", "hi", "sure", "okay", "ok", "hang", "on",
                "wait", "who", "me", "why", "one", "sec", "second", "moment", "just", "i", "it", "is", "it's", "that",
                "spot", "correct", "right", "exactly", "lovely", "great", "thanks", "thank", "you", "please", "fine",
                "perfect", "cheers", "indeed", "absolutely", "that's", "same", "still", "speaking", "i'm", "name", "name's",
                "full", "called", "before", "ask"} | _LEAD_STOP


# Words that start no name: a reply that goes on with one of them is about something else ("It's for my mum").
_NOT_NAME_START = {"for", "about", "my", "his", "her", "our", "your", "their", "with", "to", "from", "calling", "ringing",
                   "phoning", "because", "regarding", "not", "no", "just", "actually", "gonna", "going", "here", "there"}
_POSSESSIVES = {"my", "his", "her", "our", "your", "their"}
_CLAUSE_RE = re.compile(r"(?:(?!\bthat's\b)[^.,!?;:])+", re.IGNORECASE)  # "Grace as is that's G for Golf ..."


def _garbled_name(text: str, options: AnswerWindowOptions) -> list[tuple[int, int]]:
    """The first clause of a reply to a name request that says more than lead words, when it is short:
    the name, however the transcriber wrote it ("In echo with you.", "Plug in a daily. That's A for
    Alpha, ...", "Yeah, that I'm a ballagunt."), less its lead words. Nothing when that clause is long,
    asks back, or starts like talk about something else ("It is for my mum actually")."""
    if options.name_reply_words is None:
        return []
    for clause in _CLAUSE_RE.finditer(text):
        tokens = list(_TOKEN_RE.finditer(clause.group(0)))
        words = [t.group(0).lower().replace("’", "'") for t in tokens]
        k = next((k for k, w in enumerate(words) if w not in _NON_ANSWERS), None)
        if k is None:
            continue  # "Yeah," - the name comes after
        whole_turn = not _TOKEN_RE.search(text[clause.end():])
        limit = max(options.name_reply_words, options.name_turn_words) if whole_turn else options.name_reply_words
        if text[clause.end():clause.end() + 1] == "?" or len(tokens) - k > limit or words[k] in _NOT_NAME_START \
                or (k and words[k - 1] in _POSSESSIVES):  # "It's in my partner's name, really."
            return []
        return [(clause.start() + tokens[k].start(), clause.start() + tokens[-1].end())]
    return []


_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "doctor"}


def _titled_names(text: str) -> list[tuple[int, int]]:
    """A title and the words after it, up to three, in any case: a name given in answer however the
    transcriber wrote it ("It's ms chitty ramen before you ask my date of birth ...")."""
    out = []
    tokens = list(_TOKEN_RE.finditer(text))
    for k, m in enumerate(tokens):
        if m.group(0).lower().rstrip(".") not in _TITLES or \
                (k and tokens[k - 1].group(0).lower() in {"the", "a", "my", "our", "your", "his", "her", "their"}):
            continue  # "she saw the doctor yesterday"
        last = k
        for j in range(k + 1, min(k + 4, len(tokens))):
            word = tokens[j].group(0).lower().replace("’", "'")
            if word in _NON_ANSWERS | _NOT_NAME_START | _CONJUNCTIONS | _SUBJECTS \
                    or text[tokens[j - 1].end():tokens[j].start()].strip(" -'" + ("." if j == k + 1 else "")):
                break  # talk, or a mark: the name has ended
            last = j
        if last > k:
            out.append((m.start(), tokens[last].end()))
    return out


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
        # An unidentified speaker ("unknown") may be the agent: its request opens a window over the
        # turns that follow, whoever said them, until the next request.
        unknown = speakers[i] not in {"agent", "customer"}
        if not types or not (unknown or speakers[i] in options.requesters):
            continue
        entity_type = min(types, key=order.index)
        for start, end in _answer_in_own_turn(text, options):
            out.append(Detection(entity_type, i, start, end, options.score, "answer_window",
                                 normalise_value(text[start:end], entity_type)))
        budget, replies = options.max_words, 0
        closes = hands_back(text, options)
        for j in range(i + 1, len(texts)):
            if unknown:
                if requested_types(texts[j], options) or replies >= options.max_turns or budget <= 0:
                    break
            elif speakers[j] == speakers[i]:
                if requested_types(texts[j], options):
                    break
                if asks_again(texts[j], options):
                    budget, replies = options.max_words, 0  # "You broke up, could you say that once more?": answered anew
                    continue
                if len(_TOKEN_RE.findall(texts[j])) > options.max_interjection_words:
                    break
                continue  # "Mm-hm." from the requester does not end the answer
            elif replies >= options.max_turns or budget <= 0:
                break
            spans, used = _window_spans(texts[j], types, budget, options)
            # A name asked for with something else ("... the full name. ... The first line?") is still the
            # reply's first clause; "Yeah," alone is no reply yet.
            # ... unless the turn ends on a closing question: "No, that's everything." answers that. (Its value-like
            # words still count: in stereo the agent's channel runs on past a reply given in the middle of it.)
            names = _garbled_name(texts[j], options) if "PERSON" in types and replies == 0 and not closes else []
            if "PERSON" in types:
                names = names + _titled_names(texts[j])
            budget -= used
            if any(t.lower() not in _FILLERS for t in _TOKEN_RE.findall(texts[j])):
                replies += 1
            for kind, found_spans in ((entity_type, spans), ("PERSON", names)):
                for start, end in found_spans:
                    out.append(Detection(kind, j, start, end, options.score, "answer_window",
                                         normalise_value(texts[j][start:end], kind)))
            if speakers[j] not in {"agent", "customer"}:
                break  # a reply that asks in turn (mono: "It's 47, no length. And the postcode?") opens its own window
    out.extend(_echoed_replies(texts, speakers, options))
    # Values said in the sentence of their own cue or right before their spelling, by any speaker
    # (a read-back, a volunteered address, a mono turn holding both parties).
    for j, text in enumerate(texts):
        for entity_type, spans in (("STREET_ADDRESS", declared_addresses(text, options)),
                                   ("UK_POSTCODE", declared_addresses(text, options, "UK_POSTCODE")),
                                   ("EMAIL_ADDRESS", declared_emails(text, options)),
                                   ("PERSON", spelled_names(text, options))):
            for start, end in spans:
                out.append(Detection(entity_type, j, start, end, options.score, "answer_window",
                                     normalise_value(text[start:end], entity_type)))
    return out


# Words a read-back shares with any reply: no evidence that it repeats the value.
_ECHO_STOP = _FILLERS | _LEAD_STOP | {"that's", "it", "is", "and", "the", "a", "of", "for", "thanks", "thank", "you",
                                     "lovely", "great", "perfect", "please", "got", "i've"}


def _echoed_replies(texts: list[str], speakers: list[str], options: AnswerWindowOptions) -> list[Detection]:
    """A short reply to a request for a type in `reply_gap_types` that the requester's next turn repeats
    in its first sentence (two of its words or more): the reply's first sentence and the repeated stretch
    are the value, however garbled ("effort alpha, expert x -ray," - "Epper alpha, expert x -ray. Yep." for
    "A for Alpha, X for X-ray"). Recogniser `reply_echo`."""
    out: list[Detection] = []
    order = list(options.cues)
    for i, text in enumerate(texts):
        types = requested_types(text, options) & set(options.reply_gap_types) if speakers[i] in options.requesters else set()
        j = next((k for k in range(i + 1, min(i + 3, len(texts))) if speakers[k] != speakers[i]), None) if types else None
        k = next((k for k in range(j + 1, min(j + 3, len(texts))) if speakers[k] == speakers[i]), None) if j else None
        if k is None:
            continue
        # The whole reply when short (a code's dots are no sentence ends: "E -1 .5."), else its first sentence.
        reply = list(_TOKEN_RE.finditer(texts[j]))
        if len(reply) > options.reply_gap_words:
            reply = list(_TOKEN_RE.finditer((_sentences(texts[j]) or [""])[0]))
        while reply and reply[0].group(0).lower() in _FILLERS:
            reply = reply[1:]
        if not reply or len(reply) > options.reply_gap_words:
            continue
        said = {m.group(0).lower() for m in reply} - _ECHO_STOP
        heard = list(_TOKEN_RE.finditer(texts[k]))[:options.reply_gap_words]
        at = [n for n, m in enumerate(heard) if m.group(0).lower() in said]
        if len({heard[n].group(0).lower() for n in at}) < 2:
            continue
        first, last = at[0], at[-1]
        # a code's letter heard differently beside the repeated digits ("E -1 .5." - "B -1 .5.")
        while first > 0 and len(heard[first - 1].group(0)) <= 2 and heard[first - 1].group(0).lower() not in _ECHO_STOP:
            first -= 1
        entity_type = min(types, key=order.index)
        for turn, a, b in ((j, reply[0].start(), reply[-1].end()), (k, heard[first].start(), heard[last].end())):
            out.append(Detection(entity_type, turn, a, b, options.score, "reply_echo",
                                 normalise_value(texts[turn][a:b], entity_type)))
    return out


def _answer_in_own_turn(text: str, options: AnswerWindowOptions) -> list[tuple[int, int]]:
    """A short sentence straight after the request in the request's own turn, with a value-like word
    in it: the answer, when diarisation merged the two parties ("Have you got your customer reference
    there? HDB. Okay, and the rest?"). The words from its first value-like word to its end."""
    if not options.own_turn_answer_words:
        return []
    sentences = [m for m in _SENTENCE_RE.finditer(text) if m.group(0).strip()]
    out = []
    for k, m in enumerate(sentences[:-1] if len(sentences) > 1 else []):
        if not requested_types(m.group(0), options):
            continue
        nxt = sentences[k + 1]
        tokens = list(_TOKEN_RE.finditer(nxt.group(0)))
        if not tokens or len(tokens) > options.own_turn_answer_words or nxt.group(0).rstrip().endswith("?"):
            continue
        values = [t for t in tokens if _value_like(t.group(0), False, set(options.cues))
                  and t.group(0).lower() not in _LEAD_STOP]
        if values:
            out.append((nxt.start() + values[0].start(), nxt.start() + tokens[-1].end()))
    return out


def asks_again(text: str, options: AnswerWindowOptions) -> bool:
    """Whether `text` asks to hear something again (`answer_window.repeat_requests`: "say that once more")."""
    low = " " + " ".join(w.lower() for w in _TOKEN_RE.findall(text)) + " "
    return any(f" {p} " in low for p in options.repeat_requests)


# The first words of a reply that asks back rather than answers ("Who's asking?", "Is that for the account?").
_QUESTION_OPENERS = {"who", "who's", "what", "what's", "why", "how", "which", "where", "when", "sorry", "pardon", "is",
                     "are", "do", "does", "did", "can", "could", "would", "will", "should", "have", "has", "am", "was",
                     "were", "shall", "may", "eh", "you", "whose", "whom", "where's", "how's", "when's", "why's"}


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
        if not types or hands_back(turn.text, options):
            continue
        # The next transcribed speech after the request, a reply begun over its end included.
        starts = [max(t.start_s, turn.end_s) for k, t in enumerate(turns)
                  if k != i and t.start_s is not None and t.end_s is not None and t.end_s > turn.end_s]
        end = min([turn.end_s + options.max_gap_s, *starts])
        if end - turn.end_s >= 0.2:
            out.append((i, min(types, key=order.index), turn.end_s, end))
    return out


def mid_turn_answer_gaps(turns: list[Turn], options: AnswerWindowOptions,
                         values: list[tuple[int, float]]) -> list[tuple[int, str, float, float]]:
    """Mono only: a request for an item in the middle of a turn, with no value after it there
    (`values`: (turn index, start_s) of the call's findings): (turn, type, start_s, end_s) of the
    time from the request's last word to the turn's next request (or its end), at most `max_gap_s`.

    Diarisation merged the reply into the agent's turn, and the transcriber garbled it into
    words that look like the agent's ("... and the name on the account It's doctor and catch I
    apologize and the contact number, please"): no text rule can tell them from talk, so their
    time is muted and the text keeps them.
    """
    if not options.enabled or options.max_gap_s <= 0 or any(t.channel is not None for t in turns):
        return []
    cues = [(entity_type, _clean(c).split()) for entity_type, cs in options.cues.items() for c in cs]
    out = []
    for i, turn in enumerate(turns):
        if turn.speaker not in options.requesters or not turn.words or turn.end_s is None:
            continue
        words = [_clean(w.text).strip() for w in turn.words]
        hits = sorted({(k, k + len(toks) - 1, t) for t, toks in cues for k in range(len(words) - len(toks) + 1)
                       if words[k:k + len(toks) - 1] == toks[:-1]
                       and re.fullmatch(rf"{re.escape(toks[-1])}[a-z]{{0,3}}", words[k + len(toks) - 1] or "")})
        for n, (_, last, entity_type) in enumerate(hits):
            if last + 1 >= len(words) or entity_type not in requested_types(
                    " ".join(w.text for w in turn.words[:last + 1]), options):
                continue
            # The reply follows the request's sentence; with no stop after it (a run-on turn), only a new
            # sentence begun at once, with a capital, is taken for one ("... on the account It's doctor ...").
            bound = min([k for k, _, _ in hits[n + 1:] if k > last] + [len(words)])
            stop = next((k for k in range(last, bound) if re.search(r"[.?!]$", turn.words[k].text)), None)
            if stop is not None and entity_type not in requested_types(
                    " ".join(w.text for w in turn.words[_sentence_start(turn, last):stop + 1]), options):
                continue  # a cue word in a statement that goes on past it ("you're through to Skylark Mobile, ...")
            tail = None if stop is None else _request_tail(turn, words, last, stop, entity_type, options)
            if tail is not None and not any(j == i and tail[0] <= s < tail[1] for j, s in values):
                out.append((i, entity_type, *tail))
            if stop is None and not (turn.words[last + 1].text[:1].isupper()
                                     and words[last + 1] not in _NOT_VALUE_CAPS):
                continue
            end = last if stop is None else stop
            if end + 1 >= len(words) or (not any(k > end for k, _, _ in hits[n + 1:]) and answered_in_next_turn(turns, i, values)):
                continue  # ... or the last request of the turn is answered in the next turn: what follows it is the agent's
            if any(j == i and turn.words[last].end_s <= s < turn.words[end].end_s for j, s in values):
                continue  # a value after the cue in its own sentence: read back ("... down as <value>. Is that right?") or given
            a = turn.words[end].end_s
            after = [turn.words[k].start_s for k, _, _ in hits[n + 1:] if k > end]
            b = min(after) if after else turn.end_s
            if any(j == i and a <= s < b for j, s in values):
                continue
            b = min(b, a + options.max_gap_s)  # the reply comes first: a long rest is the agent talking on after it
            if b - a >= 0.2:
                out.append((i, entity_type, a, b))
    return out


def _asked_at(turn: Turn, types: set[str], reask: re.Pattern | None, options: AnswerWindowOptions) -> float:
    """When the last sentence of a turn that asks for one of `types` (or asks again) begins; the turn's start when
    none does or the turn has no word times."""
    starts = [k for k in range(len(turn.words)) if k == 0 or re.search(r"[.?!]$", turn.words[k - 1].text)]
    for a, b in reversed(list(zip(starts, starts[1:] + [len(turn.words)]))):
        sentence = " ".join(w.text for w in turn.words[a:b])
        if requested_types(sentence, options) & types or (reask is not None and reask.search(sentence)):
            return turn.words[a].start_s
    return turn.words[0].start_s if turn.words else float("-inf")


def _sentence_start(turn: Turn, k: int) -> int:
    """The index of the first word of the sentence holding word k of a turn."""
    return next((j + 1 for j in range(k - 1, -1, -1) if re.search(r"[.?!]$", turn.words[j].text)), 0)


def _lead_end(words: list, first: int, end: int, options: AnswerWindowOptions) -> int | None:
    """The last word of a reply's lead: before its first comma or `reply_gap_lead_breaks` word (None: none)."""
    breaks = set(options.reply_gap_lead_breaks)
    return next((k for k in range(first, end) if words[k].text.endswith(",") or _clean(words[k + 1].text).strip() in breaks),
                None)


def _leads_in(words: list, first: int, end: int, types: set[str], found: list[float],
              options: AnswerWindowOptions) -> bool:
    """Whether a reply's words from `first` lead in to a value of the requested type found later in it (`found`:
    its findings' start times): at least `reply_lead_sentence_words` words of its first sentence (ending at `end`)
    and no value-like word come before the value, found after that sentence or inside one longer than
    `reply_gap_words` ("Top right of the letter. It says reference ...", "It's in my partner's name really, but the
    first line of the address is <address>"). Not when the first words come before an aside (the value garbled, then
    "sorry, ..."), nor for types outside `reply_lead_sentence_types`."""
    later = [s for s in found if s >= words[first].end_s]
    if not later or not types <= set(options.reply_lead_sentence_types):
        return False
    if min(later) < words[end].end_s and end - first + 1 <= options.reply_gap_words:
        return False  # a short sentence holding the value: muted from the value on ("I was born on the <date>")
    before = [k for k in range(first, len(words)) if words[k].end_s <= min(later)]
    lead = _lead_end(words, first, end, options)
    return (len([k for k in before if k <= end]) >= options.reply_lead_sentence_words
            and (lead is None or lead - first + 1 > options.reply_gap_lead_words)
            and not any(_value_like(words[k].text.strip(".,?!"), k == first or words[k - 1].text.endswith((".", "?", "!")),
                                    types) for k in before if words[k].text.strip(".,?!")))


def answered_in_next_turn(turns: list[Turn], i: int, values: list[tuple[int, float]]) -> bool:
    """Whether the turn after turn `i` is the other party's and holds a value: the reply, transcribed on its own."""
    return i + 1 < len(turns) and turns[i + 1].speaker != turns[i].speaker and any(j == i + 1 for j, _ in values)


def _request_tail(turn: Turn, words: list[str], last: int, end: int, entity_type: str,
                  options: AnswerWindowOptions) -> tuple[float, float] | None:
    """Mono: the rest of a request's own sentence after its cue, when short and no question, for a type
    in `reply_gap_types` - the reply merged into the request ("Can I take your full name, please or
    it's firm.", "... and the name on the account I'm happy to add it."). (start_s, end_s) or None."""
    if entity_type not in options.reply_gap_types or turn.words[end].text.endswith("?"):
        return None
    first = next((k for k in range(last + 1, end + 1) if words[k] not in _FILLERS | {"please", "then", "now"}), None)
    if first is None or end - first + 1 > options.reply_gap_words:
        return None
    a, b = turn.words[first].start_s, turn.words[end].end_s
    return (a, b) if b - a >= 0.2 else None


def reply_gaps(turns: list[Turn], options: AnswerWindowOptions, phonetic: frozenset[str] = frozenset(),
               values: list[tuple[int, str, float]] = ()) -> list[tuple[int, str, float, float]]:
    """The time of the first sentence of the reply to a request for a type in `reply_gap_types`, when it
    is short and no question: (request turn, requested type, start_s, end_s).

    A name or a postcode the transcriber has never heard comes out as everyday words ("It's them as a
    mega -hero gate" for "Ms Emeka Harrowgate", "and one for ew." for "N one, three U W"), which no text
    rule can tell from talk, and a listener to the audio hears the value. The reply's first sentence is
    the value almost always, so its time is muted; the text keeps its words. With `values` ((turn index,
    entity type, start_s) of the call's findings), the words of `reply_lead_words` that open the sentence
    before a value of the requested type found in it stay audible ("I was born on the <date>"); a first sentence of
    `reply_lead_sentence_words` or more with that value found only after it is a lead-in, no reply; and a request
    that holds a value of its type (a read-back) has no reply gap: the reply confirms it.
    """
    if not options.enabled or not options.reply_gap_types:
        return []
    order = list(options.cues)
    wanted = set(options.reply_gap_types + options.reply_gap_head_types)
    reask = re.compile(r"\b(?:" + "|".join(re.escape(c) for c in options.reask_cues) + r")\b", re.I) \
        if options.reask_cues else None
    out = []
    asked: set[str] = set()  # what the requester asked for last
    for i, turn in enumerate(turns):
        if turn.speaker not in options.requesters:
            continue
        types = requested_types(turn.text, options) & wanted
        if not types and asked and reask is not None and reask.search(turn.text):
            types = asked
        asked = types
        if any(k == i and t in types for k, t, _ in values):
            continue  # a read-back ("I've got it down as <value>. Is that still right?"): the reply confirms it
        j = next((k for k in range(i + 1, min(i + 3, len(turns))) if turns[k].speaker != turn.speaker), None) \
            if types else None
        if j is not None and any(len(_TOKEN_RE.findall(turns[k].text)) > options.max_interjection_words
                                 for k in range(i + 1, j)):
            continue  # the requester went on talking (a read-back, the next step): what follows answers that
        reply = None if j is None else turns[j]
        if reply is None or not reply.words or reply.words[0].start_s < _asked_at(turn, types, reask, options):
            continue  # stereo: a reply begun before the request was said answers something before it
        if hands_back(turn.text, options) and turn.words \
                and reply.words[0].start_s >= turn.words[_sentence_start(turn, len(turn.words) - 1)].start_s:
            continue  # the turn ended on a closing question, asked before this reply: the reply answers that
        words = reply.words
        start = 0
        while True:  # past sentences of fillers only ("Yeah. Sorry. It's ...")
            end = next((k for k in range(start, len(words)) if re.search(r"[.?!]$", words[k].text)), len(words) - 1)
            first = next((k for k in range(start, end + 1) if _clean(words[k].text).strip() not in _LEAD_FILLERS), None)
            if first is not None or end + 1 >= len(words) or words[end].text.endswith("?"):
                break
            start = end + 1
        if words[end].text.endswith("?") and (first is None or _clean(words[first].text).strip() in _QUESTION_OPENERS):
            continue  # "Sorry, who's asking?"; a value garbled into words with a question mark is still one
            # ("That in the know what?" for "Fatima Nowak")
        if first is not None and _leads_in(words, first, end, types, [s for k, t, s in values if k == j and t in types],
                                           options):
            continue
        if first is not None and end - first + 1 > options.reply_gap_words and types & set(options.reply_gap_head_types):
            end = first + options.reply_gap_words - 1
            types &= set(options.reply_gap_head_types)
        elif first is not None and end - first + 1 > options.reply_gap_words:
            # The value first, then an aside or a fresh start after a comma ("Why have, sorry, the dog's going mad,
            # ..." for "Y S, ..."; "I need to, no, sorry, let me start that again." for "I V two, ..."): its words.
            lead = _lead_end(words, first, end, options)
            # A name said and then spelled with the phonetic alphabet ("We smack me turn in and for Mike for alpha
            # ..." for "Rhys Mahmoud, M for Mike, A for alpha"): the words before its first "<letter> for <word>".
            spelled = next((k - 2 for k in range(first + 2, end + 1) if _clean(words[k].text).strip() in phonetic
                            and _clean(words[k - 1].text).strip() == "for"), None)
            if spelled is not None and spelled > first and spelled - first <= options.reply_gap_words:
                end = spelled - 1
            elif lead is not None and lead - first + 1 <= options.reply_gap_lead_words:
                end = lead
        if first is None or end - first + 1 > options.reply_gap_words:
            continue
        found = [s for k, t, s in values if k == j and t in types and words[first].start_s <= s <= words[end].end_s]
        while found and first < end and words[first].end_s <= min(found) \
                and _clean(words[first].text).strip() in options.reply_lead_words:
            first += 1
        if words[end].end_s - words[first].start_s >= 0.2:
            out.append((i, min(types, key=order.index), words[first].start_s, words[end].end_s))
    return out
