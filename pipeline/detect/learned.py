"""The learned detectors: one calibrated logistic regression per event kind, read from JSON.

The model file (`callqa detect train` writes it; pipeline/detect/trained/detector.json is the
shipped one) holds, per kind, the names of the features it reads, their coefficients (already
divided by the training scale, so no scaler is needed), a Platt calibration map and the decision
threshold chosen on a development set. JSON, not pickle: a site points its config at a model
file, and loading a pickle runs code.

Scoring is two passes: complaint.raised first (customer turns), then every agent kind with the
complaint state of the call so far as extra features (features.with_complaint_state). The LASS
stages are only looked for inside a complaint episode: after a turn the complaint classifier
decided on, at its own (precision-first) threshold. Where the complaint starts is read more
leniently than whether there is one (`Episodes`): a polite complaint in bare facts ("I ordered the
glass one and got plastic") often scores under the threshold while the customer's angrier
follow-up scores over it, and an episode opened at the follow-up loses the listening and the
solution that came before it. A complaint under the threshold also opens an episode when the
agent's reply corroborates it (`Episodes.support_factor`: a one-sentence complaint answered at once
by a fix has none of the context - more complaint sentences, the agent's apology - the classifier
leans on).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.detect.analyse import CallAnalysis
from pipeline.detect.behaviours import Hit
from pipeline.detect.features import CUSTOMER_KINDS, CallFeatures, with_complaint_state
from pipeline.errors import ModelUnavailableError
from pipeline.schema import EVENT_KINDS

__all__ = ["KindModel", "Episodes", "DetectorModel", "load_detector", "score_call", "decide", "decided_hits", "FORMAT", "LEARNED_VERSION", "COMPLAINT", "LASS_KINDS"]

FORMAT = "callqa-detector/1"
# Events the classifiers decided name this detector version (the rules' are behaviours.DETECTOR_VERSION).
LEARNED_VERSION = "2"
COMPLAINT = "complaint.raised"
LASS_KINDS: tuple[str, ...] = tuple(k for k in EVENT_KINDS if k.startswith("lass."))
# Kinds a turn cannot show when the kind's only cue is negated ("I can't apologise for that"):
# of 327 labelled apologies in the training calls none is, and 3 turns are too few to learn it from.
_NEGATION_VETO: tuple[str, ...] = ("lass.apologise",)
# Readings of one turn that (almost) never go together in the labelled calls; the likelier is kept.
# One offer is an up-sell or a cross-sell. A solution is rarely also the question about the problem,
# an ID&V check or the recap (14, 1 and 1 of about 250 solution turns in the corpus), while the
# solution classifier, reading the complaint state, often fires on the agent's first turn after the
# complaint: a solution "before" the listening makes a well-handled complaint look out of order.
_EXCLUSIVE: tuple[tuple[str, str], ...] = (("sales.cross_sell", "sales.up_sell"), ("lass.listen", "lass.solve"),
                                           ("call.idv", "lass.solve"), ("call.summary", "lass.solve"))


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Platt(_Record):
    """p = 1 / (1 + exp(-(a * score + b))), fitted on out-of-fold scores of the training calls."""

    type: Literal["platt"] = "platt"
    a: float
    b: float


class KindModel(_Record):
    """The classifier of one kind."""

    features: list[str] = Field(min_length=1, description="Feature names, in the order of `coef`.")
    coef: list[float] = Field(description="Logistic-regression coefficients on the raw (unscaled) features.")
    intercept: float
    calibration: Platt
    threshold: float = Field(ge=0, le=1, description="A turn shows the kind when its calibrated probability is at least this.")

    @model_validator(mode="after")
    def _lengths(self) -> "KindModel":
        if len(self.coef) != len(self.features):
            raise ValueError("coef and features differ in length")
        return self


class Episodes(_Record):
    """Where complaint episodes start, relative to the complaint threshold (docs/detection.md: chosen
    leave-one-author-out on the training corpus, never on a test set)."""

    onset_factor: float | None = Field(
        None, gt=0, le=1, description="Once a complaint is decided, earlier customer turns at least this share "
                                      "of the threshold are complaints too: the episode starts at the first.")
    apology_factor: float | None = Field(
        None, gt=0, le=1, description="With no complaint decided, the most complaint-like customer turn counts "
                                      "when it reaches this share of the threshold and an agent apology the "
                                      "classifier decided on follows it (an apology answers a complaint).")
    support_factor: float | None = Field(
        None, gt=0, le=1, description="With no complaint decided, the most complaint-like customer turn counts "
                                      "when it reaches this share of the threshold and the agent's reply "
                                      "corroborates it: one of `support_kinds` at `support_level` or more (and "
                                      "at least its threshold) in the next two turns. Chosen out of fold by "
                                      "training (train_detect.choose_support), as is the level.")
    support_level: float = Field(0.5, ge=0, le=1, description="The probability a corroborating kind must reach.")
    support_kinds: list[str] = Field(default_factory=list, description="The agent kinds that corroborate a "
                                                                         "complaint under the threshold.")

    @model_validator(mode="after")
    def _known_kinds(self) -> "Episodes":
        unknown = set(self.support_kinds) - set(EVENT_KINDS)
        if unknown:
            raise ValueError(f"unknown support kinds {sorted(unknown)}")
        return self


class DetectorModel(_Record):
    """A trained detector file."""

    format: Literal["callqa-detector/1"]
    seed: int
    training: dict[str, int | float | str | list[str]] = Field(default_factory=dict,
                                                               description="What it was trained on (counts, folders).")
    kinds: dict[str, KindModel]
    # Absent in files written before it: those decide episodes by the threshold alone, as they were trained.
    episodes: Episodes = Field(default_factory=Episodes)

    @model_validator(mode="after")
    def _known(self) -> "DetectorModel":
        unknown = set(self.kinds) - set(EVENT_KINDS)
        if unknown:
            raise ValueError(f"unknown kinds {sorted(unknown)}; allowed: {', '.join(EVENT_KINDS)}")
        return self

    def columns(self, names: tuple[str, ...], kinds: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """Kind -> indices of its features among `names` (a call's feature names), for `kinds` (default all).

        Raises:
            ModelUnavailableError: the model reads a feature the configured lexicons do not give.
        """
        index = {n: i for i, n in enumerate(names)}
        out = {}
        for kind, model in self.kinds.items():
            if kinds is not None and kind not in kinds:
                continue
            missing = [f for f in model.features if f not in index]
            if missing:
                raise ModelUnavailableError(
                    f"the detector model reads feature '{missing[0]}' that the configured lexicons do not give;"
                    " retrain it with `callqa detect train` on these lexicons", model="detector")
            out[kind] = np.array([index[f] for f in model.features], dtype=np.intp)
        return out


def load_detector(path: Path, sha256: str | None = None) -> DetectorModel:
    """Read and validate a detector model file, checking its hash first.

    Args:
        path: the JSON file.
        sha256: its expected sha256 (from models/manifest.yaml or the site config); None skips the check.

    Raises:
        ModelUnavailableError: missing, unreadable, hash mismatch or not a detector model.
    """
    from pipeline.models import sha256_file

    if not path.is_file():
        raise ModelUnavailableError(f"detector model file {path} does not exist", model="detector")
    if sha256 is not None and sha256_file(path) != sha256:
        raise ModelUnavailableError(
            f"{path} does not match its sha256 in the configuration; the file is corrupt or not the model the "
            "configuration names: put back the trained file or set the hash `callqa detect train` printed",
            model="detector")
    try:
        return DetectorModel.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelUnavailableError(f"{path} is not a callqa detector model ({type(e).__name__})", model="detector") from e


def _probability(model: KindModel, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    score = rows[:, columns] @ np.asarray(model.coef) + model.intercept
    z = model.calibration.a * score + model.calibration.b
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def score_call(model: DetectorModel, features: CallFeatures) -> np.ndarray:
    """Calibrated probabilities of every kind on every turn of one call.

    Args:
        model: the detector model.
        features: the call's base features.

    Returns:
        (n_turns, len(EVENT_KINDS)) probabilities; 0 where the kind cannot occur (a customer
        turn for an agent kind and the reverse, an apology whose only cue is negated) or the
        model has no classifier for it.
    """
    n = features.matrix.shape[0]
    out = np.zeros((n, len(EVENT_KINDS)))
    if n == 0:
        return out
    customer = ~features.agent
    col = EVENT_KINDS.index(COMPLAINT)
    if COMPLAINT in model.kinds:
        columns = model.columns(features.names, (COMPLAINT,))
        out[:, col] = np.where(customer, _probability(model.kinds[COMPLAINT], features.matrix, columns[COMPLAINT]), 0.0)
    names, rows = with_complaint_state(features, out[:, col])
    columns = model.columns(names, tuple(k for k in model.kinds if k != COMPLAINT))
    for kind, kind_model in model.kinds.items():
        if kind == COMPLAINT:
            continue
        mask = customer if kind in CUSTOMER_KINDS else features.agent
        if kind in _NEGATION_VETO and f"lex:{kind}:neg" in features.names:
            mask = mask & (features.matrix[:, features.names.index(f"lex:{kind}:neg")] == 0)
        out[:, EVENT_KINDS.index(kind)] = np.where(mask, _probability(kind_model, rows, columns[kind]), 0.0)
    return out


def decide(probabilities: np.ndarray, thresholds: dict[str, float], episodes: Episodes = Episodes()) -> np.ndarray:
    """Which (turn, kind) pairs fire.

    Args:
        probabilities: (n_turns, len(EVENT_KINDS)) from `score_call`.
        thresholds: kind -> threshold; a kind not named never fires.
        episodes: where complaint episodes start (`Episodes`); the default: at the first turn over the threshold.

    Returns:
        (n_turns, len(EVENT_KINDS)) bool. LASS stages fire only after the first complaint
        (a false complaint would make every stage after it false too, hence the complaint's own
        precision-first threshold; `episodes` reads onsets under it); of two readings that do not go
        together on one turn (`_EXCLUSIVE`: an up-sell or a cross-sell, a solution or the listening,
        ID&V or recap) the likelier is kept.
    """
    fired = np.zeros(probabilities.shape, dtype=bool)
    for kind, threshold in thresholds.items():
        j = EVENT_KINDS.index(kind)
        fired[:, j] = probabilities[:, j] >= threshold
    if COMPLAINT in thresholds:
        j, limit = EVENT_KINDS.index(COMPLAINT), thresholds[COMPLAINT]
        complaint = probabilities[:, j]
        decided = np.flatnonzero(fired[:, j])
        if len(decided) and episodes.onset_factor is not None:
            fired[: decided[0], j] = complaint[: decided[0]] >= episodes.onset_factor * limit
        elif not len(decided) and episodes.apology_factor is not None and "lass.apologise" in thresholds:
            onset = int(np.argmax(complaint))
            apology = probabilities[onset + 1:, EVENT_KINDS.index("lass.apologise")] >= thresholds["lass.apologise"]
            if complaint[onset] >= episodes.apology_factor * limit and apology.any():
                fired[onset, j] = True
        if not len(decided) and not fired[:, j].any() and episodes.support_factor is not None:
            onset = int(np.argmax(complaint))
            if complaint[onset] >= episodes.support_factor * limit and _corroborated(
                    probabilities[onset + 1: onset + 3], thresholds, episodes.support_kinds, episodes.support_level):
                fired[onset, j] = True
    complaints = np.flatnonzero(fired[:, EVENT_KINDS.index(COMPLAINT)])
    onset = complaints[0] if len(complaints) else probabilities.shape[0]
    for kind in LASS_KINDS:
        fired[: onset + 1, EVENT_KINDS.index(kind)] = False
    for a, b in _EXCLUSIVE:
        ia, ib = EVENT_KINDS.index(a), EVENT_KINDS.index(b)
        both = fired[:, ia] & fired[:, ib]
        a_wins = probabilities[:, ia] >= probabilities[:, ib]
        fired[both & a_wins, ib] = False
        fired[both & ~a_wins, ia] = False
    return fired


def _corroborated(rows: np.ndarray, thresholds: dict[str, float], kinds: list[str], level: float) -> bool:
    """Whether any of `kinds` is decided at `level` or more on any of `rows` (raw probabilities, before
    the LASS gate, which is what the corroboration decides)."""
    return any(kind in thresholds and bool((rows[:, EVENT_KINDS.index(kind)] >= max(thresholds[kind], level)).any())
               for kind in kinds)


def decided_hits(analysis: CallAnalysis, features: CallFeatures, probabilities: np.ndarray,
                 fired: np.ndarray) -> list[Hit]:
    """Hits for the fired (turn, kind) pairs, each with the sentence that shows it best as evidence:
    the lexicon rule's sentence when the rule also found the kind there, else the sentence with a
    cue of the kind and the closest to its exemplars. The confidence is the calibrated probability."""
    by_rule = {(h.turn_index, h.kind): h.sentence for h in features.hits}
    hits = []
    for turn, j in zip(*np.nonzero(fired)):
        kind = EVENT_KINDS[j]
        sentence = by_rule.get((int(turn), kind))
        if sentence is None:
            sentences = analysis.turn_sentences(int(turn))
            if not sentences:
                continue
            sentence = max(sentences, key=lambda s: (s.scores[kind].cue, s.scores[kind].similarity)
                           if kind in s.scores else (False, -1.0))
        hits.append(Hit(kind, int(turn), sentence, round(float(probabilities[turn, j]), 3)))
    return sorted(hits, key=lambda h: (h.turn_index, h.kind))
