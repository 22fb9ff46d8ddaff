"""Transcribe: faster-whisper over each channel, with word timestamps and hallucination guards.

CUDA float16 with faster-whisper's BatchedInferencePipeline when a GPU is present, CPU int8
otherwise. Stereo recordings are transcribed per channel (one party each) and merged by time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.config import ModelsOptions, TranscribeOptions, sized
from pipeline.errors import ModelUnavailableError, StageError
from pipeline.models import ResolvedModel, resolve_model
from pipeline.progress import ProgressHook
from pipeline.schema import Recording, Segment, Transcript, Word
from pipeline.vad import SAMPLE_RATE, speech_regions

__all__ = ["WhisperHandle", "load_whisper", "pick_device", "decode_options", "transcribe", "is_hallucination", "channel_gain"]

log = logging.getLogger(__name__)

# Text Whisper is known to produce on silence, music and noise (subtitle credits from its
# training data). A segment made only of one of these is dropped.
_HALLUCINATIONS = re.compile(
    r"^\s*(?:(?:thanks?|thank you) (?:so much )?for watching[.!]*|please subscribe[.!]*|"
    r"(?:like and )?subscribe(?: to (?:my|the|our) channel)?[.!]*|subtitles? by .*|"
    r"transcri(?:bed|ption) by .*|amara\.org.*|you\.?|\.+|[\W_]*|(?:♪|♫|\[music\]|\(music\))[\s♪♫]*)\s*$",
    re.IGNORECASE,
)

# A channel is not decoded only when it holds nothing: Whisper invents text on empty input. Not
# a whole-file level threshold: a party 40 dB quieter than the other (a common line fault) is
# still speech, and what it says must be transcribed to be redacted. Nothing is: every sample
# within _SILENT_PEAK (two steps of 16-bit audio) of zero, or a steady floor (the loudest 20 ms
# frames, at _LOUD_PERCENTILE, rise less than _STEADY_RISE_DB above the quietest, at
# _FLOOR_PERCENTILE: line noise with no speech on it; speech rises 30 dB and more).
_SILENT_PEAK = 2 / 32768
_FRAME = 320
_LOUD_PERCENTILE, _FLOOR_PERCENTILE, _STEADY_RISE_DB = 99.0, 10.0, 10.0
# A quiet channel (peak below _QUIET_PEAK, -20 dBFS; normal telephone speech peaks near -6 dBFS)
# is brought to a _TARGET_PEAK peak before decoding, by at most _MAX_GAIN_DB: Whisper and the
# VAD's energy floor both expect speech at a normal level. Louder channels are left as they are.
_QUIET_PEAK, _TARGET_PEAK, _MAX_GAIN_DB = 0.1, 0.5, 60.0


@dataclass(frozen=True)
class WhisperHandle:
    """A loaded model: the faster-whisper objects plus what result.json records about them."""

    model: Any  # faster_whisper.WhisperModel
    batched: Any | None  # faster_whisper.BatchedInferencePipeline on GPU, else None
    device: str
    compute_type: str
    resolved: ResolvedModel


def pick_device(options: TranscribeOptions) -> tuple[str, str]:
    """(device, compute_type) for these options: CUDA float16 when asked or found, else CPU int8."""
    device = options.device
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    compute = options.compute_type
    if compute == "auto":
        compute = "float16" if device == "cuda" else "int8"
    return device, compute


def load_whisper(options: TranscribeOptions, models: ModelsOptions | None = None) -> WhisperHandle:
    """Load the configured Whisper model once (call per worker process, not per call).

    Raises:
        ModelUnavailableError: the model is unknown, missing, fails its hash check or will not load.
    """
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    resolved = resolve_model(options.model, models)
    if resolved.entry.kind != "whisper":
        raise ModelUnavailableError(f"is a {resolved.entry.kind} model, not a whisper model", model=options.model)
    device, compute = pick_device(options)
    options = sized(options, device)
    try:
        model = WhisperModel(
            str(resolved.path),
            device=device,
            compute_type=compute,
            cpu_threads=options.cpu_threads,
            # One replica per transcription slot: with one, concurrent calls queue inside CTranslate2.
            num_workers=options.slots,
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as e:
        raise ModelUnavailableError(f"failed to load on {device}/{compute}: {e}", model=options.model) from e
    batched = BatchedInferencePipeline(model=model) if device == "cuda" else None
    return WhisperHandle(model=model, batched=batched, device=device, compute_type=compute, resolved=resolved)


def is_hallucination(text: str) -> bool:
    """True for text Whisper produces from silence or music rather than speech."""
    return bool(_HALLUCINATIONS.match(text))


def decode_options(options: TranscribeOptions) -> dict[str, Any]:
    """faster-whisper decoding keywords for these options (also what `callqa bench` gives its
    plain faster-whisper baseline, so both decode alike)."""
    return dict(
        language=options.language,
        beam_size=options.beam_size,
        word_timestamps=True,
        condition_on_previous_text=options.condition_on_previous_text,
        temperature=list(options.temperature),
        compression_ratio_threshold=options.compression_ratio_threshold,
        log_prob_threshold=options.log_prob_threshold,
        no_speech_threshold=options.no_speech_threshold,
        repetition_penalty=options.repetition_penalty,
        no_repeat_ngram_size=options.no_repeat_ngram_size,
        initial_prompt=options.initial_prompt,
    )


def _keep(segment: Any, options: TranscribeOptions) -> bool:
    """The post-decoding guards: drop text that is not speech."""
    if is_hallucination(segment.text):
        return False
    if segment.no_speech_prob > options.drop_no_speech_prob and segment.avg_logprob < -0.7:
        return False
    if segment.compression_ratio > options.drop_compression_ratio:
        return False
    words = segment.words or []
    if not words:
        return False
    mean_p = sum(w.probability for w in words) / len(words)
    return mean_p >= options.min_word_probability


def channel_gain(audio: np.ndarray) -> float | None:
    """The gain a channel is decoded at; None when it holds nothing to decode (see _SILENT_PEAK)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= _SILENT_PEAK:
        return None
    n = len(audio) // _FRAME
    if n:
        frames = audio[: n * _FRAME].reshape(n, _FRAME).astype(np.float64)
        db = 10 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)
        if np.percentile(db, _LOUD_PERCENTILE) - np.percentile(db, _FLOOR_PERCENTILE) < _STEADY_RISE_DB:
            return None
    if peak >= _QUIET_PEAK:
        return 1.0
    return min(_TARGET_PEAK / peak, 10 ** (_MAX_GAIN_DB / 20))


