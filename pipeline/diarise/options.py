"""Options of the diarise stage, loaded from configs/diarise.yaml (every knob a site tunes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from pipeline.config import ModelsOptions, Options, configs_dir, load_yaml_model
from pipeline.schema import Speaker

__all__ = [
    "CueLexicon",
    "RoleOptions",
    "WordAssignOptions",
    "RefineOptions",
    "PyannoteOptions",
    "DiariseOptions",
    "load_diarise_options",
]


class CueLexicon(Options):
    """Phrases that count as one kind of role evidence, and how much that evidence weighs."""

    weight: float = Field(gt=0, description="Score this cue adds to its role when a speaker says it.")
    phrases: list[str] = Field(
        default_factory=list,
        description="Regular expressions matched on lower-cased text with punctuation removed, on word boundaries.",
    )
    within_first_s: float | None = Field(
        None, gt=0, description="Only words spoken before this time count (greetings belong to the opening)."
    )
    max_hits: int = Field(2, ge=1, description="At most this many matches count (one chatty speaker does not swamp the rest).")


class RoleOptions(Options):
    """How the agent is told from the customer."""

    agent_cues: dict[str, CueLexicon] = Field(
        default_factory=dict, description="Evidence that a speaker is the agent, by cue name (greeting, idv, ...)."
    )
    customer_cues: dict[str, CueLexicon] = Field(
        default_factory=dict, description="Evidence that a speaker is the customer, by cue name."
    )
    organisation_weight: float = Field(
        2.0, ge=0, description="Score for saying the organisation's name (from the sidecar) in the opening."
    )
    organisation_within_s: float = Field(30.0, gt=0, description="The opening in which the organisation name counts.")
    first_speaker_weight: float = Field(
        0.5, ge=0, description="Score for speaking first (the agent on inbound calls, the customer on outbound)."
    )
    confidence_scale: float = Field(
        1.5, gt=0, description="Margin of evidence (agent minus customer score) that gives confidence 1 - 1/e of the way from 0.5 to 1."
    )
    min_margin: float = Field(
        1.0, ge=0, description="Below this margin the roles are flagged as not told apart."
    )
    contradiction_margin: float = Field(
        3.0, ge=0, description="Evidence this strong against a configured channel map flags the call."
    )
    max_voice_similarity: float = Field(
        0.9, gt=0, le=1, description="Mono: agent and customer voices this alike (cosine of CAM++ centroids) are flagged: the split is not reliable."
    )
    swap_contradicted_config_map: bool = Field(
        False, description="Swap a config (not sidecar) channel map that the evidence contradicts; else keep it and flag."
    )


class WordAssignOptions(Options):
    """How each transcribed word gets a diarised speaker (mono)."""

    word_pad_s: float = Field(0.05, ge=0, description="Widen each word by this much before measuring overlap.")
    max_nearest_gap_s: float = Field(
        1.0, ge=0, description="A word in no speaker's region takes the nearest region's speaker within this gap."
    )
    sentence_vote: bool = Field(
        True, description="Give a sentence one speaker when one speaker holds most of it (whisper word times blur changes)."
    )
    sentence_majority: float = Field(
        0.6, gt=0.5, le=1.0, description="Share of a sentence's speech one speaker must hold for the sentence vote."
    )
    vote_max_flip_s: float = Field(
        1.2, ge=0, description="The sentence vote flips only minority stretches this short (longer ones are real changes)."
    )
    pause_split_s: float | None = Field(
        None, gt=0, description="A pause this long also ends a 'sentence' (whisper drops full stops at hand-overs); null: punctuation only."
    )
    snap_changes_to_punctuation: bool = Field(
        True, description="Move a speaker change to the nearest sentence end within snap_window_words."
    )
    snap_window_words: int = Field(3, ge=0, description="How many words a change may move to reach a sentence end.")
    extend_turns_s: float = Field(
        1.0, ge=0, description="Stretch a turn to its speaker's diarised region by at most this much (keeps overlaps)."
    )


class RefineOptions(Options):
    """Second look at each sentence's voice (mono): pyannote's 10 s windows can lump short turns together."""

    enabled: bool = Field(True, description="Re-check each sentence's speaker against the speakers' voices.")
    min_unit_s: float = Field(0.8, gt=0, description="Shorter stretches are too short to embed reliably.")
    margin: float = Field(0.1, ge=0, description="Cosine-similarity lead another speaker needs to take a stretch.")
    iterations: int = Field(1, ge=1, le=50, description="Centroid updates; 1 = compare with pyannote's speakers as found.")
    max_loss: float = Field(
        0.4, gt=0, le=1, description="If a speaker would lose more than this share of its speech, the refinement is dropped."
    )
    min_speaker_s: float = Field(4.0, ge=0, description="A speaker needs this much speech to act as a centroid.")
    pause_split_s: float | None = Field(None, gt=0, description="Also cut stretches at pauses this long; null: sentences only.")


class PyannoteOptions(Options):
    """The mono path: pyannote.audio's SpeakerDiarization built from local weights."""

    segmentation_model: str = Field("pyannote-segmentation-3.0", description="Manifest name of the segmentation model.")
    embedding_model: str = Field("campplus-sv-zh-en-16k", description="Manifest name of the speaker-embedding model.")
    segmentation_step: float = Field(0.1, gt=0, le=1, description="Window step as a ratio of the 10 s window.")
    segmentation_batch_size: int = Field(8, ge=1)
    embedding_batch_size: int = Field(48, ge=1, description="(chunk, speaker) pairs per batch; a multiple of 3.")
    embedding_exclude_overlap: bool = Field(True, description="Embed each speaker on frames where only it speaks.")
    min_duration_off: float = Field(0.0, ge=0, description="Fill gaps in one speaker's speech shorter than this (s).")
    clustering_method: Literal["average", "centroid", "complete", "median", "single", "ward"] = "centroid"
    clustering_threshold: float = Field(0.7, gt=0, lt=2, description="Cosine distance below which clusters merge.")
    min_cluster_size: int = Field(12, ge=1)


