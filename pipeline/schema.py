"""The output contract of callqa: every record a stage produces, as frozen pydantic models.

`CallResult` is what `out/<call_id>/result.json` holds and what other tools and audits read.
Times are seconds from the start of the recording, rounded to the millisecond. Text fields
inside a `CallResult` are always redacted text; no model here ever holds a PII value (a
finding carries an HMAC of its value, never the value).

Bump `SCHEMA_VERSION` on any change that a reader of result.json would notice.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "SCHEMA_VERSION",
    "DEV_KEY_FLAG",
    "EVENT_KINDS",
    "MEASURED_EVENT_KINDS",
    "PII_TYPES",
    "ChannelType",
    "Speaker",
    "Seconds",
    "RecordingMetadata",
    "Source",
    "Recording",
    "Word",
    "Segment",
    "Transcript",
    "Turn",
    "TurnSentiment",
    "PiiFinding",
    "Event",
    "Silence",
    "Overtalk",
    "Hold",
    "Metrics",
    "SlaResult",
    "EvidenceRef",
    "ScorecardItem",
    "SectionScore",
    "Scorecard",
    "LassStage",
    "LassAssessment",
    "RoleSummary",
    "RedactionSummary",
    "ModelRef",
    "PipelineInfo",
    "CallResult",
    "TranscriptInput",
    "TranscriptInputTurn",
    "call_result_json_schema",
]

SCHEMA_VERSION = "1.0"
# The flag of a result whose value digests were made with the public development key: exports
# and the web app refuse such results unless explicitly allowed (issue #16).
DEV_KEY_FLAG = "dev_key"

# The event taxonomy of tests/data/SCHEMA.md; detectors may emit nothing outside it.
EVENT_KINDS: tuple[str, ...] = (
    "complaint.raised",
    "lass.listen",
    "lass.apologise",
    "lass.solve",
    "lass.satisfy",
    "call.greeting",
    "call.recording_notice",
    "call.idv",
    "call.hold_request",
    "call.hold_return",
    "call.summary",
    "call.closing",
    "needs.probing_question",
    "sales.cross_sell",
    "sales.up_sell",
    "sales.objection_handling",
    "commitment.timescale",
    "escalation.offered",
    "empathy",
)

# Events measured from the signal, never labelled in scripts nor learned: not part of the taxonomy
# the detectors and their evaluation use, but a result may hold them (issue #18).
MEASURED_EVENT_KINDS: tuple[str, ...] = (
    "voice.raised",  # a customer turn markedly louder than that speaker's median (configs/experience.yaml)
)

PII_TYPES: tuple[str, ...] = (
    "PERSON",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "UK_POSTCODE",
    "STREET_ADDRESS",
    "DATE_OF_BIRTH",
    "CREDIT_CARD",
    "CARD_SECURITY_CODE",
    "CARD_EXPIRY",
    "UK_SORT_CODE",
    "UK_BANK_ACCOUNT",
    "UK_NINO",
    "UK_NHS",
    "ACCOUNT_NUMBER",
)

ChannelType = Literal["telephone", "face_to_face", "digital"]
Speaker = Literal["agent", "customer", "unknown"]
EventKind = Literal[EVENT_KINDS + MEASURED_EVENT_KINDS]  # type: ignore[valid-type]
Basis = Literal["objective", "interpretive"]

# A call id becomes a directory name and a database key: keep it to a safe alphabet so that a
# hostile sidecar cannot walk out of the output directory.
CALL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_CALL_ID_RE = re.compile(CALL_ID_PATTERN)


def _ms(value: float) -> float:
    return round(float(value), 3)


Seconds = Annotated[float, Field(ge=0.0), AfterValidator(_ms)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class _Record(BaseModel):
    """Base of every schema record: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def is_valid_call_id(value: str) -> bool:
    return bool(_CALL_ID_RE.match(value)) and ".." not in value


CallId = Annotated[str, Field(pattern=CALL_ID_PATTERN, description="Safe identifier: letters, digits, '.', '_', '-'.")]


# --------------------------------------------------------------------------------------- ingest


