"""Timing metrics from turn times (and, when given, the audio): measured, never judged.

Gaps between turns are dead air (silence) or, when long enough, holds. A hold's source is
recorded: `words` (a hold request or placement said just before it), `silence` or `music`
(from the audio's energy across the gap). Overlapping speech of different speakers is overtalk:
the speaker whose turn starts second interrupted the other.

With audio, turn boundaries are first snapped to the channel's activity (pipeline.detect.activity)
and, on a stereo recording with a party per channel, overtalk is where both channels' speech
overlaps; without audio (transcripts) the turn times are used as they are. docs/timing.md
defines every metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.detect.activity import (
    Span,
    activity_islands,
    claimed_speech,
    extend_over_missed_speech,
    intersect,
    merge_close,
    noise_floor_dbfs,
    snap_turns,
)
from pipeline.detect.music_onset import music_onset
from pipeline.detect.options import TimingOptions
from pipeline.spans import union_length
from pipeline.schema import Event, Hold, Metrics, Overtalk, Silence, Turn

__all__ = ["has_times", "measure", "Gap", "gaps", "classify_gap_audio", "refine_turns", "end_turns_at_music", "overtalk_from_activity"]


def has_times(turns: list[Turn]) -> bool:
    """True when every turn has a start and an end (a transcript input may have none)."""
    return bool(turns) and all(t.start_s is not None and t.end_s is not None for t in turns)


@dataclass(frozen=True)
class Gap:
    """A stretch with nobody speaking, between the end of all speech so far and the next turn."""

    start_s: float
    end_s: float
    before_turn: int  # index of the turn that ends the gap
    after_turn: int  # index of the turn whose end starts it (the latest-ending earlier turn)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def gaps(turns: list[Turn], min_s: float) -> list[Gap]:
    """Gaps of at least `min_s` between speech, in time order (turns must have times)."""
    order = sorted(turns, key=lambda t: (t.start_s, t.end_s))
    found = []
    latest_end, latest_turn = None, None
    for turn in order:
        if latest_end is not None and turn.start_s - latest_end >= min_s:
            found.append(Gap(latest_end, turn.start_s, turn.index, latest_turn))
        if latest_end is None or turn.end_s > latest_end:
            latest_end, latest_turn = turn.end_s, turn.index
    return found


def classify_gap_audio(
    audio: np.ndarray,
    sample_rate: int,
    start_s: float,
    end_s: float,
    options: TimingOptions,
    noise_dbfs: list[float] | None = None,
) -> tuple[str, float, float] | None:
    """What fills a gap between turns, from the audio's frame energy.

    Speech is already accounted for by the turns, so sound inside a gap is hold music (or line
    noise). Each channel is measured on its own (stereo: the music may be on one leg only).

    Args:
        noise_dbfs: each channel's noise floor; a frame is loud only this far above it plus
            `activity_noise_margin_db` (a hissy line is not music). None: the absolute floor alone.

    Returns:
        ("music", start_s, end_s) when at least `audio_music_fraction` of the gap is loud (in
        any channel), the span being that of the loud frames of the channel loud most often; ("silence", start_s, end_s) otherwise; None
        when the gap lies outside the audio.
    """
    channels = audio if audio.ndim == 2 else audio[None, :]
    a, b = max(0, int(round(start_s * sample_rate))), min(channels.shape[1], int(round(end_s * sample_rate)))
    frame = max(1, int(round(options.audio_frame_s * sample_rate)))
    if b - a < frame:
        return None
    n = (b - a) // frame
    chunk = channels[:, a : a + n * frame].reshape(channels.shape[0], n, frame).astype(np.float64)
    level = 10 * np.log10(np.mean(chunk**2, axis=2) + 1e-12)
    floor = np.full(channels.shape[0], options.audio_silence_dbfs)
    if noise_dbfs is not None:
        floor = np.maximum(floor, np.asarray(noise_dbfs, dtype=np.float64) + options.activity_noise_margin_db)
    loud_by_channel = level > floor[:, None]
    loud = loud_by_channel.any(axis=0)  # loud in any channel (the music may be on one leg)
    if loud.mean() < options.audio_music_fraction:
        return "silence", start_s, end_s
    # The span is the music's own leg (the loudest most often): a word the ASR missed on the
    # other leg, just before or after the music, is not music.
    idx = np.flatnonzero(loud_by_channel[int(np.argmax(loud_by_channel.sum(axis=1)))])
    first, last = int(idx[0]), int(idx[-1])
    return "music", (a + first * frame) / sample_rate, (a + (last + 1) * frame) / sample_rate


def _overtalk(turns: list[Turn], min_s: float) -> list[Overtalk]:
    order = sorted(turns, key=lambda t: (t.start_s, t.end_s))
    found = []
    for i, later in enumerate(order):
        for earlier in order[:i]:
            if earlier.speaker == later.speaker or "unknown" in (earlier.speaker, later.speaker):
                continue
            start, end = later.start_s, min(earlier.end_s, later.end_s)
            if end - start >= min_s:
                found.append(Overtalk(start_s=start, end_s=end, duration_s=end - start,
                                      interrupter=later.speaker, interrupted=earlier.speaker))
    return found


def _party_channels(turns: list[Turn], n_channels: int) -> bool:
    """True when each party speaks on a channel of its own (a stereo, channel-per-party recording)."""
    by_speaker: dict[str, set[int | None]] = {}
    for t in turns:
        by_speaker.setdefault(t.speaker, set()).add(t.channel)
    channels = [c for sp, cs in by_speaker.items() if sp != "unknown" for c in cs]
    return (n_channels >= 2 and None not in channels and len(channels) == len(set(channels)) >= 2
            and all(0 <= c < n_channels for c in channels))


def refine_turns(
    turns: list[Turn], audio: np.ndarray, sample_rate: int, options: TimingOptions
) -> tuple[list[Turn], dict[int, list[Span]] | None]:
    """Turns snapped to the audio's activity, and the islands per channel (None when not refined).

    Stereo with a party per channel: each channel's islands, each turn snapped in its own channel.
    Otherwise (mono, or diarised turns without channels): the islands of the mix, channel 0.
    """
    channels = audio if audio.ndim == 2 else audio[None, :]
    if not options.refine_from_audio or channels.size == 0:
        return turns, None
    if _party_channels(turns, channels.shape[0]):
        islands = {c: activity_islands(channels[c], sample_rate, options) for c in range(channels.shape[0])}
        return extend_over_missed_speech(snap_turns(turns, islands, options), islands, options), islands
    mix = channels.astype(np.float64).mean(axis=0)
    islands = {0: activity_islands(mix, sample_rate, options)}
    mono = [t.model_copy(update={"channel": None}) for t in turns]
    snapped = extend_over_missed_speech(snap_turns(mono, islands, options), islands, options)
    return [s.model_copy(update={"channel": t.channel}) for s, t in zip(snapped, turns)], None


def end_turns_at_music(
    turns: list[Turn], audio: np.ndarray, sample_rate: int, options: TimingOptions, noise_dbfs: list[float]
) -> list[Turn]:
    """Turns that run straight into hold music, ended where the music starts.

    When the music follows the last word with no silence on the same leg, activity has no
    boundary there and the turn keeps its ASR end (late by up to ~0.6 s); the hold, which starts
    at that end, would be late too. The music's onset is found from spectral steadiness
    (pipeline.detect.music_onset) and kept only when clear and inside the turn.
    """
    channels = audio if audio.ndim == 2 else audio[None, :]
    party = _party_channels(turns, channels.shape[0])
    out = list(turns)
    position = {t.index: i for i, t in enumerate(turns)}
    for gap in gaps(turns, min(options.silence_min_s, options.hold_min_s)):
        heard = classify_gap_audio(audio, sample_rate, gap.start_s, gap.end_s, options, noise_dbfs)
        # Only music from the gap's very first frame: after a silence the turn's end was snapped.
        if not heard or heard[0] != "music" or heard[1] - gap.start_s >= options.audio_frame_s:
            continue
        turn = out[position[gap.after_turn]]
        c = turn.channel if party and turn.channel is not None else None
        signal = channels[c] if c is not None else channels.astype(np.float64).mean(axis=0)
        floor = (noise_dbfs[c] if c is not None else min(noise_dbfs)) + options.activity_noise_margin_db
        onset = music_onset(signal, sample_rate, gap.start_s, heard[2], options, floor)
        if onset is not None and turn.start_s < onset < turn.end_s:
            out[position[gap.after_turn]] = turn.model_copy(update={"end_s": onset})
    return out


def _music_start_after_missed_speech(
    audio: np.ndarray, sample_rate: int, start_s: float, end_s: float, options: TimingOptions, noise_dbfs: list[float]
) -> float:
    """Where music that begins after a silence really starts, past a word the ASR missed.

    Sound in a gap starts either with the music or with a short word nobody transcribed ("Ta.")
    run straight into the music on the same leg; the music's onset is then searched within
    `hold_onset_lookback_s` after the first loud frame. Without a clear onset the first loud
    frame stands.
    """
    channels = audio if audio.ndim == 2 else audio[None, :]
    a, b = int(round(start_s * sample_rate)), int(round(end_s * sample_rate))
    c = int(np.argmax(np.mean(channels[:, a:b].astype(np.float64) ** 2, axis=1)))
    boundary = min(start_s + options.hold_onset_lookback_s, end_s)
    onset = music_onset(channels[c], sample_rate, boundary, end_s, options,
                        noise_dbfs[c] + options.activity_noise_margin_db)
    return onset if onset is not None and onset > start_s else start_s


def overtalk_from_activity(turns: list[Turn], islands: dict[int, list[Span]], options: TimingOptions) -> list[Overtalk]:
    """Overtalk where both parties' channels carry their speech at once (stereo).

    Episodes closer than `overtalk_merge_gap_s` are one; shorter than `overtalk_min_s` are
    dropped. The interrupter is the party whose stretch of speech began later.
    """
    speech = {sp: claimed_speech(turns, islands, sp) for sp in ("agent", "customer")}
    runs = {sp: merge_close(spans, options.overtalk_merge_gap_s) for sp, spans in speech.items()}
    found = []
    for start, end in merge_close(intersect(speech["agent"], speech["customer"]), options.overtalk_merge_gap_s):
        if end - start < options.overtalk_min_s:
            continue
        onset = {sp: next((s for s, e in party if s <= start <= e), start) for sp, party in runs.items()}
        interrupter = "agent" if onset["agent"] > onset["customer"] else "customer"
        interrupted = "customer" if interrupter == "agent" else "agent"
        found.append(Overtalk(start_s=start, end_s=end, duration_s=end - start,
                              interrupter=interrupter, interrupted=interrupted))
    return found


def _monologue(turns: list[Turn], merge_gap_s: float) -> float | None:
    longest, start, end = None, None, None
    for turn in sorted(turns, key=lambda t: t.start_s):
        if turn.speaker != "agent":
            if start is not None:
                longest = max(longest or 0.0, end - start)
            start = end = None
            continue
        if start is not None and turn.start_s - end <= merge_gap_s:
            end = max(end, turn.end_s)
        else:
            if start is not None:
                longest = max(longest or 0.0, end - start)
            start, end = turn.start_s, turn.end_s
    if start is not None:
        longest = max(longest or 0.0, end - start)
    return longest


def _response_latencies(turns: list[Turn]) -> list[float]:
    order = sorted(turns, key=lambda t: t.start_s)
    return [max(0.0, b.start_s - a.end_s) for a, b in zip(order, order[1:]) if a.speaker == "customer" and b.speaker == "agent"]


def measure(
    turns: list[Turn],
    events: list[Event],
    options: TimingOptions,
    *,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
) -> Metrics:
    """Timing metrics of a call.

    Args:
        turns: the call's turns; when any lacks times, only untimed metrics are filled.
        events: behaviour events (for greeting time and holds' permission / thanks).
        options: timing thresholds.
        audio: optional float audio, shape (channels, samples): turn edges, overtalk (stereo) and
            hold music are then measured from its activity (docs/timing.md).
        sample_rate: sample rate of `audio`.

    Returns:
        The call's Metrics (timing fields None or empty when turns have no times).
    """
    if not has_times(turns):
        return Metrics()
    islands, noise, as_given = None, None, turns
    if audio is not None and audio.size:
        turns, islands = refine_turns(turns, audio, sample_rate, options)
        noise = [noise_floor_dbfs(ch, sample_rate, options) for ch in (audio if audio.ndim == 2 else audio[None, :])]
        if options.refine_from_audio:
            turns = end_turns_at_music(turns, audio, sample_rate, options, noise)
    call_end = max(t.end_s for t in turns)
    if audio is not None and audio.size:
        call_end = max(call_end, audio.shape[-1] / sample_rate)
    talk = {sp: union_length([(t.start_s, t.end_s) for t in turns if t.speaker == sp]) for sp in ("agent", "customer")}
    talk = {sp: v for sp, v in talk.items() if any(t.speaker == sp for t in turns)}
    total_talk = sum(talk.values())
    ratio = {sp: (v / total_talk if total_talk > 0 else 0.0) for sp, v in talk.items()}

    # The greeting turn's (refined) start; the first agent speech when no greeting was found.
    greeting = next((e for e in events if e.kind == "call.greeting" and e.turn_index is not None
                     and e.turn_index < len(turns)), None)
    first_agent = next((t for t in sorted(turns, key=lambda t: t.start_s) if t.speaker == "agent"), None)
    greeting_latency = (turns[greeting.turn_index].start_s if greeting
                        else (first_agent.start_s if first_agent else None))

    by_kind: dict[str, set[int]] = {}
    for e in events:
        if e.turn_index is not None:
            by_kind.setdefault(e.kind, set()).add(e.turn_index)
    placed = by_kind.get("call.hold_request", set())

    silences, holds = [], []
    for gap in gaps(turns, min(options.silence_min_s, options.hold_min_s)):
        heard = (classify_gap_audio(audio, sample_rate, gap.start_s, gap.end_s, options, noise)
                 if audio is not None else None)
        source, start, end = heard if heard else ("silence", gap.start_s, gap.end_s)
        if source == "music" and options.refine_from_audio and start - gap.start_s >= options.audio_frame_s:
            start = _music_start_after_missed_speech(audio, sample_rate, start, end, options, noise)
        asked = any(gap.after_turn - options.hold_context_turns < i <= gap.after_turn for i in placed)
        returned = gap.before_turn in by_kind.get("call.hold_return", set())
        # A short silent hold is still a hold when the words frame it: put on hold before, thanked
        # for holding after; without them a silence shorter than hold_min_s is dead air.
        said = asked and returned and gap.duration_s >= options.silence_min_s
        if gap.duration_s >= options.hold_min_s or said or (source == "music" and end - start >= options.silence_min_s):
            # With music the hold is where the music plays; the pauses around it are not hold.
            holds.append(Hold(
                start_s=start, end_s=end, duration_s=end - start, permission_asked=asked,
                return_thanked=returned,
                detected_from=[*(["words"] if asked else []), source],
            ))
        elif gap.duration_s >= options.silence_min_s:
            silences.append(Silence(start_s=gap.start_s, end_s=gap.end_s, duration_s=gap.duration_s,
                                    turn_owner=turns[gap.before_turn].speaker))
    # Stereo: where both channels speak. Otherwise the given turns' overlap: snapping to a mono
    # mix's activity cannot see a boundary inside the other party's speech, so it is left out.
    overtalk = (overtalk_from_activity(turns, islands, options) if islands is not None
                else _overtalk(as_given, options.overtalk_min_s))
    latencies = _response_latencies(turns)
    return Metrics(
        call_length_s=call_end,
        talk_time_s=talk,
        talk_ratio=ratio,
        greeting_latency_s=greeting_latency,
        silences=silences,
        overtalk=overtalk,
        overtalk_count=len(overtalk),
        overtalk_s=union_length([(o.start_s, o.end_s) for o in overtalk]),
        holds=holds,
        longest_agent_monologue_s=_monologue(turns, options.monologue_merge_gap_s),
        agent_response_latency_s=(sum(latencies) / len(latencies)) if latencies else None,
    )
