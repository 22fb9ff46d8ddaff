"""Payment data and other spoken codes, redacted by the shape of the speech rather than by a
recogniser's pattern (issue #15: PCI DSS - a card number or security code is never retained,
nor a sort code or account number).

Two rules, both from the policy (configs/redaction.yaml `code_runs`, `payment_window`):

1. Code runs (`pipeline.redact.runs`): a run of `min_units` or more digits or spelled letters in
   the customer's speech is redacted, however it was said or transcribed, unless a digits-only
   run is clearly something else - an amount ("£45.50", "forty five pounds"), a clock time ("at
   ten forty five", "4 o'clock"), a year after a date word ("since 2019", "March 2025") or a
   quantity with a unit ("1500 kilowatt hours"). A run split across turns (the customer reads
   on after the agent's "Yep.") counts whole. The agent's read-back of a customer's run is
   redacted, and the agent's own runs from `agent_min_units`.
2. Payment windows: after the agent asks for payment or bank details - a cue matched fuzzily,
   since a transcriber garbles exactly these requests, or any request-like turn the customer
   answers with a run of digits - every customer turn is muted whole until the agent speaks
   again at length ("Mm-hm.", "Go on.", "And the rest?" do not end it). One finding per turn,
   recogniser `payment_window`, typed by the request.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import NamedTuple

from pipeline.redact.analyzer import Detection
from pipeline.redact.answer import asks_again, closing_request, requested_types
from pipeline.redact.normalise import normalise_value, number_token
from pipeline.redact.options import CodeRunOptions, PaymentWindowOptions, RedactOptions
from pipeline.redact.recognizers.bank import luhn_check
from pipeline.redact.runs import Run, find_runs, words_after, words_before
from pipeline.schema import Turn

__all__ = ["Exchange", "PaymentGap", "cue_offset", "policy_speakers", "payment_findings", "code_run_findings", "repeated_codes", "payment_windows", "payment_gaps", "exchanges",
           "non_payment_requests", "readbacks", "next_turn_readbacks", "aside_units", "exchange_findings", "excluded", "request_types"]

_WORD_RE = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")
_VALUE_WORD_RE = re.compile(r"[A-Za-z0-9@]+(?:['’-][A-Za-z0-9]+)*")  # a word of a reply, as written
_POSTCODE_RE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$")


def _phrase_at(words: list[str], phrases: list[str]) -> bool:
    """Whether `words` (nearest first) begin with one of the phrases."""
    joined = " ".join(words)
    return any(joined == p or joined.startswith(p + " ") for p in phrases)


def excluded(text: str, run: Run, opts: CodeRunOptions) -> bool:
    """Whether a digits-only run is clearly not a code: an amount, a time, a year, a quantity."""
    if not run.digits_only:
        return False
    before = words_before(text, run.start, 3)
    after = words_after(text, run.end, 3)
    written = [u.written for u in run.units if u.written]
    if any(re.search(r"\d[.,]\d", w) for w in written):
        return True  # "45.50", "1,250": a written amount or quantity
    if before[-1:] and before[-1] in opts.money_words or _phrase_at(after, opts.money_words):
        return True
    if _phrase_at(after, opts.unit_words):
        return True
    code = run.code
    if any(":" in w for w in written) or _phrase_at(after, opts.time_words):
        return True
    if before[-1:] and before[-1] in opts.time_lead_words and len(code) in (3, 4):
        hours, minutes = int(code[:-2]), int(code[-2:])
        if hours <= 23 and minutes <= 59 and len(run.units) <= 3:
            return True  # "at ten forty five", "by 1030"
    if len(code) == 4 and 1900 <= int(code) <= 2099:
        if any(w in opts.year_lead_words or re.fullmatch(r"\d+(?:st|nd|rd|th)", w) for w in before[-2:]):
            return True  # "since 2019", "the 14th of March 2025"
    return False


# A postcode's inward half said on its own ("5DP", "two E G"): a digit and two of the letters it may use.
_INWARD_RE = re.compile(r"\d[ABD-HJLNP-UW-Z]{2}")


def _mixed(code: str) -> bool:
    """Letters and digits: a postcode or a reference ("EC2A", "NE40318822"), never an amount."""
    return bool(re.search(r"\d", code)) and bool(re.search(r"[A-Z]", code))


def _kind(code: str) -> str:
    """An entity type from a run's shape (the placeholder only: every run is redacted alike)."""
    if not code.isdigit():
        return "UK_POSTCODE" if _POSTCODE_RE.match(code) else "ACCOUNT_NUMBER"
    if (code.startswith("0") and len(code) in (10, 11)) or (code.startswith("44") and len(code) in (11, 12)):
        return "PHONE_NUMBER"  # before the card check: "plus four four, double seven ..." may pass Luhn by chance
    if 12 <= len(code) <= 19 and luhn_check(code):
        return "CREDIT_CARD"
    if len(code) == 6:
        return "UK_SORT_CODE"
    if len(code) == 8:
        return "UK_BANK_ACCOUNT"
    return "ACCOUNT_NUMBER" if len(code) > 4 else "CARD_SECURITY_CODE"


def _chains(texts: list[str], speakers: list[str], runs: list[list[Run]], opts: CodeRunOptions,
            speaker: str) -> list[list[tuple[int, Run]]]:
    """Runs of one speaker read on across turns: each turn's last run (at the turn's end) joined
    to the next turn's first run (at its start) of the same speaker, over the other party's short
    interjections."""
    chains: list[list[tuple[int, Run]]] = []
    current: list[tuple[int, Run]] = []
    between: list[tuple[int, Run]] = []
    last_turn = -1
    for i, text in enumerate(texts):
        if speakers[i] != speaker:
            # The other party's "Yep." - or its read-back of the part so far - does not end the run.
            rest = text
            for r in reversed(runs[i]):
                rest = rest[:r.start] + " " + rest[r.end:]
            if len(_WORD_RE.findall(rest.lower())) > opts.max_interjection_words and current:
                chains.append(current)
                current, between = [], []
            elif current:
                # ... and its digits there are the value's, when the run goes on after them: read back,
                # or the speaker's own chunk given to the other party by mono diarisation ("4 6 6" -
                # "yes 9 0 8 Okay." - "8084.").
                between += [(i, r) for r in runs[i] if not r.weak]
            continue
        mine = runs[i]
        if current and mine and mine[0].at_start and last_turn >= 0:
            current += between
            between = []
            current.append((i, mine[0]))
            if len(mine) > 1 or not mine[0].at_end:
                chains.append(current)
                current = [(i, mine[-1])] if mine[-1].at_end and len(mine) > 1 else []
        else:
            if current:
                # The other party's digits after the speaker's own chunk are the rest of it, given to that party by
                # mono diarisation, even when the speaker goes on to something else ("Torco 1 .1." - "How for? 9 .0."
                # - "Count 5 .0. 8 ..." for "Sort code one one, oh four, nine oh, account five oh eight ...").
                chains.append(current + _next_turn_only(between, last_turn))
            current = [(i, mine[-1])] if mine and mine[-1].at_end else []
        between = []
        last_turn = i
    if current:
        chains.append(current + _next_turn_only(between, last_turn))
    return [c for c in chains if len(c) > 1]


def _next_turn_only(between: list[tuple[int, Run]], turn: int) -> list[tuple[int, Run]]:
    """The other party's digits that go with a chunk the speaker did not go on with: those of the very next
    turn only (two turns on, "Was that B one?" asks about it)."""
    return [(i, r) for i, r in between if i == turn + 1]


