"""Speech-activity coverage: where a channel holds speech that no kept, timed word accounts for.

Why: the transcriber drops speech (segments removed by the no-speech and repetition guards, a
channel it judged silent, regions its VAD missed), and the text policy can only redact what was
transcribed. Redacted audio that keeps such speech is not redacted at all. So each channel's
speech activity is found from its energy alone, judged against that channel's own level (a
party 40 dB quieter than the other still counts), and every stretch of it that no kept word of
that channel covers is muted by `redact_audio` (fail closed).

Energy, not a speech model, decides what is muted: a model's misses are exactly what this guards
against. Anything loud enough relative to the channel's speech (a cough, hold music on that
channel) is muted; muting a non-word costs nothing a listener needs. Silero (pipeline/vad.py)
only labels each muted stretch, speech-like or not, so that the seconds of *speech* muted are
reported apart from the music and noise.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.redact.options import CoverageOptions
from pipeline.schema import Turn

__all__ = ["ChannelLevel", "UnalignedStretch", "Coverage", "frame_levels", "channel_level", "word_spans",
           "uncovered_speech", "crosstalk_frames", "speech_like", "level_gap_reason"]

UNALIGNED_REASON = "speech no kept, time-aligned transcribed word covers: muted"


class ChannelLevel(BaseModel):
    """One channel's levels (dBFS), from its 'frame_ms' frames."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: int
    speech_dbfs: float | None = Field(description="Speech level (a high percentile of its frames); None: no speech.")
    noise_dbfs: float = Field(description="Noise floor (a low percentile of its frames).")
    threshold_dbfs: float = Field(description="Frames above this are taken as speech.")


class UnalignedStretch(BaseModel):
    """A stretch of one channel's speech that no kept word covers; muted in that channel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: int = Field(ge=0)
    start_s: float = Field(ge=0.0, description="Start of the muted stretch (padded).")
    end_s: float = Field(ge=0.0)
    speech_s: float = Field(ge=0.0, description="Seconds of speech activity inside it that no word covered.")
    speech_like: bool = Field(True, description="Silero hears speech in it (else music or noise; muted all the same).")


class Coverage(BaseModel):
    """Output of `uncovered_speech`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    levels: list[ChannelLevel]
    stretches: list[UnalignedStretch]

    @property
    def muted_speech_s(self) -> float:
        return round(sum(s.speech_s for s in self.stretches if s.speech_like), 3)


def frame_levels(audio: np.ndarray, frame: int) -> np.ndarray:
    """Level (dBFS, RMS re full scale 1.0) of each whole `frame`-sample frame of one channel."""
    n = len(audio) // frame
    if n == 0:
        return np.zeros(0)
    frames = audio[: n * frame].reshape(n, frame).astype(np.float64)
    return 10 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)


def channel_level(channel: int, levels_db: np.ndarray, options: CoverageOptions) -> ChannelLevel:
    """The channel's speech level, noise floor and speech threshold, from its own frames.

    Speech level: `speech_percentile` of the frames above the absolute floor (so a quiet party is
    measured against itself, not against full scale). Threshold: `relative_db` below that, but
    never below the absolute floor nor within `noise_margin_db` of the channel's noise floor
    (steady line noise is not speech).
    """
    floor = options.absolute_floor_dbfs
    noise = float(np.percentile(levels_db, options.noise_percentile)) if levels_db.size else -120.0
    audible = levels_db[levels_db > floor]
    if audible.size == 0:
        return ChannelLevel(channel=channel, speech_dbfs=None, noise_dbfs=round(noise, 1), threshold_dbfs=floor)
    speech = float(np.percentile(audible, options.speech_percentile))
    threshold = max(floor, speech - options.relative_db, noise + options.noise_margin_db)
    return ChannelLevel(channel=channel, speech_dbfs=round(speech, 1) if speech > threshold else None,
                        noise_dbfs=round(noise, 1), threshold_dbfs=round(threshold, 1))