def _to_segment(segment: Any, channel: int, duration: float) -> Segment:
    def clip(t: float) -> float:
        return min(max(float(t), 0.0), duration)

    words = [
        Word(start_s=clip(w.start), end_s=max(clip(w.end), clip(w.start)), text=w.word.strip(), probability=min(max(float(w.probability), 0.0), 1.0))
        for w in segment.words
        if w.word.strip()
    ]
    return Segment(
        channel=channel,
        start_s=clip(segment.start),
        end_s=max(clip(segment.end), clip(segment.start)),
        text=segment.text.strip(),
        words=words,
        avg_logprob=float(segment.avg_logprob),
        no_speech_prob=min(max(float(segment.no_speech_prob), 0.0), 1.0),
        compression_ratio=float(segment.compression_ratio),
    )


def _transcribe_channel(
    audio: np.ndarray, options: TranscribeOptions, whisper: WhisperHandle, on_segment: Callable[[float], None]
) -> tuple[list[Any], Any]:
    """Decode one channel; with VAD on, only its speech regions (pipeline/vad.py) are decoded.

    `on_segment` is called with each decoded segment's end time (s) as it arrives.
    """
    from faster_whisper.transcribe import restore_speech_timestamps
    from faster_whisper.vad import collect_chunks

    kwargs = decode_options(options)
    chunks = speech_regions(audio, options.vad_parameters) if options.vad else None
    if chunks is not None and not chunks:
        return [], None
    if whisper.batched is not None:
        # The batched pipeline cuts audio at the given clip boundaries and batches the pieces;
        # it ignores condition_on_previous_text by design.
        kwargs.pop("condition_on_previous_text")
        # Each clip must fit one 30 s window of the batched pipeline.
        window = 30 * SAMPLE_RATE
        clips = [
            {"start": s / SAMPLE_RATE, "end": min(s + window, c["end"]) / SAMPLE_RATE}
            for c in (chunks or [{"start": 0, "end": len(audio)}])
            for s in range(c["start"], c["end"], window)
        ]
        segments, info = whisper.batched.transcribe(
            audio, batch_size=options.batch_size, vad_filter=False, clip_timestamps=clips, **kwargs
        )
        return _materialise(segments, on_segment), info
    decoded = audio if chunks is None else np.concatenate(collect_chunks(audio, chunks)[0])
    segments, info = whisper.model.transcribe(
        decoded, vad_filter=False, hallucination_silence_threshold=options.hallucination_silence_threshold, **kwargs
    )
    if chunks is not None:
        segments = restore_speech_timestamps(segments, chunks, SAMPLE_RATE)
    return _materialise(segments, on_segment), info


