"""What `callqa bench` measures, as typed records (the JSON report is their dump)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, computed_field

from pipeline.lab.bench.baselines import RedactComparison, TranscribeComparison
from pipeline.lab.bench.measure import linear_slope, per_second, rtf, x_realtime
from pipeline.lab.bench.options import BenchPlan

__all__ = ["STAGES", "TEXT_STAGES", "StageFigure", "CallFigure", "BatchFigure", "TranscribeBaseline",
           "RedactBaseline", "BenchReport", "stage_figure", "memory_slope"]

# The order the stages run in; redact_audio (silencing the findings in the audio) is timed apart
# from redact (the text) because it scales with audio, not words.
STAGES = ("ingest", "transcribe", "diarise", "redact", "redact_audio", "detect", "score", "store")
# Stages whose work grows with the words of a call: they also get words per second.
TEXT_STAGES = ("redact", "detect", "score")


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class StageFigure(_Record):
    wall_s: float
    rtf: float | None = Field(description="Seconds of processing per second of audio (lower is faster).")
    x_realtime: float | None = Field(description="Seconds of audio per second of processing (higher is faster).")
    words_per_s: float | None = Field(None, description="Text stages only.")
    peak_rss_mb: float | None = None
    peak_gpu_mb: float | None = None


# The pipeline records stage times to the millisecond: a rate over a shorter time is noise.
_MIN_RATE_S = 0.005


def stage_figure(stage: str, wall_s: float, audio_s: float, words: int, peak_rss_mb: float | None = None,
                 peak_gpu_mb: float | None = None) -> StageFigure:
    timed = wall_s >= _MIN_RATE_S
    return StageFigure(
        wall_s=round(wall_s, 3),
        rtf=_round(rtf(wall_s, audio_s), 4),
        x_realtime=_round(x_realtime(wall_s, audio_s), 1) if timed else None,
        words_per_s=_round(per_second(words, wall_s), 1) if stage in TEXT_STAGES and timed else None,
        peak_rss_mb=_round(peak_rss_mb, 1),
        peak_gpu_mb=_round(peak_gpu_mb, 1),
    )


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


class CallFigure(_Record):
    call_id: str
    layout: str
    minutes: float
    audio_s: float
    words: int
    stages: dict[str, StageFigure]
    total: StageFigure
    load_average: list[float]


class BatchFigure(_Record):
    size: int
    workers: int
    transcribe_slots: int
    layout: str
    minutes: float
    done: int
    failed: int
    audio_s: float
    wall_s: float
    stage_s: dict[str, float] = Field(description="Each stage's seconds summed over the batch's calls.")
    transcribe_queue_s: float = Field(0.0, description="Seconds calls waited for a transcription slot, summed.")
    peak_rss_mb: float
    peak_gpu_mb: float | None = None
    rss_after_call_mb: list[float] = Field(description="RSS as each call finished, in completion order.")
    warmup_calls: int
    min_slope_calls: int = 5
    max_slope_mb_per_call: float
    load_average_start: list[float]
    load_average_end: list[float]

    @computed_field
    @property
    def x_realtime(self) -> float | None:
        """Hours of calls taken per hour of this batch's wall time, at its concurrency."""
        return _round(x_realtime(self.wall_s, self.audio_s), 2)

    @computed_field
    @property
    def slope_mb_per_call(self) -> float | None:
        return _round(memory_slope(self.rss_after_call_mb, self.warmup_calls, self.min_slope_calls), 3)

    @computed_field
    @property
    def memory_flat(self) -> bool | None:
        slope = self.slope_mb_per_call
        return None if slope is None else slope <= self.max_slope_mb_per_call


def memory_slope(rss_after_call_mb: list[float], warmup_calls: int, min_calls: int = 2) -> float | None:
    """MiB of RSS gained per call, by least squares over the calls after the warm-up ones; None
    with fewer than `min_calls` of them (two or three points make a slope out of noise)."""
    kept = rss_after_call_mb[warmup_calls:]
    if len(kept) < min_calls:
        return None
    return linear_slope([float(i) for i in range(len(kept))], kept)


class TranscribeBaseline(_Record):
    call_id: str
    layout: str
    minutes: float
    comparison: TranscribeComparison

    @computed_field
    @property
    def overhead(self) -> dict[str, float | None]:
        """pipeline / baseline - 1 per baseline, in the comparison's basis (CPU time on CPU)."""
        return {r.name: _round(self.comparison.overhead(r.name), 4) for r in self.comparison.runs
                if r.name != "pipeline"}

    @computed_field
    @property
    def overhead_wall(self) -> dict[str, float | None]:
        """The same in wall time (noisy on a shared machine)."""
        return {r.name: _round(self.comparison.overhead(r.name, "seconds"), 4) for r in self.comparison.runs
                if r.name != "pipeline"}

    @computed_field
    @property
    def headline_overhead(self) -> dict | None:
        head = self.comparison.headline_overhead()
        return None if head is None else {"against": head[0], "overhead": round(head[1], 4)}


class RedactBaseline(_Record):
    comparison: RedactComparison

    @computed_field
    @property
    def pipeline_words_per_s(self) -> float:
        return round(self.comparison.pipeline_words_per_s, 1)

    @computed_field
    @property
    def presidio_defaults_words_per_s(self) -> float:
        return round(self.comparison.presidio_words_per_s, 1)

    @computed_field
    @property
    def cost_ratio(self) -> float | None:
        """Pipeline CPU time over Presidio-defaults CPU time: the price of the UK recognisers and spoken forms."""
        return _round(self.comparison.cost_ratio, 2)


class BenchReport(_Record):
    version: int = 1
    started_at: str
    wall_s: float
    plan: BenchPlan
    environment: dict
    corpus: dict
    model_load_s: dict[str, float]
    rss_after_load_mb: float
    warmup_s: float | None = Field(None, description="The unmeasured first call (first-use costs), when run.")
    calls: list[CallFigure]
    transcription_baselines: list[TranscribeBaseline]
    redaction_baseline: RedactBaseline | None
    batches: list[BatchFigure]
    notes: list[str] = Field(default_factory=list)