def code_run_findings(texts: list[str], speakers: list[str], options: RedactOptions) -> list[Detection]:
    """Findings of rule 1 (recogniser `code_run`, `code_run+bridge` across turns); read-backs apart.

    Args:
        texts: turn texts of one call.
        speakers: speaker of each turn ('agent' | 'customer' | 'unknown': all but the agent count as customer).
        options: the redaction policy.

    Returns:
        list[Detection]: one per redacted run part (value: the run's written code).
    """
    opts = options.code_runs
    if not opts.enabled:
        return []
    runs = [find_runs(t, opts) for t in texts]
    roles = ["agent" if s == "agent" else "customer" for s in speakers]
    out: list[Detection] = []

    def add(i: int, run: Run, name: str) -> None:
        out.append(Detection(_kind(run.code), i, run.start, run.end, opts.score, name, run.code))

    offered: set[str] = set()  # dates, times and amounts the agent said: the customer may repeat them
    for i, text in enumerate(texts):
        if roles[i] == "agent":
            offered |= {r.code for r in runs[i] if excluded(text, r, opts)}
        need = opts.min_units if roles[i] == "customer" else opts.agent_min_units
        # A turn that spells with the phonetic alphabet ("I for India. Be for Victor, upper alpha")
        # spells all through: each of its phonetic runs is a part of the code, however short.
        spelling = sum(r.phonetic for r in runs[i]) >= 2
        for run in runs[i]:
            if roles[i] == "customer" and run.code in offered:
                continue
            if (spelling and run.phonetic) or run.spelled:
                add(i, run, "code_run")
            elif not run.weak and not excluded(text, run, opts) and (
                    len(run) >= need or (_mixed(run.code) and len(run) >= opts.agent_min_mixed_units)
                    or (roles[i] == "customer" and _INWARD_RE.fullmatch(run.code)
                        and run.code[1:].lower() not in opts.unit_words)):  # "4 GB" is data
                if roles[i] == "agent" and not _mixed(run.code) and len(run.units) <= 2 and len(run) < opts.min_units + 2:
                    continue  # the agent's "thirty-four ninety-nine", "ten forty": a price or a time ("GP27" is neither)
                add(i, run, "code_run")
    for role, need in (("customer", opts.min_units), ("agent", opts.agent_min_units)):
        for chain in _chains(texts, roles, runs, opts, role):
            code = "".join(r.code for _, r in chain)
            if len(code) >= need and not any(excluded(texts[i], r, opts) for i, r in chain):
                for i, r in chain:
                    out.append(Detection(_kind(code), i, r.start, r.end, opts.score, "code_run+bridge", code))
    return out


def repeated_codes(texts: list[str], found: list[Detection], options: RedactOptions) -> list[Detection]:
    """Every other run in the call holding a code already redacted (recogniser `code_run+repeat`).

    A value found once - in a payment window, an answer, by a recogniser - is personal data
    wherever it is said again: before it was asked for ("Right, five five six, got it ready."
    and later, asked, "Yes, it's five five six"), or read back too short for a read-back
    ("BT9, yep"). Codes of `repeat_min_units` units or more with a digit in them; a run that is
    clearly an amount, a time or a year is left (`excluded`)."""
    opts = options.code_runs
    if not opts.enabled or (opts.repeat_min_units is None and opts.echo_min_units is None):
        return []
    codes: dict[str, str] = {}
    echoes: dict[int, dict[str, str]] = {}  # turn -> short codes its previous turn said inside a finding
    spelled: dict[int, list[tuple[str, str]]] = {}  # turn -> (letters and digits, type) of the previous turn's values
    begun: dict[int, list[tuple[str, str]]] = {}  # turn -> codes found in it or beside it: a restart says their start
    for d in found:
        spelled.setdefault(d.turn_index + 1, []).append((re.sub(r"[^A-Za-z0-9]", "", d.value).upper(), d.entity_type))
        for run in find_runs(texts[d.turn_index][d.start:d.end], opts):
            if run.weak:
                continue
            if len(run) >= opts.min_units and re.search(r"\d", run.code):
                for k in (d.turn_index - 1, d.turn_index, d.turn_index + 1):
                    begun.setdefault(k, []).append((run.code, d.entity_type))
            if opts.repeat_min_units is not None and len(run) >= opts.repeat_min_units and re.search(r"\d", run.code):
                codes.setdefault(run.code, d.entity_type)
            if opts.echo_min_units is not None and len(run) >= opts.echo_min_units \
                    and (re.search(r"\d", run.code) or any(u.phonetic for u in run.units)):
                echoes.setdefault(d.turn_index + 1, {}).setdefault(run.code, d.entity_type)
    if not codes and not echoes:
        return []
    out: list[Detection] = []
    for i, text in enumerate(texts):
        for run in find_runs(text, opts):
            if run.weak or excluded(text, run, opts):
                continue
            hit = next((c for c in sorted(codes, key=len, reverse=True) if c in run.code), None)
            if hit is not None:
                out.append(Detection(codes[hit], i, run.start, run.end, opts.score, "code_run+repeat", run.code))
            elif run.code in echoes.get(i, {}):
                out.append(Detection(echoes[i][run.code], i, run.start, run.end, opts.score, "code_run+echo", run.code))
            elif opts.echo_min_units is not None and len(run) >= 3 and re.search(r"\d", run.code) \
                    and (typed := next((t for c, t in begun.get(i, []) if c.startswith(run.code) and c != run.code), None)):
                # A value's start said before a restart ("S ten, no, sorry, let me start that again. S ten, six P U").
                out.append(Detection(typed, i, run.start, run.end, opts.score, "code_run+echo", run.code))
            elif opts.echo_min_units is not None and len(run) >= opts.echo_min_units and re.search(r"\d", run.code) \
                    and (typed := next((t for c, t in begun.get(i, []) if c.endswith(run.code) and c != run.code), None)):
                # A value's end said back beside it ("... oh, oh, six, eight." - "And that one ends six eight, yes.").
                out.append(Detection(typed, i, run.start, run.end, opts.score, "code_run+echo", run.code))
            elif opts.echo_min_units is not None and len(run) >= max(3, opts.echo_min_units) and run.code.isalpha() \
                    and (typed := next((t for v, t in spelled.get(i, []) if run.code in v), None)):
                # A value spelled back in letters ("eze812 at aol dot com" - "E Z E, at the domain you said?").
                out.append(Detection(typed, i, run.start, run.end, opts.score, "code_run+echo", run.code))
    return out


def readbacks(texts: list[str], speakers: list[str], options: RedactOptions, said: list[str]) -> list[Detection]:
    """The agent's runs that repeat part of a code the customer said (`said`: written codes):
    at least `readback_min_units` of it, or all of a shorter run ("one six two, is that right?")."""
    opts = options.code_runs
    out: list[Detection] = []
    for i, text in enumerate(texts):
        if speakers[i] != "agent":
            continue
        for run in find_runs(text, opts):
            code = run.code
            n = min(opts.readback_min_units, len(code))
            if len(code) < 3 or (excluded(text, run, opts) and not any(code in c for c in said)):
                continue
            if any(code[k:k + n] in c for c in said for k in range(len(code) - n + 1)):
                out.append(Detection(_kind(code), i, run.start, run.end, opts.score, "code_run+readback", code))
    return out


