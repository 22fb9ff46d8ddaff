"""Features of every turn for the learned detectors (pipeline/detect/learned.py).

One row per turn, the same columns for every kind, so that one matrix product scores all kinds
of a call at once. The columns come from the call's analysis (analyse.py) and the lexicon rules
(behaviours.py), which become evidence rather than the decision:

- per lexicon: a cue matched (not negated), only a negated cue, a veto, best similarity to the
  exemplars, lead over the near misses, a cue inside a question;
- the turn: speaker, question form, length, relative position, first / last turns, channel,
  lexicon valence;
- the rules: which kinds the hand-written rules found on the turn (they carry the objective
  conversation logic: an ID&V phase, a hold and its return, an objection to an offer);
- the neighbours: the previous and next turns' cues, similarities and rule hits, and the most
  of each over the next four turns;
- complaint state (added once complaints are scored): how likely a complaint was raised before;
- the offer's base (offer.py): whether an agent turn names a bigger version of what the customer
  has (up-sell) or something beside it (cross-sell), from its likeness to the earlier turns;
- a recap's shape (recap.py): a sentence opening with "So" and how many points one sentence lists;
- an offer's shape (offer_shape.py): a price and an offer frame, or a word of addition, in one
  sentence; a question offering a choice with no price (round 7: most missed cross-sells were plain
  priced offers the linear model could not read from the price and the offer words apart); a swap of
  one version for another with a price or a comparison, and a price difference ("only a pound more"),
  which mark an up-sell (round 8).
- how an agent turn takes the customer's side (empathy_shape.py, round 9): putting themself in the
  customer's place, an exclamation at what happened, the plight or the feeling named.

A row's features never depend on labels, so the same code builds training and live rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.detect.analyse import CallAnalysis, Sentence
from pipeline.detect.behaviours import Hit, detect_behaviours
from pipeline.detect.empathy_shape import EMPATHY_SHAPE_FIELDS, empathy_shape_block
from pipeline.detect.offer import OFFER_FIELDS, offer_block
from pipeline.detect.offer_shape import OFFER_SHAPE_FIELDS, offer_shape_block
from pipeline.detect.options import CHANNELS, DetectOptions
from pipeline.detect.recap import RECAP_FIELDS, recap_block
from pipeline.schema import EVENT_KINDS

__all__ = ["CallFeatures", "call_features", "with_complaint_state", "STATE_FEATURES", "CUSTOMER_KINDS"]

# The one kind a customer shows; every other kind is agent behaviour (tests/data/SCHEMA.md).
CUSTOMER_KINDS: tuple[str, ...] = ("complaint.raised",)
_LEXICON_FIELDS = ("cue", "neg", "block", "sim", "lead", "qcue")
_NEIGHBOUR_FIELDS = ("cue", "sim")
_TURN_FIELDS = ("agent", "question", "last_question", "sentences", "words", "position", "first_agent",
                "second_agent", "last_agent", "last3", "valence_min", "valence_max", "sim_prev", "sim_next",
                *(f"channel_{c}" for c in CHANNELS))
_RULE_STATE = ("rule_complaint_before", "rule_solve_before", "rule_satisfy_before", "rule_offer_before")
_AHEAD = 4  # turns looked ahead
STATE_FEATURES: tuple[str, ...] = ("cs:max_before", "cs:prev", "cs:recent", "cs:sum_before")


@dataclass(frozen=True)
class CallFeatures:
    """The feature rows of one call's turns and the rule hits they came from."""

    names: tuple[str, ...]
    matrix: np.ndarray  # (n_turns, len(names)) float64
    agent: np.ndarray  # (n_turns,) bool: the turn is the agent's
    hits: tuple[Hit, ...]  # the lexicon rules' hits: features, and the evidence for a decision


