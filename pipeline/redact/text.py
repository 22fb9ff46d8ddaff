"""Text redaction: findings -> redacted turns (Presidio anonymizer), PiiFinding records, and
the residual re-scan that flags a call for human review."""

from __future__ import annotations

import re

import logging
from functools import lru_cache

from presidio_analyzer import AnalyzerEngine
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult
from pydantic import BaseModel, ConfigDict, Field

from pipeline.redact.analyzer import Detection
from pipeline.redact.answer import answer_gaps, answered_in_next_turn, mid_turn_answer_gaps, reply_gaps
from pipeline.redact.normalise import normalise_value
from pipeline.redact.payment import aside_units, cue_offset, payment_gaps, policy_speakers, request_types
from pipeline.redact.runs import find_runs
from pipeline.redact.scan import detect_call, merge_detections
from pipeline.redact.keys import hmac_value
from pipeline.redact.options import RedactOptions
from pipeline.schema import PiiFinding, Turn, Word

__all__ = ["ResidualFinding", "TextRedaction", "redact_text", "align_words"]

logger = logging.getLogger(__name__)


class ResidualFinding(BaseModel):
    """Something the re-scan of the redacted text still finds (positions in the redacted text)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity_type: str
    turn_index: int = Field(ge=0)
    char_start: int = Field(ge=0, description="Offset in the turn's redacted text.")
    char_end: int = Field(ge=0)
    recognizer: str
    score: float


class TextRedaction(BaseModel):
    """Output of `redact_text`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    turns: list[Turn] = Field(description="Redacted turns: same count and order as the input.")
    findings: list[PiiFinding] = Field(description="One per redacted span, ordered by (turn, char_start).")
    operators: list[str] = Field(description="Operator applied to each finding (parallel to findings).")
    residual: list[ResidualFinding] = Field(
        description="Hits of the re-scan of the redacted text (positions in the text of the pass that found them); "
        "every one is redacted too.")
    below_threshold: list[ResidualFinding] = Field(
        default_factory=list, description="The residual hits scored below residual_threshold: the audit log lists "
        "them for review (kind 'review').")
    flagged: bool = Field(description="True when the call needs human review (residual or alignment problems).")
    reasons: list[str] = Field(default_factory=list, description="Why it is flagged; never PII.")


@lru_cache(maxsize=1)
def _anonymizer() -> AnonymizerEngine:
    return AnonymizerEngine()


def _operator_config(options: RedactOptions, entity_type: str, length: int) -> OperatorConfig:
    op = options.operator(entity_type)
    if op.type == "replace":
        return OperatorConfig("replace", {"new_value": options.placeholder(entity_type)})
    if op.type == "mask":
        return OperatorConfig("mask", {"masking_char": op.masking_char, "chars_to_mask": length, "from_end": False})
    return OperatorConfig("redact", {})


def align_words(text: str, words: list[Word]) -> list[tuple[int, int] | None]:
    """Character span of each word in `text`, searching forward; None where a word is not found."""
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    lower = text.lower()
    for word in words:
        needle = word.text.strip()
        at = text.find(needle, cursor) if needle else -1
        if at < 0 and needle:
            at = lower.find(needle.lower(), cursor)
        if at < 0:
            spans.append(None)
            continue
        spans.append((at, at + len(needle)))
        cursor = at + len(needle)
    return spans


def _redact_words(turn: Turn, found: list[Detection], spans, options: RedactOptions) -> list[Word]:
    out: list[Word] = []
    last_hit: Detection | None = None
    for word, span in zip(turn.words, spans):
        hit = None
        if span is None:
            hit = "unaligned"
        else:
            hit = next((d for d in found if span[0] < d.end and d.start < span[1]), None)
        if hit is None:
            out.append(word)
            last_hit = None
            continue
        entity = hit.entity_type if isinstance(hit, Detection) else "PII"
        op = options.operator(entity).type if isinstance(hit, Detection) else "replace"
        if op == "redact":
            continue
        text = options.placeholder(entity) if op == "replace" else options.operator(entity).masking_char * len(word.text)
        if isinstance(hit, Detection) and hit is last_hit and op == "replace":
            prev = out[-1]  # one placeholder word per finding, spanning its words' times
            out[-1] = prev.model_copy(update={"end_s": word.end_s, "probability": min(prev.probability, word.probability)})
            continue
        out.append(Word(start_s=word.start_s, end_s=word.end_s, text=text, probability=word.probability))
        last_hit = hit if isinstance(hit, Detection) else None
    return out