def word_spans(turns: list[Turn], n_channels: int, redacted: list[tuple[float, float]] | list[tuple[float, float, int | None]],
               padding_s: float, other_inset_s: float = 0.0, max_word_s: float | None = None
               ) -> dict[int, list[tuple[float, float]]]:
    """Per channel, the padded time spans of the kept words.

    A word is kept unless its time overlaps a redacted span (a finding's own, unpadded: the
    word was redacted, so it covers nothing; its neighbours inside the padding still do). A span
    may name its finding's channel: for a word of ANOTHER channel it counts less `other_inset_s`
    at each end, and the word covers its span less that time - the other party's speech under
    the value (crosstalk) is covered by nothing, but the rest of a word overlapping the value's
    edge, and its words beside the value, are covered, though a finding's time reaches into the
    silence around its words (`text._times`). In stereo a word covers only its turn's channel (a turn without one covers
    none); in mono every word covers the one channel. A word timed longer than `max_word_s` covers only a third of
    that at each end: its middle may be speech the transcriber dropped.
    """
    spans: dict[int, list[tuple[float, float]]] = {c: [] for c in range(n_channels)}
    for turn in turns:
        channel = 0 if n_channels == 1 else turn.channel
        if channel is None or channel not in spans:
            continue
        against, crosstalk = [], []
        for span in redacted:
            a, b = span[0], span[1]
            other = n_channels > 1 and len(span) > 2 and span[2] is not None and span[2] != channel
            if other:
                a, b = a + other_inset_s, b - other_inset_s
            if b > a:
                (crosstalk if other else against).append((a, b))
        for w in turn.words:
            # A word overlapping a finding was redacted; so was one with (almost) no duration at its edge. A
            # word that only touches it - its neighbour, `text._times` reaches a finding up to it - is kept.
            if any(w.start_s < b and a < w.end_s for a, b in against) or any(
                    a <= w.start_s <= b for a, b in against if w.end_s - w.start_s < _INSTANT_S):
                continue
            if max_word_s is not None and w.end_s - w.start_s > max_word_s:
                edge = max_word_s / 3
                pieces = [(max(0.0, w.start_s - padding_s), w.start_s + edge), (w.end_s - edge, w.end_s + padding_s)]
            else:
                pieces = [(max(0.0, w.start_s - padding_s), w.end_s + padding_s)]
            for piece in pieces:
                spans[channel].extend(_minus(piece, crosstalk))
    return spans


_INSTANT_S = 0.02  # a word shorter than a frame: Whisper gives some words no duration at all


