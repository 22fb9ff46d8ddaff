"""The detect stage: turns (redacted) -> events with evidence, timing metrics, SLA results, LASS."""

from __future__ import annotations

import logging

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.detect.analyse import analyse_call
from pipeline.detect.behaviours import DETECTOR_VERSION, detect_behaviours, hits_to_events, sentence_confidence
from pipeline.detect.features import call_features
from pipeline.detect.learned import LEARNED_VERSION, decide, decided_hits, score_call
from pipeline.detect.lass import LassAssessment, assess_lass
from pipeline.detect.models import DetectModels
from pipeline.detect.options import CHANNELS, DetectOptions
from pipeline.detect.sla import evaluate_sla
from pipeline.detect.timing import measure
from pipeline.errors import InputError
from pipeline.schema import Event, Metrics, SlaResult, Turn

__all__ = ["Detection", "detect", "detect_scored"]

log = logging.getLogger(__name__)


class Detection(BaseModel):
    """What the detect stage concluded about one call."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    events: list[Event] = Field(description="Behaviour events ordered by turn; evidence quotes are redacted text.")
    metrics: Metrics = Field(description="Timing metrics (timing fields None when the turns have no times).")
    sla: list[SlaResult] = Field(description="The channel's SLA / compliance rules.")
    lass: list[LassAssessment] = Field(description="One LASS assessment per complaint episode.")


def _disclosure_turns(analysis, options: DetectOptions, greeting_turns: set[int]) -> list[int]:
    rule = options.rule("account_disclosure")
    found = []
    for turn in analysis.turns:
        if turn.speaker != "agent" or turn.index in greeting_turns:
            continue
        if any(sentence_confidence(s, "account_disclosure", rule) for s in analysis.turn_sentences(turn.index)):
            found.append(turn.index)
    return found


def detect(
    turns: list[Turn],
    *,
    channel_type: str,
    options: DetectOptions,
    models: DetectModels,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
) -> Detection:
    """Find the behaviours, timings and SLA results of one call.

    Args:
        turns: the call's turns, redacted, `turns[i].index == i`; times may be None (transcripts).
        channel_type: telephone | face_to_face | digital; selects the channel's rules.
        options: detect options (configs/detect.yaml, sla.yaml, lexicons).
        models: from `load_detect_models(options)`; with a trained detector (models.detector) the
            per-kind classifiers decide, else the lexicon rules.
        audio: optional float32 audio, shape (channels, samples), to time turns, overtalk and holds
            from the signal (docs/timing.md).
        sample_rate: sample rate of `audio`.

    Returns:
        The call's Detection.

    Raises:
        InputError: an unknown channel type, or turns whose indices are not 0..n-1.
    """
    return detect_scored(turns, channel_type=channel_type, options=options, models=models, audio=audio,
                         sample_rate=sample_rate)[0]


def detect_scored(
    turns: list[Turn],
    *,
    channel_type: str,
    options: DetectOptions,
    models: DetectModels,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
) -> tuple[Detection, np.ndarray | None]:
    """`detect`, and the classifiers' calibrated probability of every kind on every turn
    ((n_turns, len(EVENT_KINDS)); None when the rules decide), for calibration checks."""
    if channel_type not in CHANNELS:
        raise InputError(f"unknown channel type; allowed: {', '.join(CHANNELS)}", path="<turns>", reason="bad_channel")
    for position, turn in enumerate(turns):
        if turn.index != position:
            raise InputError("turn indices must be 0..n-1 in order", path="<turns>", reason="bad_turns")
    analysis = analyse_call(turns, models)
    probabilities = None
    if models.detector is None or not turns:
        # No turns (a silent recording): nothing for a classifier to score, and its features need a turn.
        hits = detect_behaviours(analysis, options, channel_type)
    else:
        features = call_features(analysis, options, channel_type)
        probabilities = score_call(models.detector, features)
        thresholds = {kind: m.threshold for kind, m in models.detector.kinds.items()}
        hits = decided_hits(analysis, features, probabilities,
                            decide(probabilities, thresholds, models.detector.episodes))
    events = hits_to_events(hits, turns, options, version=DETECTOR_VERSION if models.detector is None else LEARNED_VERSION)
    metrics = measure(turns, events, options.timing, audio=audio, sample_rate=sample_rate)
    greeting_turns = {e.turn_index for e in events if e.kind == "call.greeting"}
    # Account facts read out before ID&V count only up to the first ID&V turn.
    first_idv = min((e.turn_index for e in events if e.kind == "call.idv"), default=None)
    disclosures = [i for i in _disclosure_turns(analysis, options, greeting_turns) if first_idv is None or i < first_idv]
    sla = evaluate_sla(turns, events, metrics, options.sla.get(channel_type) or options.sla["telephone"],
                       disclosure_turns=disclosures)
    return Detection(events=events, metrics=metrics, sla=sla, lass=assess_lass(events)), probabilities
