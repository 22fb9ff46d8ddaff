"""Audio redaction: each finding's word time span, padded, becomes silence or a tone in every
channel; and in each channel, speech that no kept, timed word of that channel covers is muted
(pipeline/redact/coverage.py: speech the transcriber dropped is never left audible). The input
array is never modified; fail closed when a finding cannot be placed or coverage cannot be
computed."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import StageError
from pipeline.redact.align import Aligner, aligned_edges, word_onsets
from pipeline.redact.coverage import (ChannelLevel, UnalignedStretch, channel_level, frame_levels, level_gap_reason,
                                      uncovered_speech)
from pipeline.redact.options import PAYMENT_TYPES, CoverageOptions, RedactOptions
from pipeline.schema import PiiFinding, Recording, Turn

__all__ = ["AudioRedaction", "Pauses", "is_payment_finding", "redact_audio", "redaction_spans", "write_redacted_audio"]

logger = logging.getLogger(__name__)

# Findings with no characters, only time: muted in every channel but the requester's.
GAP_RECOGNIZERS = frozenset({"answer_gap", "payment_gap"})

# The digit-run rule (pipeline/redact/payment.py) types a run by its shape alone: a card number with
# a digit lost or misheard fails Luhn and reads as ACCOUNT_NUMBER, so such a run counts as payment data.
_CODE_RUN_RECOGNIZERS = frozenset({"code_run", "code_run+bridge", "code_run+repeat", "code_run+readback",
                                   "code_run+echo"})


def is_payment_finding(f: PiiFinding) -> bool:
    """Whether a finding is payment data for `audio.payment_full_padding`: a payment entity type
    (card, security code, expiry, sort code, account: every payment- and answer-window finding
    and payment gap carries one), or a code run of no more specific type (ACCOUNT_NUMBER)."""
    return f.entity_type in PAYMENT_TYPES or (f.recognizer in _CODE_RUN_RECOGNIZERS
                                              and f.entity_type == "ACCOUNT_NUMBER")


class AudioRedaction(BaseModel):
    """Output of `redact_audio`."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    audio: np.ndarray | None = Field(
        description="float32 (channels, samples) with the spans replaced; None when no redacted audio is claimed.",
        exclude=True, repr=False,
    )
    sample_rate: int
    spans_s: list[tuple[float, float]] = Field(description="Merged, padded (start, end) seconds that were replaced.")
    flagged: bool = Field(description="Needs review: no redacted audio is claimed (audio None), or the channels' "
                                      "levels differ by more than audio.coverage.level_gap_db.")
    reasons: list[str] = Field(default_factory=list)
    unaligned: list[UnalignedStretch] = Field(
        default_factory=list, description="Stretches of speech no kept word covered, muted in their channel.")
    levels: list[ChannelLevel] = Field(default_factory=list, description="Each channel's speech level and threshold.")

    @property
    def muted_speech_s(self) -> float:
        """Seconds of speech muted because no kept word covered it (beyond the findings' spans)."""
        return round(sum(s.speech_s for s in self.unaligned if s.speech_like), 3)

    @property
    def muted_other_s(self) -> float:
        """Seconds of other uncovered sound (music, noise: Silero hears no speech) muted likewise."""
        return round(sum(s.speech_s for s in self.unaligned if not s.speech_like), 3)


