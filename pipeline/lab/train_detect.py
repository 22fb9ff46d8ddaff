"""Training the learned detectors (pipeline/detect/learned.py) on labelled call scripts.

    calls = prepare_calls(load_scripts(folder), options=options, models=models)
    model, report = fit_detector(train_calls, dev_calls, seed=0)
    Path("detector.json").write_text(model_json(model))

Per kind, a logistic regression over the turn features (pipeline/detect/features.py), on the
turns of the kind's speaker. Its regularisation is chosen by grouped cross-validation on the
training calls (folds never split a call), and the out-of-fold scores fit its Platt calibration,
so the probabilities describe calls the classifier did not see. complaint.raised is trained
first; the agent kinds then read the complaint state built from the out-of-fold complaint
probabilities, as they will read it from the live ones.

Thresholds are chosen on the development calls (never on the training ones when there are
any): complaint.raised is the smallest threshold whose call-level precision is at least
`complaint_precision` (a false complaint makes its LASS stages false too), every other kind the
one with the best call-level F1 given the complaint decisions. Without development calls the
out-of-fold probabilities stand in for them.

Same calls, same lexicons, same seed: the same bytes (`model_json` rounds and sorts).
scikit-learn is imported here only: detection reads the JSON with numpy alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.detect.analyse import analyse_call
from pipeline.detect.features import CUSTOMER_KINDS, CallFeatures, call_features, with_complaint_state
from pipeline.detect.learned import COMPLAINT, FORMAT, DetectorModel, Episodes, KindModel, Platt, decide, score_call
from pipeline.detect.models import DetectModels
from pipeline.detect.options import DetectOptions
from pipeline.lab.eval_detect import script_turns
from pipeline.errors import InputError
from pipeline.lab.scripts import CallScript, load_scripts
from pipeline.progress import ProgressHook
from pipeline.schema import EVENT_KINDS

__all__ = ["LabelledCall", "prepare_calls", "fit_detector", "model_json", "choose_thresholds", "call_micro_f1",
           "choose_support", "fit_kinds", "TrainReport", "learning_curve", "load_labelled", "train_to_file",
           "plot_learning_curve"]

_C_GRID = (0.02, 0.1)
_FOLDS = 4
_MIN_POSITIVES = 4
_THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.025), 3)
_K = {k: i for i, k in enumerate(EVENT_KINDS)}
# Where complaint episodes start (learned.Episodes), chosen leave-one-author-out on the training
# corpus (docs/detection.md): a polite first complaint under the threshold before an angrier one
# over it, and a complaint only the agent's apology shows.
EPISODES = Episodes(onset_factor=0.5, apology_factor=0.2)
# A complaint under the threshold that the agent's reply corroborates (learned.Episodes, round 6): the
# kinds that corroborate, chosen leave-one-author-out (an apology already has its own rule, empathy
# follows bereavements and worries as often as complaints); the factor and level are chosen out of fold
# from these grids (choose_support).
SUPPORT_KINDS: tuple[str, ...] = ("lass.solve",)
_SUPPORT_FACTORS = np.round(np.arange(0.5, 0.951, 0.05), 3)
_SUPPORT_LEVELS = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class LabelledCall:
    """One script's features and its turn labels."""

    call_id: str
    features: CallFeatures
    labels: np.ndarray  # (n_turns, len(EVENT_KINDS)) bool


def prepare_calls(calls: Sequence[CallScript], *, options: DetectOptions, models: DetectModels,
                  progress: ProgressHook | None = None) -> list[LabelledCall]:
    """Analyse every script once (spaCy, embeddings, lexicons) into features and labels, in call-id order."""
    out = []
    for done, call in enumerate(sorted(calls, key=lambda c: c.call_id), start=1):
        turns = script_turns(call)
        features = call_features(analyse_call(turns, models), options, call.channel_type)
        labels = np.zeros((len(turns), len(EVENT_KINDS)), dtype=bool)
        for i, turn in enumerate(call.turns):
            for kind in turn.labels:
                labels[i, _K[kind]] = True
        out.append(LabelledCall(call.call_id, features, labels))
        if progress:
            progress("calls", done, len(calls))
    return out


