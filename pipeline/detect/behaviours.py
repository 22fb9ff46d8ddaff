"""Behaviour detectors: from a call's analysed sentences to events, one kind at a time.

Every kind has one rule in configs/detect.yaml (speaker, context, question, thresholds) and one
lexicon in configs/lexicons/ (spaCy cue patterns, vetoes, exemplars, counter-exemplars). A
sentence *fires* for a kind when no veto matched and either a non-negated cue matched with the
sentence at least `with_cue` similar to the exemplars, or the sentence alone is `alone` similar
(a paraphrase), in both cases at least `margin` closer to the exemplars than to the near-misses.

A few kinds also need the conversation around them; those rules are small functions below:
ID&V is a phase near the start, a hold return needs a hold, objection handling answers a
customer's objection to an offer, and the LASS stages only count after a complaint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pipeline.detect.analyse import CallAnalysis, Sentence
from pipeline.detect.options import DetectOptions, KindRule
from pipeline.schema import Event, Turn

__all__ = ["Hit", "sentence_confidence", "sentiment_confidence", "detect_behaviours", "DETECTOR_VERSION"]

DETECTOR_VERSION = "1"


@dataclass(frozen=True)
class Hit:
    """One kind found in one turn, with the sentence that shows it."""

    kind: str
    turn_index: int
    sentence: Sentence
    confidence: float


def sentence_confidence(sentence: Sentence, kind: str, rule: KindRule) -> float | None:
    """Confidence that `sentence` shows `kind`, or None when it does not fire.

    Args:
        sentence: an analysed sentence.
        kind: the lexicon / kind name.
        rule: the kind's rule (question handling, negation, thresholds).

    Returns:
        A confidence in [0, 1], or None.
    """
    score = sentence.scores.get(kind)
    if score is None or score.blocked:
        return None
    if rule.question == "required" and not sentence.question:
        return None
    if rule.question == "forbidden" and sentence.question:
        return None
    cue = score.cue or (score.negated_cue and not rule.negation_blocks)
    if rule.negation_blocks and score.negated_cue and not score.cue:
        return None  # the behaviour's own words are negated: "I can't apologise for that"
    t = rule.thresholds
    margin = t.cue_margin if cue and t.cue_margin is not None else t.margin
    if score.counter_similarity > -1 and score.similarity - score.counter_similarity < margin:
        return None
    with_cue = t.question_with_cue if sentence.question and t.question_with_cue is not None else t.with_cue
    if not ((cue and score.similarity >= with_cue) or score.similarity >= t.alone):
        return None
    # Cue + similarity agree -> high; similarity alone (a paraphrase) -> lower.
    confidence = 0.45 + 0.5 * max(0.0, score.similarity) + (0.15 if cue else 0.0)
    return round(min(0.99, confidence), 3)


def sentiment_confidence(sentence: Sentence, kind: str, rule: KindRule) -> float | None:
    """The kind's sentiment route (`rule.sentiment`): "no drinks.", "it cut out again" carry no
    complaint word, but a clearly negative sentence with a weak problem cue is a complaint. The
    kind's vetoes, question rule and margin over the near misses still apply.

    Returns:
        A confidence (below that of a cue and similarity together), or None.
    """
    route = rule.sentiment
    score = sentence.scores.get(kind)
    if route is None or score is None or score.blocked or sentence.valence > route.max_compound:
        return None
    if (rule.question == "required" and not sentence.question) or (rule.question == "forbidden" and sentence.question):
        return None
    problem = sentence.scores.get(route.cue_lexicon)
    if problem is None or problem.blocked:
        return None
    t = rule.thresholds
    margin = t.cue_margin if score.cue and t.cue_margin is not None else t.margin
    if score.counter_similarity > -1 and score.similarity - score.counter_similarity < margin:
        return None
    if not (((score.cue or problem.cue) and score.similarity >= route.with_cue)
            or (route.alone is not None and score.similarity >= route.alone)):
        return None
    return round(min(0.99, 0.40 + 0.5 * max(0.0, score.similarity)), 3)


def _distressed(sentences: list[Sentence], rule: KindRule) -> bool:
    # Fear or grief anywhere in the turn ("I'm really worried. My card was stolen and there's no
    # money left.") explains its negative valence: the sentiment route stays closed for the turn.
    return rule.sentiment is not None and any(
        (score := s.scores.get(rule.sentiment.cue_lexicon)) is not None and score.blocked for s in sentences
    )


class _Context:
    """What the conversation-level rules need to know while scanning a call."""

    def __init__(self, analysis: CallAnalysis, options: DetectOptions, channel_type: str):
        self.analysis = analysis
        self.options = options
        self.channel_type = channel_type
        self.turns = analysis.turns
        self.n = len(self.turns)
        self.agent_turns = [t.index for t in self.turns if t.speaker == "agent"]
        self.complaint_onset: int | None = None

    def allowed(self, kind: str, turn: Turn) -> bool:
        rule = self.options.rule(kind)
        if not rule.enabled or self.channel_type not in rule.channels or turn.speaker != rule.speaker:
            return False
        rel = turn.index / max(1, self.n - 1)
        if not rule.position[0] <= rel <= rule.position[1]:
            return False
        if rule.first_agent_turns is not None and turn.index not in self.agent_turns[: rule.first_agent_turns]:
            return False
        if rule.last_turns is not None and turn.index < self.n - rule.last_turns:
            return False
        onset = self.complaint_onset
        if rule.context == "complaint" and (onset is None or turn.index <= onset):
            return False
        if rule.context == "no_complaint" and onset is not None and turn.index > onset:
            return False
        return True

    def best(self, kind: str, turn: Turn, exclude: set[int] = frozenset()) -> Hit | None:
        """The turn's best-firing sentence for `kind` (ignoring gating), or None."""
        rule = self.options.rule(kind)
        best: Hit | None = None
        sentences = self.analysis.turn_sentences(turn.index)
        by_valence = rule.sentiment is not None and not _distressed(sentences, rule)
        for sentence in sentences:
            if sentence.position in exclude:
                continue
            confidence = sentence_confidence(sentence, kind, rule)
            if confidence is None and by_valence:
                confidence = sentiment_confidence(sentence, kind, rule)
            if confidence is not None and (best is None or confidence > best.confidence):
                best = Hit(kind, turn.index, sentence, confidence)
        return best

    def fires(self, kind: str, turn: Turn) -> Hit | None:
        return self.best(kind, turn) if self.allowed(kind, turn) else None


