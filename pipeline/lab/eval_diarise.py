"""Diarisation quality against a synthesised call's timing truth (pipeline.lab.truth).

Three numbers, as `callqa eval` reports them:
- DER (pyannote.metrics `DiarizationErrorRate`, optimal speaker mapping, collar stated; mono
  scores pyannote's raw speaker timeline, stereo the turns by channel);
- role-attributed word accuracy: the share of recognised words given the role that really said
  them (a word in a stretch where both parties talk counts as right for either);
- overlap detection recall: the share of scripted interruptions where an agent turn and a
  customer turn overlap in time.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from pipeline.diarise.core import Diarisation
from pipeline.schema import Turn
from pipeline.lab.truth import CallTruth

__all__ = [
    "DiariseScores",
    "diarisation_error_rate",
    "role_word_accuracy",
    "overlap_recall",
    "evaluate_call",
    "summarise",
    "DEFAULT_COLLAR_S",
]

DEFAULT_COLLAR_S = 0.25  # total forgiveness collar around each reference boundary (pyannote's convention)
_WORD_TOLERANCE_S = 0.15


class DiariseScores(BaseModel):
    """One call's diarisation scores."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    call_id: str
    method: str
    der: float | None = Field(description="Diarisation error rate (None when the truth has no speech).")
    der_collar_s: float
    der_missed_s: float = 0.0
    der_false_alarm_s: float = 0.0
    der_confusion_s: float = 0.0
    role_word_accuracy: float | None
    words: int
    overlaps: int
    overlaps_detected: int
    roles_flagged: bool
    role_confidence: float


def _reference(truth: CallTruth):
    from pyannote.core import Annotation, Segment

    reference = Annotation(uri=truth.call_id)
    for i, turn in enumerate(truth.turns):
        if turn.end_s > turn.start_s:
            reference[Segment(turn.start_s, turn.end_s), i] = turn.speaker
    return reference


def _hypothesis(diarisation: Diarisation, uri: str):
    from pyannote.core import Annotation, Segment

    hypothesis = Annotation(uri=uri)
    if diarisation.timeline:
        for i, span in enumerate(diarisation.timeline):
            if span.end_s > span.start_s:
                hypothesis[Segment(span.start_s, span.end_s), i] = span.speaker
    else:
        for turn in diarisation.turns:
            if turn.start_s is not None and turn.end_s is not None and turn.end_s > turn.start_s:
                label = f"channel:{turn.channel}" if turn.channel is not None else turn.speaker
                hypothesis[Segment(turn.start_s, turn.end_s), turn.index] = label
    return hypothesis


def diarisation_error_rate(truth: CallTruth, diarisation: Diarisation, *, collar: float = DEFAULT_COLLAR_S) -> dict[str, float]:
    """DER with pyannote.metrics (overlap scored, optimal label mapping).

    Args:
        truth: the call's timing truth.
        diarisation: the diarise stage's output.
        collar: seconds forgiven around each reference boundary (total, centred).

    Returns:
        {"der", "missed_s", "false_alarm_s", "confusion_s", "total_s"}.
    """
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    from pyannote.core import Segment, Timeline

    uem = Timeline([Segment(0.0, max(truth.duration_s, 0.001))])
    detail = metric(_reference(truth), _hypothesis(diarisation, truth.call_id), uem=uem, detailed=True)
    return {
        "der": float(detail["diarization error rate"]),
        "missed_s": float(detail["missed detection"]),
        "false_alarm_s": float(detail["false alarm"]),
        "confusion_s": float(detail["confusion"]),
        "total_s": float(detail["total"]),
    }


def _truth_speakers_at(truth: CallTruth, t: float) -> set[str]:
    active = {turn.speaker for turn in truth.turns
              if turn.start_s - _WORD_TOLERANCE_S <= t <= turn.end_s + _WORD_TOLERANCE_S}
    if active:
        return active
    nearest = min(truth.turns, key=lambda turn: max(turn.start_s - t, t - turn.end_s, 0.0), default=None)
    return {nearest.speaker} if nearest else set()


