"""Train and measure the turn-sentiment classifier (pipeline/detect/sentiment.py).

Labels: every customer turn of the labelled scripts that carries `sentiment:` (tests/data/SCHEMA.md).
A turn's text is redacted the way the pipeline redacts it (each labelled PII span becomes its
`<TYPE>` placeholder), so the classifier learns from what it will see in a result.

`train` fits one multinomial logistic regression per setting of a small grid (C, class weights)
on the training folders and keeps the one with the best macro F1 on the development folders:
the test folders are never read here. `evaluate` scores a model and the VADER baseline on the
same turns, side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from pipeline.detect.sentiment import (
    FORMAT,
    LABELS,
    SentimentModel,
    feature_names,
    predict_proba,
    turn_features,
    vader_label,
)
from pipeline.errors import InputError
from pipeline.lab.scripts import ScriptTurn, load_scripts

__all__ = ["feature_models", "LabelledTurns", "Figures", "SentimentEvaluation", "labelled_turns", "train", "evaluate", "redacted_text",
           "GRID_C", "ENCODER"]

ENCODER = "all-minilm-l6-v2"
GRID_C: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
_GRID_WEIGHT: tuple[str | None, ...] = (None, "balanced")


@dataclass(frozen=True)
class LabelledTurns:
    texts: list[str]
    labels: list[str]
    calls: int


class Figures(BaseModel):
    accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float]


class SentimentEvaluation(BaseModel):
    """One folder's figures for the classifier and for VADER on the same labelled turns."""

    turns: int
    calls: int
    support: dict[str, int] = Field(description="Labelled turns per class.")
    classifier: Figures
    vader: Figures


def feature_models() -> tuple[Any, Any]:
    """The run's sentence encoder (as DetectModels.embed) and VADER, loaded as the detect stage loads
    them, without the rest of its models (spaCy, lexicons, trained detectors)."""
    from pipeline.detect import DetectModels
    from pipeline.detect.options import ModelChoice
    from pipeline.detect.models import _load_encoder, _load_sentiment

    choice = ModelChoice()
    encoder, _ = _load_encoder(choice.sentence_embedding, choice.torch_threads)
    bare = DetectModels(nlp=None, encoder=encoder, lexicons={}, batch_size=choice.batch_size)
    return bare.embed, _load_sentiment(choice.sentiment or "vader-lexicon")[0]


def redacted_text(turn: ScriptTurn) -> str:
    """The turn as the pipeline would hand it on: each labelled PII span replaced by <TYPE>."""
    text = turn.text
    for span in sorted(turn.pii, key=lambda s: len(s.text), reverse=True):
        text = text.replace(span.text, f"<{span.type}>")
    return text


def labelled_turns(folders: Sequence[Path]) -> LabelledTurns:
    """Every turn carrying a sentiment label in the scripts of `folders`.

    Raises:
        InputError: a folder is missing or holds no script, or no turn is labelled.
        ConfigError: a script is invalid.
    """
    texts, labels, calls = [], [], 0
    for folder in folders:
        for script in load_scripts(folder):
            calls += 1
            for turn in script.turns:
                if turn.sentiment is not None:
                    texts.append(redacted_text(turn))
                    labels.append(turn.sentiment)
    if not texts:
        raise InputError("no turn carries a sentiment label", path=", ".join(map(str, folders)), reason="empty")
    return LabelledTurns(texts=texts, labels=labels, calls=calls)


def _figures(truth: Sequence[str], predicted: Sequence[str]) -> Figures:
    from sklearn.metrics import accuracy_score, f1_score

    per_class = f1_score(truth, predicted, labels=list(LABELS), average=None, zero_division=0)
    return Figures(
        accuracy=round(float(accuracy_score(truth, predicted)), 4),
        macro_f1=round(float(f1_score(truth, predicted, labels=list(LABELS), average="macro", zero_division=0)), 4),
        per_class_f1={label: round(float(v), 4) for label, v in zip(LABELS, per_class)},
    )


