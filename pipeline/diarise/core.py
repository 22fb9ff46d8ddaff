"""The diarise stage: who spoke each word, grouped into agent / customer turns.

Stereo (one party per channel): the channel is the speaker; the channel map comes from the
sidecar, else the config, else role evidence. Mono: pyannote.audio's speaker diarisation, each
word given to the speaker active at its time, then roles from evidence. Overlapping speech is
kept as overlap (two turns whose times overlap): it is an interruption, not an error.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.diarise.assign import SpeakerRegion, assign_words
from pipeline.diarise.options import DiariseOptions
from pipeline.diarise.refine import refine_labels
from pipeline.diarise.roles import RoleAssignment, assign_roles, confidence_from_margin
from pipeline.diarise.turns import Token, build_turns, group_runs, tokens_from_transcript
from pipeline.errors import StageError
from pipeline.progress import ProgressHook
from pipeline.schema import ModelRef, Recording, Seconds, Speaker, Transcript, Turn

if TYPE_CHECKING:  # the engine imports torch; keep it out of stereo-only runs
    from pipeline.diarise.engine import Diariser

__all__ = ["SpeakerSpan", "Diarisation", "diarise", "channel_label"]

log = logging.getLogger(__name__)

# Two channels this alike are one mix copied twice, not one party per channel.
_DUPLICATE_CHANNEL_CORRELATION = 0.98


class SpeakerSpan(BaseModel):
    """One stretch of one diarised speaker's speech (mono); spans of two speakers may overlap."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    speaker: str = Field(description="Diarised speaker label, e.g. SPEAKER_00.")
    role: Speaker = Field(description="Role the label was given.")
    start_s: Seconds
    end_s: Seconds


