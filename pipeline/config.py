"""Configuration: YAML files validated into frozen pydantic models, merged in one place.

Order of precedence: packaged defaults (configs/*.yaml) < a site file given with --config.
A site file holds any subset of the defaults' keys, under the same section names; it is
deep-merged over the defaults and the result validated as a whole. An unknown key or a bad
value raises `ConfigError` naming the file, the dotted key and what is allowed.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import ConfigError

__all__ = [
    "Options",
    "IngestOptions",
    "VadOptions",
    "TranscribeOptions",
    "WorkerSizing",
    "worker_sizing",
    "sized",
    "usable_cores",
    "ModelsOptions",
    "StagesOptions",
    "OutputOptions",
    "PipelineConfig",
    "configs_dir",
    "read_yaml",
    "validate_model",
    "load_yaml_model",
    "load_config",
    "config_hash",
]

T = TypeVar("T", bound=BaseModel)


class Options(BaseModel):
    """Base of every options object: frozen, and unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class IngestOptions(Options):
    min_duration_s: float = Field(1.0, gt=0, description="Shorter recordings are rejected as bad input.")
    max_duration_s: float = Field(4 * 3600.0, gt=0, description="Longer recordings are rejected as bad input.")
    min_sample_rate: int = Field(8000, ge=1000)
    max_sample_rate: int = Field(48000, ge=8000)
    max_channels: int = Field(2, ge=1, le=8)
    max_file_mb: float = Field(2048.0, gt=0, description="Files larger than this are rejected before decoding.")
    default_channel_type: Literal["telephone", "face_to_face", "digital"] = "telephone"
    trusted_call_id_pattern: str | None = Field(
        None,
        description="Call ids (file stems, sidecar or transcript call_id) matching this regular expression in full are"
        " kept even when they look like personal data (e.g. a CRM's 8-digit references); otherwise such a file stem"
        " gets a keyed-digest call id and such a declared call_id is refused.",
    )

    @field_validator("trusted_call_id_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as e:
                raise ValueError(f"not a valid regular expression ({e})") from None
        return value


class VadOptions(Options):
    """Speech detection: energy islands, then Silero VAD inside each (see pipeline/vad.py)."""

    energy_floor_dbfs: float = Field(-50.0, le=0.0, description="Frames quieter than this are not speech.")
    island_gap_s: float = Field(0.6, ge=0.0, description="Quieter gaps shorter than this join two islands.")
    island_pad_s: float = Field(0.3, ge=0.0, description="Audio kept either side of an island for Silero's context.")
    silero_window_s: float = Field(
        4.0, ge=0.0, description="Silero runs on windows this long, overlapping by half, each with a fresh state (0: whole island)."
    )
    threshold: float = Field(0.35, ge=0.0, le=1.0)
    min_speech_duration_ms: int = Field(0, ge=0)
    min_silence_duration_ms: int = Field(2000, ge=0)
    speech_pad_ms: int = Field(400, ge=0)

    @field_validator("silero_window_s")
    @classmethod
    def _window_settles(cls, value: float) -> float:
        # Silero needs a few hundred ms of a window to settle; tiny windows would also mean
        # thousands of model runs per island.
        if 0.0 < value < 1.0:
            raise ValueError("must be 0 (no windows) or at least 1.0 s")
        return value


class TranscribeOptions(Options):
    model: str = Field("tiny.en", description="Model name from models/manifest.yaml.")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: Literal["auto", "int8", "int8_float16", "float16", "float32"] = "auto"
    cpu_threads: Annotated[int, Field(ge=0)] | Literal["auto"] = Field(
        "auto", description="CTranslate2 intra-op threads per transcription on CPU (0 = library default; auto: worker_sizing)."
    )
    # How many calls one worker process transcribes at once, each on its own model replica
    # (CTranslate2 inter_threads). Speed, not output: excluded from dumps, so from every fingerprint.
    slots: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = Field(
        "auto", exclude=True, description="Transcriptions at once per worker process (auto: worker_sizing)."
    )
    language: str | None = Field("en", description="Force a language; None to detect it.")
    beam_size: int = Field(5, ge=1, le=20)
    batch_size: int = Field(8, ge=1, description="Batch size of the batched pipeline (GPU only).")
    vad: bool = True
    vad_parameters: VadOptions = VadOptions()
    condition_on_previous_text: bool = Field(
        False, description="False stops one hallucinated segment from seeding repetition loops."
    )
    temperature: list[float] = Field(default_factory=lambda: [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    compression_ratio_threshold: float = Field(2.4, gt=0)
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = Field(0.6, ge=0, le=1)
    hallucination_silence_threshold: float | None = Field(
        2.0, description="Skip silent stretches longer than this (s) around a suspected hallucination."
    )
    repetition_penalty: float = Field(1.0, ge=1.0)
    no_repeat_ngram_size: int = Field(0, ge=0)
    initial_prompt: str | None = None
    # Guards applied after decoding (see transcribe.py).
    drop_no_speech_prob: float = Field(
        0.6, ge=0, le=1, description="Drop a segment whose no_speech_prob exceeds this and whose avg_logprob is below -0.7."
    )
    drop_compression_ratio: float = Field(2.4, gt=0, description="Drop a segment more repetitive than this.")
    min_word_probability: float = Field(
        0.0, ge=0, le=1, description="Drop a segment whose words' mean probability is below this."
    )



@dataclass(frozen=True)
class WorkerSizing:
    """How one worker process uses its cores for transcription."""

    slots: int  # transcriptions at once, each on its own model replica
    cpu_threads: int  # CTranslate2 threads per transcription


def worker_sizing(cores: int, device: str) -> WorkerSizing:
    """The `auto` sizing for a worker process with `cores` usable cores on `device`.

    On CPU, one thread per transcription below 8 cores (on 2 cores tiny.en ran at RTF 0.044 on one
    thread against 0.073 on two: threads compete with the other stages) and two above, and as many
    transcriptions at once as that fills the cores (at most 8: each holds a model replica in
    memory). On a GPU, one transcription per process: the batched pipeline fills the card, and
    the Prefect global limit shares the cards between processes.
    """
    if device == "cuda":
        return WorkerSizing(slots=1, cpu_threads=1)
    threads = 1 if cores < 8 else 2
    return WorkerSizing(slots=max(1, min(8, cores // threads)), cpu_threads=threads)


def sized(options: TranscribeOptions, device: str, cores: int | None = None) -> TranscribeOptions:
    """`options` with `auto` slots and threads replaced by `worker_sizing` for this host's usable
    cores (or `cores`); numbers given in the configuration are kept."""
    if options.slots != "auto" and options.cpu_threads != "auto":
        return options
    sizing = worker_sizing(cores or usable_cores(), device)
    update = {key: getattr(sizing, key) for key in ("slots", "cpu_threads") if getattr(options, key) == "auto"}
    return options.model_copy(update=update)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, as a container limits it), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)

class ModelsOptions(Options):
    manifest: str | None = Field(None, description="Path of a site manifest; default: the packaged one.")
    store_dir: str | None = Field(
        None, description="Where assembled / pulled weights live; default $CALLQA_MODEL_STORE or models/store."
    )
    verify_hashes: bool = True


class StagesOptions(Options):
    """Where a site's overrides of the other stages' configuration come from."""

    diarise: dict[str, Any] = Field(default_factory=dict, description="Keys merged over configs/diarise.yaml.")
    redaction: dict[str, Any] = Field(default_factory=dict, description="Keys merged over configs/redaction.yaml.")
    detect_file: str | None = Field(None, description="A site detect.yaml merged over configs/detect.yaml.")
    sla_file: str | None = Field(None, description="A site sla.yaml merged over configs/sla.yaml.")
    lexicon_dir: str | None = Field(None, description="A folder of lexicons that replace the packaged ones by name.")
    scorecards_dir: str | None = Field(None, description="A folder of scorecard templates, replacing per channel.")
    score: dict[str, Any] = Field(default_factory=dict, description="Score options (purpose, confidences).")


class OutputOptions(Options):
    # Both below: a relative path is relative to the site file; --audit-log / --database-url and
    # $CALLQA_AUDIT_LOG / $CALLQA_DATABASE_URL override them (pipeline.paths.resolve_paths).
    audit_log: str | None = Field(None, description="Redaction audit log; default <out>/audit/redaction.jsonl.")
    database_url: str | None = Field(
        None, description="Results index (a URL or a SQLite path); default SQLite <out>/callqa.db."
    )
    redacted_audio: bool = Field(True, description="Write audio.redacted.wav for audio inputs.")
    scorecard_html: bool = Field(True, description="Write scorecard.html per call.")


class PipelineConfig(Options):
    """The whole effective configuration of a run."""

    version: Literal[1] = 1
    ingest: IngestOptions = IngestOptions()
    transcribe: TranscribeOptions = TranscribeOptions()
    models: ModelsOptions = ModelsOptions()
    stages: StagesOptions = StagesOptions()
    output: OutputOptions = OutputOptions()


def configs_dir() -> Path:
    """The packaged configs/ folder."""
    return Path(str(importlib.resources.files("pipeline._configs")))


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, raising ConfigError (never a parser traceback) when it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read the file ({e.strerror}); check the path", file=str(path)) from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"not valid YAML{where}", file=str(path)) from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping of keys at the top level, got {type(data).__name__}", file=str(path))
    return data


def _allowed(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """Names the keys allowed at `loc` in `model`, for 'unknown key' messages."""
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return ""
        annotation = fields[part].annotation
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        if current is None:
            return ""
    fields = getattr(current, "model_fields", None)
    return ", ".join(sorted(fields)) if fields else ""


def validate_model(model: type[T], data: dict[str, Any], *, file: str) -> T:
    """Validate `data` into `model`; on failure raise ConfigError naming file, key and what is allowed."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or None
        if err["type"] == "extra_forbidden":
            allowed = _allowed(model, loc)
            message = "unknown key" + (f"; allowed here: {allowed}" if allowed else "")
        else:
            message = err["msg"]
            # Never echo the offending value: a config is hostile input and may hold anything.
            ctx = err.get("ctx") or {}
            if "expected" in ctx:
                message = f"{message} (allowed: {ctx['expected']})"
        more = len(e.errors()) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ConfigError(message, file=file, key=key) from None


def load_yaml_model(model: type[T], path: Path, *, overrides: dict[str, Any] | None = None) -> T:
    """Load one YAML file into `model`, deep-merging `overrides` over it first."""
    data = read_yaml(path)
    if overrides:
        data = deep_merge(data, overrides)
    return validate_model(model, data, file=str(path))


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A new dict: `override` merged over `base`, recursing into nested mappings."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(site_file: Path | None = None) -> PipelineConfig:
    """The effective configuration: packaged configs/pipeline.yaml, with a site file over it.

    Raises:
        ConfigError: a file is unreadable, not YAML, or has an unknown key or bad value.
    """
    defaults_path = configs_dir() / "pipeline.yaml"
    defaults = read_yaml(defaults_path)
    config = validate_model(PipelineConfig, defaults, file=str(defaults_path))
    if site_file is None:
        return config
    return validate_model(PipelineConfig, deep_merge(defaults, read_yaml(site_file)), file=str(site_file))


def config_hash(config: BaseModel) -> str:
    """SHA-256 of a configuration's canonical JSON: part of every cache key."""
    canonical = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