# A label from the site's systems (queue, disposition): short, one line, no markup.
SafeLabel = Annotated[str, Field(max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.:/&()+-]*$")]


class RecordingMetadata(_Record):
    """Metadata from a recording's sidecar `<recording>.json`; every field optional.

    Only these keys are kept: a sidecar is hostile input and may carry personal data in keys
    callqa does not know, so unknown keys are dropped (with a warning naming the key).
    """

    call_id: CallId | None = Field(None, description="Identifier of the interaction; defaults to the file stem.")
    agent_id: str | None = Field(None, max_length=128, description="The agent's identifier in the site's systems.")
    team_id: str | None = Field(None, max_length=128, description="The agent's team.")
    channel_type: ChannelType | None = Field(None, description="telephone | face_to_face | digital.")
    channel_map: list[Speaker] | None = Field(
        None, description="Speaker on each audio channel, in channel order (stereo recordings)."
    )
    started_at: str | None = Field(None, max_length=64, description="ISO 8601 start time of the interaction.")
    queue: SafeLabel | None = Field(None, description="Queue or skill the call came through.")
    direction: Literal["inbound", "outbound"] | None = Field(None, description="Who placed the call.")
    organisation: str | None = Field(None, max_length=128, description="Organisation the agent represents.")
    language: str | None = Field(None, max_length=16, description="Language code, e.g. 'en'.")
    # KPI metadata (issue #18). Strict types: a hostile sidecar's "5" or true is refused, not coerced.
    csat: Annotated[int, Field(strict=True, ge=1, le=5)] | None = Field(
        None, description="Customer satisfaction score the customer gave, 1-5.")
    nps: Annotated[int, Field(strict=True, ge=0, le=10)] | None = Field(
        None, description="How likely the customer is to recommend, 0-10 (Net Promoter Score answer).")
    disposition: SafeLabel | None = Field(None, max_length=64, description="How the call ended, as the phone system codes it.")
    wrap_up_s: Annotated[float, Field(strict=True, ge=0.0, le=86_400.0, allow_inf_nan=False)] | None = Field(
        None, description="After-call work in seconds (handling time = talk + hold + wrap-up).")
    customer_digest: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$",
        description="Keyed digest of the sidecar's customer_ref (never the reference itself): how a repeat contact is found.")


class Source(_Record):
    """The input file a result was made from."""

    path: str = Field(description="Path of the input as given to the run.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file's bytes.")
    format: str = Field(description="Container/codec as decoded (wav, flac, mp3, ogg, m4a, transcript-json).")
    duration_s: Seconds | None = Field(description="Length of the audio; None for a transcript input.")
    sample_rate: int | None = Field(description="Original sample rate in Hz; None for a transcript input.")
    channels: int | None = Field(description="Original channel count; None for a transcript input.")


class Recording(BaseModel):
    """A decoded recording: what ingest hands to the audio stages.

    Not part of result.json (the audio is not serialised); `source` and `metadata` are.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    call_id: CallId = Field(description="Identifier of the interaction.")
    channel_type: ChannelType = Field(description="telephone | face_to_face | digital.")
    source: Source
    metadata: RecordingMetadata
    audio: np.ndarray = Field(
        description="float32 samples at `sample_rate`, shape (channels, samples), one row per channel.",
        exclude=True,
        repr=False,
    )
    sample_rate: int = Field(16000, description="Sample rate of `audio` (always 16 kHz after ingest).")

    @field_validator("audio")
    @classmethod
    def _two_dimensional(cls, value: np.ndarray) -> np.ndarray:
        if value.ndim != 2 or value.dtype != np.float32:
            raise ValueError(f"audio must be float32 of shape (channels, samples), got {value.dtype} {value.shape}")
        return value

    @property
    def duration_s(self) -> float:
        return self.audio.shape[1] / self.sample_rate

    @property
    def n_channels(self) -> int:
        return int(self.audio.shape[0])


# ----------------------------------------------------------------------------------- transcribe


class Word(_Record):
    """One recognised word with its time span and the model's probability."""

    start_s: Seconds
    end_s: Seconds
    text: str = Field(description="The word as written (redacted inside a CallResult), without surrounding spaces.")
    probability: Probability = Field(description="Mean token probability the model gave the word.")


class Segment(_Record):
    """One decoded segment of one channel, as faster-whisper returns it."""

    channel: int = Field(ge=0, description="Audio channel the segment was decoded from.")
    start_s: Seconds
    end_s: Seconds
    text: str
    words: list[Word]
    avg_logprob: float = Field(description="Mean log-probability of the segment's tokens.")
    no_speech_prob: Probability = Field(description="Probability the segment holds no speech.")
    compression_ratio: float = Field(ge=0.0, description="gzip compression ratio of the text (high = repetitive).")


class Transcript(_Record):
    """Output of transcribe: segments of every channel, merged and ordered by start time."""

    language: str
    language_probability: Probability
    duration_s: Seconds = Field(description="Length of the audio that was transcribed.")
    segments: list[Segment] = Field(description="All channels' segments, ordered by (start_s, channel).")
    dropped_segments: int = Field(
        0, ge=0, description="Segments removed by the hallucination and repetition guards."
    )