def _lexicon_block(sentences: list[Sentence], names: list[str]) -> np.ndarray:
    out = np.zeros((len(names), len(_LEXICON_FIELDS)))
    if not sentences:
        return out
    for row, name in enumerate(names):
        cue = neg = block = qcue = False
        sim = lead = -1.0
        for s in sentences:
            score = s.scores[name]
            cue = cue or score.cue
            neg = neg or score.negated_cue
            block = block or score.blocked
            qcue = qcue or (score.cue and s.question)
            sim = max(sim, score.similarity)
            lead = max(lead, score.similarity - score.counter_similarity if score.counter_similarity > -1 else 0.0)
        out[row] = (cue, neg and not cue, block, max(sim, 0.0), lead, qcue)
    return out


def feature_names(lexicons: list[str], dim: int) -> tuple[str, ...]:
    names = [f"lex:{n}:{f}" for n in lexicons for f in _LEXICON_FIELDS]
    names += [f"turn:{f}" for f in _TURN_FIELDS]
    names += [f"rule:{k}" for k in EVENT_KINDS] + [f"ctx:{f}" for f in _RULE_STATE]
    for side in ("prev", "next"):
        names += [f"{side}:lex:{n}:{f}" for n in lexicons for f in _NEIGHBOUR_FIELDS]
        names += [f"{side}:rule:{k}" for k in EVENT_KINDS] + [f"{side}:agent", f"{side}:question", f"{side}:none"]
    names += [f"ahead:lex:{n}:{f}" for n in lexicons for f in _NEIGHBOUR_FIELDS] + [f"ahead:rule:{k}" for k in EVENT_KINDS]
    for side in ("", "prev:", "next:"):
        names += [f"{side}emb:{i}" for i in range(dim)]
    names += [f"offer:{f}" for f in OFFER_FIELDS]
    names += [f"recap:{f}" for f in RECAP_FIELDS]
    names += [f"offer_shape:{f}" for f in OFFER_SHAPE_FIELDS]
    names += [f"empathy_shape:{f}" for f in EMPATHY_SHAPE_FIELDS]
    return tuple(names)


