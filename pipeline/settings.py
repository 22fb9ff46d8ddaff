"""Every stage's options in one object, loaded in one place: what a run actually uses.

configs/pipeline.yaml holds the core (ingest, transcribe, models) and a `stages` section through
which a site file reaches the other stages' own files (configs/diarise.yaml, redaction.yaml,
detect.yaml, sla.yaml, lexicons/, scorecards/).

What "already done" means, in one place (used by `callqa run` and the Prefect flow alike):

    settings_fingerprint(settings)   every stage's settings + the model manifest as loaded
    input_fingerprint(item, fp)      the input's sha256 + its sidecar's sha256 + that fingerprint
      .key                           equal key -> the call is skipped (the flow's cache key too)
    recorded_fingerprint(result)     the same, as a finished result.json recorded it
    stage_hash(settings, stage)      one stage's settings and everything upstream of it: when
                                     only detect / score changed, the call is re-assessed from
                                     its redacted turns instead of being run again
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.config import OutputOptions, PipelineConfig, TranscribeOptions, load_config, sized
from pipeline.detect import DetectOptions, load_detect_options
from pipeline.detect.experience import ExperienceOptions, load_experience_options
from pipeline.diarise import DiariseOptions, load_diarise_options
from pipeline.errors import ConfigError
from pipeline.ingest import InputItem
from pipeline.models import load_manifest, sha256_uncached
from pipeline.redact import RedactOptions, load_redact_options
from pipeline.schema import CallResult
from pipeline.score import ScoreOptions, ScorecardTemplate, load_templates

__all__ = ["Settings", "InputFingerprint", "load_settings", "stage_hash", "settings_fingerprint",
           "manifest_fingerprint", "input_fingerprint", "recorded_fingerprint"]


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    core: PipelineConfig
    diarise: DiariseOptions
    redact: RedactOptions
    detect: DetectOptions
    score: ScoreOptions
    templates: dict[str, ScorecardTemplate]
    # Turn sentiment, loudness, raised voice (configs/experience.yaml); added after detect (issue #18).
    experience: ExperienceOptions = Field(default_factory=load_experience_options)


def _relative(site_file: Path | None, value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    return path if path.is_absolute() or site_file is None else site_file.parent / path


def _output_relative(site_file: Path | None, output: OutputOptions) -> OutputOptions:
    """The output section with its paths made relative to the site file, like every path in it."""
    if site_file is None:
        return output
    update: dict[str, str] = {}
    if output.audit_log is not None:
        update["audit_log"] = str(_relative(site_file, output.audit_log))
    url = output.database_url
    if url is not None:
        # A bare path or a relative sqlite:/// URL is a file; any other URL names a server.
        if "://" not in url:
            update["database_url"] = str(_relative(site_file, url))
        elif url.startswith("sqlite:///") and url.removeprefix("sqlite:///") not in ("", ":memory:"):
            update["database_url"] = "sqlite:///" + str(_relative(site_file, url.removeprefix("sqlite:///")))
    return output.model_copy(update=update) if update else output


def _named(site_file: Path | None, section: str, error: ConfigError) -> ConfigError:
    # Inline overrides come from the site file: name it, not the packaged defaults.
    if site_file is None:
        return error
    return ConfigError(f"{error} (from the '{section}' section of the site file)", file=str(site_file),
                       key=f"stages.{section}")


def load_settings(site_file: Path | None = None) -> Settings:
    """Load and validate every stage's configuration; a site file overrides the packaged defaults.

    Raises:
        ConfigError: naming the file and key of the first problem.
    """
    core = load_config(site_file)
    core = core.model_copy(update={"output": _output_relative(site_file, core.output),
                                   "transcribe": _host_sized(core.transcribe)})
    stages = core.stages
    try:
        diarise = load_diarise_options(overrides=stages.diarise or None)
    except ConfigError as e:
        raise _named(site_file, "diarise", e) from None
    try:
        redact = load_redact_options(overrides=stages.redaction or None)
    except ConfigError as e:
        raise _named(site_file, "redaction", e) from None
    detect = load_detect_options(
        detect_file=_relative(site_file, stages.detect_file),
        sla_file=_relative(site_file, stages.sla_file),
        lexicon_dir=_relative(site_file, stages.lexicon_dir),
    )
    templates = load_templates(_relative(site_file, stages.scorecards_dir))
    try:
        score = ScoreOptions.model_validate(stages.score)
    except ValueError as e:
        raise ConfigError(f"bad score option ({type(e).__name__})", file=str(site_file or "<defaults>"), key="stages.score") from None
    return Settings(core=core, diarise=diarise, redact=redact, detect=detect, score=score, templates=templates,
                    experience=load_experience_options())


def _host_sized(options: TranscribeOptions) -> TranscribeOptions:
    """`auto` transcription slots and threads made numbers for this host (`pipeline.config.sized`),
    so a run's settings, and what its results record, say what it really ran with."""
    from pipeline.transcribe import pick_device

    if options.slots != "auto" and options.cpu_threads != "auto":
        return options
    return sized(options, pick_device(options)[0])


