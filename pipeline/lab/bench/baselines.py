"""Baselines timed on the same input as the pipeline's stage, so each figure has a reference.

Transcription: the pipeline's transcribe stage against plain faster-whisper
`WhisperModel.transcribe` with the same loaded model, the same decoding settings and the same
audio, one channel at a time (a channel per party). Plain faster-whisper is run twice: with its
own `vad_filter` (Silero over the whole channel: the least decoding, but it drops whole turns of
a channel-per-party recording, see pipeline/vad.py) and without VAD (every second decoded). On
CUDA, or when asked, faster-whisper's `BatchedInferencePipeline` with its own VAD too. Passes
are interleaved and the fastest of `repeats` kept, so a load spike from elsewhere on the machine
hits both sides alike. Each run is timed in wall seconds and in CPU seconds of the process: on a
shared machine wall time also measures the scheduler, CPU time only the work, so the overhead
figure is taken on CPU time (on an idle machine the two agree for one-thread decoding).

Redaction: `redact_text` (UK recognisers, spoken-form normalisation, bridging, residual
re-scan) against Presidio's AnalyzerEngine with its default English recognisers on the same
turns, in words per second of CPU time and of wall time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.config import TranscribeOptions
from pipeline.redact.options import RedactOptions
from pipeline.schema import Recording, Turn
from pipeline.transcribe import WhisperHandle, decode_options, transcribe

__all__ = ["TranscribeRun", "TranscribeComparison", "RedactComparison", "wants_batched",
           "compare_transcription", "presidio_default_analyzer", "compare_redaction", "add_redaction"]


class TranscribeRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    seconds: float = Field(description="Wall seconds (fastest pass).")
    cpu_s: float = Field(description="CPU seconds of the process, every thread (fastest pass).")
    words: int


class TranscribeComparison(BaseModel):
    """The pipeline's transcribe stage and the plain faster-whisper runs on one recording."""

    model_config = ConfigDict(frozen=True)

    audio_s: float
    channels: int
    repeats: int
    runs: list[TranscribeRun]
    # CPU time on CPU; on a GPU the work is not in the process's CPU time, so wall time.
    basis: Literal["cpu_s", "seconds"] = "cpu_s"

    def run(self, name: str) -> TranscribeRun | None:
        return next((r for r in self.runs if r.name == name), None)

    def overhead(self, name: str, basis: str | None = None) -> float | None:
        """pipeline / baseline - 1 in `basis` ("cpu_s" or "seconds"; default the comparison's):
        0.05 means the pipeline's stage took 5 % more."""
        basis = basis or self.basis
        ours, base = self.run("pipeline"), self.run(name)
        if ours is None or base is None or getattr(base, basis) <= 0:
            return None
        return getattr(ours, basis) / getattr(base, basis) - 1.0

    def headline_overhead(self) -> tuple[str, float] | None:
        """The overhead against the cheapest plain faster-whisper run: the strictest reading."""
        plain = [r for r in self.runs if r.name in ("faster_whisper_vad_filter", "faster_whisper_no_vad")]
        if not plain or self.run("pipeline") is None:
            return None
        cheapest = min(plain, key=lambda r: getattr(r, self.basis))
        value = self.overhead(cheapest.name)
        return (cheapest.name, value) if value is not None else None


class RedactComparison(BaseModel):
    model_config = ConfigDict(frozen=True)

    turns: int
    words: int
    pipeline_cpu_s: float
    pipeline_wall_s: float
    presidio_cpu_s: float
    presidio_wall_s: float

    @property
    def pipeline_words_per_s(self) -> float:
        return self.words / self.pipeline_cpu_s if self.pipeline_cpu_s > 0 else 0.0

    @property
    def presidio_words_per_s(self) -> float:
        return self.words / self.presidio_cpu_s if self.presidio_cpu_s > 0 else 0.0

    @property
    def cost_ratio(self) -> float | None:
        """Pipeline CPU time / Presidio-defaults CPU time on the same text."""
        return self.pipeline_cpu_s / self.presidio_cpu_s if self.presidio_cpu_s > 0 else None


def wants_batched(setting: str, device: str) -> bool:
    """Whether to time faster-whisper's BatchedInferencePipeline: `auto` does so on CUDA only."""
    return setting == "always" or (setting == "auto" and device == "cuda")


def _words(segments: list[Any]) -> int:
    return sum(len(s.text.split()) for s in segments)


def _plain(model: Any, audio: np.ndarray, options: TranscribeOptions, vad_filter: bool) -> int:
    segments, _ = model.transcribe(audio, vad_filter=vad_filter,
                                   hallucination_silence_threshold=options.hallucination_silence_threshold,
                                   **decode_options(options))
    return _words(list(segments))  # a generator: the decoding happens here