class Pauses:
    """Where one channel pauses: runs of at least `min_frames` frames under its speech threshold."""

    def __init__(self, quiet: np.ndarray, frame_s: float, min_frames: int):
        self.quiet, self.frame_s, self.min_frames = quiet, frame_s, max(1, min_frames)

    @classmethod
    def of(cls, samples: np.ndarray, sample_rate: int, coverage: CoverageOptions, pause_ms: int) -> "Pauses":
        frame = max(1, int(sample_rate * coverage.frame_ms / 1000))
        levels = frame_levels(samples, frame)
        threshold = channel_level(0, levels, coverage).threshold_dbfs
        return cls(levels <= threshold, frame / sample_rate, round(pause_ms / coverage.frame_ms))

    def _runs(self, t0: float, t1: float) -> list[tuple[int, int]]:
        """(first, end) frame indices of the pauses inside [t0, t1)."""
        a, b = max(0, int(t0 / self.frame_s)), min(len(self.quiet), int(np.ceil(t1 / self.frame_s)))
        out, k = [], a
        while k < b:
            if self.quiet[k]:
                j = k
                while j < len(self.quiet) and self.quiet[j]:
                    j += 1
                if j - k >= self.min_frames:
                    out.append((k, j))
                k = j
            else:
                k += 1
        return out

    def clip(self, lo: float, start: float, end: float, hi: float) -> tuple[float, float]:
        """A padded span [lo, hi] around a finding's own [start, end], stopped at the speech beyond the
        first pause after the finding and before the last pause ahead of it: the pause itself stays muted
        (the value's edge may lie in it, its word times ~0.3 s off), the word past it does not."""
        after = [(k, j) for k, j in self._runs(end, hi) if j * self.frame_s < hi]
        if after:
            hi = max(end, after[0][1] * self.frame_s)
        before = [(k, j) for k, j in self._runs(lo, start) if k * self.frame_s > lo]
        if before:
            lo = min(start, before[-1][0] * self.frame_s)
        return lo, hi


def redaction_spans(findings: list[PiiFinding], padding_s: float, duration_s: float,
                    merge_gap_s: float = 0.0, kept: list[tuple[float, float, int]] | None = None,
                    overlap_s: float = 0.0, turn_overlap_s: float | None = None,
                    full_padding: Callable[[PiiFinding], bool] | None = None,
                    pauses: Pauses | None = None, padding_after_s: float | None = None,
                    pad_gaps: bool = True, payment_after_s: float | None = None,
                    aligned: dict[int, tuple[float, float]] | None = None,
                    stops: dict[int, tuple[float, float]] | None = None) -> list[tuple[float, float]]:
    """Padded time spans of the findings, clipped to the recording, merged where they touch or
    lie less than `merge_gap_s` apart (a value read in chunks leaks nothing in its pauses).

    With `kept` (start, end, turn index) of the words of this channel that no finding covers,
    padding goes into the silence beside a finding but at most `overlap_s` into a kept
    neighbouring word of the finding's turn (`turn_overlap_s`, default the same, into one of
    another turn: a turn's first word is often timed late, so its timestamp is already past the
    pause), and two findings are not merged across a kept word between them: the transcriber
    heard that word there, and `text._times` already reaches a finding up to its neighbours.
    A finding for which `full_padding` answers True (payment data, `is_payment_finding`) keeps
    its full padding whatever words are beside it (issue #15: in mono, word times run into the
    other speaker, and the neighbour limit left card digits audible). Every other finding is padded
    `padding_after_s` after its end (None: `padding_s`; its time already reaches the next word), and with
    `pauses` (the channel's) its padding (not a gap's) stops at the speech past a pause beside it. Without
    `pad_gaps`, a gap is muted over its own time only: its edges are other words' times. A payment finding is
    padded `payment_after_s` after its end (None: `padding_s`). A finding in `aligned` (by `id`: its
    span from `align.aligned_edges`, already padded) is muted over that span joined with its own time.
    A finding in `stops` (by `id`: (stop, floor), `next_word_stops`) ends at `stop` at the latest, but not
    before `floor`.
    """
    other_s = overlap_s if turn_overlap_s is None else turn_overlap_s
    spans = []
    for f in findings:
        if f.start_s is None or f.end_s is None:
            continue
        if aligned and id(f) in aligned:
            a, b = aligned[id(f)]
            lo, hi = max(0.0, min(f.start_s, a)), min(duration_s, max(f.end_s, b))
        elif not pad_gaps and f.recognizer in GAP_RECOGNIZERS:
            lo, hi = f.start_s, f.end_s
        else:
            full = full_padding is not None and full_padding(f)
            after = (payment_after_s if payment_after_s is not None else padding_s) if full else (
                padding_s if padding_after_s is None else padding_after_s)
            lo, hi = _padded(f, padding_s, None if full else kept, overlap_s, other_s, duration_s, after)
            if pauses is not None and not full and f.recognizer not in GAP_RECOGNIZERS:
                lo, hi = pauses.clip(lo, f.start_s, f.end_s, hi)
        if stops and id(f) in stops:
            stop, floor = stops[id(f)]
            hi = min(hi, max(floor, stop))
        spans.append((lo, hi))
    spans.sort()
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + merge_gap_s and (
                start <= merged[-1][1] or not _kept_between(kept, merged[-1][1], start, max(overlap_s, other_s))):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _padded(f: PiiFinding, padding_s: float, kept: list[tuple[float, float, int]] | None, overlap_s: float,
            other_s: float, duration_s: float, after_s: float) -> tuple[float, float]:
    start, end = f.start_s, f.end_s
    lo, hi = start - padding_s, end + after_s
    for a, b, turn in kept or ():
        reach = overlap_s if turn == f.turn_index else other_s
        # A word of the finding's turn said without a pause before it (the finding starts where it
        # ends) may be the value's own start garbled ("card or" for "l carter"): padded over as before.
        if b <= start and b - reach > lo and not (turn == f.turn_index and start - b < _TOUCH_S):
            lo = min(start, b - reach)
        if a >= end and a + reach < hi and not (turn == f.turn_index and a - end < _TOUCH_S):
            hi = max(end, a + reach)
    return max(0.0, lo), min(duration_s, hi)


