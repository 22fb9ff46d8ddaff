"""Customer experience per turn, added to a result after the detect stage (issue #18).

    options = load_experience_options()                 # configs/experience.yaml
    result = add_experience(result, audio, options, embed=models.embed, vader=models.sentiment)

Every turn gets a sentiment (pipeline/detect/sentiment.py); the metrics get the customer's
sentiment trajectory; an audio input's turns get a loudness in LUFS and a speaking rate, and
markedly loud customer turns become voice.raised events (pipeline/detect/loudness.py). Events
are appended, so the indexes LASS assessments hold stay valid.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from pipeline.config import Options, configs_dir, load_yaml_model
from pipeline.detect.loudness import LoudnessOptions, raised_voice_events, speaking_rates, turn_loudness
from pipeline.detect.sentiment import (
    Embed,
    SentimentModel,
    load_sentiment_model,
    predict_proba,
    sentiments_from_proba,
    trajectory,
    turn_features,
)
from pipeline.schema import CallResult, ModelRef

__all__ = ["SentimentOptions", "ExperienceOptions", "load_experience_options", "sentiment_model", "add_experience"]


class SentimentOptions(Options):
    model: str | None = Field("turn-sentiment", description="Manifest name of the turn classifier; None: no sentiment.")


class ExperienceOptions(Options):
    """configs/experience.yaml."""

    sentiment: SentimentOptions = SentimentOptions()
    loudness: LoudnessOptions = LoudnessOptions()


def load_experience_options(path: Path | str | None = None, *, overrides: dict[str, Any] | None = None) -> ExperienceOptions:
    """configs/experience.yaml (or `path`), with `overrides` deep-merged over it.

    Raises:
        ConfigError: the file is unreadable, not YAML, or has an unknown key or a bad value.
    """
    file = Path(path) if path is not None else configs_dir() / "experience.yaml"
    return load_yaml_model(ExperienceOptions, file, overrides=overrides)


@lru_cache(maxsize=4)
def sentiment_model(name: str) -> tuple[SentimentModel, ModelRef]:
    """The manifest's classifier `name`, hash-checked, once per process."""
    return load_sentiment_model(name)


def add_experience(result: CallResult, audio: np.ndarray | None, options: ExperienceOptions, *,
                   embed: Embed, vader: Any, sample_rate: int = 16000) -> CallResult:
    """`result` with turn sentiment, the trajectory metric and, for audio, loudness, rate and voice.raised.

    Args:
        result: a result after detect (redacted turns, events, metrics).
        audio: the recording, (channels, samples) at `sample_rate`; None for a transcript input.
        options: configs/experience.yaml.
        embed: the detect stage's sentence encoder (DetectModels.embed).
        vader: a vaderSentiment analyser (DetectModels.sentiment).

    Raises:
        ModelUnavailableError: the classifier is missing, fails its hash check, or does not fit the encoder.
    """
    turns = list(result.turns)
    models = list(result.pipeline.models)
    if vader is None:  # the detect stage's valence signal is switched off; the classifier still reads VADER
        from pipeline.detect.models import _load_sentiment

        vader = _load_sentiment("vader-lexicon")[0]
    metrics = result.metrics
    if options.sentiment.model is not None and turns:
        model, ref = sentiment_model(options.sentiment.model)
        found = sentiments_from_proba(predict_proba(model, turn_features([t.text for t in turns], embed, vader)))
        turns = [t.model_copy(update={"sentiment": s}) for t, s in zip(turns, found)]
        metrics = metrics.model_copy(update={"customer_sentiment_trajectory": trajectory(turns)})
        models = [m for m in models if m.name != ref.name] + [ref]
    events = list(result.events)
    if audio is not None and options.loudness.enabled and turns:
        loudness = turn_loudness(audio, sample_rate, turns)
        rates = speaking_rates(turns)
        turns = [t.model_copy(update={"loudness_lufs": lu, "speaking_rate_wps": r})
                 for t, lu, r in zip(turns, loudness, rates)]
        events += raised_voice_events(turns, loudness, options.loudness)
    pipeline_info = result.pipeline.model_copy(update={"models": models})
    return result.model_copy(update={"turns": turns, "metrics": metrics, "events": events, "pipeline": pipeline_info})