def _cut_reach(found: Detection, options: RedactOptions) -> float:
    """How far past its last word a number may run when it ends its turn: `answer_window.max_gap_s` for one with
    fewer digits than `payment_window.whole_digits` gives its type (a phone begun as "plus four four", the rest
    cut off or dropped by the transcriber), else 0 (the usual reach)."""
    whole = options.payment_window.whole_digits.get(found.entity_type)
    cut = whole is not None and sum(c.isdigit() for c in found.value) < whole
    return options.answer_window.max_gap_s if cut else 0.0


def _times(found: Detection, turn: Turn, spans, outer: tuple[float | None, float | None] = (None, None),
           cut_reach_s: float = 0.0) -> tuple[float | None, float | None]:
    """Time span of a finding from the words it overlaps; None when it cannot be placed.

    Transcriber word times are approximate (Whisper gives some words no duration at all), so
    the span reaches into the silence beside it: up to the neighbouring words' edges, at most
    `_REACH_S` (or `_REACH_SHORT_S` next to a word shorter than 0.1 s). At the turn's edges the
    neighbours are `outer`: the end of the last word before the turn and the start of the first
    after it on the same channel (mono: the other party's words too), when known. A number cut short at the
    turn's end reaches `cut_reach_s` past it, up to that first word after it (`_cut_reach`).
    """
    if not turn.words:
        return None, None
    idx = [k for k, s in enumerate(spans) if s is not None and s[0] < found.end and found.start < s[1]]
    if not idx:
        return None, None
    # Fail closed: every character of the finding must sit inside an aligned word.
    chars = [c for c in range(found.start, found.end) if turn.text[c].isalnum()]
    aligned = [s for s in spans if s is not None]
    if any(not any(a <= c < b for a, b in aligned) for c in chars):
        return None, None
    words = turn.words
    first, last = words[idx[0]], words[idx[-1]]
    reach = _REACH_SHORT_S if first.end_s - first.start_s < 0.1 else _REACH_S
    floor = words[idx[0] - 1].end_s if idx[0] > 0 else (turn.start_s or 0.0) - reach
    if idx[0] == 0 and outer[0] is not None:
        floor = max(floor, outer[0])
    start = max(first.start_s - reach, min(first.start_s, floor))
    reach = _REACH_SHORT_S if last.end_s - last.start_s < 0.1 else _REACH_S
    ceiling = words[idx[-1] + 1].start_s if idx[-1] + 1 < len(words) else last.end_s + reach
    if idx[-1] + 1 == len(words):
        reach = max(reach, cut_reach_s)
        ceiling = last.end_s + reach if outer[1] is None else min(last.end_s + reach, outer[1])
    end = min(last.end_s + reach, max(last.end_s, ceiling))
    return max(0.0, start), end


def _outer(turns: list[Turn], i: int) -> tuple[float | None, float | None]:
    """The end of the last word before turn i and the start of the first after it, on its channel
    (turns with no channel - mono - are one channel); None where there is none."""
    turn = turns[i]
    if not turn.words:
        return None, None
    first, last = turn.words[0].start_s, turn.words[-1].end_s
    before = [w.end_s for j, t in enumerate(turns) if j != i and t.channel == turn.channel for w in t.words
              if w.end_s <= first]
    after = [w.start_s for j, t in enumerate(turns) if j != i and t.channel == turn.channel for w in t.words
             if w.start_s >= last]
    return (max(before) if before else None), (min(after) if after else None)


_REACH_S = 0.3
_REACH_SHORT_S = 1.0