_TOUCH_S = 0.005


def _value_of_payment(f: PiiFinding) -> bool:
    """Full padding is for a payment value's own uncertain edges. A gap's edges are other words'
    times (the request's end, an aside the text keeps, the agent turn that ends the exchange), and
    the values inside it carry their own padding: padding it over a kept word mutes only that word."""
    return f.recognizer not in GAP_RECOGNIZERS and is_payment_finding(f)


def _kept_between(kept: list[tuple[float, float, int]] | None, a: float, b: float, overlap_s: float) -> bool:
    """Whether a kept word lies between two padded spans (beyond the padding's overlap into it)."""
    return any(a - overlap_s <= s and e <= b + overlap_s for s, e, _ in kept or ())


def kept_word_spans(turns: list[Turn], n_channels: int, findings: list[PiiFinding]
                    ) -> dict[int, list[tuple[float, float, int]]]:
    """Per channel, (start, end, turn index) of the words no finding of that channel covers (one
    overlapping a finding's own span, or one with no duration at its edge, was redacted). Mono:
    every word is the one channel's; a finding whose turn has no channel counts in every channel."""
    redacted: dict[int, list[tuple[float, float]]] = {c: [] for c in range(n_channels)}
    for f in findings:
        if f.recognizer in GAP_RECOGNIZERS or f.start_s is None or f.end_s is None:
            continue
        channel = turns[f.turn_index].channel if 0 <= f.turn_index < len(turns) else None
        for c in (range(n_channels) if n_channels == 1 or channel is None or channel not in redacted else [channel]):
            redacted[c].append((f.start_s, f.end_s))
    out: dict[int, list[tuple[float, float, int]]] = {c: [] for c in range(n_channels)}
    for j, turn in enumerate(turns):
        channel = 0 if n_channels == 1 else turn.channel
        if channel not in out:
            continue
        for w in turn.words:
            if any(w.start_s < b and a < w.end_s for a, b in redacted[channel]) or any(
                    a <= w.start_s <= b for a, b in redacted[channel] if w.end_s - w.start_s < 0.02):
                continue
            out[channel].append((w.start_s, w.end_s, j))
    return out


