"""Scoring the detect stage against labelled call scripts (tests/data/SCHEMA.md).

- events: per-kind precision / recall / F1 at call level (does the call contain the kind?) and
  at turn level (is turn i labelled with the kind?), plus micro F1 over all kinds;
- calibration: expected calibration error of the classifiers' probabilities (10 bins) and a
  reliability diagram;
- LASS: stage accuracy (each of listen / apologise / solve / satisfy present or not, against
  `expected.lass`), in-order accuracy, and whole-call LASS accuracy;
- compliance: recording notice, ID&V before account, escalation offered, hold count and
  permission, against the script's `expected`;
- timing: absolute error of timing metrics against a timing truth (pipeline.lab.truth).

`evaluate_transcripts(dataset_dir, ...)` runs detect on the scripts (read by pipeline.lab.scripts)
as transcript input (turns with no times) and returns the whole report; the other functions
score given predictions.
"""

from __future__ import annotations

import time
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.detect.core import Detection, detect_scored
from pipeline.detect.lass import LASS_STAGES, call_lass
from pipeline.detect.models import DetectModels
from pipeline.detect.options import DetectOptions
from pipeline.lab.scripts import CallScript, load_scripts
from pipeline.lab.truth import CallTruth, TruthHold, TruthOverlap, TruthSilence
from pipeline.progress import ProgressHook
from pipeline.schema import EVENT_KINDS, Metrics, Turn

