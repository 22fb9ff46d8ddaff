"""Hold music that starts on the sample the last word ends: its onset from spectral steadiness.

Synthetic signals only (fast): "speech" is noise whose band and level move at syllable rate,
"music" is held tones that change note every 0.3 s, both on one telephone channel at 8 kHz.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.detect.music_onset import music_onset
from pipeline.detect.options import TimingOptions
from pipeline.detect.timing import measure
from pipeline.schema import Turn

SR = 8000
TIMING = TimingOptions()


def speech_like(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Noise shaped by a formant that moves every 60 ms, its level modulated at ~4 Hz."""
    n = int(seconds * SR)
    out = np.zeros(n)
    seg = int(0.06 * SR)
    for a in range(0, n, seg):
        b = min(n, a + seg)
        spec = np.fft.rfft(rng.standard_normal(b - a))
        freqs = np.fft.rfftfreq(b - a, 1 / SR)
        centre = rng.uniform(300, 3000)
        spec *= np.exp(-0.5 * ((freqs - centre) / 250) ** 2)
        out[a:b] = np.fft.irfft(spec, b - a)
    t = np.arange(n) / SR
    out *= 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t)
    return 0.1 * out / np.max(np.abs(out))


def steady_tones(seconds: float) -> np.ndarray:
    """Held notes of a tone and its octave, a new note every 0.3 s."""
    n = int(seconds * SR)
    note = int(0.3 * SR)
    freqs = (523.25, 659.25, 783.99, 587.33)
    t = np.arange(note) / SR
    notes = [np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t) for f in freqs]
    loop = np.concatenate(notes)
    return 0.05 * np.tile(loop, -(-n // loop.size))[:n]


@pytest.mark.parametrize("late_s", [0.1, 0.4, 0.8])
def test_onset_of_music_right_after_speech_within_0_1_s(late_s):
    rng = np.random.default_rng(7)
    x = np.concatenate([speech_like(2.0, rng), steady_tones(5.0)]) + 1e-4 * rng.standard_normal(int(7.0 * SR))
    onset = music_onset(x, SR, 2.0 + late_s, 7.0, TIMING)
    assert onset is not None and abs(onset - 2.0) <= 0.1


def test_no_onset_without_a_change():
    rng = np.random.default_rng(8)
    assert music_onset(speech_like(5.0, rng), SR, 2.5, 5.0, TIMING) is None  # speech throughout
    assert music_onset(steady_tones(5.0), SR, 2.5, 5.0, TIMING) is None  # music throughout


def test_hold_starts_where_the_music_starts_not_at_the_late_asr_end():
    rng = np.random.default_rng(9)
    # The customer speaks first (the agent's leg is quiet then, which sets its noise floor).
    agent = np.concatenate([np.zeros(5 * SR), speech_like(2.0, rng), steady_tones(30.0), np.zeros(SR), speech_like(1.5, rng)])
    customer = np.concatenate([speech_like(4.5, rng), np.zeros(agent.size - 4 * SR - SR // 2)])
    audio = np.stack([agent, customer]) + 1e-4 * rng.standard_normal((2, agent.size))
    turns = [  # the hold turn's ASR end is 0.5 s late, inside the music
        Turn(index=0, speaker="customer", start_s=0.0, end_s=4.5, text="x", channel=1),
        Turn(index=1, speaker="agent", start_s=5.0, end_s=7.5, text="x", channel=0),
        Turn(index=2, speaker="agent", start_s=38.0, end_s=39.5, text="x", channel=0),
    ]
    metrics = measure(turns, [], TIMING, audio=audio.astype(np.float32), sample_rate=SR)
    assert len(metrics.holds) == 1
    assert abs(metrics.holds[0].start_s - 7.0) <= 0.1
    assert abs(metrics.holds[0].end_s - 37.0) <= 0.1
    assert abs(metrics.talk_time_s["agent"] - 3.5) <= 0.15  # the turn ends with its speech too


def test_hold_starts_after_a_missed_word_run_into_the_music():
    # "... on hold?" - silence - "Ta." (never transcribed) run straight into the music.
    rng = np.random.default_rng(10)
    agent = np.concatenate([np.zeros(5 * SR), speech_like(2.0, rng), np.zeros(SR), speech_like(0.3, rng),
                            steady_tones(30.0), np.zeros(SR), speech_like(1.5, rng)])
    customer = np.concatenate([speech_like(4.5, rng), np.zeros(agent.size - 4 * SR - SR // 2)])
    audio = np.stack([agent, customer]) + 1e-4 * rng.standard_normal((2, agent.size))
    turns = [
        Turn(index=0, speaker="customer", start_s=0.0, end_s=4.5, text="x", channel=1),
        Turn(index=1, speaker="agent", start_s=5.0, end_s=7.0, text="x", channel=0),
        Turn(index=2, speaker="agent", start_s=39.3, end_s=40.8, text="x", channel=0),
    ]
    metrics = measure(turns, [], TIMING, audio=audio.astype(np.float32), sample_rate=SR)
    assert len(metrics.holds) == 1
    assert abs(metrics.holds[0].start_s - 8.3) <= 0.1