def redact_text(turns: list[Turn], options: RedactOptions, analyzer: AnalyzerEngine, key: bytes,
                keep_words: tuple[str, ...] = ()) -> TextRedaction:
    """Find and remove personal data from one call's turns.

    Args:
        turns: the call's turns in order (turn text only is analysed, never speaker labels).
        options: the redaction policy.
        analyzer: from `load_analyzer(options)`.
        key: the HMAC key (`redaction_key()`).
        keep_words: words never taken for a person's name in this call, e.g. the organisation
            from the recording's metadata ("Northwind Energy").

    Returns:
        TextRedaction: redacted turns (same count and order; remaining words keep their times),
        findings with positions in the original text and HMACs of the values, the residual
        re-scan, and whether the call is flagged for review.
    """
    texts = [t.text for t in turns]
    speakers = policy_speakers(turns, options)
    found = detect_call(texts, speakers, analyzer, options, keep_words)
    new_turns, findings, operators, reasons = _apply(turns, found, options, key, speakers)
    # Every hit of the re-scan is redacted too - in the text and, through its finding's time, in
    # the audio - not only flagged (issue #15): a value the first pass missed in its context may
    # stand out once its neighbours are placeholders. Re-scanned until nothing new (a few passes).
    residual: list[ResidualFinding] = []
    for _ in range(_RESIDUAL_PASSES):
        hits = _residual(new_turns, options, analyzer, keep_words)
        if not hits:
            break
        residual.extend(hits)
        found = merge_detections(found + [_to_original(r, turns[r.turn_index].text, found, options) for r in hits])
        new_turns, findings, operators, reasons = _apply(turns, found, options, key, speakers)
    else:
        left = _residual(new_turns, options, analyzer, keep_words)
        if left:
            reasons.append(f"residual check still finds {len(left)} possible PII span(s) after redacting its hits")
    below = [r for r in residual if r.score < options.residual_threshold]
    above = len(residual) - len(below)
    if above:
        reasons.append(f"residual check found {above} possible PII span(s) the first pass missed; they were redacted")
    logger.info("redacted %d finding(s) in %d turn(s); flagged=%s", len(findings), len(turns), bool(reasons))
    return TextRedaction(turns=new_turns, findings=findings, operators=operators, residual=residual,
                         below_threshold=below, flagged=bool(reasons), reasons=reasons)


_RESIDUAL_PASSES = 3