def next_word_stops(aligner: Aligner, recording: Recording, turns: list[Turn], findings: list[PiiFinding],
                    options: RedactOptions) -> dict[int, tuple[float, float]]:
    """Mono: per finding (by `id`), (stop, floor) - its mute stops where the next word after it begins, as
    aligned (`align.word_onsets`), but not before `floor`: a gap's start, or the end of the finding's
    own words as the transcriber timed them.

    The transcriber times a turn's first word up to ~0.5 s late, and a finding's time reaches up to
    it (`text._times`), so a value's mute ran on into the other party's "Okay. The expiry?". The next
    word is the word after the finding's last in its turn, or at its turn's end (and for a gap) the
    first word of the first other turn to begin between `floor` and the finding's end plus
    `audio.padding_ms`; it counts only when no finding covers it and it is plain talk the transcriber was
    sure of: no digit, not a word heard for a digit (`digit_homophones`), a probability of at least
    `align.next_word_probability` - a value's tail written as other words ("E .B. Care of the old place"
    for "Sea View, Cairnfield Place"), or its digits given to the other party's turn, are the value, not
    the next word.
    """
    pad, shift = options.audio.padding_ms / 1000.0, options.audio.align.max_shift_ms / 1000.0
    homophones = set(options.payment_window.digit_homophones) | set(options.answer_window.digit_homophones)
    covered = [(f.start_s, f.end_s) for f in findings if f.recognizer not in GAP_RECOGNIZERS]
    chosen: dict[int, tuple[tuple[int, int], float]] = {}
    for f in findings:
        if f.start_s is None or f.end_s is None:
            continue
        nxt = None
        if f.recognizer in GAP_RECOGNIZERS:
            # A gap may mute a reply's first sentence whose words are kept (answer_window.reply_gap_types): only the
            # turn it runs up to may end it.
            floor = max(f.start_s, f.end_s - shift)
        else:
            own = turns[f.turn_index].words if 0 <= f.turn_index < len(turns) else []
            mine = [k for k, w in enumerate(own) if f.start_s <= (w.start_s + w.end_s) / 2 <= f.end_s]
            if not mine:
                continue
            floor = max(own[k].end_s for k in mine)
            nxt = (f.turn_index, mine[-1] + 1) if mine[-1] + 1 < len(own) else None
        if nxt is None:
            after = [(t.words[0].start_s, j) for j, t in enumerate(turns)
                     if t.words and j != f.turn_index and floor <= t.words[0].start_s <= f.end_s + pad]
            if not after:
                continue
            nxt = (min(after)[1], 0)
        w = turns[nxt[0]].words[nxt[1]]
        word = w.text.strip(".,?!;:'\"").lower()
        if not word.isalpha() or word in homophones or w.probability < options.audio.align.next_word_probability \
                or any(a < w.end_s and w.start_s < b for a, b in covered):
            continue
        chosen[id(f)] = (nxt, floor)
    onsets = word_onsets(aligner, recording, turns, {k for k, _ in chosen.values()}, options.audio.align)
    return {i: (onsets[k], floor) for i, (k, floor) in chosen.items() if k in onsets}


