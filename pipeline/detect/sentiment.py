"""Turn sentiment: how the speaker comes across in each turn, as a label and a score in [-1, 1].

A multinomial logistic regression over three groups of features of a turn's (redacted) text:
the sentence embedding the detect stage already computes (all-MiniLM-L6-v2), VADER's four
scores, and a few surface cues that neither sees well in speech-to-text ("!", shouting in
capitals, thanks). `callqa detect train-sentiment` fits it on the labelled scripts
(pipeline/lab/train_sentiment.py); the shipped model is pipeline/detect/trained/sentiment.json,
listed with its sha256 in models/manifest.yaml as `turn-sentiment`.

JSON, not pickle: a site may point its configuration at another model file, and loading a pickle
runs code. The coefficients are stored on the raw features (the training scaler is folded in),
so scoring is one matrix product: numpy only, no scikit-learn at run time.

score = P(positive) - P(negative); label = the likeliest class. The customer's trajectory is the
mean customer score of the call's last third minus its first third.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import ModelUnavailableError
from pipeline.schema import Turn, TurnSentiment

__all__ = [
    "Embed",
    "FORMAT",
    "LABELS",
    "VADER_BAND",
    "SentimentModel",
    "feature_names",
    "turn_features",
    "predict_proba",
    "sentiments_from_proba",
    "vader_label",
    "load_sentiment_model",
    "read_sentiment_model",
    "trajectory",
]

FORMAT = "callqa-sentiment/1"
LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
# VADER's customary neutral band on the compound score (Hutto & Gilbert): the baseline's labels.
VADER_BAND = 0.05

Embed = Callable[[list[str]], np.ndarray]

_VADER = ("vader:neg", "vader:neu", "vader:pos", "vader:compound")
_CUES = ("cue:exclaim", "cue:question", "cue:caps", "cue:thanks", "cue:words", "cue:placeholders")
_THANKS = re.compile(r"\b(thanks?|thank you|cheers|ta|brilliant|lovely|perfect|fantastic|appreciate[ds]?|great|diolch)\b",
                     re.IGNORECASE)
_PLACEHOLDER = re.compile(r"<[A-Z_]+>")
_WORD = re.compile(r"[A-Za-z']+|\d+")


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SentimentModel(_Record):
    """The turn classifier as stored in JSON."""

    format: Literal["callqa-sentiment/1"] = FORMAT
    labels: list[Literal["negative", "neutral", "positive"]] = Field(description="Class order of `coef` rows.")
    encoder: str = Field(description="Manifest name of the sentence-embedding model the features were made with.")
    features: list[str] = Field(min_length=1, description="Feature names, in the order of `coef` columns.")
    coef: list[list[float]] = Field(description="(classes, features) coefficients on the raw features.")
    intercept: list[float]
    trained: dict[str, Any] = Field(default_factory=dict, description="How it was made: data, seed, C, dev figures.")

    @model_validator(mode="after")
    def _shape(self) -> "SentimentModel":
        if sorted(self.labels) != sorted(LABELS):
            raise ValueError(f"labels must be {', '.join(LABELS)} in some order")
        if len(self.coef) != len(self.labels) or len(self.intercept) != len(self.labels):
            raise ValueError("coef and intercept need one row per label")
        if any(len(row) != len(self.features) for row in self.coef):
            raise ValueError("every coef row needs one value per feature")
        if not all(math.isfinite(v) for row in self.coef for v in row) or not all(map(math.isfinite, self.intercept)):
            raise ValueError("coefficients must be finite")
        return self


def feature_names(embedding_dim: int) -> list[str]:
    """The feature columns, in order: embedding dimensions, VADER's scores, surface cues."""
    return [f"emb:{i}" for i in range(embedding_dim)] + list(_VADER) + list(_CUES)


def _cues(text: str) -> list[float]:
    words = _WORD.findall(_PLACEHOLDER.sub(" ", text))
    # Shouting: words of two or more letters written in capitals ("ANOTHER", not "I" or "OK").
    caps = sum(1 for w in words if len(w) >= 3 and w.isalpha() and w.isupper())
    placeholders = len(_PLACEHOLDER.findall(text))
    n = len(words) + placeholders
    return [
        min(text.count("!"), 3) / 3.0,
        1.0 if "?" in text else 0.0,
        caps / max(len(words), 1),
        1.0 if _THANKS.search(text) else 0.0,
        math.log1p(n) / 5.0,
        placeholders / max(n, 1),  # an ID&V answer that is all redacted values reads neutral
    ]