def _digit_heavy(texts: list[str], speakers: list[str], runs: list[Detection], opts: PaymentWindowOptions) -> set[int]:
    """Customer turns that are mostly a redacted run of digits, or hold one as long as a card number
    (the rest of the answer garbled into words: "one number is for 149, Q7, 8, 3, 8, 0, 7, 16, and agree
    with the that could hold for over"), not shaped like a phone number (a number volunteered after
    "How can I help?" is the phone recogniser's)."""
    with_run: set[int] = set()
    long_run: set[int] = set()
    for d in runs:
        digits = sum(c.isdigit() for c in d.value)
        if speakers[d.turn_index] == "agent" or digits < opts.digit_heavy_units or _kind(d.value) == "PHONE_NUMBER":
            continue
        if digits >= opts.digit_heavy_long_units and d.recognizer == "code_run" \
                and _kind(re.sub(r"\D", "", d.value)) != "PHONE_NUMBER":  # one turn's run, not a bridge to the next
            long_run.add(d.turn_index)
        if d.value.isdigit():
            with_run.add(d.turn_index)
    return long_run | {i for i in with_run if _digit_share(texts[i]) >= opts.digit_heavy_share}


def _digit_share(text: str) -> float:
    """The share of a turn's words that are digits - all of them, not only a run's: the rest of an answer (a sort
    code too short to be a run: "0, 7, 3, or 3, or count 8, 2, 5, 1, 3, 1, 6, 6") is digits too."""
    words = _WORD_RE.findall(text.lower())
    return sum(bool(re.search(r"\d", w)) or number_token(w) is not None for w in words) / len(words) if words else 0.0


def next_turn_readbacks(texts: list[str], speakers: list[str], options: RedactOptions, runs: list[Detection]) -> list[Detection]:
    """Runs of `readback_next_units` or more with a digit in the first words of the agent's turn straight
    after a customer turn holding a code (`runs`, of `min_units` or more): the agent reading its end back,
    heard wrong ("Oh seven seven oh oh nine oh oh four" - "Thank you and that one in zone four four."),
    unless clearly an amount, a time or a year. Typed as that code, recogniser `code_run+readback`."""
    opts = options.code_runs
    if opts.readback_next_units is None:
        return []
    codes = {d.turn_index: d.value for d in runs if speakers[d.turn_index] != "agent"
             and sum(c.isalnum() for c in d.value) >= opts.min_units}
    out = []
    for j, code in codes.items():
        if j + 1 >= len(texts) or speakers[j + 1] != "agent":
            continue
        words = list(_WORD_RE.finditer(texts[j + 1].lower()))[:opts.readback_next_words]
        first = texts[j + 1][:words[-1].end()] if words else ""
        for run in find_runs(first, opts):
            ends = any(" ".join(words_before(first, run.start, len(c.split()))).lower() == c for c in opts.readback_end_cues)
            if (len(run) >= opts.readback_next_units or ends) and re.search(r"\d", run.code) and not run.weak \
                    and not excluded(texts[j + 1], run, opts):
                out.append(Detection(_kind(code), j + 1, run.start, run.end, opts.score, "code_run+readback", run.code))
    return out


def cued_codes(texts: list[str], options: RedactOptions) -> list[Detection]:
    """Runs of `exchange_min_units` or more with a digit in the rest of a sentence that names a payment item
    (a cue, as `request_types` reads it) and in the sentence after it, whoever says it: a customer asking
    their own question before giving a security code too short for a run ("Do you need the little code as
    well? It's 2, 0, 2."), unless clearly an amount, a time or a year. Typed as the cue's item, recogniser
    `code_run+cued`."""
    opts, window = options.code_runs, options.payment_window
    out = []
    for i, text in enumerate(texts):
        sentences = list(re.finditer(r"[^.?!]+[.?!]*", text))
        for n, m in enumerate(sentences):
            types = request_types(m.group(0), window)
            at = cue_offset(m.group(0), window) if types else None
            if at is None:
                continue
            end = sentences[n + 1].end() if n + 1 < len(sentences) else m.end()
            piece = text[m.start() + at:end]
            for run in find_runs(piece, opts):
                if len(run) >= opts.exchange_min_units and re.search(r"\d", run.code) and not run.weak \
                        and not excluded(piece, run, opts):
                    a = m.start() + at
                    out.append(Detection(types[0], i, a + run.start, a + run.end, opts.score, "code_run+cued", run.code))
    return out


def payment_findings(texts: list[str], speakers: list[str], options: RedactOptions,
                     other_requests: list[set[str]] | None = None) -> list[Detection]:
    """Everything this module finds in one call: code runs, payment (and e-mail) windows, read-backs.

    Args:
        texts: turn texts of one call.
        speakers: speaker of each turn.
        options: the redaction policy.
        other_requests: per turn, the non-payment types it asks for (see `payment_windows`).
    """
    runs = code_run_findings(texts, speakers, options)
    digit_turns = _digit_heavy(texts, speakers, runs, options.payment_window)
    found = exchanges(texts, speakers, options, other_requests, digit_turns)
    windows = payment_windows(texts, speakers, options, other_requests, digit_turns, found)
    said = [d.value for d in runs if speakers[d.turn_index] != "agent"]
    said += [r.code for w in windows for r in find_runs(texts[w.turn_index], options.code_runs)]
    out = runs + windows + readbacks(texts, speakers, options, said) + next_turn_readbacks(texts, speakers, options, runs) \
        + cued_codes(texts, options)
    # The exchange rule adds what the others left: a run they cover keeps its finding (and type).
    return out + [d for d in exchange_findings(texts, options, found)
                  if not any(o.turn_index == d.turn_index and o.start <= d.start and d.end <= o.end for o in out)]


# A turn's opening greeting, its sentence naming the organisation or the agent: a cue in it ("Building Society") asks
# for nothing.
_GREETING_RE = re.compile(r"(?:\s*[^.?!]*[.?!])?\s*[^.?!]*\b(?:through to|welcome to|speaking\b(?!\s+(?:to|with|about)\b))"
                          r"[^.?!]*[.?!]?", re.I)


def cue_offset(text: str, opts: PaymentWindowOptions, start: bool = False, last: bool = False) -> int | None:
    """Character offset just after (`start`: at the start of) the first (`last`: the last) payment cue
    of a turn (fuzzy, as `request_types`); None: no cue."""
    matches = list(_WORD_RE.finditer(text.lower().replace("’", "'")))
    words = [_DIGIT_WORDS.get(m.group(0), m.group(0)) for m in matches]
    greeting = _GREETING_RE.match(text)
    skip = sum(1 for m in matches if greeting and m.end() <= greeting.end())  # "... Milstone Building Society, Bill speaking."
    ends = [(skip + end, len(cue.split())) for cues in opts.cues.values() for cue in cues
            if (end := _cue_in(words[skip:], cue, opts))]
    if not ends:
        return None
    end, n = max(ends) if last else min(ends)
    return matches[max(0, end - n)].start() if start else matches[end - 1].end()