def _digest(*parts: Any) -> str:
    def plain(p: Any) -> Any:
        if isinstance(p, BaseModel):
            return p.model_dump(mode="json")
        if isinstance(p, dict):
            return {k: plain(v) for k, v in p.items()}
        return p

    blob = json.dumps([plain(p) for p in parts],
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def stage_hash(settings: Settings, stage: str) -> str:
    """Hash of what one stage's output depends on: its own options and everything upstream of it."""
    core = settings.core
    chain = {
        "ingest": [core.ingest],
        "transcribe": [core.ingest, core.transcribe],
        "diarise": [core.ingest, core.transcribe, settings.diarise],
        "redact": [core.ingest, core.transcribe, settings.diarise, settings.redact],
        "detect": [core.ingest, core.transcribe, settings.diarise, settings.redact, settings.detect,
                   settings.experience],
        "score": [core.ingest, core.transcribe, settings.diarise, settings.redact, settings.detect,
                  settings.experience, settings.score, settings.templates],
    }
    if stage not in chain:
        raise ValueError(f"unknown stage {stage!r}")
    return _digest(stage, *chain[stage])


def manifest_fingerprint(settings: Settings) -> str:
    """SHA-256 of the model manifest the settings name, as loaded (names, versions, file hashes).

    Raises:
        ConfigError: the manifest is unreadable or invalid.
    """
    return hashlib.sha256(load_manifest(settings.core.models).model_dump_json().encode()).hexdigest()


def settings_fingerprint(settings: Settings) -> str:
    """Hash of everything a call's result depends on besides its input: every stage's settings
    (site files included) and the model manifest.

    Where results go (the output section's results index and audit log) is left out: moving
    the index must not re-run every call.

    Raises:
        ConfigError: the manifest is unreadable or invalid.
    """
    where = {"database_url": None, "audit_log": None}
    core = settings.core.model_copy(update={"output": settings.core.output.model_copy(update=where)})
    return _digest("settings", settings.model_copy(update={"core": core}), manifest_fingerprint(settings))


@dataclass(frozen=True)
class InputFingerprint:
    """What one call's result depends on: its bytes, its sidecar's bytes, the settings and models."""

    source_sha256: str
    sidecar_sha256: str | None  # None: no sidecar (every transcript input, some audio)
    settings: str  # settings_fingerprint

    @property
    def key(self) -> str:
        """One hash of the three: equal keys mean the call's result would be the same."""
        parts = f"{self.source_sha256}:{self.sidecar_sha256 or '-'}:{self.settings}"
        return hashlib.sha256(parts.encode()).hexdigest()


def input_fingerprint(item: InputItem, settings_fp: str, *, source_sha256: str | None = None) -> InputFingerprint:
    """The fingerprint of one input under settings whose `settings_fingerprint` is `settings_fp`.

    Args:
        item: the input (and its sidecar, if any).
        settings_fp: `settings_fingerprint(settings)`, computed once per run.
        source_sha256: the input's sha256 when the caller already has it (saves reading it again).

    Returns:
        The fingerprint; its `.key` is what `callqa run` and the flow's task cache compare.

    Raises:
        OSError: the input or its sidecar cannot be read.
    """
    return InputFingerprint(
        # Uncached (no key on size and mtime): a sidecar edited in place within one timestamp
        # tick must still count as changed.
        source_sha256=source_sha256 or sha256_uncached(item.path),
        sidecar_sha256=sha256_uncached(item.sidecar) if item.sidecar is not None else None,
        settings=settings_fp,
    )


def recorded_fingerprint(result: CallResult) -> InputFingerprint | None:
    """The fingerprint a finished result was made under, from its result.json.

    Returns:
        None for a result made before fingerprints were recorded: it is processed again.
    """
    settings_fp = result.pipeline.settings_fingerprint
    if settings_fp is None:
        return None
    return InputFingerprint(source_sha256=result.source.sha256, sidecar_sha256=result.pipeline.sidecar_sha256,
                            settings=settings_fp)

