"""The timing truth of a synthesised call: where every turn, hold, overlap and silence really is.

Written by the synthesiser (pipeline.lab.synth) as ``truth/<call_id>.json`` beside the audio;
with pipeline.lab.scripts it is the lab's labelled data: evaluation loads it with `load_truth`
(never through the synthesiser) to score transcription (per-turn text), diarisation (speaker spans) and the
timing metrics (greeting latency, silences, overtalk, holds, talk time). All times are seconds
from the start of the audio, to the millisecond, measured on the samples actually written
(turn spans are speech, with the voice's own leading/trailing padding trimmed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import InputError
from pipeline.schema import CallId, ChannelType, Seconds
from pipeline.lab.scripts import EventLabel, PiiSpan

__all__ = [
    "TruthTurn",
    "TruthHold",
    "TruthOverlap",
    "TruthSilence",
    "TruthVoice",
    "CallTruth",
    "load_truth",
]

Party = Literal["agent", "customer"]


class _TruthRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TruthTurn(_TruthRecord):
    """One turn as placed on the timeline."""

    index: int = Field(ge=0, description="Position in the script; turns[i].index == i.")
    speaker: Party
    text: str = Field(description="The script text (unredacted; scripts hold fictitious data only).")
    start_s: Seconds = Field(description="First sample of speech.")
    end_s: Seconds = Field(description="Last sample of speech.")
    channel: int | None = Field(description="Audio channel (stereo: 0 agent, 1 customer); None for mono/transcripts.")
    labels: list[EventLabel] = Field(default_factory=list)
    pii: list[PiiSpan] = Field(default_factory=list)


class TruthHold(_TruthRecord):
    """A hold placed after a turn (the script's hold_s)."""

    start_s: Seconds
    end_s: Seconds
    audio: Literal["music", "silence"] = Field(description="What fills the hold.")
    after_turn: int = Field(ge=0, description="Index of the turn that put the customer on hold.")
    channel: int | None = Field(description="Channel the hold music is on (stereo: 0, the agent/system leg); None for mono.")


class TruthOverlap(_TruthRecord):
    """Two parties speaking at once: a later turn started before an earlier one ended."""

    start_s: Seconds
    end_s: Seconds
    interrupter: Party
    interrupted: Party
    turn_index: int = Field(ge=0, description="The interrupting turn.")
    interrupted_turn_index: int = Field(ge=0, description="The turn talked over.")


class TruthSilence(_TruthRecord):
    """A gap with no speech and no hold, from the start of the audio to the last speech."""

    start_s: Seconds
    end_s: Seconds
    turn_owner: Party = Field(description="Who speaks next (whose turn it was: who left the dead air).")
    after_turn: int | None = Field(description="The turn before the gap; None for the lead-in before the first turn.")


class TruthVoice(_TruthRecord):
    """How a party was voiced, for reproduction and for analysing diarisation errors."""

    pitch_cents: float
    length_scale: float
    level: float


class CallTruth(_TruthRecord):
    """Everything an evaluator needs to know about a synthesised call's timing."""

    call_id: CallId
    channel_type: ChannelType
    layout: Literal["stereo", "mono", "transcript"] = Field(description="transcript: a digital (chat) script, no audio.")
    sample_rate: int | None = Field(description="Sample rate of the audio written; None for transcripts.")
    duration_s: Seconds = Field(description="Length of the audio (for transcripts: end of the last turn).")
    channel_map: list[Party] | None = Field(description="Speaker per channel (stereo), else None.")
    turns: list[TruthTurn]
    holds: list[TruthHold] = Field(default_factory=list)
    overlaps: list[TruthOverlap] = Field(default_factory=list)
    silences: list[TruthSilence] = Field(default_factory=list, description="Every non-speech, non-hold gap.")
    greeting_latency_s: Seconds | None = Field(description="From 0 to the first agent speech; None if the agent never speaks.")
    talk_time_s: dict[Party, Seconds] = Field(description="Speech time per party (union of its turn spans).")
    engine: str | None = Field(None, description="TTS engine and voice; None for transcripts.")
    voices: dict[Party, TruthVoice] = Field(default_factory=dict)


def load_truth(path: Path | str) -> CallTruth:
    """Load a timing truth written by the synthesiser.

    Args:
        path: a ``truth/<call_id>.json`` file.

    Returns:
        The truth.

    Raises:
        InputError: the file is missing (reason "missing") or not a valid truth (reason "invalid").
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError("truth file not found", path=str(path), reason="missing") from e
    except (OSError, ValueError) as e:
        raise InputError("truth file is not readable JSON", path=str(path), reason="invalid") from e
    try:
        return CallTruth.model_validate(data)
    except ValidationError as e:
        loc = ".".join(str(p) for p in e.errors()[0]["loc"])
        raise InputError(f"not a valid timing truth (key '{loc}')", path=str(path), reason="invalid") from None