def exchange_findings(texts: list[str], options: RedactOptions, found: list[Exchange]) -> list[Detection]:
    """Digits inside a payment exchange, whichever speaker the transcript gives them to (mono
    diarisation gives the agent the customer's digits, and the customer the agent's read-back).

    An exchange's turns: the request from its (first) cue on, every turn up to the agent turn that
    ends it, and that turn whole (the answer's tail and the agent's read-back come in it). In them:
    - a run of `exchange_min_units` (3) or more units with a digit - of 2 in a turn of a few words, half of them
      digits ("Yep. Two, three.": a chunk of the answer given to the agent) - unless it is clearly an amount,
      a time or a year (`excluded`): a security code said in the agent's turn ("It's six, two, six.
      Usually three to five working days." - the customer's correction, diarised to the agent);
      after the cue in the request's own turn, from `exchange_readback_units` (2): the answer's
      first pair diarised into the request ("Can I take the sort code, please double seven.");
    - a run of `exchange_readback_units` (2) or more that repeats digits of a code said earlier in
      the exchange (a run of `exchange_min_units` or more): the agent's read-back of the last
      digits ("and that one ends seven, four, yes?"); a run that reads as an amount or a time
      only from `readback_min_units` digits ("that's £20" stays beside a card with a 20 in it).
    Typed by the request (a payment type), recogniser `code_run+exchange` / `code_run+readback`.
    Not for e-mail exchanges; off with `code_runs.enabled`."""
    opts = options.code_runs
    if not opts.enabled:
        return []
    min_units, readback_units = opts.exchange_min_units, opts.exchange_readback_units
    out: list[Detection] = []
    for x in found:
        if x.email or not x.types:
            continue
        offset = cue_offset(texts[x.request], options.payment_window)
        last = x.end if x.end is not None else max(x.answers, default=x.request)
        scope: list[tuple[int, Run]] = []
        for j in range(x.request, last + 1):
            for run in find_runs(texts[j], opts):
                if j == x.request and (offset is None or run.start < offset):
                    continue  # the request itself ("the 3 digit code"), and a turn no cue names
                if not run.weak and re.search(r"\d", run.code):
                    scope.append((j, run))
        codes = [re.sub(r"\D", "", r.code) for j, r in scope
                 if j != x.end and len(r) >= min_units and not excluded(texts[j], r, opts)]
        for j, run in scope:
            digits = re.sub(r"\D", "", run.code)
            other = excluded(texts[j], run, opts)
            if other and len(run.units) >= 4 and _amount_follows(texts[j], run, opts) \
                    and all(len(u.text) == 1 for u in run.units[:-1]):
                # "last three nine eight one fifteen pound": a code, then the amount said straight after it
                # (a mono turn without punctuation): the units before the amount's own are the code.
                run = Run(run.units[:-1], run.start, run.units[-2].end, run.at_start, False)
                digits, other = re.sub(r"\D", "", run.code), False
            if not other and len(run) >= (readback_units if j == x.request or _short_digit_turn(texts[j]) else min_units):
                name = "code_run+exchange"
            elif len(digits) >= (opts.readback_min_units if other else readback_units) and any(digits in c for c in codes):
                name = "code_run+readback"
            else:
                continue
            out.append(Detection(x.types[0], j, run.start, _sentence_tail(texts[j], run.end, opts.exchange_tail_words),
                                 opts.score, name, run.code))
        if offset is not None and (span := _answer_in_request(texts[x.request], offset, options)) is not None:
            a, b = span
            out.append(Detection(x.types[0], x.request, a, b, options.payment_window.score, "payment_window",
                                 normalise_value(texts[x.request][a:b], x.types[0])))
    return out


def _short_digit_turn(text: str) -> bool:
    """A turn of a few words, half of them digits: a chunk of the answer wherever diarisation put it ("Yep. Two, three.")."""
    n = len(_WORD_RE.findall(text.lower()))
    return 2 <= n <= 4 and _digit_share(text) >= 0.5


def _amount_follows(text: str, run: Run, opts: CodeRunOptions) -> bool:
    """Whether a money word comes right after the run ("... fifteen pound")."""
    after = words_after(text, run.end, 1)
    return bool(after) and after[0] in opts.money_words


def _sentence_tail(text: str, end: int, words: int) -> int:
    """`end` moved over the rest of its sentence when that is at most `words` words: a read-back the
    transcriber wrote in part ("So that 7148 is at right." for "so that's seven one four one, seven six
    three eight, is that right?") hides the dropped digits under the words after the ones it kept."""
    m = re.match(r"[^.?!]*", text[end:])
    tail = m.group(0) if m else ""
    if not tail.strip() or len(_WORD_RE.findall(tail.lower())) > words:
        return end
    return end + len(tail.rstrip())


def _answer_in_request(text: str, offset: int, options: RedactOptions) -> tuple[int, int] | None:
    """The sentence right after a payment request's own sentence, in the request's turn: a mono turn
    holding both parties puts the answer there, digits or not ("Could I take the security code now?
    Yeah, it's by they go." - a code the transcriber wrote as words). From its first word that is not a
    lead word to its end; not a question, not another request nor a prompt to go on ("Whenever you're ready
    with a card."), at most `answer_sentence_words` words."""
    opts = options.payment_window
    if opts.answer_sentence_words is None:
        return None
    end = re.search(r"[.?!]", text[offset:])
    if end is None:
        return None
    start = offset + end.end()
    nxt = re.match(r"\s*([^.?!]+)([.?!]?)", text[start:])
    if nxt is None or nxt.group(2) == "?" or request_types(nxt.group(1), opts) or _prompts(nxt.group(1), opts):
        return None
    words = list(_VALUE_WORD_RE.finditer(nxt.group(1)))
    if not words or len(words) > opts.answer_sentence_words:
        return None
    k = 0
    while k < len(words) and words[k].group(0).lower().replace("’", "'") in opts.lead_words:
        k += 1
    if k == len(words):
        return None
    return start + nxt.start(1) + words[k].start(), start + nxt.start(1) + words[-1].end()


def _prompts(sentence: str, opts: PaymentWindowOptions) -> bool:
    """Whether a sentence starts with a request phrase: the agent still asking ("Whenever you're ready ...")."""
    low = " ".join(_clean_words(sentence)) + " "
    return any(low.startswith(p + " ") for p in opts.request_phrases)


_DIGIT_WORDS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven",
                "8": "eight", "9": "nine", "16": "sixteen"}


def _clean_words(text: str) -> list[str]:
    """Lower-case words, a digit written as its word ("3 digit code" asks as "three digit code" does)."""
    return [_DIGIT_WORDS.get(w, w) for w in _WORD_RE.findall(text.lower().replace("’", "'"))]


def _similar(a: str, b: str, ratio: float) -> bool:
    matcher = SequenceMatcher(None, a, b)
    return matcher.real_quick_ratio() >= ratio and matcher.ratio() >= ratio


def _cue_in(words: list[str], cue: str, opts: PaymentWindowOptions) -> int | None:
    """Index of the word after a (fuzzy) match of `cue` in `words`, or None.

    Fuzzy: the same number of words, each like the cue's ("car number", "soft code"), or the
    cue's words run together ("sortcode")."""
    cue_words = cue.split()
    size = len(cue_words)
    glued = cue.replace(" ", "")
    for k in range(len(words)):
        phrase = words[k:k + size]
        if phrase == cue_words:
            return k + size
        if words[k] == glued and size > 1:
            return k + 1
        if len(phrase) < size or len(cue) < opts.fuzzy_min_chars or phrase[0][:1] != cue[:1]:
            continue
        if all(p == c or (len(c) > 2 and _similar(p, c, 0.75)) for p, c in zip(phrase, cue_words)) \
                and _similar(" ".join(phrase), cue, opts.fuzzy_ratio):
            return k + size
    return None


def _request_like(text: str, opts: PaymentWindowOptions) -> bool:
    """A question, a sentence with a request phrase, or one that starts with "and" ("And the sort code." - a
    transcriber drops question marks)."""
    low = " " + " ".join(_clean_words(text)) + " "
    return "?" in text or low.startswith(" and ") or any(f" {p} " in low for p in opts.request_phrases)