def _fit(x: np.ndarray, y: np.ndarray, c: float, weight: str | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and intercepts on the raw features (the standardisation folded in)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-12] = 1.0
    clf = LogisticRegression(C=c, class_weight=weight, max_iter=5000, random_state=seed)
    clf.fit((x - mean) / scale, y)
    order = [list(clf.classes_).index(label) for label in LABELS]
    coef = clf.coef_[order] / scale
    intercept = clf.intercept_[order] - (clf.coef_[order] * mean / scale).sum(axis=1)
    return coef, intercept


def _model(coef: np.ndarray, intercept: np.ndarray, names: list[str], trained: dict[str, Any]) -> SentimentModel:
    return SentimentModel(format=FORMAT, labels=list(LABELS), encoder=ENCODER, features=names,  # type: ignore[arg-type]
                          coef=[[round(float(v), 8) for v in row] for row in coef],
                          intercept=[round(float(v), 8) for v in intercept], trained=trained)


def _predict(model: SentimentModel, x: np.ndarray) -> list[str]:
    return [LABELS[i] for i in predict_proba(model, x).argmax(axis=1)]


def train(train_dirs: Sequence[Path], dev_dirs: Sequence[Path], *, embed: Any, vader: Any,
          seed: int = 0) -> tuple[SentimentModel, SentimentEvaluation]:
    """Fit on `train_dirs`, choose C and class weights on `dev_dirs`.

    Args:
        train_dirs: folders of labelled scripts to fit on.
        dev_dirs: folders to choose the setting on (and to report).
        embed: DetectModels.embed (the run's encoder, so features match at run time).
        vader: a vaderSentiment SentimentIntensityAnalyzer.
        seed: the solver's random state (recorded in the model).

    Returns:
        The chosen model and its development figures beside VADER's.
    """
    tr, dv = labelled_turns(train_dirs), labelled_turns(dev_dirs)
    x_tr, x_dv = turn_features(tr.texts, embed, vader), turn_features(dv.texts, embed, vader)
    names = feature_names(x_tr.shape[1] - len(feature_names(0)))
    y_tr = np.asarray(tr.labels)
    best: tuple[float, SentimentModel] | None = None
    for c in GRID_C:
        for weight in _GRID_WEIGHT:
            coef, intercept = _fit(x_tr, y_tr, c, weight, seed)
            model = _model(coef, intercept, names, {})
            f = _figures(dv.labels, _predict(model, x_dv))
            # Ties go to the stronger regularisation (the earlier, smaller C): it generalises further.
            if best is None or f.macro_f1 > best[0] + 1e-9:
                best = (f.macro_f1, model.model_copy(update={"trained": {"C": c, "class_weight": weight}}))
    assert best is not None
    chosen = best[1]
    report = _evaluation(dv, x_dv, chosen, vader)
    trained = {**chosen.trained, "seed": seed, "train_turns": len(tr.texts), "train_calls": tr.calls,
               "train": [Path(d).name for d in train_dirs], "dev": [Path(d).name for d in dev_dirs],
               "dev_accuracy": report.classifier.accuracy, "dev_macro_f1": report.classifier.macro_f1,
               "dev_vader_accuracy": report.vader.accuracy, "dev_vader_macro_f1": report.vader.macro_f1}
    return chosen.model_copy(update={"trained": trained}), report


def _evaluation(data: LabelledTurns, x: np.ndarray, model: SentimentModel, vader: Any) -> SentimentEvaluation:
    baseline = [vader_label(vader.polarity_scores(t)["compound"]) for t in data.texts]
    return SentimentEvaluation(
        turns=len(data.texts), calls=data.calls,
        support={label: data.labels.count(label) for label in LABELS},
        classifier=_figures(data.labels, _predict(model, x)),
        vader=_figures(data.labels, baseline),
    )


def evaluate(folders: Sequence[Path], model: SentimentModel, *, embed: Any, vader: Any) -> SentimentEvaluation:
    """Accuracy and macro F1 of `model` and of VADER on the labelled turns of `folders`."""
    data = labelled_turns(folders)
    return _evaluation(data, turn_features(data.texts, embed, vader), model, vader)