def _finding_channel_spans(recording: Recording, findings: list[PiiFinding], turns: list[Turn] | None,
                           options: RedactOptions, every: list[tuple[float, float]],
                           aligned: dict[int, tuple[float, float]] | None = None,
                           stops: dict[int, tuple[float, float]] | None = None) -> list[list[tuple[float, float]]]:
    """Per channel, the padded spans muted for the findings.

    With `audio.finding_channels: own` (and coverage on), a finding in a stereo call is muted in
    its speaker's channel only: the other party's speech beside it stays. That is safe because
    coverage then checks the other channel too: its speech overlapping a finding covers nothing
    (crosstalk of the value is muted), and only its kept words outside the finding's time stay.
    A finding whose turn has no channel is muted in every channel; an `answer_gap` (the
    untranscribed time after a request) or a `payment_gap` (a payment exchange) in every
    channel but the requester's, where it is the reply that may have gone unheard.
    """
    n = recording.n_channels
    pad, gap = options.audio.padding_ms / 1000.0, options.audio.merge_gap_ms / 1000.0
    overlap = options.audio.neighbour_overlap_ms
    kept = kept_word_spans(turns, n, findings) if overlap is not None and turns is not None else None
    other = None if options.audio.turn_overlap_ms is None else options.audio.turn_overlap_ms / 1000.0
    full = _value_of_payment if options.audio.payment_full_padding else None
    after = None if options.audio.padding_after_ms is None else options.audio.padding_after_ms / 1000.0
    paid = None if options.audio.payment_padding_after_ms is None else options.audio.payment_padding_after_ms / 1000.0

    def pauses(c: int) -> Pauses | None:
        pause_ms = options.audio.pause_stop_ms
        return Pauses.of(recording.audio[c], recording.sample_rate, options.audio.coverage, pause_ms) if pause_ms else None

    if n == 1 and kept is not None:
        return [redaction_spans(findings, pad, recording.duration_s, gap, kept[0], overlap / 1000.0, other, full,
                                pauses(0), after, options.audio.pad_gaps, paid, aligned, stops)]
    if n == 1 or options.audio.finding_channels == "all" or not options.audio.coverage.enabled or turns is None:
        return [every] * n
    by_channel: list[list[PiiFinding]] = [[] for _ in range(n)]
    for f in findings:
        channel = turns[f.turn_index].channel if 0 <= f.turn_index < len(turns) else None
        if channel is None or not 0 <= channel < n:
            targets = range(n)
        elif f.recognizer in GAP_RECOGNIZERS:
            targets = [c for c in range(n) if c != channel]
        else:
            targets = [channel]
        for c in targets:
            by_channel[c].append(f)
    if kept is None:
        return [redaction_spans(own, pad, recording.duration_s, gap) for own in by_channel]
    return [redaction_spans(own, pad, recording.duration_s, gap, kept[c], overlap / 1000.0, other, full, pauses(c),
                            after, options.audio.pad_gaps, paid, aligned)
            for c, own in enumerate(by_channel)]