def _apply(turns: list[Turn], found: list[Detection], options: RedactOptions, key: bytes,
           speakers: list[str]) -> tuple[list[Turn], list[PiiFinding], list[str], list[str]]:
    """Redacted turns, findings (with times and HMACs), their operators, and alignment reasons.
    `speakers`: each turn's speaker as the payment policy reads it (`policy_speakers`)."""
    by_turn: dict[int, list[Detection]] = {}
    for d in found:
        by_turn.setdefault(d.turn_index, []).append(d)
    reasons: list[str] = []
    new_turns: list[Turn] = []
    findings: list[PiiFinding] = []
    operators: list[str] = []
    aligned: dict[int, list[tuple[int, int] | None]] = {}
    for i, turn in enumerate(turns):
        mine = by_turn.get(i, [])
        spans = align_words(turn.text, turn.words) if turn.words else []
        aligned[i] = spans
        if turn.words and any(s is None for s in spans):
            reasons.append(f"turn {i}: words could not be aligned to the text; unaligned words were removed")
        if mine:
            results = [RecognizerResult(d.entity_type, d.start, d.end, d.score) for d in mine]
            operators_cfg = {d.entity_type: _operator_config(options, d.entity_type, d.end - d.start) for d in mine}
            text = _anonymizer().anonymize(text=turn.text, analyzer_results=results, operators=operators_cfg).text
        else:
            text = turn.text
        words = _redact_words(turn, mine, spans, options) if turn.words else []
        new_turns.append(turn.model_copy(update={"text": text, "words": words}))
        for d in mine:
            start_s, end_s = _times(d, turn, spans, _outer(turns, i), _cut_reach(d, options))
            findings.append(PiiFinding(
                entity_type=d.entity_type, turn_index=i, char_start=d.start, char_end=d.end, start_s=start_s,
                end_s=end_s, recognizer=d.recognizer, score=round(min(max(d.score, 0.0), 1.0), 4),
                value_hmac=hmac_value(key, d.value),
            ))
            operators.append(options.operator(d.entity_type).type)
    found_values = [(f.turn_index, f.entity_type, f.start_s) for f in findings if f.char_end > f.char_start]
    for i, entity_type, start_s, end_s in answer_gaps(turns, options.answer_window) + reply_gaps(
            turns, options.answer_window, frozenset(options.code_runs.phonetic_alphabet), found_values):
        # No characters: only the audio between a request and the next transcribed turn, or of a name's reply.
        findings.append(PiiFinding(
            entity_type=entity_type, turn_index=i, char_start=len(turns[i].text), char_end=len(turns[i].text),
            start_s=start_s, end_s=end_s, recognizer="answer_gap", score=options.answer_window.score,
            value_hmac=hmac_value(key, ""),
        ))
        operators.append("silence")
    policy_turns = [t.model_copy(update={"speaker": s}) if s != t.speaker else t for t, s in zip(turns, speakers)]
    for gap in payment_gaps(policy_turns, options):
        # No characters: the answering party's audio for the whole payment exchange - from the
        # first answer's value when the transcriber wrote that answer (its lead-in, "It's in my
        # partner's name, but the number is", stays), else from the end of the request.
        start_s = gap.start_s
        if gap.answers:
            first = [f.start_s for f in findings if f.turn_index == gap.answers[0] and f.start_s is not None]
            if first:
                start_s = min(max(start_s, min(first)), gap.end_s)
        if gap.end_s - start_s < 0.2:
            continue
        pieces = [(start_s, gap.end_s)]
        if options.payment_window.gap_keeps_asides:
            pieces = _less(pieces, _aside_times(turns, aligned, by_turn, options, gap.request, start_s, gap.end_s))
        for a, b in pieces:
            if b - a < 0.05:
                continue
            findings.append(PiiFinding(
                entity_type=gap.entity_type, turn_index=gap.request, char_start=len(turns[gap.request].text),
                char_end=len(turns[gap.request].text), start_s=a, end_s=b, recognizer="payment_gap",
                score=options.payment_window.score, value_hmac=hmac_value(key, ""),
            ))
            operators.append("silence")
    values = [(f.turn_index, f.start_s) for f in findings if f.char_end > f.char_start and f.start_s is not None]
    for i, entity_type, a, b in mid_turn_answer_gaps(turns, options.answer_window, values):
        findings.append(PiiFinding(
            entity_type=entity_type, turn_index=i, char_start=len(turns[i].text), char_end=len(turns[i].text),
            start_s=a, end_s=b, recognizer="answer_gap", score=options.answer_window.score, value_hmac=hmac_value(key, "")))
        operators.append("silence")
    for i, entity_type, a, b in _mid_turn_request_gaps(turns, aligned, findings, options):
        findings.append(PiiFinding(
            entity_type=entity_type, turn_index=i, char_start=len(turns[i].text), char_end=len(turns[i].text),
            start_s=a, end_s=b, recognizer="payment_gap", score=options.payment_window.score, value_hmac=hmac_value(key, "")))
        operators.append("silence")
    order = sorted(range(len(findings)), key=lambda k: (findings[k].turn_index, findings[k].char_start))
    return new_turns, [findings[k] for k in order], [operators[k] for k in order], reasons


_WORDED_TYPES = frozenset({"PERSON", "EMAIL_ADDRESS", "STREET_ADDRESS"})