def _batched(pipeline: Any, audio: np.ndarray, options: TranscribeOptions) -> int:
    kwargs = decode_options(options)
    kwargs.pop("condition_on_previous_text")  # the batched pipeline does not take it
    segments, _ = pipeline.transcribe(audio, batch_size=options.batch_size, vad_filter=True, **kwargs)
    return _words(list(segments))


def compare_transcription(recording: Recording, options: TranscribeOptions, whisper: WhisperHandle, *,
                          repeats: int = 1, plain: bool = True, batched: bool = False) -> TranscribeComparison:
    """Time the pipeline's transcribe stage and the baselines on `recording`, interleaved.

    Args:
        recording: the ingested call (16 kHz, a row per channel).
        options: the pipeline's transcription options (the baselines decode with the same).
        whisper: the loaded model, shared by every run.
        repeats: passes; each run's fastest pass is kept.
        plain: time plain WhisperModel.transcribe (with and without its vad_filter).
        batched: time BatchedInferencePipeline (its own VAD; GPU, or CPU when forced).
    """
    runners: dict[str, Callable[[], int]] = {
        "pipeline": lambda: sum(len(s.text.split()) for s in transcribe(recording, options, whisper).segments),
    }
    if plain:
        runners["faster_whisper_vad_filter"] = lambda: sum(
            _plain(whisper.model, ch, options, True) for ch in recording.audio)
        runners["faster_whisper_no_vad"] = lambda: sum(
            _plain(whisper.model, ch, options, False) for ch in recording.audio)
    if batched:
        from faster_whisper import BatchedInferencePipeline

        pipe = whisper.batched or BatchedInferencePipeline(model=whisper.model)
        runners["faster_whisper_batched"] = lambda: sum(_batched(pipe, ch, options) for ch in recording.audio)
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    words: dict[str, int] = {}
    for _ in range(repeats):
        for name, run in runners.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            words[name] = run()
            wall[name] = min(wall.get(name, float("inf")), time.perf_counter() - started)
            cpu[name] = min(cpu.get(name, float("inf")), time.process_time() - cpu_started)
    return TranscribeComparison(
        audio_s=recording.duration_s, channels=recording.n_channels, repeats=repeats,
        basis="seconds" if whisper.device == "cuda" else "cpu_s",
        runs=[TranscribeRun(name=n, seconds=round(wall[n], 3), cpu_s=round(cpu[n], 3), words=words[n]) for n in runners],
    )


def presidio_default_analyzer(options: RedactOptions, models=None):
    """Presidio's AnalyzerEngine with its default English recognisers on the pipeline's spaCy
    model (the offline e-mail check swapped in so that it does not reach for the network)."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    from pipeline.redact.analyzer import load_analyzer
    from pipeline.redact.recognizers import OfflineEmailRecognizer

    nlp_engine = load_analyzer(options, models).nlp_engine
    registry = RecognizerRegistry(supported_languages=["en"])
    # The predefined set includes recognisers for other languages, each skipped with a warning.
    presidio_log = logging.getLogger("presidio-analyzer")
    level = presidio_log.level
    presidio_log.setLevel(logging.ERROR)
    try:
        registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
    finally:
        presidio_log.setLevel(level)
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(OfflineEmailRecognizer())
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


def compare_redaction(turns: list[Turn], options: RedactOptions, analyzer: Any, default_analyzer: Any,
                      key: bytes, keep_words: tuple[str, ...] = ()) -> RedactComparison:
    """Time `redact_text` and Presidio's defaults (turn by turn) on the same unredacted turns.

    Both are warmed up on the first turn first, so neither pays spaCy's first-call costs.
    """
    from pipeline.redact.text import redact_text

    words = sum(len(t.text.split()) for t in turns)
    if turns:
        redact_text(turns[:1], options, analyzer, key, keep_words=keep_words)
        default_analyzer.analyze(turns[0].text, language="en")
    cpu, wall = time.process_time(), time.perf_counter()
    redact_text(turns, options, analyzer, key, keep_words=keep_words)
    ours_cpu, ours_wall = time.process_time() - cpu, time.perf_counter() - wall
    cpu, wall = time.process_time(), time.perf_counter()
    for t in turns:
        default_analyzer.analyze(t.text, language="en")
    base_cpu, base_wall = time.process_time() - cpu, time.perf_counter() - wall
    return RedactComparison(turns=len(turns), words=words, pipeline_cpu_s=round(ours_cpu, 4),
                            pipeline_wall_s=round(ours_wall, 4), presidio_cpu_s=round(base_cpu, 4),
                            presidio_wall_s=round(base_wall, 4))


def add_redaction(total: RedactComparison | None, one: RedactComparison) -> RedactComparison:
    """Two calls' redaction comparisons as one (words and seconds summed)."""
    if total is None:
        return one
    return RedactComparison(**{f: getattr(total, f) + getattr(one, f) for f in RedactComparison.model_fields})