def turn_features(texts: Sequence[str], embed: Embed, vader: Any) -> np.ndarray:
    """The feature matrix of `texts`: (len(texts), len(feature_names(dim))) float64.

    Args:
        texts: the turns' (redacted) texts.
        embed: L2-normalised sentence embeddings (DetectModels.embed).
        vader: a vaderSentiment SentimentIntensityAnalyzer.
    """
    texts = list(texts)
    emb = np.asarray(embed(texts), dtype=np.float64)
    rows = []
    for text in texts:
        s = vader.polarity_scores(text)
        rows.append([s["neg"], s["neu"], s["pos"], s["compound"], *_cues(text)])
    extra = np.asarray(rows, dtype=np.float64).reshape(len(texts), len(_VADER) + len(_CUES))
    return np.hstack([emb.reshape(len(texts), -1), extra])


def predict_proba(model: SentimentModel, features: np.ndarray) -> np.ndarray:
    """(n, 3) class probabilities in LABELS order (softmax of the linear scores)."""
    if features.shape[1] != len(model.features):
        raise ModelUnavailableError(
            f"the sentiment model reads {len(model.features)} features, the encoder gives {features.shape[1]}: "
            "retrain it with `callqa detect train-sentiment` for this encoder", model="turn-sentiment")
    logits = features @ np.asarray(model.coef, dtype=np.float64).T + np.asarray(model.intercept, dtype=np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    order = [model.labels.index(label) for label in LABELS]
    return p[:, order]


def sentiments_from_proba(proba: np.ndarray) -> list[TurnSentiment]:
    """One TurnSentiment per row: score P(positive) - P(negative), label the likeliest class."""
    out = []
    for row in proba:
        score = float(np.clip(row[2] - row[0], -1.0, 1.0))
        out.append(TurnSentiment(score=round(score, 4), label=LABELS[int(np.argmax(row))]))  # type: ignore[arg-type]
    return out


def vader_label(compound: float, band: float = VADER_BAND) -> str:
    """The baseline: VADER's compound score read with its customary neutral band."""
    if compound >= band:
        return "positive"
    if compound <= -band:
        return "negative"
    return "neutral"


def read_sentiment_model(path: Path) -> SentimentModel:
    """Read and validate a model file.

    Raises:
        ModelUnavailableError: the file is missing, not JSON, or not a callqa-sentiment/1 model.
    """
    try:
        return SentimentModel.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    except OSError as e:
        raise ModelUnavailableError(f"cannot read {path} ({e.strerror})", model="turn-sentiment") from e
    except (ValueError, ValidationError) as e:
        # No excerpt of the file: the message names the file and what is wrong with its shape.
        raise ModelUnavailableError(f"{path} is not a {FORMAT} model ({type(e).__name__}); "
                                    "write one with `callqa detect train-sentiment`", model="turn-sentiment") from e


def load_sentiment_model(name: str) -> tuple[SentimentModel, Any]:
    """The manifest model `name` (its sha256 checked) and its ModelRef for the result's provenance.

    Raises:
        ModelUnavailableError: unknown name, missing file, hash mismatch or a malformed file.
    """
    from pipeline.models import resolve_model

    resolved = resolve_model(name)
    files = list(resolved.entry.files) or ["sentiment.json"]
    return read_sentiment_model(resolved.path / files[0]), resolved.ref


def trajectory(turns: Sequence[Turn]) -> float | None:
    """Mean customer sentiment of the last third of the call minus that of the first third.

    Thirds are of the customer's scored turns, in call order (a call's length in time would put
    a long hold in one third). None with fewer than two such turns: there is no movement to read.
    """
    scores = [t.sentiment.score for t in turns if t.speaker == "customer" and t.sentiment is not None]
    if len(scores) < 2:
        return None
    k = max(1, len(scores) // 3)
    return round(float(np.mean(scores[-k:]) - np.mean(scores[:k])), 4)