def _mid_turn_request_gaps(turns: list[Turn], aligned: dict[int, list[tuple[int, int] | None]],
                           findings: list[PiiFinding], options: RedactOptions) -> list[tuple[int, str, float, float]]:
    """Mono only: a payment request in the middle of a turn (diarisation merged the two parties) and
    the next value the turn holds: the time between them (its first `answer_window.max_gap_s`), when
    the words in it take `payment_window.stretched_word_s` each or more; with no value after it in the
    turn, the time up to the turn's next question (or its end), as long at most. The transcriber may
    have dropped the answer and stretched the words beside it over its time ("... and the security
    number. Yeah So that's zero two nine two": the customer's "oh two nine two" lies under "Yeah So
    that's"). A last sentence that goes on after its cue holds the answer (`_answer_after_cue`). The
    text keeps those words; the audio does not."""
    opts = options.payment_window
    if not opts.enabled or not opts.mute_exchange or any(t.channel is not None for t in turns):
        return []
    values = [(f.turn_index, f.start_s) for f in findings if f.char_end > f.char_start]
    out = []
    for i, turn in enumerate(turns):
        spans = aligned.get(i) or []
        if not turn.words or not spans:
            continue
        sentences = list(re.finditer(r"[^.?!]+[.?!]+(?=\s+\S)|[^.?!]+[.?!]*$", turn.text))
        if sentences and (tail := _answer_after_cue(turn, spans, sentences[-1], options)) is not None:
            out.append((i, *tail))
        for n, m in enumerate(sentences[:-1]):
            types = request_types(m.group(0), opts)
            if not types or _answered_in(m, i, findings, opts):
                # Answered in its own sentence ("Last three, six, six, six, oh." - the customer's reply, cue and all).
                continue
            said = [k for k, sp in enumerate(spans) if sp is not None and sp[1] <= m.end()]
            # A value, not the time of a gap after the turn, nor a name or an address: no payment answer however
            # heard ("... the security code if you have it to hand ... Thanks for calling, Mr Whitfield.")
            later = [f.start_s for f in findings if f.turn_index == i and f.char_start >= m.end() and f.start_s is not None
                     and f.char_end > f.char_start and f.entity_type not in _WORDED_TYPES]
            if not said:
                continue
            a = turn.words[said[-1]].end_s
            if later:
                b = min(later)
                between = sum(1 for w in turn.words[said[-1] + 1:] if w.start_s >= a and w.end_s <= b + 0.05)
                # Only words stretched over more time than they take to say hide a dropped answer.
                # (At most max_gap_s of it: "Been the bank account number, please. 4. 6. So that's <read-back>"
                # held the customer's eight digits in the 4 s before "So".)
                if 0.2 <= b - a and (b - a) >= opts.stretched_word_s * max(1, between):
                    out.append((i, types[0], a, min(b, a + options.answer_window.max_gap_s)))
                continue
            # No value follows in the turn: the reply was said over the words after the request, or
            # dropped ("... is the security code. If you have it to hand and then I can get it sorted.
            # Can I take an email address?" held the customer's "one oh one"). Muted up to the next
            # question the turn asks, at most answer_window.max_gap_s: a reply follows its request.
            cut = cue_offset(m.group(0), opts, last=True)
            on = [k for k, sp in enumerate(spans) if sp is not None and cut is not None
                  and sp[0] >= m.start() + cut and sp[1] <= m.end()]
            if len(on) > (opts.answer_sentence_words or 0):
                # The sentence runs on past its cue (no stop written: "... is the security code if you have it to hand
                # and then I can get it sorted for all night Usually three to five working days." held "four oh
                # nine"): the reply may lie in it, so the time runs from the cue.
                a = turn.words[on[0] - 1].end_s if on[0] > 0 else a
            rest = sentences[n + 1:]
            if _invites(rest[0], i, findings, opts):
                # The next sentence hands over ("I can take that payment now. Whenever you're ready with a card."):
                # the reply follows it.
                over = [k for k, sp in enumerate(spans) if sp is not None and sp[1] <= rest[0].end()]
                a, rest = max(a, turn.words[over[-1]].end_s), rest[1:]
            ask = next((s for s in rest if s.group(0).rstrip().endswith("?") or request_types(s.group(0), opts)), None)
            if ask is None and answered_in_next_turn(turns, i, values):
                continue  # its last request, answered in the next turn: what follows it is the agent's
            # ... from its cue, when it names one ("If you have it to hand, and then I can get and the security
            # code, ...": the expiry asked for before lies under the words ahead of the next cue).
            cue = cue_offset(ask.group(0), opts, start=True) if ask is not None else None
            at = None if ask is None else ask.start() + (cue or 0)
            first = [turn.words[k].start_s for k, sp in enumerate(spans) if sp is not None and at is not None
                     and sp[0] >= at]
            b = min(first) if first else turn.end_s
            if b is not None and b - a >= 0.2:
                out.append((i, types[0], a, min(b, a + options.answer_window.max_gap_s)))
    return out


def _value_in(sentence: re.Match, turn_index: int, findings: list[PiiFinding], after: int = 0) -> bool:
    """Whether a value of the turn starts in this sentence and ends past character `after` of the turn."""
    return any(f.turn_index == turn_index and f.char_end > max(after, f.char_start)
               and sentence.start() <= f.char_start < sentence.end() for f in findings)


