"""THE reader of labelled call scripts (the tests/data/SCHEMA.md format): typed models and loaders.

A script is one interaction written as turns with timing hints and labels. Every lab tool reads
scripts through this module: the synthesiser (audio plus a timing truth), `callqa eval`, the
detect, redaction and diarisation evaluations and the benchmark corpus. A script is input like
any other: errors name the file and the key, never the text of a turn.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.config import read_yaml, validate_model
from pipeline.errors import InputError
from pipeline.schema import EVENT_KINDS, PII_TYPES, CallId, ChannelType

__all__ = ["EventLabel", "PiiType", "PiiSpan", "ScriptTurn", "CallScript", "load_script", "load_scripts"]

EventLabel = Literal[EVENT_KINDS]  # type: ignore[valid-type]
PiiType = Literal[PII_TYPES]  # type: ignore[valid-type]


class _ScriptRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PiiSpan(_ScriptRecord):
    """One piece of personal data in a turn, exactly as written in the turn's text."""

    type: PiiType = Field(description="One of schema.PII_TYPES.")
    text: str = Field(min_length=1, description="The value as it occurs in the turn's text.")


class ScriptTurn(_ScriptRecord):
    """One turn of a script; the timing fields follow SCHEMA.md "Timing"."""

    speaker: Literal["agent", "customer"]
    text: str = Field(min_length=1, max_length=20_000)
    pause_before_s: float = Field(0.4, ge=0.0, le=600.0, description="Silence before this turn starts.")
    overlap_s: float = Field(
        0.0, ge=0.0, le=30.0, description="Start this many seconds before the previous turn ends (interruption)."
    )
    hold_s: float = Field(0.0, ge=0.0, le=3600.0, description="Length of a hold placed after this turn.")
    labels: list[EventLabel] = Field(default_factory=list, description="Event kinds this turn shows.")
    pii: list[PiiSpan] = Field(default_factory=list, description="Every piece of personal data in the text.")
    sentiment: Literal["negative", "neutral", "positive"] | None = Field(
        None, description="How the speaker comes across in this turn (labelled on customer turns)."
    )

    @model_validator(mode="after")
    def _pii_occurs_in_text(self) -> "ScriptTurn":
        # The message names the position, never the value: scripts hold (fictitious) PII.
        for i, span in enumerate(self.pii):
            if span.text not in self.text:
                raise ValueError(f"pii[{i}].text does not occur in the turn's text")
        return self


class CallScript(_ScriptRecord):
    """A labelled call script: one interaction, its turns and its call-level truths."""

    call_id: CallId
    channel_type: ChannelType
    scenario: str = ""
    organisation: str | None = Field(None, max_length=128)
    agent_name: str | None = Field(None, max_length=128)
    sector: str | None = Field(None, max_length=64, description="Business sector; corpora are split by it.")
    author: str | None = Field(None, max_length=64, description="Who wrote the script; corpora are split by it.")
    turns: list[ScriptTurn] = Field(min_length=1)
    expected: dict[str, Any] = Field(default_factory=dict, description="Call-level truths (free-form).")


def load_script(path: Path | str) -> CallScript:
    """Load and validate one script file.

    Args:
        path: a YAML file in the tests/data/SCHEMA.md format.

    Returns:
        The validated script.

    Raises:
        InputError: the file does not exist or is not a file (reason "missing").
        ConfigError: the file is not YAML, or a key is unknown, missing or has a bad value; the
            message names the file and the dotted key (e.g. ``turns.3.speaker``) and what is
            allowed, never the text of a turn.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("script file not found", path=str(path), reason="missing")
    return validate_model(CallScript, read_yaml(path), file=str(path))


def load_scripts(directory: Path | str, *, call_ids: Iterable[str] | None = None) -> list[CallScript]:
    """Load every ``*.yaml`` / ``*.yml`` script in a directory, sorted by file name.

    Args:
        directory: the folder holding the scripts (not searched recursively).
        call_ids: keep only these calls (a held-out subset); default all. Every script is still
            validated, so a broken file is reported whichever calls are asked for.

    Returns:
        The scripts in file-name order.

    Raises:
        InputError: the directory does not exist (reason "missing"), holds no scripts or none of
            `call_ids` (reason "empty"), or two scripts share a call_id (reason "duplicate_call_id").
        ConfigError: a script is invalid (see `load_script`).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("scripts directory not found", path=str(directory), reason="missing")
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise InputError("no *.yaml scripts in the directory", path=str(directory), reason="empty")
    scripts: list[CallScript] = []
    seen: dict[str, Path] = {}
    for file in files:
        script = load_script(file)
        if script.call_id in seen:
            raise InputError(
                f"call_id '{script.call_id}' is also used by {seen[script.call_id].name}",
                path=str(file),
                reason="duplicate_call_id",
            )
        seen[script.call_id] = file
        scripts.append(script)
    if call_ids is not None:
        wanted = set(call_ids)
        scripts = [s for s in scripts if s.call_id in wanted]
        if not scripts:
            raise InputError("none of the asked-for call ids is in the directory", path=str(directory),
                             reason="empty")
    return scripts