def request_types(text: str, opts: PaymentWindowOptions, tail_words: int = 6,
                  code_runs: CodeRunOptions | None = None) -> list[str]:
    """Payment types an agent turn asks for: a cue (fuzzy) in a request-like sentence or among
    the turn's last words, in the policy's order.

    With `code_runs`, the turn's last words are those before its trailing sentences of spoken
    digits: a mono transcript gives the request the customer's answer ("Then the three digit code
    on the signature strip. six, five, six, oh, and one.")."""
    out = []
    sentences = [s for s in re.findall(r"[^.?!]*[.?!]?", text) if s.strip()]
    tail = sentences
    if code_runs is not None:
        while len(tail) > 1 and _mostly_digits(tail[-1], code_runs):
            tail = tail[:-1]
    last = _clean_words(tail[-1]) if tail else []
    for entity_type, cues in opts.cues.items():
        for cue in cues:
            hit = any(_request_like(s, opts) and _cue_in(_clean_words(s), cue, opts) is not None for s in sentences)
            if not hit:
                end = _cue_in(last, cue, opts)
                hit = end is not None and end >= len(last) - tail_words
            if hit:
                out.append(entity_type)
                break
    return out


def _mostly_digits(sentence: str, code_runs: CodeRunOptions) -> bool:
    """A sentence that is mostly spoken digits: three or more in runs that hold half its words or more, a
    month's name counted with them (a card expiry: "End of March, 20, 26.")."""
    runs = [r for r in find_runs(sentence, code_runs) if not r.weak and re.search(r"\d", r.code)]
    words = _WORD_RE.findall(sentence.lower())
    inside = sum(len(_WORD_RE.findall(sentence[r.start:r.end].lower())) for r in runs) + sum(w in _MONTHS for w in words)
    return sum(len(r) for r in runs) >= 3 and inside >= 0.5 * len(words)


_MONTHS = frozenset("january february march april may june july august september october november december".split())


def _ends_window(text: str, opts: PaymentWindowOptions) -> bool:
    """Whether an agent turn speaks at length (continuation phrases aside)."""
    low = " " + " ".join(_clean_words(text)) + " "
    for phrase in sorted(opts.continuations, key=len, reverse=True):
        low = low.replace(f" {phrase} ", " ")
        low = low.replace(f" {phrase} ", " ")
    return len(low.split()) > opts.max_agent_words


class Exchange(NamedTuple):
    """A payment (or e-mail) exchange: the request, what it asks for, the answer turns, and the
    agent turn that ended it (None: the call or `max_turns` ended it first)."""

    request: int
    types: list[str]
    email: bool
    answers: list[int]
    end: int | None


def exchanges(texts: list[str], speakers: list[str], options: RedactOptions,
              other_requests: list[set[str]] | None = None, digit_turns: set[int] | None = None) -> list[Exchange]:
    """Every payment or e-mail exchange of a call (see `payment_windows`)."""
    opts, runs = options.payment_window, options.code_runs
    if not opts.enabled:
        return []
    out: list[Exchange] = []
    for i, text in enumerate(texts):
        # A turn nobody was identified for ("unknown": diarisation failed) may be the agent's:
        # its request opens a window too, rather than none in a call with no agent at all.
        if speakers[i] == "customer" or (speakers[i] != "agent" and not request_types(text, opts, code_runs=runs)
                                         and not _asks_email(text, opts)):
            continue
        types = request_types(text, opts, code_runs=runs) or _asked_again_for(text, options)
        if not types and _request_like(text, opts) and not (other_requests and other_requests[i]):
            if digit_turns is None:
                digit_turns = _digit_heavy(texts, speakers, code_run_findings(texts, speakers, options), opts)
            answers, _ = _answer_turns(texts, speakers, i, options, other_requests)
            types = [opts.default_type] if any(j in digit_turns for j in answers[:2]) else []
        email = not types and _asks_email(text, opts)
        then = _last_ask(text, options) if types else None
        if then == "email":
            types, email = [], True
        if not types and not email:
            continue
        answers, end = _answer_turns(texts, speakers, i, options, other_requests)
        if then == "other":
            # The turn asks something else after its payment request, so the next turn answers that: in mono the
            # payment answer was merged into this turn ("... the last three digits on the back. Yeah. Three, six,
            # four. ... Is there anything else I can help with today?" - "No, that's everything.").
            answers, end = [], None
        out.append(Exchange(i, types, email, answers, end))
        # The agent turn that ended a payment exchange may ask for its next part in words the transcriber
        # garbled ("lovely in the sorry the other bit now" - "okay oh seven three"): answered with digits
        # straight away, it is a request too.
        if not email and end is not None and end + 1 < len(texts) and speakers[end + 1] != "agent" \
                and _mostly_digits(texts[end + 1], runs) and not (other_requests and other_requests[end]) \
                and not any(_kind(r.code) == "PHONE_NUMBER" for r in find_runs(texts[end + 1], runs)):
            more, more_end = _answer_turns(texts, speakers, end, options, other_requests)
            out.append(Exchange(end, [opts.default_type], False, more, more_end))
    return out


def _asked_again_for(text: str, options: RedactOptions) -> list[str]:
    """The payment types a turn asks for once more: its request, then sentences that ask to hear it again
    (mono merged the customer's first answer in: "Then the 3 -digit code on the signature strip. 6 -5 -5.
    Sorry, you broke up a bit there. Could you say that once more?"). Empty when it asks nothing again."""
    sentences = [s for s in re.findall(r"[^.?!]*[.?!]?", text) if s.strip()]
    k = len(sentences)
    while k > 0 and asks_again(sentences[k - 1], options.answer_window):
        k -= 1
    if k == len(sentences) or k == 0:
        return []
    return request_types("".join(sentences[:k]), options.payment_window, code_runs=options.code_runs)


# Where a turn's last question begins: a sentence, or a question word written with a capital in a run-on turn.
_LAST_ASK_RE = re.compile(r"(?<=[.?!])\s+|\s+(?=(?:What|What's|Which|Where|Who|How|Is|Are|Can|Could|Would|Do|Does|Did)\b)")


def _last_ask(text: str, options: RedactOptions) -> str | None:
    """What the turn's last part asks for when it is not payment data: "email", "other" (another
    request, or one of `payment_window.other_questions`), or None."""
    opts = options.payment_window
    last = _LAST_ASK_RE.split(text.strip())[-1]
    if request_types(last, opts, code_runs=options.code_runs):
        return None
    if _asks_email(last, opts):
        return "email"
    payment_types = set(opts.cues) | {opts.default_type}
    other = last.rstrip().endswith("?") and any(q in last.lower() for q in opts.other_questions)
    return "other" if other or requested_types(last, options.answer_window) - payment_types else None