class Diarisation(BaseModel):
    """The diarise stage's output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["stereo-channels", "pyannote"] = Field(description="How speakers were separated.")
    turns: list[Turn] = Field(description="Turns in time order, turns[i].index == i; overlapping turns are overtalk.")
    roles: RoleAssignment = Field(description="Which speaker label / channel is the agent, with evidence.")
    timeline: list[SpeakerSpan] = Field(
        default_factory=list, description="Mono: pyannote's speaker regions (overlap-aware), ordered by start."
    )
    n_speakers: int = Field(ge=0, description="Speakers found (channels with words, or diarised clusters).")
    models: list[ModelRef] = Field(default_factory=list, description="Models the mono path used.")
    voice_similarity: float | None = Field(
        None, description="Mono: cosine similarity of the agent's and customer's voices (near 1: not separable)."
    )
    warnings: list[str] = Field(default_factory=list, description="Corrections made; never transcript text.")


def channel_label(channel: int) -> str:
    return f"channel:{channel}"


def _channels_duplicate(audio: np.ndarray) -> bool:
    a, b = audio[0], audio[1]
    step = max(1, a.shape[0] // 160_000)  # a 10 s-equivalent subsample is plenty
    a, b = a[::step].astype(np.float64), b[::step].astype(np.float64)
    if a.std() < 1e-6 or b.std() < 1e-6:
        return False
    return float(np.corrcoef(a, b)[0, 1]) >= _DUPLICATE_CHANNEL_CORRELATION


def _stereo_map(recording: Recording, options: DiariseOptions, warnings: list[str]) -> tuple[list[Speaker] | None, str]:
    n = recording.n_channels
    for source, channel_map in (("sidecar", recording.metadata.channel_map), ("config", options.channel_map)):
        if channel_map is None:
            continue
        if len(channel_map) != n:
            warnings.append(f"{source} channel map names {len(channel_map)} channels, the audio has {n}; ignored")
            continue
        return list(channel_map), source
    return None, "evidence"


def _stereo(recording: Recording, transcript: Transcript, options: DiariseOptions, warnings: list[str]) -> Diarisation:
    n = recording.n_channels
    per_channel = {c: tokens_from_transcript(transcript, channel=c) for c in range(n)}
    by_label = {channel_label(c): toks for c, toks in per_channel.items() if toks}
    evidence_roles = assign_roles(by_label, recording.metadata, options.roles)
    channel_map, source = _stereo_map(recording, options, warnings)
    if channel_map is None:
        roles = evidence_roles
        mapping = {c: roles.mapping.get(channel_label(c), "unknown") for c in range(n)}
    else:
        roles, channel_map = _check_map(channel_map, source, evidence_roles, options)
        mapping = dict(enumerate(channel_map))
    runs = []
    for c, tokens in per_channel.items():
        others = sorted((t for oc, ts in per_channel.items() if oc != c for t in ts), key=lambda t: t.start_s)
        for run in group_runs(tokens, split_gap_s=options.turn_split_gap_s, interleaved=others):
            runs.append((mapping[c], c, run, None))
    return Diarisation(
        method="stereo-channels", turns=build_turns(runs), roles=roles, n_speakers=len(by_label), warnings=warnings,
    )


def _check_map(
    channel_map: list[Speaker], source: str, evidence: RoleAssignment, options: DiariseOptions
) -> tuple[RoleAssignment, list[Speaker]]:
    """Use a given channel map, but flag (or, for a config map if allowed, swap) one the evidence contradicts."""
    roles = options.roles
    agent_channels = [channel_label(c) for c, s in enumerate(channel_map) if s == "agent"]
    customer_channels = [channel_label(c) for c, s in enumerate(channel_map) if s == "customer"]
    notes = [f"channel map from {source}"]
    flagged = False
    margin = 0.0
    if agent_channels and customer_channels and evidence.scores:
        agent_score = max(evidence.scores.get(label, 0.0) for label in agent_channels)
        customer_score = max(evidence.scores.get(label, 0.0) for label in customer_channels)
        margin = agent_score - customer_score
        if margin <= -roles.contradiction_margin:
            if source == "config" and roles.swap_contradicted_config_map and len(channel_map) == 2:
                channel_map = [channel_map[1], channel_map[0]]
                notes.append("role evidence contradicts the config channel map: swapped")
                margin = -margin
            else:
                notes.append("role evidence contradicts the channel map: kept, flagged for review")
                flagged = True
        elif margin >= roles.min_margin:
            notes.append("role evidence agrees with the channel map")
    base = 1.0 if source == "sidecar" else 0.9
    confidence = 0.5 if flagged else max(base, confidence_from_margin(margin, roles.confidence_scale))
    mapping = {channel_label(c): s for c, s in enumerate(channel_map)}
    agent = next((label for label, s in mapping.items() if s == "agent"), None)
    return (
        RoleAssignment(
            mapping=mapping, agent=agent, confidence=round(confidence, 3), source=source,  # type: ignore[arg-type]
            evidence=notes + evidence.evidence, scores=evidence.scores, flagged=flagged,
        ),
        channel_map,
    )


def _extend(run: list[Token], label: str, regions: list[SpeakerRegion], limit: float) -> tuple[float, float] | None:
    """Stretch a run to its speaker's diarised region(s) touching it, by at most `limit` each side."""
    if limit <= 0:
        return None
    start, end = run[0].start_s, max(t.end_s for t in run)
    touching = [r for r in regions if r.label == label and r.end_s >= start - 0.05 and r.start_s <= end + 0.05]
    if not touching:
        return None
    new_start = max(min(r.start_s for r in touching), start - limit)
    new_end = min(max(r.end_s for r in touching), end + limit)
    return min(new_start, start), max(new_end, end)