def _rows(calls: Sequence[LabelledCall], kind: str, complaint: Sequence[np.ndarray] | None):
    """(X, y, groups, names) over the turns of the kind's speaker."""
    xs, ys, gs = [], [], []
    names: tuple[str, ...] = calls[0].features.names if calls else ()
    for g, call in enumerate(calls):
        mask = ~call.features.agent if kind in CUSTOMER_KINDS else call.features.agent
        if complaint is None:
            matrix = call.features.matrix
        else:
            names, matrix = with_complaint_state(call.features, complaint[g])
        xs.append(matrix[mask])
        ys.append(call.labels[mask, _K[kind]])
        gs.append(np.full(int(mask.sum()), g))
    return np.vstack(xs), np.concatenate(ys), np.concatenate(gs), names


def _scaled(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return (x - mean) / scale, mean, scale


def _lr(c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000, tol=1e-5)


def _folds(y: np.ndarray, groups: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedGroupKFold

    splits = min(_FOLDS, int(y.sum()), len(np.unique(groups)))
    return list(StratifiedGroupKFold(n_splits=max(2, splits), shuffle=True, random_state=seed).split(y, y, groups))


def _fit_kind(x: np.ndarray, y: np.ndarray, groups: np.ndarray, names: tuple[str, ...], seed: int):
    """The kind's classifier (coefficients on raw features), its Platt map and its out-of-fold probabilities."""
    xs, mean, scale = _scaled(x)
    folds = _folds(y, groups, seed)
    best = None
    for c in _C_GRID:
        oof = np.zeros(len(y))
        for train, test in folds:
            oof[test] = _lr(c).fit(xs[train], y[train]).decision_function(xs[test])
        p = 1.0 / (1.0 + np.exp(-np.clip(oof, -30, 30)))
        loss = -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
        if best is None or loss < best[0] - 1e-9:
            best = (loss, c, oof)
    _, c, oof = best
    platt = _lr(1e4).fit(oof[:, None], y)
    a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    final = _lr(c).fit(xs, y)
    coef = final.coef_[0] / scale
    intercept = float(final.intercept_[0] - np.sum(final.coef_[0] * mean / scale))
    oof_p = 1.0 / (1.0 + np.exp(-np.clip(a * oof + b, -30, 30)))
    return KindModel(features=list(names), coef=[float(v) for v in coef], intercept=intercept,
                     calibration=Platt(a=a, b=b), threshold=0.5), oof_p, c


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _counts(fired: list[np.ndarray], labels: list[np.ndarray], j: int, level: str) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for f, l in zip(fired, labels):
        a, b = (f[:, j], l[:, j]) if level == "turn" else (f[:, j].any(keepdims=True), l[:, j].any(keepdims=True))
        tp += int((a & b).sum())
        fp += int((a & ~b).sum())
        fn += int((~a & b).sum())
    return tp, fp, fn


def call_micro_f1(probabilities: list[np.ndarray], labels: list[np.ndarray], thresholds: dict[str, float],
                  episodes: Episodes = EPISODES) -> float:
    """Call-level micro F1 over the kinds of the decisions `decide` makes."""
    fired = [decide(p, thresholds, episodes) for p in probabilities]
    totals = np.sum([_counts(fired, labels, j, "call") for j in range(len(EVENT_KINDS))], axis=0)
    return _prf(*(int(v) for v in totals))[2]


def choose_thresholds(probabilities: list[np.ndarray], labels: list[np.ndarray], kinds: Sequence[str], *,
                      complaint_precision: float = 0.95, episodes: Episodes = EPISODES) -> dict[str, float]:
    """Per-kind thresholds on a set of calls' probabilities (see the module's docstring).

    Args:
        probabilities: per call, (n_turns, len(EVENT_KINDS)) from `score_call`.
        labels: per call, (n_turns, len(EVENT_KINDS)) bool truth.
        kinds: the kinds that have a classifier.
        complaint_precision: the call-level precision complaint.raised must reach.
        episodes: where complaint episodes start, as the model will decide them.
    """
    thresholds = {k: 0.5 for k in kinds}

    def scores(kind: str, value: float) -> tuple[float, float, float, float]:
        trial = {**thresholds, kind: float(value)}
        fired = [decide(p, trial, episodes) for p in probabilities]
        j = _K[kind]
        call = _prf(*_counts(fired, labels, j, "call"))
        turn = _prf(*_counts(fired, labels, j, "turn"))
        return call[0], call[1], call[2], turn[2]

    order = ([COMPLAINT] if COMPLAINT in kinds else []) + [k for k in kinds if k != COMPLAINT]
    for kind in order:
        table = [(t, *scores(kind, t)) for t in _THRESHOLDS]
        if kind == COMPLAINT:
            precise = [row for row in table if row[1] >= complaint_precision]
            # The most recall at the precision target; if no threshold reaches it, the most precise.
            pick = max(precise, key=lambda r: (r[2], r[4], -abs(r[0] - 0.5))) if precise else \
                max(table, key=lambda r: (r[1], r[2], -abs(r[0] - 0.5)))
        else:
            pick = max(table, key=lambda r: (round(r[3], 6), round(r[4], 6), -abs(r[0] - 0.5)))
        thresholds[kind] = float(pick[0])
    return thresholds


def choose_support(probabilities: list[np.ndarray], labels: list[np.ndarray], thresholds: dict[str, float], *,
                   complaint_precision: float = 0.95, episodes: Episodes = EPISODES,
                   kinds: Sequence[str] = SUPPORT_KINDS) -> Episodes:
    """`episodes` with the support factor and level (learned.Episodes) chosen on a set of calls' probabilities.

    A complaint under the threshold, corroborated by the agent's reply, opens an episode. Of the
    (factor, level) pairs of `_SUPPORT_FACTORS` x `_SUPPORT_LEVELS` whose added calls (complaints the
    threshold and the other rules do not decide) are complaints at least `complaint_precision` of the
    time, the one that adds the most true complaints; of those the highest factor, then level (the
    most cautious that finds them). No support when no pair adds a call at that precision.
    """
    j = _K[COMPLAINT]
    if COMPLAINT not in thresholds or not any(k in thresholds for k in kinds):
        return episodes
    truth = np.array([bool(l[:, j].any()) for l in labels])
    before = np.array([bool(f[:, j].any()) for f in (decide(p, thresholds, episodes) for p in probabilities)])
    best: tuple[int, float, float] | None = None
    for level in _SUPPORT_LEVELS:
        for factor in _SUPPORT_FACTORS:
            trial = episodes.model_copy(update={"support_factor": float(factor), "support_level": float(level),
                                                "support_kinds": list(kinds)})
            after = np.array([bool(f[:, j].any()) for f in (decide(p, thresholds, trial) for p in probabilities)])
            added = after & ~before
            if added.any() and truth[added].mean() >= complaint_precision:
                key = (int(truth[added].sum()), float(factor), float(level))
                best = key if best is None or key > best else best
    if best is None:
        return episodes
    return episodes.model_copy(update={"support_factor": best[1], "support_level": best[2],
                                       "support_kinds": list(kinds)})


@dataclass(frozen=True)
class TrainReport:
    """Figures from training: cross-validated on the training calls and, with dev calls, on those."""

    train_calls: int
    dev_calls: int
    regularisation: dict[str, float]
    cv_call_f1: dict[str, float]  # per kind, out-of-fold on the training calls, at the chosen thresholds
    cv_call_micro_f1: float
    dev_call_micro_f1: float | None


def _digest(calls: Sequence[LabelledCall]) -> str:
    return hashlib.sha256("\n".join(c.call_id for c in calls).encode()).hexdigest()[:16]


def fit_detector(train: Sequence[LabelledCall], dev: Sequence[LabelledCall] = (), *, seed: int = 0,
                 complaint_precision: float = 0.95) -> tuple[DetectorModel, TrainReport]:
    """Train every kind with enough examples; choose thresholds on `dev` (or out-of-fold on `train`).

    Args:
        train: the training calls (their order does not matter: they are sorted by call id).
        dev: development calls for the thresholds; empty: the training calls' out-of-fold probabilities.
        seed: the cross-validation folds' seed.
        complaint_precision: call-level precision target of complaint.raised.

    Returns:
        The model and the training figures.

    Raises:
        InputError: no training calls, or no kind has enough labelled turns.
    """
    from threadpoolctl import threadpool_limits

    # One BLAS thread: threaded sums differ in their last bits between runs, and the file must not.
    with threadpool_limits(1):
        return _fit(train, dev, seed=seed, complaint_precision=complaint_precision)


def fit_kinds(train: Sequence[LabelledCall], *, seed: int = 0
              ) -> tuple[dict[str, KindModel], dict[str, float], list[np.ndarray]]:
    """Every kind's classifier (threshold 0.5 for now), its regularisation and the out-of-fold probabilities
    of the training calls ((n_turns, len(EVENT_KINDS)) per call, in `train`'s order, which must be by call id)."""
    kinds: dict[str, KindModel] = {}
    chosen_c: dict[str, float] = {}
    oof = [np.zeros(c.labels.shape) for c in train]
    complaint_oof = None
    if int(sum(c.labels[:, _K[COMPLAINT]].sum() for c in train)) >= _MIN_POSITIVES:
        x, y, groups, names = _rows(train, COMPLAINT, None)
        kinds[COMPLAINT], p, chosen_c[COMPLAINT] = _fit_kind(x, y, groups, names, seed)
        complaint_oof = [np.zeros(len(c.labels)) for c in train]
        for g, call in enumerate(train):
            complaint_oof[g][~call.features.agent] = p[groups == g]
            oof[g][:, _K[COMPLAINT]] = complaint_oof[g]
    state = complaint_oof or [np.zeros(len(c.labels)) for c in train]
    for kind in EVENT_KINDS:
        if kind == COMPLAINT or int(sum(c.labels[:, _K[kind]].sum() for c in train)) < _MIN_POSITIVES:
            continue
        x, y, groups, names = _rows(train, kind, state)
        kinds[kind], p, chosen_c[kind] = _fit_kind(x, y, groups, names, seed)
        for g, call in enumerate(train):
            oof[g][call.features.agent, _K[kind]] = p[groups == g]
    return kinds, chosen_c, oof


def _fit(train: Sequence[LabelledCall], dev: Sequence[LabelledCall], *, seed: int,
         complaint_precision: float) -> tuple[DetectorModel, TrainReport]:
    train = sorted(train, key=lambda c: c.call_id)
    if not train:
        raise InputError("no training calls", path="<training folders>", reason="empty")
    kinds, chosen_c, oof = fit_kinds(train, seed=seed)
    if not kinds:
        raise InputError(f"no kind has {_MIN_POSITIVES} labelled turns in the training calls; label more calls",
                         path="<training folders>", reason="too_few_labels")
    model = DetectorModel(format=FORMAT, seed=seed, training={}, kinds=kinds, episodes=EPISODES)
    if dev:
        chosen_p, chosen_labels = [score_call(model, c.features) for c in dev], [c.labels for c in dev]
    else:
        chosen_p, chosen_labels = oof, [c.labels for c in train]
    thresholds = choose_thresholds(chosen_p, chosen_labels, list(kinds), complaint_precision=complaint_precision)
    episodes = choose_support(chosen_p, chosen_labels, thresholds, complaint_precision=complaint_precision)
    kinds = {k: m.model_copy(update={"threshold": thresholds[k]}) for k, m in kinds.items()}
    training = {"calls": len(train), "turns": int(sum(len(c.labels) for c in train)), "calls_sha256_16": _digest(train),
                "dev_calls": len(dev), "dev_sha256_16": _digest(dev) if dev else "",
                "complaint_precision": complaint_precision, "thresholds_from": "dev" if dev else "train-oof"}
    model = DetectorModel(format=FORMAT, seed=seed, training=training, kinds=kinds, episodes=episodes)
    fired = [decide(p, thresholds, episodes) for p in oof]
    labels = [c.labels for c in train]
    cv = {k: _prf(*_counts(fired, labels, _K[k], "call"))[2] for k in kinds}
    report = TrainReport(
        train_calls=len(train), dev_calls=len(dev), regularisation=chosen_c, cv_call_f1=cv,
        cv_call_micro_f1=call_micro_f1(oof, labels, thresholds, episodes),
        dev_call_micro_f1=call_micro_f1([score_call(model, c.features) for c in dev], [c.labels for c in dev],
                                        thresholds, episodes) if dev else None,
    )
    return model, report


def _round(value):
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def model_json(model: DetectorModel) -> str:
    """The model as JSON text: keys sorted, floats to six significant digits, so a retrain on the
    same calls with the same seed writes the same bytes."""
    return json.dumps(_round(model.model_dump(mode="json")), sort_keys=True, separators=(",", ":")) + "\n"


def learning_curve(train: Sequence[LabelledCall], dev: Sequence[LabelledCall], *, fractions: Sequence[float],
                   seed: int = 0, progress: ProgressHook | None = None) -> list[tuple[int, float]]:
    """Dev call-level micro F1 of models trained on growing random subsets of `train`
    (each one trained and thresholded as `fit_detector` does).

    Returns:
        (training calls, dev micro F1) per fraction.
    """
    order = np.random.default_rng(seed).permutation(len(train))
    ordered = sorted(train, key=lambda c: c.call_id)
    points = []
    for done, fraction in enumerate(fractions, start=1):
        subset = [ordered[i] for i in order[: max(_FOLDS, int(round(fraction * len(train))))]]
        _, report = fit_detector(subset, dev, seed=seed)
        points.append((len(subset), float(report.dev_call_micro_f1 or 0.0)))
        if progress:
            progress("sizes", done, len(fractions))
    return points


def _rules_only(options: DetectOptions) -> DetectOptions:
    # Training reads the lexicons and the rules, never a previous model (which may be missing or stale).
    return options.model_copy(update={"models": options.models.model_copy(
        update={"detector": None, "detector_file": None, "detector_sha256": None})})


def _read_folders(folders: Sequence[Path]) -> list[CallScript]:
    calls: list[CallScript] = []
    for folder in folders:
        calls += load_scripts(folder)
    seen: set[str] = set()
    for call in calls:
        if call.call_id in seen:
            raise InputError(f"call_id '{call.call_id}' occurs in more than one training folder", path=str(folders[0]),
                             reason="duplicate_call_id")
        seen.add(call.call_id)
    return calls


def load_labelled(folders: Sequence[Path], *, options: DetectOptions, progress: ProgressHook | None = None) -> list[LabelledCall]:
    """Every script in `folders` analysed into features and labels (models loaded here, rules only)."""
    from pipeline.detect.models import load_detect_models

    calls = _read_folders(folders)  # a bad script fails before the models load
    options = _rules_only(options)
    return prepare_calls(calls, options=options, models=load_detect_models(options), progress=progress)


def train_to_file(folders: Sequence[Path], out: Path, *, dev: Path | None = None, seed: int = 0,
                  complaint_precision: float = 0.95, detect_file: Path | None = None, lexicon_dir: Path | None = None,
                  progress: ProgressHook | None = None) -> tuple[TrainReport, str]:
    """What `callqa detect train` does: read, analyse, fit, write the model file.

    Args:
        folders: folders of labelled scripts to train on.
        out: the model file to write (JSON).
        dev: a folder of labelled scripts to choose the thresholds on (default: out-of-fold on the training calls).
        seed: the cross-validation seed.
        complaint_precision: call-level precision target of complaint.raised.
        detect_file, lexicon_dir: site configuration over the packaged one (the lexicons are features).
        progress: the one progress hook.

    Returns:
        The training figures and the file's sha256 (for models.detector_sha256 in a site detect.yaml).

    Raises:
        InputError, ConfigError: unreadable scripts or configuration, or too few labelled turns to train on.
    """
    from pipeline.detect.options import load_detect_options

    options = load_detect_options(detect_file, None, lexicon_dir)
    train = load_labelled(folders, options=options, progress=progress)
    dev_calls = load_labelled([dev], options=options, progress=progress) if dev is not None else []
    model, report = fit_detector(train, dev_calls, seed=seed, complaint_precision=complaint_precision)
    text = model_json(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return report, hashlib.sha256(text.encode("utf-8")).hexdigest()


def plot_learning_curve(points: Sequence[tuple[int, float]], out: Path) -> None:
    """A PNG of dev call-level micro F1 against the number of training calls."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=110)
    ax.plot([p[0] for p in points], [p[1] for p in points], marker="o")
    ax.set_xlabel("training calls")
    ax.set_ylabel("dev call-level micro F1")
    ax.set_ylim(min(0.5, min(p[1] for p in points) - 0.05), 1.0)
    ax.grid(alpha=0.3)
    ax.set_title("Learning curve")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, metadata={"Software": None})
    plt.close(fig)
