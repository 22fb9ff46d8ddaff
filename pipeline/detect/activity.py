"""Speech activity from the signal, to time turns and overtalk more finely than ASR words.

Whisper's word timestamps are off by 0.2-0.5 s, but on a recording the energy of each channel
says to ~10-20 ms when sound starts and stops. This module finds those activity islands per
channel, snaps each turn's start and end to the nearest island boundary of its channel (within
a tolerance, so an island that is not the turn's - hold music, another turn - never moves it),
and intersects two parties' speech to find real overtalk. The words still decide *who* speaks
and *whether* an island is speech: an island no turn claims (hold music, line noise) is ignored.
"""

from __future__ import annotations

import numpy as np

from pipeline.detect.options import TimingOptions
from pipeline.schema import Turn

__all__ = ["Span", "frame_levels", "noise_floor_dbfs", "activity_islands", "snap_turns", "extend_over_missed_speech", "claimed_speech", "intersect", "merge_close"]

Span = tuple[float, float]


def frame_levels(channel: np.ndarray, frame: int) -> np.ndarray:
    """RMS level (dBFS) of each whole frame of `frame` samples."""
    n = channel.size // frame
    frames = channel[: n * frame].reshape(n, frame)
    power = np.empty(n, dtype=np.float64)
    block = 6000  # frames at a time: a long call is never copied whole to float64
    for i in range(0, n, block):
        chunk = frames[i : i + block].astype(np.float64)
        power[i : i + block] = np.mean(chunk * chunk, axis=1)
    return 10 * np.log10(power + 1e-12)


def noise_floor_dbfs(channel: np.ndarray, sample_rate: int, options: TimingOptions) -> float:
    """The channel's noise floor: a low percentile of its frame levels (each party's channel is
    quiet while the other talks, so this is the line, not the speech)."""
    level = frame_levels(channel, max(1, int(round(options.activity_frame_s * sample_rate))))
    return float(np.percentile(level, options.activity_noise_percentile)) if level.size else -120.0


def activity_islands(channel: np.ndarray, sample_rate: int, options: TimingOptions) -> list[Span]:
    """Spans (seconds) where one channel carries sound, from short-term frame energy.

    A frame is active when its RMS is above both the absolute floor and the channel's own noise
    floor (a low percentile of its frame levels) plus a margin, so a hissy line does not count as
    continuous speech. Active stretches closer than `activity_bridge_s` are joined (the pauses
    between words), and islands shorter than `activity_min_island_s` (clicks) are dropped.

    Args:
        channel: one channel's float samples.
        sample_rate: its sample rate.
        options: activity thresholds.

    Returns:
        Islands in time order.
    """
    frame = max(1, int(round(options.activity_frame_s * sample_rate)))
    level = frame_levels(channel, frame)
    if level.size == 0:
        return []
    noise = float(np.percentile(level, options.activity_noise_percentile))
    active = level > max(options.activity_floor_dbfs, noise + options.activity_noise_margin_db)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]  # [start, end) in frames
    bridge = options.activity_bridge_s * sample_rate / frame
    joined: list[list[int]] = []
    for a, b in runs:
        if joined and a - joined[-1][1] <= bridge:
            joined[-1][1] = b
        else:
            joined.append([a, b])
    step = frame / sample_rate
    min_frames = options.activity_min_island_s / step
    return [(a * step, b * step) for a, b in joined if b - a >= min_frames]


def _nearest(value: float, candidates: np.ndarray, tolerance: float) -> float | None:
    if candidates.size == 0:
        return None
    i = int(np.argmin(np.abs(candidates - value)))
    return float(candidates[i]) if abs(candidates[i] - value) <= tolerance else None