def payment_windows(texts: list[str], speakers: list[str], options: RedactOptions,
                    other_requests: list[set[str]] | None = None, digit_turns: set[int] | None = None,
                    found: list[Exchange] | None = None) -> list[Detection]:
    """Findings of rule 2: every customer turn of a payment exchange, whole.

    Args:
        texts: turn texts of one call.
        speakers: speaker of each turn (the agent asks; every other speaker answers).
        options: the redaction policy.
        other_requests: per turn, the non-payment types it asks for (`answer.requested_types`):
            a request-like turn that names one (a phone number, a postcode) does not open a
            window on the strength of a digit-heavy answer alone.
        digit_turns: turns with a redacted run of digits (`code_run_findings`); None: found here.
        found: the call's exchanges (`exchanges`); None: found here.

    Returns:
        list[Detection]: recogniser `payment_window`, one per muted turn (its whole text).
    """
    opts = options.payment_window
    out: list[Detection] = []
    muted: set[int] = set()
    if found is None:
        found = exchanges(texts, speakers, options, other_requests, digit_turns)
    for x in found:
        for j in x.answers:
            # A reply of digits alone in an e-mail exchange ("Go on." - "505.") is part of the address, or a
            # code said out of turn: muted too, as digits.
            # So is the exchange's first reply when it is shorter than an aside and holds a number of two
            # digits or more: the local part garbled ("And your e-mail, please?" - "Length is 902." for "lindqvist nine oh two").
            numbered = x.email and j == x.answers[0] and len(_WORD_RE.findall(texts[j])) <= opts.min_aside_words \
                and any(len(re.sub(r"\D", "", r.code)) >= 2 for r in find_runs(texts[j], options.code_runs))
            email = x.email and (_has_email_word(texts[j], opts) or numbered)
            if j in muted or (x.email and not email and not _mostly_digits(texts[j], options.code_runs)):
                continue
            span = _span(texts[j], opts, options, email, whole=numbered)
            if span is None:
                continue
            muted.add(j)
            entity_type, name = ("EMAIL_ADDRESS", "email_window") if x.email else (x.types[0], "payment_window")
            parts = [span] if opts.span == "turn" else _without_asides(texts[j], span, options, email)
            for a, b in parts:
                out.append(Detection(entity_type, j, a, b, opts.score, name, normalise_value(texts[j][a:b], entity_type)))
        # The agent turn that ends an e-mail exchange reads the address back ("So that's a little high in
        # cash loss because the sky dot com. Is that right?"): its sentences up to the domain, when a
        # sentence ends there ("... from bookings at our site dot com shortly." is no read-back).
        if x.email and x.end is not None and any(j in muted for j in x.answers) \
                and _DOMAIN_END_RE.search(texts[x.end]) and (span := _span(texts[x.end], opts, options, True)):
            out.append(Detection("EMAIL_ADDRESS", x.end, *span, opts.score, "email_readback",
                                 normalise_value(texts[x.end][span[0]:span[1]], "EMAIL_ADDRESS")))
    return out


# A domain's end said or written ("dot com", " .co .uk", "sky.com") that ends its sentence or turn.
_DOMAIN_END_RE = re.compile(r"(?:\bdot\s+|\.\s*)(?:com|co|uk|org|net|io|ie|info)\b[.,?!]*(?:\s+(?:is that|yeah|right|yes)\b|\s*$)",
                            re.IGNORECASE)


class PaymentGap(NamedTuple):
    """The time of a payment exchange to mute in the answering party's channel."""

    request: int
    entity_type: str
    start_s: float
    end_s: float
    answers: list[int]


def policy_speakers(turns: list[Turn], options: RedactOptions) -> list[str]:
    """Each turn's speaker as the payment policy reads it: in a mono call (no turn has a channel), a
    customer turn that asks for payment data - or any personal data - is counted as unidentified, so
    its request opens an exchange or an answer window ("B. And the six-digit sort code, ...", "... P for
    echo. End your email.": diarisation gave the agent's request to the customer). In stereo the channel says who spoke, and the customer's "can you take it from my
    debit card?" opens nothing."""
    speakers = [t.speaker for t in turns]
    if any(t.channel is not None for t in turns):
        return speakers
    return ["unknown" if s == "customer" and (
        (options.payment_window.enabled and request_types(t.text, options.payment_window, code_runs=options.code_runs))
        or (options.answer_window.enabled and closing_request(t.text, options.answer_window)))
            else s for s, t in zip(speakers, turns)]


def payment_gaps(turns: list[Turn], options: RedactOptions,
                 other_requests: list[set[str]] | None = None) -> list[PaymentGap]:
    """The time of each payment exchange, to mute in the answering party's channel whatever the
    transcriber made of it.

    From the end of the agent's request to the start of the agent turn that ends the exchange
    (or the end of its last answer turn, or `max_gap_s` of silence), at most `max_window_s`. The
    customer's words in between may have been dropped, garbled into another sentence, or given
    to the agent by diarisation; in this time the customer's channel holds nothing a QA reviewer
    needs, and PCI DSS allows nothing of a card number to stay. Requests the transcriber wrote
    well enough to name a payment type, or any request answered mostly with digits. (The caller
    may start it later, at the value of the first answer: see `redact_text`.)
    """
    opts = options.payment_window
    if not opts.enabled or not opts.mute_exchange:
        return []
    texts, speakers = [t.text for t in turns], [t.speaker for t in turns]
    if other_requests is None:
        other_requests = non_payment_requests(texts, options)
    out = []
    for x in exchanges(texts, speakers, options, other_requests):
        request = turns[x.request]
        if x.email or request.end_s is None:
            continue
        start = request.end_s
        if x.end is not None and turns[x.end].start_s is not None:
            end = _end_after_lead(turns[x.end], opts)
        else:
            ends = [turns[j].end_s for j in x.answers if turns[j].end_s is not None]
            later = [t.start_s for t in turns[x.request + 1:] if t.start_s is not None and t.start_s >= start]
            end = max(ends) if ends else min([start + options.answer_window.max_gap_s, *later])
        end = min(end, start + opts.max_window_s)
        if end - start >= 0.2:
            out.append(PaymentGap(x.request, x.types[0], start, end, x.answers))
    return out


def _end_after_lead(turn: Turn, opts: PaymentWindowOptions) -> float:
    """Where an exchange's time ends in the agent turn that ends it: its start, or after its first few words
    when an opener of the agent's own follows them (see `PaymentWindowOptions.end_lead_words`); and not
    before the end of a word among those first few that is stretched over `aside_max_word_s` or more: in
    mono it may lie over the answer's dropped tail ("Can I take an email address?" gave "take" the 2 s of the
    customer's "and the three on the back are six four three"); nor before the end of a first sentence of those
    few words with a digit or a word heard for one in it, and no opener ("It's all for all.")."""
    words = turn.words or []
    lead = words[:opts.end_lead_words + 1]
    clean = [re.sub(r"[^a-z0-9']", "", w.text.lower()) for w in lead]
    k = next((k for k, w in enumerate(clean) if w in opts.end_openers), 0)
    end = lead[k].start_s if k else turn.start_s
    # A first sentence this short with a digit, or a word heard for one, and no opener of the agent's is the answer
    # said again given to the agent ("It's all for all. Usually three to five working days." for "... it's oh four
    # oh." - "Usually three to five ..."): the time goes on to the next sentence.
    stop = next((n for n, w in enumerate(lead) if w.text.rstrip().endswith((".", "!"))), None)
    if stop is not None and stop + 1 < len(words) and clean[0] not in opts.end_openers and any(
            any(ch.isdigit() for ch in w) or w in opts.digit_homophones for w in clean[:stop + 1]):
        end = max(end, words[stop + 1].start_s)
    return max([end, *(w.end_s for w in lead if w.end_s - w.start_s >= opts.aside_max_word_s)])


def non_payment_requests(texts: list[str], options: RedactOptions) -> list[set[str]]:
    """Per turn, the types it asks for that are not payment data (`answer.requested_types`)."""
    payment_types = set(options.payment_window.cues) | {options.payment_window.default_type}
    return [requested_types(t, options.answer_window) - payment_types for t in texts]