class TurnSentiment(_Record):
    """How the speaker comes across in a turn, from the trained turn classifier (issue #18): judged,
    so interpretive."""

    score: float = Field(ge=-1.0, le=1.0, description="P(positive) - P(negative) in [-1, 1].")
    label: Literal["negative", "neutral", "positive"] = Field(description="The likeliest class.")


class Turn(_Record):
    """One speaker's turn. Inside a CallResult its text and words are redacted."""

    index: int = Field(ge=0, description="Position in the call; turns[i].index == i.")
    speaker: Speaker
    start_s: Seconds | None = Field(description="None only for transcript inputs without times.")
    end_s: Seconds | None
    text: str
    words: list[Word] = Field(default_factory=list, description="Empty for transcript inputs.")
    channel: int | None = Field(None, description="Audio channel of the turn (stereo), else None.")
    # Customer experience (issue #18); None until the detect stage has run, and for what cannot be
    # measured (no audio, no times, a turn too short to gate).
    sentiment: TurnSentiment | None = Field(None, description="The turn's sentiment (basis interpretive).")
    loudness_lufs: float | None = Field(
        None, description="Integrated loudness of the turn on its own channel (stereo) or the mix, LUFS (ITU-R BS.1770)."
    )
    speaking_rate_wps: float | None = Field(None, ge=0.0, description="Words per second over the turn's span.")


# --------------------------------------------------------------------------------------- redact


class PiiFinding(_Record):
    """One piece of personal data found and removed. Never holds the value itself."""

    entity_type: str = Field(description="One of PII_TYPES (or a site-defined type).")
    turn_index: int = Field(ge=0)
    char_start: int = Field(ge=0, description="Start offset in the turn's original (unredacted) text.")
    char_end: int = Field(ge=0)
    start_s: Seconds | None
    end_s: Seconds | None
    recognizer: str = Field(description="Name of the recogniser that found it.")
    score: Probability
    value_hmac: str = Field(description="HMAC-SHA256 of the normalised value with the site key (hex).")


# --------------------------------------------------------------------------------------- detect


class Event(_Record):
    """One detected behaviour or occurrence, with its evidence."""

    kind: EventKind
    turn_index: int | None = Field(ge=0, description="Turn the evidence comes from; None for call-level events.")
    start_s: Seconds | None
    end_s: Seconds | None
    speaker: Speaker
    evidence: str = Field(description="Redacted quote that supports the event.")
    confidence: Probability
    detector: str = Field(description="Name (and version) of the detector.")
    basis: Literal["objective", "interpretive"] = Field(
        description="objective: measured (a 9 s silence); interpretive: judged (an apology)."
    )


class Silence(_Record):
    start_s: Seconds
    end_s: Seconds
    duration_s: Seconds
    turn_owner: Speaker = Field(description="Whose turn it was to speak (who left the dead air).")


class Overtalk(_Record):
    start_s: Seconds
    end_s: Seconds
    duration_s: Seconds
    interrupter: Speaker
    interrupted: Speaker


class Hold(_Record):
    start_s: Seconds
    end_s: Seconds
    duration_s: Seconds
    permission_asked: bool
    return_thanked: bool
    detected_from: list[Literal["words", "silence", "music"]] = Field(default_factory=list)


class Metrics(_Record):
    """Timing metrics from turn times (None where the input has no times)."""

    call_length_s: Seconds | None = None
    talk_time_s: dict[Speaker, Seconds] = Field(default_factory=dict)
    talk_ratio: dict[Speaker, Probability] = Field(default_factory=dict)
    greeting_latency_s: Seconds | None = None
    silences: list[Silence] = Field(default_factory=list)
    overtalk: list[Overtalk] = Field(default_factory=list)
    overtalk_count: int = 0
    overtalk_s: Seconds = 0.0
    holds: list[Hold] = Field(default_factory=list)
    longest_agent_monologue_s: Seconds | None = None
    agent_response_latency_s: Seconds | None = Field(None, description="Mean gap from a customer turn to the agent's reply.")
    customer_sentiment_trajectory: float | None = Field(
        None, ge=-2.0, le=2.0,
        description="Mean customer turn sentiment of the call's last third minus its first third (interpretive); "
        "None with fewer than two customer turns.",
    )


class SlaResult(_Record):
    rule: str
    threshold: float | str | bool | None
    observed: float | str | bool | None
    met: bool | None = Field(description="None when the rule does not apply to this call.")