__all__ = [
    "script_turns",
    "KindScore",
    "EventScores",
    "LassScores",
    "TimingScores",
    "CalibrationBin",
    "CalibrationScores",
    "score_calibration",
    "plot_reliability",
    "DetectEvaluation",
    "score_events",
    "score_lass",
    "score_compliance",
    "score_timing",
    "match_spans",
    "turns_from_truth",
    "evaluate_calls",
    "evaluate_transcripts",
    "evaluate_dir",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


def script_turns(call: CallScript) -> list[Turn]:
    """The script's turns as schema Turns with no times (transcript input)."""
    return [Turn(index=i, speaker=t.speaker, start_s=None, end_s=None, text=t.text) for i, t in enumerate(call.turns)]


class KindScore(_Frozen):
    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None


def _score(tp: int, fp: int, fn: int) -> KindScore:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f = (2 * p * r / (p + r) if p + r else 0.0) if p is not None and r is not None else (None if tp + fp + fn == 0 else 0.0)
    return KindScore(tp=tp, fp=fp, fn=fn, precision=p, recall=r, f1=f)


class EventScores(_Frozen):
    call_level: dict[str, KindScore]
    turn_level: dict[str, KindScore]
    call_micro_f1: float
    turn_micro_f1: float
    min_call_kind_f1: float | None = Field(description="Lowest call-level F1 over kinds that occur in truth or predictions.")
    errors: list[str] = Field(default_factory=list, description="call_id:turn:kind:fp|fn, for inspection.")


def score_events(calls: list[CallScript], predictions: dict[str, Detection]) -> EventScores:
    """Per-kind and micro precision / recall / F1 at call and turn level."""
    counts = {lvl: {k: [0, 0, 0] for k in EVENT_KINDS} for lvl in ("call", "turn")}
    errors = []
    for call in calls:
        events = predictions[call.call_id].events
        truth_turn = {(i, k) for i, t in enumerate(call.turns) for k in t.labels if k in EVENT_KINDS}
        # Measured kinds (voice.raised) are not labelled in scripts: neither a hit nor a miss here.
        pred_turn = {(e.turn_index, e.kind) for e in events if e.turn_index is not None and e.kind in EVENT_KINDS}
        for level, truth, pred in (
            ("turn", truth_turn, pred_turn),
            ("call", {k for _, k in truth_turn}, {k for _, k in pred_turn}),
        ):
            for item in sorted(truth | pred):  # sorted: the errors list is the same on every run
                kind = item[1] if level == "turn" else item
                c = counts[level][kind]
                if item in truth and item in pred:
                    c[0] += 1
                elif item in pred:
                    c[1] += 1
                    if level == "turn":
                        errors.append(f"{call.call_id}:{item[0]}:{kind}:fp")
                else:
                    c[2] += 1
                    if level == "turn":
                        errors.append(f"{call.call_id}:{item[0]}:{kind}:fn")

    def micro(level: str) -> float:
        tp, fp, fn = (sum(c[i] for c in counts[level].values()) for i in range(3))
        return _score(tp, fp, fn).f1 or 0.0

    call_level = {k: _score(*v) for k, v in counts["call"].items()}
    f1s = [s.f1 for s in call_level.values() if s.f1 is not None]
    return EventScores(
        call_level=call_level,
        turn_level={k: _score(*v) for k, v in counts["turn"].items()},
        call_micro_f1=micro("call"),
        turn_micro_f1=micro("turn"),
        min_call_kind_f1=min(f1s) if f1s else None,
        errors=errors,
    )


class LassScores(_Frozen):
    stage_accuracy: float = Field(description="Share of (call, stage) pairs whose presence matches expected.lass.")
    in_order_accuracy: float | None = Field(description="Share of complaint calls whose in_order matches.")
    call_accuracy: float = Field(description="Share of calls whose four stages and in_order all match.")
    per_stage: dict[str, float]
    mismatches: list[str] = Field(default_factory=list)


def score_lass(calls: list[CallScript], predictions: dict[str, Detection]) -> LassScores:
    """LASS accuracy against each script's `expected.lass`."""
    hits = {s: 0 for s in LASS_STAGES}
    order_ok = order_n = whole = n = 0
    mismatches = []
    for call in calls:
        expected = call.expected.get("lass")
        if not expected:
            continue
        n += 1
        got = call_lass(predictions[call.call_id].lass)
        all_ok = True
        for stage in LASS_STAGES:
            if bool(expected.get(stage)) == bool(got[stage]):
                hits[stage] += 1
            else:
                all_ok = False
                mismatches.append(f"{call.call_id}:{stage}:expected={bool(expected.get(stage))}")
        if expected.get("in_order") is not None:
            order_n += 1
            if expected["in_order"] == got["in_order"]:
                order_ok += 1
            else:
                all_ok = False
                mismatches.append(f"{call.call_id}:in_order:expected={expected['in_order']}")
        whole += all_ok
    n = max(n, 1)
    return LassScores(
        stage_accuracy=sum(hits.values()) / (n * len(LASS_STAGES)),
        in_order_accuracy=order_ok / order_n if order_n else None,
        call_accuracy=whole / n,
        per_stage={s: hits[s] / n for s in LASS_STAGES},
        mismatches=mismatches,
    )


def score_compliance(calls: list[CallScript], predictions: dict[str, Detection]) -> dict[str, float]:
    """Accuracy of call-level compliance truths in `expected` (where the script states them).

    recording_notice and escalation_offered come from events; idv_before_account from the SLA
    result (None = not applicable). Keys with no stated truth are left out.
    """
    checks: dict[str, list[bool]] = {}
    for call in calls:
        detection = predictions[call.call_id]
        kinds = {e.kind for e in detection.events}
        sla = {r.rule: r for r in detection.sla}
        got: dict[str, Any] = {
            "recording_notice": "call.recording_notice" in kinds,
            "escalation_offered": "escalation.offered" in kinds,
            "complaint": "complaint.raised" in kinds,
        }
        if "idv_before_account" in sla:
            got["idv_before_account"] = sla["idv_before_account"].observed
        for key, value in got.items():
            if key in call.expected:
                checks.setdefault(key, []).append(call.expected[key] == value)
    return {k: sum(v) / len(v) for k, v in checks.items()}


class TimingScores(_Frozen):
    mean_abs_error_s: dict[str, float] = Field(description="Metric -> mean absolute error in seconds (matched spans).")
    max_abs_error_s: dict[str, float]
    count_errors: dict[str, int] = Field(description="Metric -> calls whose count (holds, silences, overtalk) differs.")
    matched: dict[str, list[int]] = Field(
        default_factory=dict, description="Metric -> [spans matched, spans in the truth, spans measured], over all calls."
    )
    calls: int


def _spans(items: Sequence[TruthHold | TruthSilence | TruthOverlap]) -> list[tuple[float, float]]:
    return sorted((float(item.start_s), float(item.end_s)) for item in items)


def match_spans(
    want: list[tuple[float, float]], got: list[tuple[float, float]], *, within_s: float
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Pair truth spans with measured ones, one to one: overlapping or with starts within `within_s`.

    Closest pairs first (by start distance), so one missed or extra span does not shift every
    later pair the way pairing by position would.
    """
    candidates = []
    for i, (ws, we) in enumerate(want):
        for j, (gs, ge) in enumerate(got):
            if min(we, ge) > max(ws, gs) or abs(gs - ws) <= within_s:
                candidates.append((abs(gs - ws) + abs(ge - we), i, j))
    used_w, used_g, pairs = set(), set(), []
    for _, i, j in sorted(candidates):
        if i not in used_w and j not in used_g:
            used_w.add(i)
            used_g.add(j)
            pairs.append((want[i], got[j]))
    return sorted(pairs)


def score_timing(
    truths: Mapping[str, CallTruth],
    metrics: dict[str, Metrics],
    *,
    silence_min_s: float = 5.0,
    overtalk_min_s: float = 0.0,
    match_within_s: float = 1.0,
) -> TimingScores:
    """Timing-metric error against timing truths.

    Args:
        truths: call_id -> the synthesised call's timing truth (pipeline.lab.truth).
        metrics: call_id -> the measured Metrics.
        silence_min_s: truth silences shorter than this are not expected in the metrics.
        overtalk_min_s: truth overlaps shorter than this are not expected either.
        match_within_s: a measured span matches a truth span it overlaps or starts this close to.

    Returns:
        Mean / max absolute errors per metric (matched spans compared start, end and duration),
        how many spans matched, and per metric the number of calls whose count differs.
    """
    errors: dict[str, list[float]] = {}
    count_errors: dict[str, int] = {"holds": 0, "silences": 0, "overtalk": 0}
    matched: dict[str, list[int]] = {name: [0, 0, 0] for name in count_errors}

    def add(name: str, value: float) -> None:
        errors.setdefault(name, []).append(abs(value))

    for call_id, truth in truths.items():
        m = metrics.get(call_id)
        if m is None:
            continue
        if truth.greeting_latency_s is not None and m.greeting_latency_s is not None:
            add("greeting_latency_s", m.greeting_latency_s - float(truth.greeting_latency_s))
        pairs = (
            ("holds", _spans(truth.holds), [(h.start_s, h.end_s) for h in m.holds]),
            ("silences", [s for s in _spans(truth.silences) if s[1] - s[0] >= silence_min_s],
             [(s.start_s, s.end_s) for s in m.silences]),
            ("overtalk", [s for s in _spans(truth.overlaps) if s[1] - s[0] >= overtalk_min_s],
             [(o.start_s, o.end_s) for o in m.overtalk]),
        )
        for name, want, got in pairs:
            if len(want) != len(got):
                count_errors[name] += 1
            found = match_spans(want, sorted(got), within_s=match_within_s)
            counts = matched[name]
            counts[0], counts[1], counts[2] = counts[0] + len(found), counts[1] + len(want), counts[2] + len(got)
            for (ws, we), (gs, ge) in found:
                add(f"{name}_start_s", gs - ws)
                add(f"{name}_end_s", ge - we)
                add(f"{name}_duration_s", (ge - gs) - (we - ws))
    return TimingScores(
        mean_abs_error_s={k: sum(v) / len(v) for k, v in errors.items()},
        max_abs_error_s={k: max(v) for k, v in errors.items()},
        count_errors=count_errors,
        matched=matched,
        calls=len(truths),
    )


def turns_from_truth(truth: CallTruth) -> list[Turn]:
    """Schema Turns with the true times of a synthesised call,
    to check the timing metrics apart from transcription and diarisation errors."""
    return [
        Turn(index=t.index, speaker=t.speaker, start_s=t.start_s, end_s=t.end_s, text=t.text, channel=t.channel)
        for t in truth.turns
    ]


class CalibrationBin(_Frozen):
    low: float
    high: float
    pairs: int
    mean_confidence: float | None
    accuracy: float | None = Field(description="Share of the bin's (turn, kind) pairs that are labelled with the kind.")


class CalibrationScores(_Frozen):
    ece: float = Field(description="Expected calibration error over every scored (turn, kind) pair, 10 equal bins.")
    pairs: int
    ece_confident: float = Field(description="The same over the pairs with probability >= 0.1 (most pairs are plain "
                                 "negatives near 0, which make the first figure small by themselves).")
    confident_pairs: int
    bins: list[CalibrationBin]


def _ece(p: np.ndarray, y: np.ndarray, edges: np.ndarray) -> tuple[float, list[CalibrationBin]]:
    bins, total = [], 0.0
    which = np.clip(np.digitize(p, edges[1:-1], right=False), 0, len(edges) - 2)
    for b in range(len(edges) - 1):
        inside = which == b
        count = int(inside.sum())
        conf = float(p[inside].mean()) if count else None
        acc = float(y[inside].mean()) if count else None
        if count:
            total += count / max(1, len(p)) * abs(conf - acc)
        bins.append(CalibrationBin(low=float(edges[b]), high=float(edges[b + 1]), pairs=count, mean_confidence=conf,
                                   accuracy=acc))
    return total, bins


def score_calibration(calls: list[CallScript], probabilities: Mapping[str, np.ndarray],
                      kinds: Sequence[str]) -> CalibrationScores:
    """Expected calibration error of the classifiers' probabilities against the turn labels.

    Args:
        calls: the scripts.
        probabilities: call_id -> (n_turns, len(EVENT_KINDS)) calibrated probabilities.
        kinds: the kinds the model scores; each is scored on its speaker's turns only.
    """
    ps, ys = [], []
    for call in calls:
        prob = probabilities[call.call_id]
        for i, turn in enumerate(call.turns):
            for kind in kinds:
                if (kind == "complaint.raised") == (turn.speaker == "customer"):
                    ps.append(prob[i, EVENT_KINDS.index(kind)])
                    ys.append(kind in turn.labels)
    p, y = np.asarray(ps, dtype=float), np.asarray(ys, dtype=float)
    edges = np.linspace(0.0, 1.0, 11)
    ece, bins = _ece(p, y, edges)
    confident = p >= 0.1
    ece_confident, _ = _ece(p[confident], y[confident], edges)
    return CalibrationScores(ece=ece, pairs=len(p), ece_confident=ece_confident, confident_pairs=int(confident.sum()),
                             bins=bins)


def plot_reliability(calibration: CalibrationScores, out: Path) -> None:
    """A reliability diagram (PNG): per bin, the share labelled against the mean probability."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    used = [b for b in calibration.bins if b.pairs]
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(5, 5.5), dpi=110, gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    ax.plot([b.mean_confidence for b in used], [b.accuracy for b in used], marker="o", label="classifiers")
    ax.set_ylabel("share of pairs labelled")
    ax.set_title(f"Reliability (ECE {calibration.ece:.3f}; {calibration.ece_confident:.3f} for p >= 0.1)")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    hist.bar([(b.low + b.high) / 2 for b in calibration.bins], [max(b.pairs, 0.9) for b in calibration.bins],
             width=0.09, log=True)
    hist.set_xlabel("predicted probability")
    hist.set_ylabel("pairs (log)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, metadata={"Software": None})
    plt.close(fig)


class DetectEvaluation(_Frozen):
    calls: list[str]
    events: EventScores
    lass: LassScores
    compliance: dict[str, float]
    calibration: CalibrationScores | None = Field(None, description="None when the lexicon rules decide (no probabilities).")
    seconds: float = Field(description="Wall time of detect over all calls (models already loaded).")
    calls_per_second: float


def _read_calls(dataset_dir: Path, call_ids: Iterable[str] | None) -> list[CallScript]:
    return sorted(load_scripts(dataset_dir, call_ids=call_ids), key=lambda c: c.call_id)


def evaluate_calls(
    calls: list[CallScript],
    *,
    options: DetectOptions,
    models: DetectModels,
    progress: ProgressHook | None = None,
) -> DetectEvaluation:
    """Run detect on labelled scripts as transcript input (no times) and score it.

    Args:
        calls: the scripts, in the order the report lists them.
        options: detect options.
        models: loaded detect models.
        progress: the one progress hook; reports ("calls", done, total).

    Returns:
        Event, LASS and compliance scores, and throughput.
    """
    started = time.perf_counter()
    predictions: dict[str, Detection] = {}
    probabilities: dict[str, np.ndarray] = {}
    for call in calls:
        predictions[call.call_id], prob = detect_scored(script_turns(call), channel_type=call.channel_type,
                                                        options=options, models=models)
        if prob is not None:
            probabilities[call.call_id] = prob
        if progress:
            progress("calls", len(predictions), len(calls))
    seconds = time.perf_counter() - started
    calibration = None
    if models.detector is not None and probabilities:
        calibration = score_calibration(calls, probabilities, list(models.detector.kinds))
    return DetectEvaluation(
        calls=[c.call_id for c in calls],
        events=score_events(calls, predictions),
        lass=score_lass(calls, predictions),
        compliance=score_compliance(calls, predictions),
        calibration=calibration,
        seconds=seconds,
        calls_per_second=len(calls) / seconds if seconds > 0 else 0.0,
    )


def evaluate_transcripts(
    dataset_dir: Path,
    *,
    options: DetectOptions,
    models: DetectModels,
    call_ids: Iterable[str] | None = None,
    progress: ProgressHook | None = None,
) -> DetectEvaluation:
    """`evaluate_calls` on a folder of labelled scripts, in call-id order.

    Args:
        dataset_dir: a folder of labelled call scripts.
        options: detect options.
        models: loaded detect models.
        call_ids: only these calls (e.g. a held-out subset); default all.
        progress: the one progress hook; reports ("calls", done, total).

    Returns:
        Event, LASS, compliance and calibration scores, and throughput.

    Raises:
        InputError: the folder is missing, holds no scripts or none of `call_ids`.
        ConfigError: a script is invalid (the message names the file and key).
    """
    return evaluate_calls(_read_calls(dataset_dir, call_ids), options=options, models=models, progress=progress)


def evaluate_dir(
    dataset_dir: Path,
    *,
    call_ids: Iterable[str] | None = None,
    detect_file: Path | None = None,
    sla_file: Path | None = None,
    lexicon_dir: Path | None = None,
    progress: ProgressHook | None = None,
) -> DetectEvaluation:
    """Score the detectors on a folder of labelled scripts as transcript input (what
    `callqa detect eval` prints): reads the scripts, loads the options and models, then
    `evaluate_calls`.

    Args:
        dataset_dir: a folder of labelled call scripts.
        call_ids: only these calls (a held-out subset); default all.
        detect_file, sla_file, lexicon_dir: site configuration over the packaged defaults.
        progress: the one progress hook; reports ("calls", done, total).

    Returns:
        The evaluation report.

    Raises:
        ConfigError, ModelUnavailableError, InputError: bad configuration, missing models, bad scripts.
    """
    from pipeline.detect.models import load_detect_models
    from pipeline.detect.options import load_detect_options

    calls = _read_calls(dataset_dir, call_ids)  # a bad script fails before the models load
    options = load_detect_options(detect_file, sla_file, lexicon_dir)
    return evaluate_calls(calls, options=options, models=load_detect_models(options), progress=progress)