def _answered_in(sentence: re.Match, turn_index: int, findings: list[PiiFinding], opts) -> bool:
    """Whether a value of the turn lies in this sentence after its payment cue."""
    return _value_in(sentence, turn_index, findings, sentence.start() + (cue_offset(sentence.group(0), opts) or 0))


def _invites(sentence: re.Match, turn_index: int, findings: list[PiiFinding], opts) -> bool:
    """A short sentence with one of `payment_window.invitations`, no value in it and no question: the agent
    handing over to the customer."""
    text = sentence.group(0)
    low = " " + " ".join(re.findall(r"[a-z']+", text.lower().replace("’", "'"))) + " "
    return (bool(opts.invitations) and not text.rstrip().endswith("?")
            and len(low.split()) <= (opts.answer_sentence_words or 0)
            and any(f" {p} " in low for p in opts.invitations) and not _value_in(sentence, turn_index, findings))


def _answer_after_cue(turn: Turn, spans: list[tuple[int, int] | None], sentence: re.Match,
                      options: RedactOptions) -> tuple[str, float, float] | None:
    """Mono: a turn's last sentence that asks for payment data and goes on, after its last cue, with a few
    words and no question mark, a digit among them however heard - the answer merged into the request
    ("In the six digits or a code, double server." for "And the six-digit sort code?" - "double seven."):
    (type, start_s, end_s) of those words. ("... the security code, the last three digits on the back." is
    the request going on.)"""
    opts = options.payment_window
    text = sentence.group(0).rstrip()
    types = request_types(text, opts)
    cut = cue_offset(text, opts, last=True) if types and not text.endswith("?") else None
    heard = re.findall(r"[a-z']+", text[cut:].lower()) if cut is not None else []
    # One word that may be a digit is no answer ("... set up a direct debit for my council tax."): a run, a "double",
    # or two of them.
    digits = [w for w in heard if w in {*opts.digit_homophones, "double", "triple"}]
    if cut is None or not (find_runs(text[cut:], options.code_runs) or {"double", "triple"} & set(digits) or len(digits) >= 2):
        return None
    cut += sentence.start()
    after = [k for k, sp in enumerate(spans) if sp is not None and sp[0] >= cut and sp[1] <= sentence.end()]
    if not after or len(after) > options.answer_window.reply_gap_words:
        return None
    a, b = turn.words[after[0]].start_s, turn.words[after[-1]].end_s
    return (types[0], a, b) if b - a >= 0.2 else None


def _aside_times(turns: list[Turn], aligned: dict[int, list[tuple[int, int] | None]], by_turn: dict[int, list[Detection]],
                 options: RedactOptions, request: int, start_s: float, end_s: float) -> list[tuple[float, float]]:
    """The time of the asides inside a payment exchange: runs of `min_aside_words` or more aligned
    words of one turn that no finding covers and that hold no code unit ("Do you want the card
    number now?", "sorry, the dog's going mad, one second"), in a channel the exchange mutes (the
    requester's channel is not muted; mono: every turn). The text keeps them; so may the audio:
    the words around them - the digits - stay muted, and a finding's padding reaches only a
    little into a kept word (`audio.neighbour_overlap_ms`). A word heard for a digit (`digit_homophones`, less
    `talk_homophones`) is no aside's: "It's all for all." opening the agent's next turn was "it's oh four oh"."""
    requester = turns[request].channel
    homophones = options.payment_window.digit_words
    out: list[tuple[float, float]] = []
    for j, turn in enumerate(turns):
        if not turn.words or turn.start_s is None or turn.end_s is None or turn.end_s <= start_s or turn.start_s >= end_s:
            continue
        if requester is not None and turn.channel == requester:
            continue
        found = by_turn.get(j, [])
        units = [(u.start, u.end) for u in aside_units(turn.text, options)]
        run: list[int] = []
        for k, span in enumerate(list(aligned.get(j, [])) + [None]):
            # A word stretched over more time than it takes to say may hide a dropped answer (tiny.en wrote
            # "then the 3-digit code" and gave "the" the 1.9 s of a card expiry): it stays muted.
            # ... and a word heard for a digit ("It's all for all." for "it's oh four oh") may be the answer itself.
            plain = span is not None and not any(span[0] < d.end and d.start < span[1] for d in found) and \
                not any(span[0] < b and a < span[1] for a, b in units) and \
                turn.words[k].end_s - turn.words[k].start_s < options.payment_window.aside_max_word_s and \
                re.sub(r"[^a-z']", "", turn.words[k].text.lower()) not in homophones
            if plain:
                run.append(k)
                continue
            if len(run) >= options.payment_window.min_aside_words or (len(run) == len(turn.words) and _confirms(turns, j, options)):
                out.append((turn.words[run[0]].start_s, turn.words[run[-1]].end_s))
            run = []
    return out


