"""Turn loudness (LUFS, ITU-R BS.1770), speaking rate, and raised-voice moments.

Loudness is measured on the turn's own channel for a stereo call (each party on a channel) and
on the mono mix otherwise, with pyloudnorm's BS.1770 meter: K-weighting, 400 ms blocks, the
absolute (-70 LUFS) and relative (-10 LU) gates. A turn shorter than one block, or silent after
gating, has no loudness (None), never a made-up figure.

A raised-voice moment is a customer turn whose loudness is at least `raised_lu` above the median
of that speaker's own turns in the call: relative to the speaker, so a quiet line or a loud
headset does not fire on every turn. It is a measurement, so its basis is objective.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from pipeline.config import Options
from pipeline.schema import Event, Turn

__all__ = ["LoudnessOptions", "DETECTOR", "turn_loudness", "speaking_rates", "raised_voice_events"]

DETECTOR = "loudness/1 (ITU-R BS.1770, pyloudnorm 0.2)"
_BLOCK_S = 0.4  # the BS.1770 gating block


class LoudnessOptions(Options):
    """configs/experience.yaml `loudness:`."""

    enabled: bool = Field(True, description="Measure loudness and speaking rate on audio inputs.")
    raised_lu: float = Field(
        8.0, gt=0, le=40,
        description="A customer turn this many LU above the median of the customer's turns is a raised-voice moment.",
    )
    min_turns: int = Field(
        4, ge=2, description="Customer turns with a loudness needed before a median means anything."
    )
    min_turn_s: float = Field(0.8, ge=_BLOCK_S, description="Shorter turns are not candidates for a raised voice.")
    speakers: list[Literal["customer", "agent"]] = Field(
        default_factory=lambda: ["customer"], description="Whose turns can be raised-voice moments."
    )
    confidence: float = Field(0.95, ge=0, le=1, description="Confidence given to a raised-voice event (a measurement).")


def _signal(audio: np.ndarray, turn: Turn) -> np.ndarray:
    """The samples a turn's loudness is read from: its own channel when stereo, else the mix."""
    audio = np.atleast_2d(audio)
    if audio.shape[0] > 1 and turn.channel is not None and turn.channel < audio.shape[0]:
        return audio[turn.channel]
    return audio.mean(axis=0)


def turn_loudness(audio: np.ndarray, sample_rate: int, turns: Sequence[Turn]) -> list[float | None]:
    """Integrated loudness (LUFS) of each turn's span; None without times, under one block, or silent.

    Args:
        audio: float samples, (channels, samples) or (samples,), full scale +-1.
        sample_rate: Hz.
        turns: the call's turns (their start_s / end_s and channel are read).
    """
    import pyloudnorm

    meter = pyloudnorm.Meter(sample_rate, block_size=_BLOCK_S)
    out: list[float | None] = []
    n = np.atleast_2d(audio).shape[1]
    for turn in turns:
        if turn.start_s is None or turn.end_s is None:
            out.append(None)
            continue
        a, b = int(round(turn.start_s * sample_rate)), min(n, int(round(turn.end_s * sample_rate)))
        if b - a < int(_BLOCK_S * sample_rate):
            out.append(None)
            continue
        samples = np.asarray(_signal(audio, turn)[a:b], dtype=np.float64)
        with np.errstate(divide="ignore"):
            value = float(meter.integrated_loudness(samples))
        out.append(round(value, 2) if np.isfinite(value) else None)
    return out


def speaking_rates(turns: Sequence[Turn], *, min_span_s: float = 0.3) -> list[float | None]:
    """Words per second over each turn's span (recognised words, else the text's words)."""
    out: list[float | None] = []
    for turn in turns:
        if turn.start_s is None or turn.end_s is None or turn.end_s - turn.start_s < min_span_s:
            out.append(None)
            continue
        words = len(turn.words) or len(turn.text.split())
        out.append(round(words / (turn.end_s - turn.start_s), 3))
    return out


def raised_voice_events(turns: Sequence[Turn], loudness: Sequence[float | None],
                        options: LoudnessOptions) -> list[Event]:
    """voice.raised events: turns markedly louder than the median of their speaker's turns.

    Args:
        turns: the call's turns.
        loudness: `turn_loudness` of the same turns.
        options: thresholds.
    """
    events: list[Event] = []
    for speaker in options.speakers:
        own = [(t, v) for t, v in zip(turns, loudness) if t.speaker == speaker and v is not None]
        if len(own) < options.min_turns:
            continue
        median = float(np.median([v for _, v in own]))
        for turn, value in own:
            excess = value - median
            if excess < options.raised_lu or turn.end_s - turn.start_s < options.min_turn_s:  # type: ignore[operator]
                continue
            events.append(Event(
                kind="voice.raised", turn_index=turn.index, start_s=turn.start_s, end_s=turn.end_s, speaker=speaker,
                evidence=f"{speaker} turn {excess:.1f} LU louder than the {speaker}'s median "
                         f"({value:.1f} LUFS against {median:.1f} LUFS)",
                confidence=options.confidence, detector=DETECTOR, basis="objective",
            ))
    return events