def _minus(span: tuple[float, float], cuts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """`span` less every cut: the other party's word covers its own speech up to the value's time
    (its start when it answers as the value ends), never the value's time itself (crosstalk)."""
    pieces = [span]
    for a, b in cuts:
        pieces = [p for s, e in pieces for p in ((s, min(e, a)), (max(s, b), e)) if p[1] > p[0]]
    return pieces


def _mask(spans: list[tuple[float, float]], n_frames: int, frame_s: float) -> np.ndarray:
    """Frames lying wholly inside one of the spans."""
    mask = np.zeros(n_frames, dtype=bool)
    for a, b in spans:
        first, last = int(np.ceil(a / frame_s)), int(np.floor(b / frame_s))  # frames [first, last)
        if last > first:
            mask[max(0, first):min(n_frames, last)] = True
    return mask


def _snap(loose: np.ndarray, covered: np.ndarray, muted: np.ndarray, most: int) -> np.ndarray:
    """`loose` less its runs of at most `most` frames that touch a kept word's cover on one side
    and no muted span on either: a word's onset or ending its (small model's) times cut off. A
    longer run, or one beside a value, stays uncovered: it may be speech the transcriber dropped."""
    out = loose.copy()
    n = loose.size
    for a, b in _runs(loose):
        if b - a > most:
            continue
        before, after = (a > 0 and covered[a - 1], b < n and covered[b])
        if (before or after) and not ((a > 0 and muted[a - 1]) or (b < n and muted[b])):
            out[a:b] = False
    return out


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame index runs where flags is True."""
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def uncovered_speech(audio: np.ndarray, sample_rate: int, turns: list[Turn],
                     muted: list[tuple[float, float]] | list[list[tuple[float, float]]],
                     options: CoverageOptions,
                     redacted: list[tuple[float, float]] | list[tuple[float, float, int | None]] | None = None) -> Coverage:
    """Stretches of each channel's speech activity that no kept, timed word of that channel covers.

    Args:
        audio: float (channels, samples).
        sample_rate: its rate.
        turns: the call's turns with their (unredacted) words and times.
        muted: spans already muted (the findings', padded): no speech to report there. One list
            for every channel, or one list per channel.
        options: levels, paddings and the shortest stretch that counts.
        redacted: the findings' own (unpadded) spans, each with its channel or not: a word
            overlapping one covers nothing (see `word_spans`). Default: `muted`.

    Returns:
        Per-channel levels, and the stretches (padded by `mute_padding_ms`) to mute.
    """
    frame = max(1, int(round(sample_rate * options.frame_ms / 1000)))
    frame_s = frame / sample_rate
    duration = audio.shape[1] / sample_rate
    per_channel = muted if muted and isinstance(muted[0], list) else [muted] * audio.shape[0]
    every = sorted(span for spans in per_channel for span in spans)
    against = every if redacted is None else redacted
    by_level = options.crosstalk_margin_db is not None and audio.shape[0] > 1
    covers = word_spans(turns, audio.shape[0], against, options.word_padding_ms / 1000,
                        # with levels, the other party's words are judged frame by frame below
                        float("inf") if by_level else options.other_channel_inset_ms / 1000, options.max_word_s)
    all_db = [frame_levels(audio[channel], frame) for channel in range(audio.shape[0])]
    levels: list[ChannelLevel] = []
    stretches: list[UnalignedStretch] = []
    for channel in range(audio.shape[0]):
        db = all_db[channel]
        level = channel_level(channel, db, options)
        levels.append(level)
        if level.speech_dbfs is None:
            continue
        active = db > level.threshold_dbfs
        covered = _mask(covers[channel], db.size, frame_s)
        if by_level:
            covered &= ~crosstalk_frames(channel, all_db, against, frame_s, options)
        muted_here = _mask(per_channel[channel], db.size, frame_s)
        loose = active & ~covered & ~muted_here
        if options.snap_ms:
            loose = _snap(loose, covered, muted_here, int(options.snap_ms / 1000 / frame_s))
        gap = options.merge_gap_ms / 1000 / frame_s
        runs: list[list[int]] = []
        for a, b in _runs(loose):
            if runs and a - runs[-1][1] <= gap:
                runs[-1][1] = b
            else:
                runs.append([a, b])
        pad = options.mute_padding_ms / 1000
        for a, b in runs:
            speech_s = float(loose[a:b].sum()) * frame_s
            if speech_s * 1000 < options.min_stretch_ms:
                continue
            start_s, end_s = max(0.0, a * frame_s - pad), min(duration, b * frame_s + pad)
            heard = speech_like(audio[channel, int(start_s * sample_rate):int(end_s * sample_rate)], sample_rate, options)
            stretches.append(UnalignedStretch(channel=channel, start_s=round(start_s, 3), end_s=round(end_s, 3),
                                              speech_s=round(speech_s, 3), speech_like=heard))
    return Coverage(levels=levels, stretches=stretches)


def crosstalk_frames(channel: int, all_db: list[np.ndarray], redacted, frame_s: float,
                     options: CoverageOptions) -> np.ndarray:
    """Frames of `channel` that may carry the crosstalk (echo) of a value said on another channel.

    Inside a finding of another channel (its own time span), a frame is crosstalk when it is
    quieter than that channel's loudest frame within `crosstalk_window_ms` less
    `crosstalk_margin_db`: an echo is an attenuated, slightly delayed copy. A frame as loud as
    the value's is this party speaking at the same time (its kept words cover it); where the
    value's channel is silent - a finding's time reaches into the silence beside its words, and
    a small model's word times are ~0.3 s off - this party's speech is its own. A finding with
    no channel (mono) names no other channel.
    """
    db = all_db[channel]
    out = np.zeros(db.size, dtype=bool)
    reach = max(0, int(round(options.crosstalk_window_ms / 1000 / frame_s)))
    for span in redacted:
        source = span[2] if len(span) > 2 else None
        if source is None or source == channel or not 0 <= source < len(all_db):
            continue
        a, b = max(0, int(np.floor(span[0] / frame_s))), min(db.size, int(np.ceil(span[1] / frame_s)))
        if b <= a:
            continue
        src = all_db[source]
        lo, hi = max(0, a - reach), min(src.size, b + reach)
        window = np.lib.stride_tricks.sliding_window_view(np.pad(src[lo:hi], (reach, reach), constant_values=-120.0),
                                                          2 * reach + 1).max(axis=1)
        loud = window[a - lo: b - lo]
        n = min(b - a, loud.size)
        out[a:a + n] |= db[a:a + n] < loud[:n] - options.crosstalk_margin_db
    return out


def speech_like(audio: np.ndarray, sample_rate: int, options: CoverageOptions) -> bool:
    """Whether Silero hears speech in a stretch of one channel: at least `min_speech_fraction` of
    its frames score `speech_probability` or more. Scored peak-normalised, so a quiet party is
    judged like a loud one; True when it cannot be scored (an unexpected rate: assume speech)."""
    from pipeline.config import VadOptions
    from pipeline.vad import SAMPLE_RATE, island_speech_probability

    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if sample_rate != SAMPLE_RATE or peak == 0.0:
        return sample_rate != SAMPLE_RATE
    probs = island_speech_probability((audio / peak * 0.5).astype(np.float32), VadOptions())
    return bool(probs.size and np.mean(probs >= options.speech_probability) >= options.min_speech_fraction)


def level_gap_reason(levels: list[ChannelLevel], gap_db: float) -> str | None:
    """A review reason when one channel's speech is far quieter than another's (a line fault:
    the quiet party is hard to hear, and its transcription the least sure)."""
    heard = [lv for lv in levels if lv.speech_dbfs is not None]
    if len(heard) < 2:
        return None
    loud = max(heard, key=lambda lv: lv.speech_dbfs)
    quiet = min(heard, key=lambda lv: lv.speech_dbfs)
    gap = loud.speech_dbfs - quiet.speech_dbfs
    if gap <= gap_db:
        return None
    return (f"channel {quiet.channel} speech is {gap:.0f} dB quieter than channel {loud.channel} "
            f"(over {gap_db:.0f} dB: a line fault?); transcribed after gain normalisation, check the redacted audio")