class LassStage(_Record):
    """One LASS stage of one complaint."""

    stage: Literal["listen", "apologise", "solve", "satisfy"]
    present: bool
    event_index: int | None = Field(None, description="Index into CallResult.events of the stage's first evidence.")
    turn_index: int | None = Field(None, description="Turn of that evidence.")


class LassAssessment(_Record):
    """LASS for one complaint episode: which stages happened, with evidence, and in what order."""

    onset_event_index: int = Field(description="Index into CallResult.events of the complaint.raised that opened it.")
    onset_turn_index: int | None
    end_turn_index: int | None = Field(description="Last turn of the episode (None: runs to the end of the call).")
    stages: list[LassStage] = Field(description="listen, apologise, solve, satisfy, in that order.")
    in_order: bool | None = Field(description="None when fewer than two stages occurred.")
    out_of_order: list[Literal["listen", "apologise", "solve", "satisfy"]] = Field(
        default_factory=list, description="Stages that came too early."
    )

    def present(self, stage: str) -> bool:
        return any(s.present for s in self.stages if s.stage == stage)


# ---------------------------------------------------------------------------------------- score


class EvidenceRef(_Record):
    """A pointer from a scorecard item to the event (or SLA result) that supports it."""

    event_index: int | None = Field(None, ge=0, description="Index into CallResult.events.")
    sla_rule: str | None = Field(None, description="Name of an SLA result, when that is the evidence.")
    kind: str
    quote: str = Field(description="Redacted quote.")
    start_s: Seconds | None
    confidence: Probability
    basis: Basis | None = Field(
        None, description="objective: measured (an SLA figure, a loudness); interpretive: judged (an apology)."
    )


class ScorecardItem(_Record):
    id: str
    section: str
    question: str
    standard_ref: str | None = Field(None, description="The organisation standard or SLA clause the item checks.")
    weight: float = Field(ge=0.0)
    critical: bool = False
    suggestion: Literal["yes", "no", "partial", "n/a"] | None = Field(
        description="None when the item needs the assessor's own observation."
    )
    confidence: Probability
    evidence: list[EvidenceRef] = Field(default_factory=list)
    status: Literal["pending", "confirmed", "overridden"] = "pending"
    assessor_value: Literal["yes", "no", "partial", "n/a"] | None = None
    assessor_reason: str | None = None
    # Added for the score stage (additive; defaults keep older result.json files valid).
    needs_observation: bool = Field(
        False, description="Audio cannot judge this item (e.g. eye contact): never pre-filled, the assessor observes."
    )
    rule: str | None = Field(None, description="How the suggestion was derived (the template rule that fired).")
    basis: Basis | None = Field(
        None, description="What the suggestion rests on: objective (measured) or interpretive (judged: the assessor "
        "should check it); None when there is no suggestion (the assessor observes).",
    )


class SectionScore(_Record):
    """Totals of one scorecard section (n/a items leave the totals)."""

    section: str
    title: str | None = Field(None, description="The section's title in the template.")
    score: float | None = Field(None, description="Weighted score of the section's decided items, 0-100.")
    suggested_score: float | None = Field(
        None, description="Weighted score if every pending suggestion were accepted, 0-100."
    )
    weight: float = Field(0.0, ge=0.0, description="Weight of the section's applicable items.")
    items: int = Field(0, ge=0, description="Items in the section.")
    pending: int = Field(0, ge=0, description="Items still awaiting an assessor decision.")


class Scorecard(_Record):
    template: str
    channel_type: ChannelType
    items: list[ScorecardItem]
    strengths: list[str] = Field(default_factory=list)
    development_points: list[str] = Field(default_factory=list)
    score: float | None = Field(None, description="Weighted score of decided items, 0-100.")
    critical_failed: bool = False
    pending: int = Field(0, ge=0, description="Items still awaiting an assessor decision.")
    # Added for the score stage (additive).
    suggested_score: float | None = Field(
        None, description="Weighted score if every pending suggestion were accepted, 0-100."
    )
    sections: list[SectionScore] = Field(default_factory=list, description="Totals per section, in template order.")
    purpose: Literal["formative", "summative"] = Field(
        "formative", description="formative: coaching; summative: performance review."
    )


# -------------------------------------------------------------------------------------- results


class ModelRef(_Record):
    name: str
    version: str
    sha256: str


