"""Where speech turns into hold music on one channel, when no silence separates them.

A phone system can start hold music on the very sample the agent's last word ends, on the
agent's own leg: the channel's energy then never drops, activity has no boundary to snap the
turn's end to, and the hold would start at Whisper's word end (often 0.3-0.6 s late). What does
change at that instant is how steady the *spectrum* is: music holds its notes and timbre for
tenths of a second, speech moves its pitch and formants every few tens of milliseconds. The
onset is the point that best splits the stretch before the ASR end plus the music after it into
"unsteady" then "steady" (a two-mean change point) - used only when the split is clear.
"""

from __future__ import annotations

import numpy as np

from pipeline.detect.options import TimingOptions

__all__ = ["spectral_stability", "music_onset"]


def _spectra(x: np.ndarray, hop: int, n_fft: int) -> np.ndarray:
    """Magnitude spectra of Hann-windowed frames starting every `hop` samples."""
    n = 1 + (x.size - n_fft) // hop if x.size >= n_fft else 0
    if n <= 0:
        return np.zeros((0, n_fft // 2 + 1))
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    frames = x[idx].astype(np.float64) * np.hanning(n_fft)[None, :]
    return np.abs(np.fft.rfft(frames, axis=1))


def spectral_stability(x: np.ndarray, hop: int, n_fft: int, lag: int) -> np.ndarray:
    """Per frame, the cosine similarity of its magnitude spectrum with the one `lag` frames earlier.

    A held note (or a steady, compressed music bed) keeps its spectrum: near 1. Speech moves its
    pitch and formants every few tens of milliseconds, and silence or line noise has no stable
    spectrum: well below 1. Frames without a predecessor, or without energy, are 0.
    """
    spec = _spectra(x, hop, n_fft)
    out = np.zeros(spec.shape[0])
    if spec.shape[0] <= lag:
        return out
    a, b = spec[lag:], spec[:-lag]
    norm = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    out[lag:] = np.where(norm > 0, np.sum(a * b, axis=1) / np.maximum(norm, 1e-12), 0.0)
    return out


def music_onset(channel: np.ndarray, sample_rate: int, boundary_s: float, music_end_s: float,
                options: TimingOptions, floor_dbfs: float | None = None) -> float | None:
    """The onset of hold music that follows speech directly, searched before `boundary_s`.

    Args:
        channel: one channel's float samples (the leg that carries the music).
        sample_rate: its sample rate.
        boundary_s: where the music is known to play already (the gap's start: the ASR end of
            the turn before it); the onset is looked for up to `hold_onset_lookback_s` earlier.
        music_end_s: where the music stops (bounds the music after `boundary_s` taken into the search).
        options: `hold_onset_*` thresholds.
        floor_dbfs: frames quieter than this (silence, the line's noise) are left out: they are
            neither speech nor music, and a silence before the music ends the turn by itself.
            None: `activity_floor_dbfs`.

    Returns:
        The onset (seconds, at or before `boundary_s`), or None when no clear speech->music
        change lies in the window (the caller keeps its time).
    """
    hop = max(1, int(round(options.activity_frame_s * sample_rate)))
    n_fft = 1 << int(np.ceil(np.log2(max(2, options.hold_onset_frame_s * sample_rate))))
    ref_s = min(options.hold_onset_reference_s, music_end_s - boundary_s)
    if ref_s * sample_rate < n_fft + hop or boundary_s <= 0:
        return None
    lo = max(0, int(round((boundary_s - options.hold_onset_lookback_s) * sample_rate)))
    mid = int(round(boundary_s * sample_rate))
    hi = min(channel.size, int(round((boundary_s + ref_s) * sample_rate)))
    if mid - lo < n_fft or hi - mid < n_fft:
        return None
    lag = max(1, int(round(options.hold_onset_lag_s * sample_rate / hop)))
    sim = spectral_stability(channel[lo:hi], hop, n_fft, lag)
    if sim.size <= lag + 2:
        return None
    x = channel[lo:hi].astype(np.float64)
    idx = np.arange(n_fft)[None, :] + hop * np.arange(sim.size)[:, None]
    level = 10 * np.log10(np.mean(x[idx] ** 2, axis=1) + 1e-12)
    floor = options.activity_floor_dbfs if floor_dbfs is None else max(options.activity_floor_dbfs, floor_dbfs)
    # Frame k's steadiness compares [k-lag, k] windows; both must carry sound.
    keep = np.zeros(sim.size, dtype=bool)
    keep[lag:] = (level[lag:] > floor) & (level[:-lag] > floor)
    frames = np.flatnonzero(keep)
    start_s = (lo + frames * hop) / sample_rate
    sim = sim[frames]
    n_before = int(np.searchsorted(start_s, boundary_s))
    min_frames = max(1, int(round(options.hold_onset_min_speech_s * sample_rate / hop)))
    if n_before <= min_frames or sim.size - n_before < min_frames:
        return None
    # Two-mean change point: the split with the least squared error, its steady side starting
    # at or before the ASR end.
    csum, csq = np.cumsum(sim), np.cumsum(sim * sim)
    total, total_sq, n = csum[-1], csq[-1], sim.size
    k = np.arange(min_frames, n_before + 1)
    left, right = csum[k - 1], total - csum[k - 1]
    cost = (csq[k - 1] - left * left / k) + (total_sq - csq[k - 1] - right * right / (n - k))
    best = int(k[np.argmin(cost)])
    before, after = sim[:best], sim[best:]
    # Clear only when the steady side is much steadier on average and steady throughout (most
    # of its frames above the midpoint). Speech is not held to that: a drawn-out vowel is steady
    # for a while, which the mean already allows for.
    if after.mean() - before.mean() < options.hold_onset_min_contrast:
        return None
    if (after >= (after.mean() + before.mean()) / 2).mean() < options.hold_onset_min_agreement:
        return None
    # The first steady frame compares its window with the one `lag` frames before: both are
    # music, so the music began where that earlier window begins.
    onset = (lo + (frames[best] - lag) * hop) / sample_rate
    return float(min(onset, boundary_s))
