"""Every stage's options in one object, loaded in one place: what a run actually uses.

configs/pipeline.yaml holds the core (ingest, transcribe, models) and a `stages` section through
which a site file reaches the other stages' own files (configs/diarise.yaml, redaction.yaml,
detect.yaml, sla.yaml, lexicons/, scorecards/). `settings_hash` covers all of it, so a change
to any stage's configuration invalidates exactly the cached work that depends on it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from pipeline.config import PipelineConfig, load_config
from pipeline.detect import DetectOptions, load_detect_options
from pipeline.diarise import DiariseOptions, load_diarise_options
from pipeline.errors import ConfigError
from pipeline.redact import RedactOptions, load_redact_options
from pipeline.score import ScoreOptions, ScorecardTemplate, load_templates

__all__ = ["Settings", "load_settings", "stage_hash"]


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    core: PipelineConfig
    diarise: DiariseOptions
    redact: RedactOptions
    detect: DetectOptions
    score: ScoreOptions
    templates: dict[str, ScorecardTemplate]


def _relative(site_file: Path | None, value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    return path if path.is_absolute() or site_file is None else site_file.parent / path


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
    return Settings(core=core, diarise=diarise, redact=redact, detect=detect, score=score, templates=templates)


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
        "detect": [core.ingest, core.transcribe, settings.diarise, settings.redact, settings.detect],
        "score": [core.ingest, core.transcribe, settings.diarise, settings.redact, settings.detect,
                  settings.score, settings.templates],
    }
    if stage not in chain:
        raise ValueError(f"unknown stage {stage!r}")
    return _digest(stage, *chain[stage])