def snap_turns(turns: list[Turn], islands: dict[int, list[Span]], options: TimingOptions) -> list[Turn]:
    """Turns whose start and end are moved to the nearest activity boundary of their channel.

    Args:
        turns: timed turns; `channel` picks the islands (None: channel 0, a mono recording).
        islands: channel -> its activity islands.
        options: `snap_tolerance_s`: a boundary farther than this from the ASR time is not the
            turn's (the ASR time is kept).

    Returns:
        The turns with refined times (same order, index, text and words). A boundary never moves
        past the edge of another turn of the same channel: on a mono mix, where one island can
        hold both parties' speech, a turn must not swallow the reply that follows it.
    """
    channel_of = [t.channel if t.channel is not None else 0 for t in turns]
    out = []
    for k, turn in enumerate(turns):
        spans = islands.get(channel_of[k], [])
        starts = np.array([s for s, _ in spans])
        ends = np.array([e for _, e in spans])
        start = _nearest(turn.start_s, starts, options.snap_tolerance_s)
        end = _nearest(turn.end_s, ends, options.snap_tolerance_s)
        same = [t for j, t in enumerate(turns) if j != k and channel_of[j] == channel_of[k]]
        if start is not None and any(start < t.end_s <= turn.start_s for t in same):
            start = None
        if end is not None and any(turn.end_s <= t.start_s < end for t in same):
            end = None
        start = turn.start_s if start is None else start
        end = turn.end_s if end is None else end
        if end <= start:  # two boundaries of different islands crossed: keep what ASR said
            start, end = turn.start_s, turn.end_s
        out.append(turn.model_copy(update={"start_s": start, "end_s": end}))
    return out


def extend_over_missed_speech(turns: list[Turn], islands: dict[int, list[Span]], options: TimingOptions) -> list[Turn]:
    """Turns whose start moves back over the activity just before them that no turn claims.

    Whisper (and its VAD) can drop a turn's first words, typically right after hold music: the
    channel shows speech starting seconds before the first transcribed word. Such activity - an
    island no other turn of the channel overlaps, ending within `missed_speech_gap_s` of the
    turn's start, or the earlier part of the island the start lies in - is the turn's own speech,
    up to `missed_speech_max_s` in all. Without this, a hold would seem to last until the first
    *transcribed* word after it.
    """
    by_channel: dict[int, list[tuple[int, float, float]]] = {}
    for k, t in enumerate(turns):
        by_channel.setdefault(t.channel if t.channel is not None else 0, []).append((k, t.start_s, t.end_s))
    out = []
    for k, turn in enumerate(turns):
        channel = turn.channel if turn.channel is not None else 0
        others = [(s, e) for j, s, e in by_channel[channel] if j != k and s < turn.start_s]
        start = turn.start_s
        limit = turn.start_s - options.missed_speech_max_s
        for a, b in reversed(islands.get(channel, [])):
            if a >= start:
                continue
            if start - b > options.missed_speech_gap_s or a < limit:
                break
            if any(os < start and oe > a for os, oe in others):  # another turn's speech: not missed
                break
            start = a
        out.append(turn if start == turn.start_s else turn.model_copy(update={"start_s": start}))
    return out


def _clip(spans: list[Span], windows: list[Span]) -> list[Span]:
    out = []
    for ws, we in windows:
        for s, e in spans:
            a, b = max(s, ws), min(e, we)
            if b > a:
                out.append((a, b))
    return merge_close(sorted(out), 0.0)


def claimed_speech(turns: list[Turn], islands: dict[int, list[Span]], speaker: str) -> list[Span]:
    """One party's speech: the activity of its turns' channels inside its (snapped) turn spans.

    Sound in the channel outside every turn of the party (hold music on the agent leg, noise) is
    not its speech, and neither are the pauses inside its turns.
    """
    out: list[Span] = []
    for channel in sorted({t.channel for t in turns if t.speaker == speaker}):
        windows = [(t.start_s, t.end_s) for t in turns if t.speaker == speaker and t.channel == channel]
        out.extend(_clip(islands.get(channel if channel is not None else 0, []), windows))
    return merge_close(sorted(out), 0.0)


def intersect(a: list[Span], b: list[Span]) -> list[Span]:
    """Where two sorted, disjoint span lists overlap."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if e > s:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def merge_close(spans: list[Span], gap_s: float) -> list[Span]:
    """Sorted spans with those closer than `gap_s` joined."""
    out: list[list[float]] = []
    for s, e in spans:
        if out and s - out[-1][1] <= gap_s:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]
