"""Synthetic hold music: a short deterministic melody of soft sine tones, looped.

Real hold music is what trips speech recognisers into hallucinating text and VAD into calling
music speech, so the synthetic calls carry some; a plain melody of tones in the telephone band
is enough to exercise those guards and is byte-identical on every run.
"""

from __future__ import annotations

import numpy as np

__all__ = ["hold_music"]

# A pentatonic phrase (Hz) over a slow bass line: musical enough to sound like hold music.
_MELODY = (523.25, 659.25, 783.99, 880.0, 783.99, 659.25, 587.33, 659.25,
           523.25, 587.33, 659.25, 783.99, 659.25, 587.33, 523.25, 440.0)
_BASS = (329.63, 440.0, 349.23, 392.0)  # kept above the 300 Hz telephone band edge
_NOTE_S = 0.32


def _tone(freq: float, n: int, sample_rate: int) -> np.ndarray:
    t = np.arange(n, dtype=np.float64) / sample_rate
    wave = np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(4 * np.pi * freq * t)
    # 15 ms attack and a longer release, so notes do not click.
    ramp_in = max(1, int(0.015 * sample_rate))
    ramp_out = max(1, int(0.08 * sample_rate))
    env = np.ones(n)
    env[:ramp_in] = np.linspace(0.0, 1.0, min(ramp_in, n))[: min(ramp_in, n)]
    if n > ramp_out:
        env[-ramp_out:] = np.linspace(1.0, 0.0, ramp_out)
    return wave * env


def hold_music(n_samples: int, sample_rate: int, *, level_dbfs: float = -20.0) -> np.ndarray:
    """Hold music of exactly `n_samples` samples.

    Args:
        n_samples: length wanted.
        sample_rate: sample rate of the output.
        level_dbfs: peak level in dB relative to full scale (low: it is background).

    Returns:
        Mono float32 samples, peak about 10 ** (level_dbfs / 20).
    """
    if n_samples <= 0:
        return np.zeros(0, dtype=np.float32)
    note_n = int(_NOTE_S * sample_rate)
    bar = len(_MELODY) * note_n
    phrase = np.concatenate([_tone(f, note_n, sample_rate) for f in _MELODY])
    bass = np.concatenate([_tone(f, bar // len(_BASS), sample_rate) for f in _BASS])
    bass = np.pad(bass, (0, bar - bass.size))
    loop = phrase + 0.6 * bass
    loop /= np.max(np.abs(loop))
    reps = -(-n_samples // loop.size)
    out = np.tile(loop, reps)[:n_samples]
    return (out * 10 ** (level_dbfs / 20.0)).astype(np.float32)