def _turn_embeddings(analysis: CallAnalysis) -> np.ndarray:
    """(n_turns, dim): each turn's mean sentence embedding, L2-normalised (zeros for a turn with no words)."""
    dim = analysis.embeddings.shape[1]
    out = np.zeros((len(analysis.turns), dim))
    for row, sentence in enumerate(analysis.sentences):
        out[sentence.turn_index] += analysis.embeddings[row]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def call_features(analysis: CallAnalysis, options: DetectOptions, channel_type: str) -> CallFeatures:
    """Feature rows for every turn of an analysed call.

    Args:
        analysis: the call's analysed sentences (analyse.analyse_call).
        options: detect options (the lexicon rules run here as features).
        channel_type: telephone | face_to_face | digital.

    Returns:
        The call's features; the column names depend only on the lexicons' names.
    """
    lexicons = sorted(options.lexicons)
    turns = analysis.turns
    n = len(turns)
    hits = tuple(detect_behaviours(analysis, options, channel_type))
    kind_col = {k: i for i, k in enumerate(EVENT_KINDS)}
    rules = np.zeros((n, len(EVENT_KINDS)))
    for h in hits:
        rules[h.turn_index, kind_col[h.kind]] = 1.0

    lex = np.zeros((n, len(lexicons), len(_LEXICON_FIELDS)))
    turn_part = np.zeros((n, len(_TURN_FIELDS)))
    agent = np.array([t.speaker == "agent" for t in turns], dtype=bool)
    agent_turns = [t.index for t in turns if t.speaker == "agent"]
    channel = [float(channel_type == c) for c in CHANNELS]
    emb = _turn_embeddings(analysis)
    # How closely a turn restates the one before (a paraphrase is listening) or the one after.
    sim_prev = np.concatenate([[0.0], np.sum(emb[1:] * emb[:-1], axis=1)]) if n else np.zeros(0)
    sim_next = np.concatenate([sim_prev[1:], [0.0]]) if n else np.zeros(0)
    for t in turns:
        sentences = analysis.turn_sentences(t.index)
        lex[t.index] = _lexicon_block(sentences, lexicons)
        valences = [s.valence for s in sentences] or [0.0]
        turn_part[t.index] = (
            agent[t.index],
            any(s.question for s in sentences),
            bool(sentences) and sentences[-1].question,
            min(len(sentences), 6) / 6,
            np.log1p(len((t.text or "").split())) / 5,
            t.index / max(1, n - 1),
            bool(agent_turns) and t.index == agent_turns[0],
            len(agent_turns) > 1 and t.index == agent_turns[1],
            bool(agent_turns) and t.index == agent_turns[-1],
            t.index >= n - 3,
            min(valences),
            max(valences),
            sim_prev[t.index],
            sim_next[t.index],
            *channel,
        )
    # What the rules concluded about the call before this turn (the rules' own complaint state).
    state = np.zeros((n, len(_RULE_STATE)))
    for col, kinds in enumerate((("complaint.raised",), ("lass.solve",), ("lass.satisfy",), ("sales.cross_sell", "sales.up_sell"))):
        seen = rules[:, [kind_col[k] for k in kinds]].max(axis=1)
        state[1:, col] = np.maximum.accumulate(seen)[:-1] if n > 1 else 0.0

    neighbour_lex = lex[:, :, [_LEXICON_FIELDS.index(f) for f in _NEIGHBOUR_FIELDS]].reshape(n, -1)
    neighbour = np.hstack([neighbour_lex, rules, turn_part[:, :2], np.zeros((n, 1))])
    empty = np.zeros(neighbour.shape[1])
    empty[-1] = 1.0  # no turn there (the call's first or last)
    prev = np.vstack([empty[None, :], neighbour[:-1]]) if n else neighbour
    nxt = np.vstack([neighbour[1:], empty[None, :]]) if n else neighbour
    # What the next few turns hold: an agent who apologises or fixes something two turns later
    # shows that the customer complained, in words the complaint lexicon may not know.
    ahead_base = np.hstack([neighbour_lex, rules])
    ahead = np.zeros_like(ahead_base)
    for step in range(1, _AHEAD + 1):
        ahead[:-step] = np.maximum(ahead[:-step], ahead_base[step:])
    zero = np.zeros((1, emb.shape[1]))
    emb_prev = np.vstack([zero, emb[:-1]]) if n else emb
    emb_next = np.vstack([emb[1:], zero]) if n else emb
    offer = offer_block([t.speaker for t in turns], [t.text for t in turns],
                        [s.turn_index for s in analysis.sentences], analysis.embeddings)
    recap = recap_block([t.speaker for t in turns], [[s.text for s in analysis.turn_sentences(t.index)] for t in turns])
    shape = offer_shape_block([t.speaker for t in turns], [t.text for t in turns])
    empathy = empathy_shape_block([t.speaker for t in turns], [t.text for t in turns])
    matrix = np.hstack([lex.reshape(n, -1), turn_part, rules, state, prev, nxt, ahead, emb, emb_prev, emb_next, offer, recap,
                        shape, empathy])
    return CallFeatures(names=feature_names(lexicons, emb.shape[1]), matrix=matrix, agent=agent, hits=hits)


def with_complaint_state(features: CallFeatures, complaint: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """The call's rows with the complaint state appended.

    Args:
        features: the call's base features.
        complaint: (n_turns,) probability that each turn raises a complaint (0 on agent turns).

    Returns:
        (names, matrix): the base names then STATE_FEATURES, and the widened rows.
    """
    n = len(complaint)
    state = np.zeros((n, len(STATE_FEATURES)))
    if n > 1:
        before = complaint[:-1]
        state[1:, 0] = np.maximum.accumulate(before)
        state[1:, 1] = before
        # A complaint a few turns back still shapes what the agent says; one twenty turns back less.
        gap = np.arange(n)[:, None] - np.arange(n)[None, :]
        decay = np.exp(-np.clip(gap, 0, None) / 6.0)
        recent = np.tril(decay * complaint[None, :], k=-1)
        state[:, 2] = recent.max(axis=1)
        state[1:, 3] = np.minimum(np.cumsum(before), 3.0) / 3.0
    return features.names + STATE_FEATURES, np.hstack([features.matrix, state])