def _without_asides(text: str, span: tuple[int, int], options: RedactOptions, email: bool = False) -> list[tuple[int, int]]:
    """A from_value span less the asides inside it: a stretch of whole clauses, `min_aside_words`
    words or more, with no code unit in them, nor after a value in its sentence a word that sounds like a digit
    ("Oh, hang on, no, I've misread that.", "sorry, someone's at the door, okay,", "Do you want the
    expiry date now?"). The rest is muted.

    In an e-mail window an aside must also hold no e-mail word, end each clause at real
    punctuation (a space after it: " .co" is a domain, not a full stop) and hold a full sentence
    ("Sorry, the dog's going mad."): the local part of an address is plain words too."""
    opts = options.payment_window
    runs = find_runs(text, options.code_runs)
    units = aside_units(text, options, runs)
    clauses = _clauses(text, span, opts, units, _digit_spans(runs))

    homophones = opts.digit_words

    def plain(a: int, b: int) -> bool:
        if any(u.start < b and a < u.end for u in units):
            return False
        # After a value in the same sentence, a clause with a word that sounds like a digit may be the next value
        # garbled ("..., 7, 16, expiry, 0, 7, 27, and agree with the that could hold for over."); "to" only when said
        # like one ("I need to change my address" is talk).
        if any(u.end <= a and not re.search(r"[.?!](?:\s|$)", text[u.end:a]) for u in units) and (
                set(_WORD_RE.findall(text[a:b].lower())) & homophones or _digit_like_homophone(text[a:b], opts)):
            return False
        return not email or (not _has_email_word(text[a:b], opts) and re.search(r"[,.?!;]$", text[a:b].rstrip()) is not None
                             and (b >= len(text) or text[b].isspace()))

    out: list[tuple[int, int]] = []
    cursor = span[0]
    k = 0
    while k < len(clauses):
        j = k
        while j < len(clauses) and plain(*clauses[j]):
            j += 1
        sentence = not email or any(re.search(r"[.?!]$", text[a:b].rstrip()) for a, b in clauses[k:j])
        if j > k and sentence and \
                sum(len(_WORD_RE.findall(text[a:b].lower())) for a, b in clauses[k:j]) >= opts.min_aside_words:
            if clauses[k][0] > cursor:
                out.append((cursor, clauses[k][0]))
            cursor = clauses[j - 1][1]
        k = max(j, k + 1)
    if cursor < span[1]:
        out.append((cursor, span[1]))
    trimmed = _bodies(text, out)
    if not trimmed and not email and cursor > span[0] \
            and not _digit_like_homophone(text[span[0]:span[1]], opts):
        return []  # all aside, not a digit in it nor a word that sounds like one: "Do you want the expiry date now?"
    return [piece for a, b in trimmed for piece in _less_declared_leads(text, a, _domain_end(text, a, b, options), options)] \
        or [span]


def _domain_end(text: str, a: int, b: int, options: RedactOptions) -> int:
    """The end of a muted span, or of the e-mail in it when plain talk with no code unit follows in the
    same run-on sentence ("... at hotmail .co .uk and I told 3 people that already")."""
    end = _email_end(text, a, b, options.payment_window)
    if end < b and any(end <= u.start < b for u in aside_units(text, options)):
        return b
    return end


def _digit_like_homophone(text: str, opts: PaymentWindowOptions) -> bool:
    """A word that sounds like a digit, said like one: on its own between marks ("..., oh, that's it"), or
    beside a number or another such word ("for five", "to oh") - not "an engineer for Thursday"."""
    homophones = set(opts.digit_homophones)
    for clause in re.split(r"[,.?!;:]", text):
        words = _WORD_RE.findall(clause.lower())
        for k, w in enumerate(words):
            if w not in homophones:
                continue
            beside = words[max(0, k - 1):k] + words[k + 1:k + 2]
            if len(words) == 1 or any(b in homophones or number_token(b) is not None for b in beside):
                return True
    return False


def aside_units(text: str, options: RedactOptions, runs: list | None = None) -> list:
    """The code units that keep a clause from being an aside: a run's strong units, less a number
    that counts something ("I've told three people", "for two weeks"). `runs`: the text's runs, when
    the caller has found them already."""
    units = set(options.code_runs.unit_words)
    runs = find_runs(text, options.code_runs) if runs is None else runs
    return [u for r in runs for u in r.units if not u.weak
            and not (len(r.units) == 1 and set(words_after(text, u.end, 1)) & units)]


def _clauses(text: str, span: tuple[int, int], opts: PaymentWindowOptions, units: list,
             digits: list[tuple[int, int, int]] = ()) -> list[tuple[int, int]]:
    """The clauses of a span, at punctuation; a question that opens a clause ("Do you want the expiry
    date now, go on, ...": the agent's words diarisation merged into the reply) is a clause of its own
    up to its first value. A capitalised opener mid-clause starts one too (a transcriber's sentence
    with no full stop: "... nine eight Do you want the expiry date now go on ten thirty one")."""
    openers = "|".join(re.escape(o) for o in sorted(opts.question_openers, key=len, reverse=True))
    out: list[tuple[int, int]] = []
    # A transcriber's dot glued to the next word (" .co", "Arjun .cap") is no full stop.
    for m in re.finditer(r"(?:[^,.?!;]|(?<=\s)\.(?=[A-Za-z]))+[,.?!;]*", text[span[0]:span[1]]):
        a, b = span[0] + m.start(), span[0] + m.end()
        cuts = [a]
        if openers:
            cuts += [a + q.start() for q in re.finditer(rf"(?<=\s)(?=(?:{openers})\b)", text[a:b], re.IGNORECASE)
                     if text[a + q.start()].isupper() or _after_unit(text, a + q.start(), units)]
        if digits and not re.search(r"[,.?!;]", text[a:b].rstrip(",.?!; ")):
            # A transcriber's run-on with no mark at all ("five six o three hang on my glasses right four five"): the
            # words between two numbers are a clause of their own.
            cuts += [x for x in _edges([d for d in digits if a <= d[0] and d[1] <= b], text) if a < x < b]
        cuts = sorted(set(cuts)) + [b]
        for x, y in zip(cuts, cuts[1:]):
            head = re.match(rf"\s*(?:{openers})\b", text[x:y], re.IGNORECASE) if openers else None
            first = min((u.start for u in units if x <= u.start < y), default=None)
            if head and first is not None and first > x + head.end():
                cut = _back_over_homophones(text, first, x, opts)
                if cut > x + head.end():
                    out.extend([(x, cut), (cut, y)])
                    continue
            out.append((x, y))
    return out


def _digit_spans(runs: list) -> list[tuple[int, int, int]]:
    """Where a text's runs say digits, any way ("oh" and "double" too; not letters): (start, end, digits)."""
    return [(u.start, u.end, len(u.text)) for r in runs for u in r.units
            if u.text == "" or u.text.isdigit()]


def _edges(spans: list[tuple[int, int, int]], text: str) -> list[int]:
    """Where each stretch of `spans` (sorted; parted by spaces alone) of two digits or more begins and
    ends: one digit alone ("I've told two people") is talk."""
    stretches: list[list[int]] = []  # [start, end, digits]
    for a, b, n in spans:
        if stretches and not text[stretches[-1][1]:a].strip():
            stretches[-1][1:] = [b, stretches[-1][2] + n]
        else:
            stretches.append([a, b, n])
    return [x for a, b, n in stretches if n >= 2 for x in (a, b)]


def _after_unit(text: str, at: int, units: list) -> bool:
    """Whether a code unit ends just before `at`, with only spaces between: a transcriber with no
    capitals or stops runs the agent's question on from the digits ("two six seven do you want the
    expiry date now go on ...")."""
    return any(u.end <= at and not text[u.end:at].strip() for u in units)