class DiariseOptions(Options):
    """Everything the diarise stage reads: channel map, speaker-count prior, roles, word assignment, runtime."""

    channel_map: list[Speaker] | None = Field(
        default_factory=lambda: ["agent", "customer"],
        description="Speaker on each stereo channel when the sidecar has none; null = infer from role evidence.",
    )
    min_speakers: int = Field(2, ge=1, description="Telephone calls have two parties ...")
    max_speakers: int = Field(3, ge=1, description="... sometimes three (a transfer).")
    turn_split_gap_s: float = Field(1.5, gt=0, description="A pause this long starts a new turn of the same speaker.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when present, else CPU.")
    torch_threads: int = Field(1, ge=1, description="torch intra-op threads (one per worker is fastest on small boxes).")
    roles: RoleOptions = RoleOptions()
    words: WordAssignOptions = WordAssignOptions()
    refine: RefineOptions = RefineOptions()
    pyannote: PyannoteOptions = PyannoteOptions()
    models: ModelsOptions = Field(ModelsOptions(), description="Where the manifest and model store are.")

    @model_validator(mode="after")
    def _speaker_bounds(self) -> "DiariseOptions":
        if self.min_speakers > self.max_speakers:
            raise ValueError("min_speakers must not exceed max_speakers")
        if self.channel_map is not None and len(self.channel_map) < 1:
            raise ValueError("channel_map must name at least one speaker, or be null to infer it")
        return self


def load_diarise_options(path: Path | str | None = None, *, overrides: dict[str, Any] | None = None) -> DiariseOptions:
    """Load the diarise options.

    Args:
        path: a YAML file; None for the packaged configs/diarise.yaml.
        overrides: keys deep-merged over the file before validation.

    Returns:
        The validated options.

    Raises:
        ConfigError: the file is unreadable, not YAML, or has an unknown key or a bad value.
    """
    file = Path(path) if path is not None else configs_dir() / "diarise.yaml"
    return load_yaml_model(DiariseOptions, file, overrides=overrides)