def _confirms(turns: list[Turn], j: int, options: RedactOptions) -> bool:
    """A turn of `payment_window.confirmation_words` only, after a question of the other party ("..., is that
    right?" - "That's it, yeah."): the answer to a read-back, kept like an aside."""
    words = re.findall(r"[a-z']+", turns[j].text.lower().replace("’", "'"))
    return (j > 0 and turns[j - 1].speaker != turns[j].speaker and turns[j - 1].text.rstrip().endswith("?")
            and bool(words) and set(words) <= set(options.payment_window.confirmation_words))


def _less(pieces: list[tuple[float, float]], cuts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    for a, b in cuts:
        pieces = [p for s, e in pieces for p in ((s, min(e, a)), (max(s, b), e)) if p[1] > p[0]]
    return pieces


def _redacted_length(d: Detection, options: RedactOptions) -> int:
    """Characters a finding takes in the redacted text (as the anonymizer writes it)."""
    op = options.operator(d.entity_type)
    if op.type == "replace":
        return len(options.placeholder(d.entity_type))
    return d.end - d.start if op.type == "mask" else 0


def _to_original(hit: ResidualFinding, original: str, found: list[Detection], options: RedactOptions) -> Detection:
    """A re-scan hit (positions in the redacted text) as a finding in the original text."""
    mine = sorted((d for d in found if d.turn_index == hit.turn_index), key=lambda d: d.start)

    def back(at: int, is_end: bool) -> int:
        shift = 0  # redacted position - original position, before the next finding
        for d in mine:
            red_start = d.start + shift
            red_end = red_start + _redacted_length(d, options)
            if at < red_start or (at == red_start and is_end):
                break
            if at < red_end or (at == red_end and is_end):
                return d.end if is_end else d.start  # inside a placeholder: take all of it
            shift = red_end - d.end
        return max(0, min(len(original), at - shift))

    start, end = back(hit.char_start, False), back(hit.char_end, True)
    return Detection(hit.entity_type, hit.turn_index, start, end, hit.score, f"residual:{hit.recognizer}",
                     normalise_value(original[start:end], hit.entity_type))


def _residual(turns: list[Turn], options: RedactOptions, analyzer: AnalyzerEngine,
              keep_words: tuple[str, ...] = ()) -> list[ResidualFinding]:
    """Re-scan the redacted turns; spans inside placeholders do not count."""
    import re

    placeholders = sorted({options.placeholder(e) for e in options.entities if options.placeholder(e)}, key=len,
                          reverse=True)
    # Placeholders become blanks of the same length: positions stay valid, and "<DATE_OF_BIRTH>"
    # can neither be found again nor serve as context ("birth") for a neighbouring date.
    pattern = re.compile("|".join(re.escape(p) for p in placeholders)) if placeholders else None
    texts = [pattern.sub(lambda m: " " * len(m.group(0)), t.text) if pattern else t.text for t in turns]
    out = []
    # The re-scan looks for what recognisers still find, not for every reply to a question nor for the
    # words by a name's position (a greeting's placeholder is blanks: the words before it would be taken next).
    no_propagation = options.model_copy(update={
        "propagate_names": False, "greeting_name_words": 0, "answer_window": options.answer_window.model_copy(update={"enabled": False}),
        "payment_window": options.payment_window.model_copy(update={"enabled": False})})
    for d in detect_call(texts, [t.speaker for t in turns], analyzer, no_propagation, keep_words):
        if not re.search(r"[A-Za-z0-9]", texts[d.turn_index][d.start:d.end]):
            continue
        out.append(ResidualFinding(entity_type=d.entity_type, turn_index=d.turn_index, char_start=d.start,
                                   char_end=d.end, recognizer=d.recognizer, score=round(d.score, 4)))
    return out