def _less_declared_leads(text: str, a: int, b: int, options: RedactOptions) -> list[tuple[int, int]]:
    """A muted span less the lead-in of each sentence in it that names what it gives before a link
    ("So the first line of the address you want is flat nine", "With the email address is ..."):
    the words up to the link are not the value, and stay."""
    aw, opts = options.answer_window, options.payment_window
    cues = {c for cs in (*aw.cues.values(), *opts.cues.values()) for c in cs} | set(opts.email_cues)
    links = "|".join(re.escape(k) for k in sorted(aw.declare_links, key=len, reverse=True))
    starts = [a] if not a or re.search(r"[.?!,]\s*$", text[:a]) else []
    starts += [a + m.end() for m in re.finditer(r"[.?!,]\s+", text[a:b])]
    out, cursor = [], a
    for s in starts:
        head = re.match(rf"((?:[\w'’-]+\s+){{0,{opts.declared_lead_words}}}?)(?:{links})\s+", text[s:b], re.IGNORECASE)
        if not head or re.search(r"\d", head.group(1)) or not re.search(r"[A-Za-z0-9]", text[s + head.end():b]):
            continue
        lead = " " + " ".join(_clean_words(head.group(1))) + " "
        if any(f" {c} " in lead for c in cues):
            if s > cursor:
                out.append((cursor, s))
            cursor = s + head.end()
    out.append((cursor, b))
    return _bodies(text, out)


def _bodies(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Each span from its first letter or digit to its last; spans with none are dropped."""
    out = []
    for a, b in spans:
        body = re.search(r"[A-Za-z0-9](?:.*[A-Za-z0-9])?", text[a:b], re.DOTALL)
        if body:
            out.append((a + body.start(), a + body.end()))
    return out


def _back_over_homophones(text: str, start: int, floor: int, opts: PaymentWindowOptions) -> int:
    """`start` moved back over the words just before it that sound like a digit ("For five five six ...",
    "go on for eleven twenty six"), not before `floor`: a digit heard as a word goes with the value."""
    while (m := re.search(r"([A-Za-z]+)[\s,.-]*$", text[floor:start])) and m.group(1).lower() in opts.digit_homophones:
        start = floor + m.start(1)
    return start

def _asks_email(text: str, opts: PaymentWindowOptions, tail_words: int = 4) -> bool:
    """A cue in a request-like sentence, or among the turn's last words ("And your email, please.")."""
    sentences = [s for s in re.findall(r"[^.?!]*[.?!]?", text) if s.strip()]
    if any(_request_like(s, opts) and any(_cue_in(_clean_words(s), c, opts) is not None for c in opts.email_cues)
           for s in sentences):
        return True
    words = _clean_words(text)
    return any((end := _cue_in(words, c, opts)) is not None and end >= len(words) - tail_words for c in opts.email_cues)


def _has_email_word(text: str, opts: PaymentWindowOptions) -> bool:
    """An e-mail word ("at", "dot", "hotmail"), an "@", or a transcriber's dot before a word ("Arjun .cap -loss")."""
    low = " " + " ".join(_clean_words(text)) + " "
    return "@" in text or re.search(r"(?:^|\s)\.[A-Za-z]", text) is not None or any(f" {w} " in low for w in opts.email_words)


def _span(text: str, opts: PaymentWindowOptions, options: RedactOptions, email: bool,
          whole: bool = False) -> tuple[int, int] | None:
    """The muted part of a reply turn: all of it, or (from_value) from its first value word - a
    run's first unit, or the first word that is not a lead word - to its end. An e-mail: up to
    the last sentence that holds its words ("k doyle at example dot com. But I'm ..." ends at "com");
    `whole`: from its first value word to its end, e-mail words or not."""
    body = re.search(r"\S(?:.*\S)?", text, re.DOTALL)
    if body is None:
        return None
    if opts.span == "turn" and not email:
        return body.start(), body.end()
    begin, end = body.start(), body.end()
    if email:
        sentences = list(re.finditer(r"[^.?!;:]+(?:[.?!;:](?=\S)[^.?!;:]*)*[.?!;:]?", text))
        hits = [k for k, m in enumerate(sentences) if _has_email_word(m.group(0), opts)]
        if not hits and not whole:
            return None
        if hits:
            first = hits[0]
            # The local part may come sentences before its "at" ("Link was 477. Sorry, the dog's going
            # mad. That's guy .com."): back to the turn's start or a question the customer asked.
            while first > 0 and not sentences[first - 1].group(0).rstrip().endswith("?"):
                first -= 1
            begin, end = sentences[first].start(), _email_end(text, sentences[hits[-1]].start(), sentences[hits[-1]].end(), opts)
    else:
        runs = find_runs(text, options.code_runs)
        if runs:
            end = max(end, runs[-1].end)
    start = None
    if not email:
        runs = find_runs(text, options.code_runs)
        start = _back_over_homophones(text, runs[0].start, 0, opts) if runs else None
        month = re.search(rf"\b(?:{'|'.join(_MONTHS)})[\s,.-]*$", text[:start], re.IGNORECASE) if start else None
        if month:
            start = month.start()  # an expiry's month before its digits ("End of March, 20, 26.")
    for m in _VALUE_WORD_RE.finditer(text[begin:end]):
        if start is not None:
            break  # a turn with a code run: from its first unit (the words before are the lead-in)
        if m.group(0).lower().replace("’", "'") not in opts.lead_words:
            start = begin + m.start()
            break
    if start is None:
        return None
    tail = re.search(r"\S(?:.*\S)?", text[start:end], re.DOTALL)
    return (start, start + tail.end()) if tail else None


def _email_end(text: str, start: int, end: int, opts: PaymentWindowOptions) -> int:
    """The end of an e-mail's last sentence, or its last domain ending when plain talk follows in
    the same sentence (a transcriber's run-on: "... bird yet email dot com I need to change my address")."""
    endings = "|".join(re.escape(e) for e in opts.email_endings)
    if not endings:
        return end
    last = None
    for m in re.finditer(rf"(?:\bdot\s+|\.\s*)(?:{endings})\b", text[start:end], re.IGNORECASE):
        last = start + m.end()
    if last is None:
        return end
    rest = text[last:end]
    if _has_email_word(rest, opts) or len(_clean_words(rest)) < opts.min_aside_words:
        return end
    return last


def _has_number(text: str) -> bool:
    """Any digit or number word ("four", "oh" aside: a lone 'oh' is an interjection)."""
    return any(number_token(w) is not None for w in re.findall(r"[A-Za-z0-9]+", text) if w.lower() != "oh")


def _code_heavy(text: str, options: RedactOptions) -> bool:
    """Mostly a run of digits or letters: a read-back, or the customer's digits that diarisation
    gave to the agent (mono). It does not end an exchange."""
    runs = [r for r in find_runs(text, options.code_runs) if not r.weak]
    inside = sum(len(_WORD_RE.findall(text[r.start:r.end].lower())) for r in runs)
    return sum(len(r) for r in runs) >= options.code_runs.min_units and \
        inside >= 0.5 * len(_WORD_RE.findall(text.lower()))


def _answer_turns(texts: list[str], speakers: list[str], i: int, options: RedactOptions,
                  other_requests: list[set[str]] | None = None) -> tuple[list[int], int | None]:
    """The customer turns after request i, until the agent speaks at length or asks for
    something else ("And your email, please?") - at most max_turns; and the turn that ended it."""
    opts = options.payment_window
    out: list[int] = []
    unknown = speakers[i] != "agent"
    for j in range(i + 1, len(texts)):
        if unknown and ((other_requests and other_requests[j]) or _asks_email(texts[j], opts)
                        or request_types(texts[j], opts, code_runs=options.code_runs) or (_ends_window(texts[j], opts) and not _has_number(texts[j]))):
            return out, j  # no speaker to go by: the next request, or long speech with no digit in it, ends the window
        if speakers[j] == "agent":
            if (other_requests and other_requests[j]) or _asks_email(texts[j], opts) or \
                    (_ends_window(texts[j], opts) and not _code_heavy(texts[j], options)):
                return out, j
            continue
        out.append(j)
        if len(out) >= opts.max_turns:
            break
    return out, None