class PipelineInfo(_Record):
    version: str = Field(description="callqa version.")
    config_hash: str = Field(description="SHA-256 of the effective configuration.")
    models: list[ModelRef] = Field(default_factory=list)
    timings_s: dict[str, Seconds] = Field(default_factory=dict, description="Wall time per stage.")
    stage_hashes: dict[str, str] = Field(
        default_factory=dict, description="Per stage, hash of the configuration its output depends on (for re-runs)."
    )
    device: str | None = Field(None, description="Device transcription ran on (cpu / cuda).")
    # Added for re-runs (additive): with source.sha256, what "already done" compares.
    settings_fingerprint: str | None = Field(
        None, description="Hash of every stage's settings and the model manifest (pipeline.settings)."
    )
    manifest_sha256: str | None = Field(None, description="SHA-256 of the model manifest as loaded.")
    sidecar_sha256: str | None = Field(None, description="SHA-256 of the metadata sidecar's bytes; None without one.")
    # Added for issue #16 (additive): which key the value digests were made with.
    redaction_key_id: str | None = Field(
        None, description="Non-secret id of the redaction key (pipeline.redact.keys.key_id); 'dev-...' is the public "
                          "development key, whose results exports and the web app refuse unless allowed.")


class RoleSummary(_Record):
    """How speakers were separated and which one was taken for the agent."""

    method: str = Field(description="stereo-channels | pyannote | transcript.")
    agent: str | None = Field(None, description="Channel or diarised label taken for the agent.")
    confidence: Probability = 1.0
    evidence: list[str] = Field(default_factory=list, description="Reasons, never transcript text.")
    flagged: bool = Field(False, description="True when the roles could not be told apart reliably.")


class RedactionSummary(_Record):
    """What redaction did to this call (the findings themselves are in CallResult.pii)."""

    findings: int = 0
    residual: int = Field(0, description="Findings the re-scan of the redacted text still made.")
    flagged: bool = Field(False, description="Needs human review: residual PII or a finding not placed in time.")
    reasons: list[str] = Field(default_factory=list, description="Why it is flagged; never PII.")
    audio_redacted: bool = Field(False, description="audio.redacted.wav was written and covers every finding.")
    audit_records: int = Field(0, description="Records appended to the audit log for this call.")
    muted_speech_s: float = Field(
        0.0, ge=0.0, description="Seconds of speech muted in the audio because no kept, timed word covered it.")
    muted_other_s: float = Field(
        0.0, ge=0.0, description="Seconds of other uncovered sound (music, noise) muted the same way.")
    unaligned_stretches: int = Field(0, ge=0, description="Muted stretches of either (one audit record each).")


class CallResult(_Record):
    """Everything callqa concluded about one interaction: out/<call_id>/result.json."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    call_id: CallId
    channel_type: ChannelType
    source: Source
    metadata: RecordingMetadata
    pipeline: PipelineInfo
    turns: list[Turn]
    pii: list[PiiFinding] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    metrics: Metrics = Field(default_factory=Metrics)
    sla: list[SlaResult] = Field(default_factory=list)
    scorecard: Scorecard | None = None
    lass: list[LassAssessment] = Field(default_factory=list, description="One LASS assessment per complaint.")
    roles: RoleSummary | None = None
    redaction: RedactionSummary | None = None
    flags: list[str] = Field(
        default_factory=list,
        description="Why an assessor should look first: residual_pii, roles_unclear, critical_failed, low_confidence, ...",
    )
    stages_run: list[str] = Field(default_factory=list, description="Stages that ran, in order.")
    warnings: list[str] = Field(default_factory=list, description="Things corrected or skipped; never PII.")

    @field_validator("turns")
    @classmethod
    def _indexed_in_order(cls, turns: list[Turn]) -> list[Turn]:
        for position, turn in enumerate(turns):
            if turn.index != position:
                raise ValueError(f"turns[{position}] has index {turn.index}; turn indices must be 0..n-1 in order")
        return turns


# ----------------------------------------------------------------------------- transcript input


class TranscriptInputTurn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    speaker: Literal["agent", "customer"]
    text: str = Field(max_length=100_000)
    start_s: Seconds | None = None
    end_s: Seconds | None = None


class TranscriptInput(BaseModel):
    """A chat, email or externally transcribed call: the transcript-input JSON format in README.md."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    call_id: CallId
    channel_type: ChannelType
    metadata: dict[str, Any] = Field(default_factory=dict)
    turns: list[TranscriptInputTurn] = Field(min_length=1)


def call_result_json_schema() -> dict[str, Any]:
    """JSON Schema of `CallResult`, as `callqa schema` prints it."""
    return CallResult.model_json_schema(mode="serialization")
