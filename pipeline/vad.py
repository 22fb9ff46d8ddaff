"""Speech regions of one channel: energy islands first, then Silero VAD inside each island.

Why not faster-whisper's `vad_filter` on the whole channel: in a stereo call recording each
party's channel is digital silence (or a very low floor) while the other party talks, and
Silero's recurrent state, carried across those long silent stretches, misses most of the later
speech (on Piper-voiced 8 kHz calls it kept 2 of the agent's first 6 turns, and WER rose from
0.09 to 0.43). Cutting the channel into energy islands and running Silero on each island with a
fresh state keeps Silero's rejection of music and noise without that failure.

An island can still be long and mixed: hold music runs straight into the agent's return (on
the agent's own channel, often after a gap shorter than `island_gap_s`), and a line noise floor
above `energy_floor_dbfs` makes the whole channel one island. After a few seconds of music,
Silero's carried state lags the start of speech by up to seconds (on the synthetic calls it
missed "Thanks so much for holding" after a 95 s hold; after 4 s of music the lag was already
up to 0.9 s, after 2 s none). So inside an island a fresh Silero run starts every half
`silero_window_s` and lasts one window; each frame keeps the higher of its two runs' scores,
and faster-whisper's hysteresis (threshold, min_silence, padding) is then applied once over
the island. This is the stateless-window idea of pyannote-style VAD with Silero's scores; it
costs twice the Silero time, which is small next to Whisper's.
"""

from __future__ import annotations

import numpy as np

from pipeline.config import VadOptions

__all__ = ["energy_islands", "island_speech_probability", "speech_regions"]

SAMPLE_RATE = 16000
_FRAME = 320  # 20 ms
_SILERO_FRAME = 512  # the frame Silero scores at 16 kHz


def energy_islands(audio: np.ndarray, options: VadOptions) -> list[tuple[int, int]]:
    """Sample spans whose short-term energy is above the floor, merged across short gaps and padded."""
    n_frames = len(audio) // _FRAME
    if n_frames == 0:
        return []
    frames = audio[: n_frames * _FRAME].reshape(n_frames, _FRAME).astype(np.float64)
    rms_db = 10 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)
    active = np.flatnonzero(rms_db > options.energy_floor_dbfs)
    if active.size == 0:
        return []
    gap = int(options.island_gap_s * SAMPLE_RATE / _FRAME)
    pad = int(options.island_pad_s * SAMPLE_RATE)
    islands: list[list[int]] = [[active[0], active[0]]]
    for frame in active[1:]:
        if frame - islands[-1][1] <= gap:
            islands[-1][1] = frame
        else:
            islands.append([frame, frame])
    return [
        (max(0, start * _FRAME - pad), min(len(audio), (end + 1) * _FRAME + pad)) for start, end in islands
    ]


def island_speech_probability(audio: np.ndarray, options: VadOptions) -> np.ndarray:
    """Silero's speech probability per 512-sample frame of one island, a fresh run every half window.

    Each frame is scored by two runs, one started up to half a window before it and one up to a
    whole window before (settled, but never carrying older state); it keeps the higher score.
    Scores, not per-run speech chunks, are combined, so min_silence is applied once over the
    island and a run's end cannot hold a chunk open.
    """
    from faster_whisper.vad import get_vad_model

    silero = get_vad_model()
    n_frames = -(-len(audio) // _SILERO_FRAME)
    padded = np.pad(audio, (0, n_frames * _SILERO_FRAME - len(audio)))
    hop = int(options.silero_window_s * SAMPLE_RATE / 2) // _SILERO_FRAME
    if hop == 0 or n_frames <= 2 * hop:
        return np.asarray(silero(padded), dtype=np.float32).reshape(-1)
    probs = np.zeros(n_frames, dtype=np.float32)
    for first in range(0, n_frames - hop, hop):
        window = padded[first * _SILERO_FRAME : (first + 2 * hop) * _SILERO_FRAME]
        scored = np.asarray(silero(window), dtype=np.float32).reshape(-1)
        np.maximum(probs[first : first + scored.size], scored, out=probs[first : first + scored.size])
    return probs


def _speech_spans(probs: np.ndarray, options: VadOptions) -> list[tuple[int, int]]:
    """Frame spans of speech: faster-whisper's hysteresis (threshold up, threshold - 0.15 down)."""
    negative = max(options.threshold - 0.15, 0.01)
    min_silence = options.min_silence_duration_ms * SAMPLE_RATE / 1000 / _SILERO_FRAME
    spans: list[tuple[int, int]] = []
    start: int | None = None
    silence_from: int | None = None
    for i, p in enumerate(probs):
        if p >= options.threshold:
            silence_from = None
            start = i if start is None else start
        elif p < negative and start is not None:
            silence_from = i if silence_from is None else silence_from
            if i - silence_from >= min_silence:
                spans.append((start, silence_from))
                start = silence_from = None
    if start is not None:
        spans.append((start, len(probs)))
    min_speech = options.min_speech_duration_ms * SAMPLE_RATE / 1000 / _SILERO_FRAME
    return [(a, b) for a, b in spans if b - a > min_speech]


def speech_regions(audio: np.ndarray, options: VadOptions) -> list[dict[str, int]]:
    """Speech chunks of a 16 kHz channel as faster-whisper's VAD returns them ({"start", "end"} in samples).

    Args:
        audio: one channel, float32 at 16 kHz.
        options: energy floor, island merging, Silero's window and its parameters.
    """
    pad = int(options.speech_pad_ms * SAMPLE_RATE / 1000)
    chunks: list[dict[str, int]] = []
    for island_start, island_end in energy_islands(audio, options):
        probs = island_speech_probability(audio[island_start:island_end], options)
        for a, b in _speech_spans(probs, options):
            chunks.append({
                "start": max(island_start, island_start + a * _SILERO_FRAME - pad),
                "end": min(island_end, island_start + b * _SILERO_FRAME + pad),
            })
    merged: list[dict[str, int]] = []
    for chunk in sorted(chunks, key=lambda c: c["start"]):
        if merged and chunk["start"] <= merged[-1]["end"]:
            merged[-1]["end"] = max(merged[-1]["end"], chunk["end"])
        else:
            merged.append(dict(chunk))
    return merged