def _generic(kind: str) -> Callable[[_Context], list[Hit]]:
    def detect(ctx: _Context) -> list[Hit]:
        return [hit for turn in ctx.turns if (hit := ctx.fires(kind, turn))]

    return detect


def _complaints(ctx: _Context) -> list[Hit]:
    hits = _generic("complaint.raised")(ctx) + _complaint_from_apology(ctx)
    hits.sort(key=lambda h: h.turn_index)
    ctx.complaint_onset = hits[0].turn_index if hits else None
    return hits


def _complaint_from_apology(ctx: _Context) -> list[Hit]:
    """A complaint the words missed, inferred from the agent's reaction: an agent who apologises
    (not a repair, not under a negation) before any complaint was found is answering one. The
    complaint is the customer turn before the apology most like a complaint; a missed onset would
    otherwise lose every LASS stage of the call."""
    rule = ctx.options.rule("complaint.raised")
    if not rule.infer_from_apology:
        return []
    found = [t.index for t in ctx.turns if ctx.allowed("complaint.raised", t) and ctx.best("complaint.raised", t)]
    for turn in ctx.turns:
        if turn.speaker != "agent" or (found and found[0] < turn.index):
            continue
        if not ctx.best("lass.apologise", turn):
            continue
        candidates = [t for t in ctx.turns[: turn.index] if t.speaker == "customer" and ctx.analysis.turn_sentences(t.index)]
        if not candidates:
            continue
        best = max(((s, t) for t in candidates for s in ctx.analysis.turn_sentences(t.index)),
                   key=lambda st: st[0].scores["complaint.raised"].similarity)
        if best[1].index in found:
            return []
        return [Hit("complaint.raised", best[1].index, best[0], 0.5)]
    return []


def _idv(ctx: _Context) -> list[Hit]:
    """ID&V is one phase: requests for identity details, ended by a confirmation or by the
    agent's first turn after the customer's last answer (which is the check itself)."""
    hits: list[Hit] = []
    started = False
    for index in ctx.agent_turns:
        turn = ctx.turns[index]
        hit = ctx.fires("call.idv", turn)
        confirmed = ctx.best("idv_confirmed", turn) if started or hit else None
        if hit or confirmed:
            started = True
            hits.append(hit or Hit("call.idv", index, confirmed.sentence, confirmed.confidence))
            if confirmed:
                break
            continue
        if started:
            if index > 0 and ctx.turns[index - 1].speaker == "customer":
                first = ctx.analysis.turn_sentences(index)
                if first:
                    hits.append(Hit("call.idv", index, first[0], 0.6))
            break
    return hits


def _hold_request(ctx: _Context) -> list[Hit]:
    # Asking permission is a question in the same turn as the hold cue ("..., is that okay?").
    hits = []
    for turn in ctx.turns:
        hit = ctx.fires("call.hold_request", turn)
        if hit and any(s.question for s in ctx.analysis.turn_sentences(turn.index)):
            hits.append(hit)
    return hits


