"""Linguistic analysis of a call, done once and shared by every detector.

Each turn is parsed by spaCy and split into sentences; each sentence is embedded once and
scored against every lexicon: which cue patterns match (and whether a negation governs them),
which veto patterns match, and its best cosine similarity to the exemplars and counter-exemplars.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline.detect.models import BLOCK, QUESTION_CUE, DetectModels
from pipeline.schema import Turn

__all__ = ["Sentence", "SentenceScore", "CallAnalysis", "analyse_call", "is_negated", "is_question"]

_NEGATORS = {"not", "n't", "never", "no", "nobody", "nothing", "neither", "nor", "cannot"}
_WH = {"what", "when", "where", "which", "who", "whom", "whose", "why", "how"}
# Dependency relations through which a negation on the head also negates the cue token:
# "I'm not sorry" (acomp), "I won't say sorry" (dobj), "not able to refund" (xcomp, two levels).
# Not through ccomp / conj: in "I'm sorry; that's not good enough" the negation is another clause's.
_INHERIT = {"acomp", "dobj", "xcomp", "attr", "pobj", "prep", "amod", "advmod", "compound", "oprd"}
_INHERIT_TWICE = {"xcomp", "acomp", "prep", "dobj"}


@dataclass(frozen=True)
class SentenceScore:
    """How one sentence relates to one lexicon."""

    cue: bool  # a cue pattern matched and no negation outside the match governs it
    negated_cue: bool  # a cue matched but only under a negation
    blocked: bool  # a veto pattern matched
    similarity: float  # best cosine similarity to the exemplars (-1 when there are none)
    counter_similarity: float  # best cosine similarity to the counter-exemplars (-1 when none)


@dataclass(frozen=True)
class Sentence:
    """One sentence of one turn."""

    turn_index: int
    position: int  # index of the sentence within its turn
    text: str
    question: bool
    scores: dict[str, SentenceScore]
    valence: float = 0.0  # lexicon sentiment (compound) in [-1, 1]; negative is unhappy


@dataclass(frozen=True)
class CallAnalysis:
    """All sentences of a call, in order, with the turns they came from."""

    turns: list[Turn]
    sentences: list[Sentence]
    by_turn: dict[int, list[Sentence]]
    # (len(sentences), dim) L2-normalised sentence embeddings, row i for sentences[i]: the learned
    # detectors read a turn's meaning from them directly, not only through the exemplars.
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def turn_sentences(self, turn_index: int) -> list[Sentence]:
        return self.by_turn.get(turn_index, [])


def is_negated(token, match_tokens: set[int]) -> bool:
    """Whether a negation outside the match governs `token` (directly or through its head)."""
    candidates = [token]
    if token.dep_ in _INHERIT and token.head is not token:
        candidates.append(token.head)
        if token.head.dep_ in _INHERIT_TWICE and token.head.head is not token.head:
            candidates.append(token.head.head)
    for cand in candidates:
        for child in cand.children:
            if child.i in match_tokens:
                continue
            if child.dep_ == "neg" or (child.lower_ in _NEGATORS and child.dep_ in {"det", "advmod", "neg", "npadvmod"}):
                return True
    return False


def is_question(span) -> bool:
    """A sentence asks something: it ends with '?', or (unpunctuated ASR text) opens with an
    inverted auxiliary or a wh-word followed by a pronoun ('can I', 'what do you')."""
    text = span.text.strip()
    if text.endswith("?"):
        return True
    if "." in text[-2:] or "!" in text[-2:]:
        return False
    words = [t for t in span if not t.is_punct and t.dep_ not in {"intj"} and t.lower_ not in {"so", "and", "okay", "right"}]
    if len(words) < 2:
        return False
    first, second = words[0], words[1]
    return (first.tag_ == "MD" or first.lower_ in {"do", "does", "did", "is", "are", "have", "has"} or first.lower_ in _WH) and second.pos_ in {"PRON", "AUX", "DET", "PROPN"}


def _sentence_spans(doc):
    # spaCy's parser sometimes glues "Thanks. And can you..." together or splits a sentence on
    # a name; use its sentences but also cut after '?' so a question never hides in a statement.
    for sent in doc.sents:
        start = sent.start
        for tok in sent:
            if tok.text == "?" and tok.i + 1 < sent.end:
                yield doc[start : tok.i + 1]
                start = tok.i + 1
        if start < sent.end:
            yield doc[start : sent.end]


def analyse_call(turns: list[Turn], models: DetectModels) -> CallAnalysis:
    """Parse, split, embed and score every turn's sentences against every lexicon.

    Args:
        turns: the call's turns (redacted text).
        models: the loaded detect models (with compiled lexicons).

    Returns:
        The call's analysis; turns with no text have no sentences.
    """
    # Cues use lemmas, parts of speech and the parse; entities are never read, so NER is skipped.
    docs = list(models.nlp.pipe([t.text or "" for t in turns], disable=["ner"]))
    spans = []  # (turn_index, position, span)
    for turn, doc in zip(turns, docs):
        position = 0
        for span in _sentence_spans(doc):
            if span.text.strip() and any(not t.is_punct for t in span):
                spans.append((turn.index, position, span))
                position += 1
    embeddings = models.embed([span.text.strip() for _, _, span in spans])

    # Lexicon matches per doc once, then assigned to sentences by token range.
    per_lexicon: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, lex in models.lexicons.items():
        sim = embeddings @ lex.exemplars.T if lex.exemplars.shape[0] else np.full((len(spans), 1), -1.0)
        counter = embeddings @ lex.counter_exemplars.T if lex.counter_exemplars.shape[0] else np.full((len(spans), 1), -1.0)
        per_lexicon[name] = (sim.max(axis=1) if len(spans) else np.zeros(0), counter.max(axis=1) if len(spans) else np.zeros(0))

    matches: dict[tuple[int, str], list[tuple[int, int, bool, bool]]] = {}  # (start, end, negated, question_only)
    blocks: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for turn, doc in zip(turns, docs):
        for name, role, start, end in models.match(doc):
            if role == BLOCK:
                blocks.setdefault((turn.index, name), []).append((start, end))
                continue
            ids = set(range(start, end))
            negated = any(is_negated(doc[i], ids) for i in ids)
            matches.setdefault((turn.index, name), []).append((start, end, negated, role == QUESTION_CUE))

    sentences: list[Sentence] = []
    for row, (turn_index, position, span) in enumerate(spans):
        scores = {}
        question = is_question(span)
        for name in models.lexicons:
            inside = [m for m in matches.get((turn_index, name), ())
                      if m[0] >= span.start and m[1] <= span.end and (question or not m[3])]
            scores[name] = SentenceScore(
                cue=any(not neg for _, _, neg, _ in inside),
                negated_cue=any(neg for _, _, neg, _ in inside),
                blocked=any(s >= span.start and e <= span.end for s, e in blocks.get((turn_index, name), ())),
                similarity=float(per_lexicon[name][0][row]),
                counter_similarity=float(per_lexicon[name][1][row]),
            )
        text = span.text.strip()
        sentences.append(Sentence(turn_index, position, text, question, scores, valence=models.valence(text)))
    by_turn: dict[int, list[Sentence]] = {}
    for s in sentences:
        by_turn.setdefault(s.turn_index, []).append(s)
    return CallAnalysis(turns=list(turns), sentences=sentences, by_turn=by_turn, embeddings=embeddings)
