"""The benchmark's configuration (configs/bench.yaml) as validated, frozen options."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from pipeline.config import Options, configs_dir, load_yaml_model
from pipeline.errors import ConfigError

__all__ = ["CorpusOptions", "BatchOptions", "MemoryOptions", "BaselineOptions", "Profile", "BenchOptions",
           "BenchPlan", "load_bench_options", "make_plan"]

Layout = Literal["stereo", "mono"]


class CorpusOptions(Options):
    cache_dir: str = Field(".cache/bench", description="Where synthesised calls are kept between runs.")
    scripts_dir: str | None = Field(None, description="Scripts to compose calls from; None = the bundled samples.")
    speech_words_per_s: float = Field(3.3, gt=0.5, le=6.0)
    max_pause_s: float = Field(3.0, ge=0.0, le=60.0)
    length_tolerance: float = Field(0.1, gt=0.0, le=0.5, description="Re-compose a call further than this from its length.")


class BatchOptions(Options):
    workers: int = Field(2, ge=1, le=64, description="Calls at once (the nightly flow's task threads).")
    transcribe_slots: int = Field(1, ge=1, le=64, description="Transcriptions at once among them.")
    layout: Layout = "stereo"
    length_min: float = Field(1.0, ge=0.1, le=60.0)


class MemoryOptions(Options):
    sample_interval_s: float = Field(0.05, ge=0.005, le=5.0)
    warmup_calls: int = Field(2, ge=0, le=100)
    min_slope_calls: int = Field(5, ge=2, le=100, description="Fewer calls after the warm-up give no verdict.")
    max_slope_mb_per_call: float = Field(1.0, gt=0.0)


class BaselineOptions(Options):
    plain_whisper: bool = True
    batched_whisper: Literal["auto", "always", "never"] = "auto"
    presidio_defaults: bool = True
    repeats: int = Field(1, ge=1, le=10)


class Profile(Options):
    model: str | None = Field(None, description="Whisper model; None = the pipeline configuration's.")
    lengths_min: list[float] = Field(min_length=1, description="Call lengths in minutes.")
    layouts: list[Layout] = Field(min_length=1)
    batch_sizes: list[int] = Field(min_length=1)
    baseline_repeats: int | None = Field(None, ge=1, le=10, description="Over baselines.repeats.")

    @model_validator(mode="after")
    def _bounds(self) -> "Profile":
        if any(not 0.1 <= m <= 60 for m in self.lengths_min):
            raise ValueError("lengths_min must be from 0.1 to 60 minutes")
        if any(not 1 <= n <= 500 for n in self.batch_sizes):
            raise ValueError("batch_sizes must be from 1 to 500 calls")
        return self


class BenchOptions(Options):
    version: Literal[1] = 1
    warmup: bool = Field(True, description="Process the first call once, unmeasured, before measuring.")
    corpus: CorpusOptions = CorpusOptions()
    batch: BatchOptions = BatchOptions()
    memory: MemoryOptions = MemoryOptions()
    baselines: BaselineOptions = BaselineOptions()
    profiles: dict[str, Profile]


class BenchPlan(Options):
    """What one `callqa bench` run does: a profile with the command line's overrides applied."""

    profile: str
    model: str | None
    device: Literal["auto", "cpu", "cuda"] | None
    lengths_min: list[float]
    layouts: list[Layout]
    batch_sizes: list[int]
    baseline_repeats: int = Field(ge=1, le=10)


def load_bench_options(path: Path | None = None) -> BenchOptions:
    """configs/bench.yaml (or `path`), validated.

    Raises:
        ConfigError: naming the file and key of the first problem.
    """
    path = path or configs_dir() / "bench.yaml"
    if not path.is_file():
        raise ConfigError("benchmark configuration not found; pass --bench-config or restore configs/bench.yaml",
                          file=str(path))
    return load_yaml_model(BenchOptions, path)


def make_plan(options: BenchOptions, profile: str, *, model: str | None = None, batch: int | None = None,
              device: str | None = None) -> BenchPlan:
    """The run's plan: the named profile, with --model / --batch / --device over it.

    Raises:
        ConfigError: the profile does not exist, or an override is out of range.
    """
    if profile not in options.profiles:
        raise ConfigError(f"no profile '{profile}'; have: {', '.join(sorted(options.profiles))}",
                          file="configs/bench.yaml", key="profiles")
    chosen = options.profiles[profile]
    if batch is not None and not 1 <= batch <= 500:
        raise ConfigError("--batch must be from 1 to 500 calls", file="<command line>", key="batch")
    if device is not None and device not in ("auto", "cpu", "cuda"):
        raise ConfigError("--device must be auto, cpu or cuda", file="<command line>", key="device")
    return BenchPlan(
        profile=profile,
        model=model or chosen.model,
        device=device,  # type: ignore[arg-type]
        lengths_min=list(chosen.lengths_min),
        layouts=list(chosen.layouts),
        batch_sizes=[batch] if batch is not None else list(chosen.batch_sizes),
        baseline_repeats=chosen.baseline_repeats or options.baselines.repeats,
    )