def _holds_from_words(ctx: _Context, requests: list[Hit]) -> list[int]:
    """Turn indices after which a hold starts: a hold request or placement, then the agent
    speaks again with no customer turn between (the agent came back)."""
    starts = sorted({h.turn_index for h in requests} | {
        t.index for t in ctx.turns if t.speaker == "agent" and ctx.best("hold_placement", t)
    })
    holds = []
    for start in starts:
        for j in range(start + 1, min(ctx.n, start + 4)):
            if ctx.turns[j].speaker == "agent" and ctx.turns[j - 1].speaker == "agent":
                holds.append(j - 1)
                break
            # Asked, the customer agreed, and the agent's next words are the return ("Thanks for
            # holding"): with no times in a transcript, the hold lies between consent and return.
            if (ctx.turns[j].speaker == "agent" and j == start + 2 and start in {h.turn_index for h in requests}
                    and ctx.best("call.hold_return", ctx.turns[j])):
                holds.append(j - 1)
                break
    return sorted(set(holds))


def _hold_return(ctx: _Context, requests: list[Hit]) -> list[Hit]:
    hold_min = ctx.options.timing.hold_min_s
    returns = {h + 1 for h in _holds_from_words(ctx, requests)}
    for prev, turn in zip(ctx.turns, ctx.turns[1:]):
        if prev.end_s is not None and turn.start_s is not None and turn.start_s - prev.end_s >= hold_min:
            returns.add(turn.index)
    return [hit for i in sorted(returns) if (hit := ctx.fires("call.hold_return", ctx.turns[i]))]


def _open_problem_question(ctx: _Context, kind: str, turn: Turn, exclude: set[int], first_solve: int | None) -> Hit | None:
    """While a complaint is open (after its onset, before its first solution), an agent's question
    that no other kind claimed and no veto blocks asks about the problem."""
    rule = ctx.options.rule(kind)
    onset = ctx.complaint_onset
    if not rule.questions_until_solve or onset is None or turn.index <= onset:
        return None
    if first_solve is not None and turn.index >= first_solve:
        return None
    for sentence in ctx.analysis.turn_sentences(turn.index):
        score = sentence.scores.get(kind)
        if sentence.question and sentence.position not in exclude and score is not None and not score.blocked:
            return Hit(kind, turn.index, sentence, 0.55)
    return None


def _asked_after_solution(sentence: Sentence, kind: str, options: DetectOptions, turn_index: int,
                          first_solve: int | None) -> bool:
    """After the problem was solved, a question ("is someone with you?", "how are you feeling
    now?") is about what comes next, not about the problem: it counts as listening only when it
    is as close to the exemplars as a paraphrase must be on its own."""
    rule = options.rule(kind)
    if not rule.questions_until_solve or first_solve is None or turn_index <= first_solve or not sentence.question:
        return False
    score = sentence.scores.get(kind)
    return score is None or score.similarity < rule.thresholds.alone


def _commitments(ctx: _Context, summaries: set[int]) -> list[Hit]:
    """A time expression in a sentence that promises something (will / shall / going to), or
    in a recap of what was agreed (which restates the promises)."""
    rule = ctx.options.rule("future_marker")
    hits = []
    for turn in ctx.turns:
        if not ctx.allowed("commitment.timescale", turn):
            continue
        future = {s.position for s in ctx.analysis.turn_sentences(turn.index) if sentence_confidence(s, "future_marker", rule)}
        others = set() if turn.index in summaries else {s.position for s in ctx.analysis.turn_sentences(turn.index)} - future
        if hit := ctx.best("commitment.timescale", turn, exclude=others):
            hits.append(hit)
    return hits


def _objection_handling(ctx: _Context, offers: set[int]) -> list[Hit]:
    """An agent reply to a customer's objection to something the agent offered or recommended,
    that answers it rather than accepting the refusal."""
    hits = []
    for turn in ctx.turns[1:]:
        prev = ctx.turns[turn.index - 1]
        if turn.speaker != "agent" or prev.speaker != "customer" or not ctx.allowed("sales.objection_handling", turn):
            continue
        if not any(turn.index - 8 <= o < turn.index for o in offers):
            continue
        if not ctx.best("customer_objection", prev):
            continue
        accept = ctx.best("objection_accept", turn)
        hit = ctx.best("sales.objection_handling", turn)
        if hit and (accept is None or hit.confidence > accept.confidence):
            hits.append(hit)
    return hits