def role_word_accuracy(truth: CallTruth, turns: Sequence[Turn]) -> tuple[float | None, int]:
    """Share of recognised words whose turn's role is the role that said them.

    Args:
        truth: the call's timing truth.
        turns: the diarised turns (with words).

    Returns:
        (accuracy, number of words); accuracy None when there are no words.
    """
    right = total = 0
    for turn in turns:
        for word in turn.words:
            total += 1
            right += turn.speaker in _truth_speakers_at(truth, 0.5 * (word.start_s + word.end_s))
    return (right / total if total else None), total


def overlap_recall(truth: CallTruth, turns: Sequence[Turn], *, min_overlap_s: float = 0.2,
                   tolerance_s: float = 0.3) -> tuple[int, int]:
    """How many scripted interruptions show up as an agent turn and a customer turn overlapping.

    Args:
        truth: the call's timing truth.
        turns: the diarised turns.
        min_overlap_s: the hypothesis overlap needed (or half the true overlap, if shorter).
        tolerance_s: slack around the true overlap window.

    Returns:
        (detected, total) interruptions.
    """
    timed = [t for t in turns if t.start_s is not None and t.end_s is not None and t.speaker != "unknown"]
    detected = 0
    for overlap in truth.overlaps:
        window = (overlap.start_s - tolerance_s, overlap.end_s + tolerance_s)
        need = min(min_overlap_s, 0.5 * (overlap.end_s - overlap.start_s))
        found = False
        for i, a in enumerate(timed):
            for b in timed[i + 1:]:
                if a.speaker == b.speaker:
                    continue
                start = max(a.start_s, b.start_s, window[0])
                end = min(a.end_s, b.end_s, window[1])
                if end - start >= need:
                    found = True
                    break
            if found:
                break
        detected += found
    return detected, len(truth.overlaps)


def evaluate_call(truth: CallTruth, diarisation: Diarisation, *, collar: float = DEFAULT_COLLAR_S) -> DiariseScores:
    """All diarisation scores of one call.

    Args:
        truth: the call's timing truth.
        diarisation: the diarise stage's output for the same audio.
        collar: DER collar in seconds.

    Returns:
        The scores.
    """
    der = diarisation_error_rate(truth, diarisation, collar=collar) if truth.turns else None
    accuracy, words = role_word_accuracy(truth, diarisation.turns)
    detected, total = overlap_recall(truth, diarisation.turns)
    return DiariseScores(
        call_id=truth.call_id, method=diarisation.method,
        der=der["der"] if der else None, der_collar_s=collar,
        der_missed_s=der["missed_s"] if der else 0.0, der_false_alarm_s=der["false_alarm_s"] if der else 0.0,
        der_confusion_s=der["confusion_s"] if der else 0.0,
        role_word_accuracy=accuracy, words=words, overlaps=total, overlaps_detected=detected,
        roles_flagged=diarisation.roles.flagged, role_confidence=diarisation.roles.confidence,
    )


def summarise(scores: Sequence[DiariseScores]) -> dict[str, float | int | None]:
    """Pooled figures over calls: word accuracy and overlap recall pooled over items, mean DER.

    Returns:
        {"calls", "role_word_accuracy", "der_mean", "der_collar_s", "overlap_recall", "overlaps", "flagged"}.
    """
    words = sum(s.words for s in scores)
    right = sum((s.role_word_accuracy or 0.0) * s.words for s in scores)
    ders = [s.der for s in scores if s.der is not None]
    overlaps = sum(s.overlaps for s in scores)
    return {
        "calls": len(scores),
        "role_word_accuracy": round(right / words, 4) if words else None,
        "der_mean": round(sum(ders) / len(ders), 4) if ders else None,
        "der_collar_s": scores[0].der_collar_s if scores else DEFAULT_COLLAR_S,
        "overlap_recall": round(sum(s.overlaps_detected for s in scores) / overlaps, 4) if overlaps else None,
        "overlaps": overlaps,
        "flagged": sum(s.roles_flagged for s in scores),
    }