def _materialise(segments: Iterable[Any], on_segment: Callable[[float], None]) -> list[Any]:
    # faster-whisper returns a generator: materialise it here so the work happens in this stage,
    # reporting each segment as it is decoded (a one-hour call then shows movement).
    decoded = []
    for segment in segments:
        decoded.append(segment)
        on_segment(float(segment.end))
    return decoded


def transcribe(
    recording: Recording, options: TranscribeOptions, whisper: WhisperHandle, hook: ProgressHook | None = None
) -> Transcript:
    """Transcribe every channel of a recording and merge the segments by time.

    Args:
        recording: 16 kHz audio from ingest.
        options: decoding settings and guards.
        whisper: the loaded model (`load_whisper`).
        hook: optional progress callback, called ("transcribe", completed, total) with seconds of
            audio: total is the recording's length times its channels, completed advances as each
            segment is decoded and at the end of each channel.

    Returns:
        The transcript; an all-silent recording gives no segments.

    Raises:
        StageError: faster-whisper failed on this audio.
    """
    duration = recording.duration_s
    segments: list[Segment] = []
    dropped = 0
    language, language_p = options.language or "en", 1.0 if options.language else 0.0
    total = round(duration * recording.n_channels)
    if hook:
        hook("transcribe", 0, total)
    for channel in range(recording.n_channels):
        audio = recording.audio[channel]

        def on_segment(end_s: float, before: float = channel * duration) -> None:
            if hook:
                hook("transcribe", min(round(before + min(end_s, duration)), total), total)

        gain = channel_gain(audio)
        if gain is None:
            log.debug("%s channel %d holds nothing but silence or a steady floor; not decoded", recording.call_id, channel)
        else:
            if gain != 1.0:
                log.info("%s channel %d is quiet; decoded at +%.0f dB", recording.call_id, channel, 20 * np.log10(gain))
                audio = (audio * gain).astype(np.float32)
            try:
                raw, info = _transcribe_channel(audio, options, whisper, on_segment)
            except (RuntimeError, ValueError) as e:
                raise StageError(f"faster-whisper failed on channel {channel}: {type(e).__name__}", stage="transcribe", call_id=recording.call_id) from e
            if info is not None and options.language is None and info.language_probability > language_p:
                language, language_p = info.language, float(info.language_probability)
            for s in raw:
                if _keep(s, options):
                    segments.append(_to_segment(s, channel, duration))
                else:
                    dropped += 1
        if hook:
            hook("transcribe", round((channel + 1) * duration), total)
    segments.sort(key=lambda s: (s.start_s, s.channel))
    return Transcript(
        language=language,
        language_probability=language_p,
        duration_s=duration,
        segments=segments,
        dropped_segments=dropped,
    )