def detect_behaviours(analysis: CallAnalysis, options: DetectOptions, channel_type: str) -> list[Hit]:
    """All behaviour hits of a call, in turn order.

    Args:
        analysis: the call's analysed sentences.
        options: detect options (rules per kind).
        channel_type: telephone | face_to_face | digital.

    Returns:
        Hits, at most one per (kind, turn).
    """
    ctx = _Context(analysis, options, channel_type)
    hits: list[Hit] = _complaints(ctx)
    idv = _idv(ctx)
    hits += idv
    idv_sentences = {(h.turn_index, h.sentence.position) for h in idv}
    requests = _hold_request(ctx)
    hits += requests + _hold_return(ctx, requests)
    summary_hits = _generic("call.summary")(ctx)
    hits += summary_hits + _commitments(ctx, {h.turn_index for h in summary_hits})
    for kind in ("call.greeting", "call.recording_notice", "call.closing", "escalation.offered", "empathy", "lass.apologise", "lass.solve", "lass.satisfy",
                 "sales.cross_sell", "sales.up_sell"):
        hits += _generic(kind)(ctx)
    # A question that is ID&V, admin (contact details, payment), a hold request, a satisfaction
    # check or an offer is neither listening nor probing; an apology is not a paraphrase; a recap
    # of agreed actions is not listening.
    summaries = {h.turn_index for h in summary_hits}
    # A recap restates a solution already given: in the turn that first solves the complaint,
    # "I've booked ... and I've ..." is the solution itself, not a summary of it.
    first_solve = min((h.turn_index for h in hits if h.kind == "lass.solve"), default=None)
    if first_solve in summaries:
        summaries.discard(first_solve)
        hits = [h for h in hits if not (h.kind == "call.summary" and h.turn_index == first_solve)]
    claimed = ("admin_request", "lass.apologise", "call.hold_request", "lass.satisfy", "sales.cross_sell",
               "sales.up_sell", "escalation.offered")
    for kind in ("lass.listen", "needs.probing_question"):
        for turn in ctx.turns:
            if not ctx.allowed(kind, turn) or turn.index in summaries:
                continue
            exclude = {s.position for s in analysis.turn_sentences(turn.index)
                       if (turn.index, s.position) in idv_sentences
                       or any(sentence_confidence(s, other, options.rule(other)) for other in claimed)
                       or _asked_after_solution(s, kind, options, turn.index, first_solve)}
            if hit := ctx.best(kind, turn, exclude) or _open_problem_question(ctx, kind, turn, exclude, first_solve):
                hits.append(hit)
    # A recap restates what was already solved or sold; it is not a new solve or a new offer.
    restated = ("lass.solve", "sales.cross_sell", "sales.up_sell")
    hits = [h for h in hits if not (h.kind in restated and h.turn_index in summaries)]
    # Likewise a recap that mentions an escalation already offered ("...and the ombudsman's details").
    first_escalation = min((h.turn_index for h in hits if h.kind == "escalation.offered"), default=None)
    hits = [h for h in hits if not (h.kind == "escalation.offered" and h.turn_index in summaries
                                    and first_escalation is not None and h.turn_index > first_escalation)]
    offers = {h.turn_index for h in hits if h.kind in ("sales.cross_sell", "sales.up_sell")}
    offers |= {t.index for t in ctx.turns if t.speaker == "agent" and ctx.best("sales_offer", t)}
    handling = _objection_handling(ctx, offers)
    # Answering an objection restates the offer on the table; it is not another offer.
    answered = {h.turn_index for h in handling}
    hits = [h for h in hits if not (h.kind in restated[1:] and h.turn_index in answered)] + handling
    # One offer is an up-sell or a cross-sell, not both: keep the likelier reading per turn.
    best_sale: dict[int, Hit] = {}
    for h in hits:
        if h.kind in restated[1:] and (h.turn_index not in best_sale or h.confidence > best_sale[h.turn_index].confidence):
            best_sale[h.turn_index] = h
    hits = [h for h in hits if h.kind not in restated[1:] or best_sale[h.turn_index] is h]
    return sorted(hits, key=lambda h: (h.turn_index, h.kind))


def hits_to_events(hits: list[Hit], turns: list[Turn], options: DetectOptions, *, version: str = DETECTOR_VERSION) -> list[Event]:
    """Schema events for the hits, with the sentence as (already redacted) evidence; `version`
    names the detector that decided (the rules, or the learned classifiers)."""
    events = []
    for hit in hits:
        turn = turns[hit.turn_index]
        text = hit.sentence.text
        if len(text) > options.max_evidence_chars:
            text = text[: options.max_evidence_chars - 1].rstrip() + "…"
        events.append(
            Event(
                kind=hit.kind,
                turn_index=hit.turn_index,
                start_s=turn.start_s,
                end_s=turn.end_s,
                speaker=turn.speaker,
                evidence=text,
                confidence=hit.confidence,
                detector=f"callqa.detect.{hit.kind}/{version}",
                basis=options.rule(hit.kind).basis,
            )
        )
    return events