def redact_audio(recording: Recording, findings: list[PiiFinding], options: RedactOptions,
                 turns: list[Turn] | None = None, aligner: Aligner | None = None) -> AudioRedaction:
    """Silence (or tone) every finding's time span, plus padding, in every channel; and mute, in
    each channel, the speech no kept word of that channel covers.

    Args:
        recording: the decoded recording (not modified).
        findings: the call's findings from `redact_text`.
        options: the redaction policy (audio.mode, audio.padding_ms, tone settings, audio.coverage).
        turns: the call's turns with their unredacted, timed words (stereo: each with its
            channel). None with coverage on: coverage cannot be computed, so no audio is claimed.
        aligner: from `align.load_aligner`, with `audio.align.enabled`: the findings' words are
            aligned and padded by `audio.align.padding_ms` (pipeline/redact/align.py). None: padding_ms.

    Returns:
        AudioRedaction: the redacted copy, or audio=None and flagged=True when any finding
        cannot be placed in time or coverage cannot be computed (fail closed: no redacted audio
        is claimed). Flagged with audio too when one channel is far quieter than another.
    """
    sr = recording.sample_rate

    def withheld(reason: str) -> AudioRedaction:
        logger.warning(reason)
        return AudioRedaction(audio=None, sample_rate=sr, spans_s=[], flagged=True, reasons=[reason])

    unplaced = [f for f in findings if f.start_s is None or f.end_s is None]
    if unplaced:
        turn_ids = sorted({f.turn_index for f in unplaced})
        return withheld(f"{len(unplaced)} finding(s) in turn(s) {turn_ids} have no time span; no redacted audio produced")
    coverage_options = options.audio.coverage
    if coverage_options.enabled and turns is None:
        return withheld("no timed words to check the audio's speech against; no redacted audio produced")
    if coverage_options.enabled and any(t.start_s is None for t in turns or []):
        return withheld("some turns have no time; speech coverage cannot be checked, no redacted audio produced")
    spans = redaction_spans(findings, options.audio.padding_ms / 1000.0, recording.duration_s,
                            options.audio.merge_gap_ms / 1000.0)
    aligned = None
    if aligner is not None and options.audio.align.enabled and turns and (
            recording.n_channels > 1 or options.audio.align.mono):
        pad_s = options.audio.align.padding_ms / 1000.0
        edges = aligned_edges(aligner, recording, turns, findings, options.audio.align, skip=lambda f: (
            f.recognizer in GAP_RECOGNIZERS or (not options.audio.align.payment and is_payment_finding(f))))
        aligned = {id(findings[i]): (a - pad_s, b + pad_s) for i, (a, b) in edges.items()}
    stops = None
    if aligner is not None and options.audio.align.enabled and options.audio.align.next_word and turns \
            and recording.n_channels == 1:
        stops = next_word_stops(aligner, recording, turns, findings, options)
    channel_spans = _finding_channel_spans(recording, findings, turns, options, spans, aligned, stops)
    if recording.n_channels == 1:
        spans = channel_spans[0]
    audio = recording.audio.copy()
    for channel, own in enumerate(channel_spans):
        for start, end in own:
            a, b = int(np.floor(start * sr)), int(np.ceil(end * sr))
            if options.audio.mode == "silence":
                audio[channel, a:b] = 0.0
            else:
                t = np.arange(b - a, dtype=np.float32) / sr
                audio[channel, a:b] = (options.audio.tone_level * np.sin(2 * np.pi * options.audio.tone_hz * t)
                                       ).astype(np.float32)
    reasons: list[str] = []
    unaligned: list[UnalignedStretch] = []
    levels: list[ChannelLevel] = []
    if coverage_options.enabled:
        # Measured on the input, not on `audio`: muting a finding must not lower a channel's level.
        # A gap mutes the answering party's time, not words: the requester's words in it stay
        # covered (an answer gap holds no transcribed word by construction).
        redacted = [(f.start_s, f.end_s, turns[f.turn_index].channel if turns and 0 <= f.turn_index < len(turns) else None)
                    for f in findings if f.recognizer not in GAP_RECOGNIZERS]
        try:
            coverage = uncovered_speech(recording.audio, sr, turns or [], channel_spans, coverage_options, redacted)
        except (RuntimeError, ValueError, OSError) as e:  # e.g. Silero will not load: claim no audio
            return withheld(f"speech coverage could not be computed ({type(e).__name__}); no redacted audio produced")
        unaligned, levels = coverage.stretches, coverage.levels
        for stretch in unaligned:
            a, b = int(np.floor(stretch.start_s * sr)), int(np.ceil(stretch.end_s * sr))
            audio[stretch.channel, a:b] = 0.0  # silence even in tone mode: a tone per cough would be noise
        if unaligned:
            logger.info("%s: muted %.2f s of speech and %.2f s of other sound no kept word covers, in %d stretch(es)",
                        recording.call_id, sum(s.speech_s for s in unaligned if s.speech_like),
                        sum(s.speech_s for s in unaligned if not s.speech_like), len(unaligned))
        gap = level_gap_reason(levels, coverage_options.level_gap_db)
        if gap:
            logger.warning("%s: %s", recording.call_id, gap)
            reasons.append(gap)
    return AudioRedaction(audio=audio, sample_rate=sr, spans_s=[(round(s, 3), round(e, 3)) for s, e in spans],
                          flagged=bool(reasons), reasons=reasons, unaligned=unaligned, levels=levels)


def write_redacted_audio(audio: np.ndarray, sample_rate: int, path: Path) -> Path:
    """Write (channels, samples) float audio as 16-bit WAV atomically (temp file, then rename).

    Raises:
        StageError: the file cannot be written (the caller flags the call and claims no audio).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".audio.", suffix=".wav", dir=path.parent)
        os.close(fd)
        try:
            sf.write(tmp, np.clip(audio.T, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except (OSError, RuntimeError, ValueError) as e:
        raise StageError(f"cannot write redacted audio ({type(e).__name__})", stage="redact") from e
    return path