def _mono(
    recording: Recording, transcript: Transcript, options: DiariseOptions, diariser: Diariser | None,
    warnings: list[str], hook: ProgressHook | None = None,
) -> Diarisation:
    from pipeline.diarise.engine import load_diariser  # lazy: torch is imported only for mono

    diariser = diariser or load_diariser(options)
    # Only reached with two channels when they carry the same mix: channel 0 is that mix, and
    # only its words are used (the copy on channel 1 would duplicate every word).
    audio = recording.audio[0]
    result = diariser.run(audio, recording.sample_rate, min_speakers=options.min_speakers,
                          max_speakers=options.max_speakers, hook=hook)
    tokens = assign_words(tokens_from_transcript(transcript, channel=0), result.regions, options.words)
    tokens, moved = refine_labels(tokens, lambda spans: diariser.embed_spans(result, spans), options.refine)
    if moved:
        log.debug("refinement moved %d stretch(es) to another speaker", moved)
    by_label: dict[str, list[Token]] = {}
    for token in tokens:
        if token.label is not None:
            by_label.setdefault(token.label, []).append(token)
    roles = assign_roles(by_label, recording.metadata, options.roles, embeddings=result.embeddings)
    similarity = _voice_similarity(roles, result.embeddings)
    if similarity is not None and similarity >= options.roles.max_voice_similarity:
        roles = roles.model_copy(update={
            "flagged": True,
            "confidence": min(roles.confidence, 0.5),
            "evidence": [*roles.evidence, f"agent and customer voices too alike to separate (cosine {similarity:.2f})"],
        })
    runs: list[tuple[Speaker, int | None, list[Token], tuple[float, float] | None]] = []
    current: list[Token] = []
    for token in tokens:
        if current and (token.label != current[-1].label or token.start_s - current[-1].end_s > options.turn_split_gap_s):
            runs.append(_mono_run(current, roles, result.regions, options))
            current = []
        current.append(token)
    if current:
        runs.append(_mono_run(current, roles, result.regions, options))
    timeline = [
        SpeakerSpan(speaker=r.label, role=roles.mapping.get(r.label, "unknown"), start_s=r.start_s, end_s=r.end_s)
        for r in sorted(result.regions, key=lambda r: (r.start_s, r.end_s))
    ]
    return Diarisation(
        method="pyannote", turns=build_turns(runs), roles=roles, timeline=timeline,
        n_speakers=len({r.label for r in result.regions}), models=diariser.model_refs, warnings=warnings,
        voice_similarity=similarity,
    )


def _voice_similarity(roles: RoleAssignment, embeddings: dict[str, np.ndarray]) -> float | None:
    """Cosine similarity of the agent's and the customer's voice centroids (None if unknown)."""
    customer = next((label for label, role in roles.mapping.items() if role == "customer"), None)
    if roles.agent is None or customer is None or roles.agent not in embeddings or customer not in embeddings:
        return None
    a, b = embeddings[roles.agent], embeddings[customer]
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    if not np.isfinite(norm) or norm == 0:
        return None
    return round(float(a @ b) / norm, 3)


def _mono_run(run: list[Token], roles: RoleAssignment, regions: list[SpeakerRegion], options: DiariseOptions):
    label = run[0].label
    speaker: Speaker = roles.mapping.get(label, "unknown") if label else "unknown"
    span = _extend(run, label, regions, options.words.extend_turns_s) if label else None
    return speaker, None, run, span


def diarise(
    recording: Recording,
    transcript: Transcript,
    options: DiariseOptions,
    diariser: Diariser | None = None,
    hook: ProgressHook | None = None,
) -> Diarisation:
    """Split a transcribed recording into agent / customer turns.

    Args:
        recording: the ingested recording (16 kHz float32, one row per channel).
        transcript: its transcript; stereo segments carry their `.channel`.
        options: diarise options (configs/diarise.yaml).
        diariser: a loaded pyannote diariser for mono audio; loaded (and cached) on demand if None.
        hook: optional progress callback (step, completed, total); mono only, where pyannote's
            steps take time (stereo needs no model and is done at once).

    Returns:
        The turns (word-level speaker changes, overlaps kept), roles with evidence, and for mono the
        speaker timeline.

    Raises:
        ModelUnavailableError: mono audio and the diarisation models cannot be loaded.
        StageError: diarisation failed on this recording.
    """
    warnings: list[str] = []
    stereo = recording.n_channels >= 2
    if stereo and _channels_duplicate(recording.audio):
        warnings.append("the two channels carry the same audio: diarised as mono")
        stereo = False
    try:
        if stereo:
            return _stereo(recording, transcript, options, warnings)
        return _mono(recording, transcript, options, diariser, warnings, hook)
    except StageError as e:
        if e.call_id is None:
            raise StageError(str(e).split(": ", 1)[-1], stage="diarise", call_id=recording.call_id) from e
        raise
    except ValueError as e:
        # pydantic validation of our own records (e.g. a transcript with impossible times).
        raise StageError(f"diarisation failed ({type(e).__name__})", stage="diarise", call_id=recording.call_id) from e
