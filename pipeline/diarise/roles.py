"""Roles: which speaker is the agent, with evidence and a confidence.

Each speaker (a stereo channel or a diarised cluster) gets an agent score from what it says -
the greeting, the organisation's name in the opening, the recording notice, ID&V questions,
other agent phrases - minus a customer score (complaint and caller phrases), plus a little for
speaking first. The speaker with the highest net score is the agent. Evidence is a list of short
reasons that never quote the transcript. A call whose margin is too small is flagged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.diarise.options import CueLexicon, RoleOptions
from pipeline.diarise.turns import Token
from pipeline.schema import RecordingMetadata, Speaker

__all__ = ["RoleAssignment", "normalise", "speaker_scores", "assign_roles", "confidence_from_margin"]

_NON_WORD = re.compile(r"[^a-z0-9' ]+")
_SPACES = re.compile(r"\s+")


class RoleAssignment(BaseModel):
    """Which diarised speaker (or channel) plays which role, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mapping: dict[str, Speaker] = Field(description="Speaker label ('channel:0', 'SPEAKER_00') -> role.")
    agent: str | None = Field(description="Label of the main agent; None when no speaker is the agent.")
    confidence: float = Field(ge=0.0, le=1.0, description="How sure the assignment is (0.5 = a guess).")
    source: Literal["sidecar", "config", "evidence"] = Field(description="What decided the roles.")
    evidence: list[str] = Field(default_factory=list, description="Short reasons; never transcript text.")
    scores: dict[str, float] = Field(default_factory=dict, description="Net agent score per speaker label.")
    flagged: bool = Field(False, description="True when the roles could not be told apart with confidence.")


def normalise(text: str) -> str:
    """Lower-case, punctuation to spaces (apostrophes kept), single spaces."""
    text = text.lower().replace("\u2019", "'")
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


@lru_cache(maxsize=256)
def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    return re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in phrases) + r")\b")


def _text(tokens: Sequence[Token], within_s: float | None) -> str:
    return normalise(" ".join(t.word.text for t in tokens if within_s is None or t.start_s < within_s))


def _cue_hits(tokens: Sequence[Token], cue: CueLexicon) -> int:
    pattern = _pattern(tuple(cue.phrases))
    if pattern is None:
        return 0
    return min(cue.max_hits, len(pattern.findall(_text(tokens, cue.within_first_s))))


def _says_organisation(tokens: Sequence[Token], organisation: str, within_s: float) -> bool:
    # Compare without spaces: ASR splits and joins names ("North Wind" / "Northwind").
    name = normalise(organisation).replace(" ", "").replace("'", "")
    if len(name) < 3:
        return False
    said = _text(tokens, within_s).replace(" ", "").replace("'", "")
    if name in said:
        return True
    first = normalise(organisation).split(" ")[0].replace("'", "")
    return len(first) >= 5 and first in said


def speaker_scores(
    by_speaker: Mapping[str, Sequence[Token]],
    metadata: RecordingMetadata,
    options: RoleOptions,
) -> tuple[dict[str, float], list[str]]:
    """Net agent score of each speaker and the evidence behind it.

    Args:
        by_speaker: each speaker label's tokens, in time order.
        metadata: the recording's sidecar metadata (organisation, direction).
        options: role options (cue lexicons and weights).

    Returns:
        (label -> agent score minus customer score, evidence strings).
    """
    scores: dict[str, float] = {}
    evidence: list[str] = []
    for label, tokens in by_speaker.items():
        score = 0.0
        for name, cue in options.agent_cues.items():
            hits = _cue_hits(tokens, cue)
            if hits:
                score += cue.weight * hits
                evidence.append(f"{label}: agent cue '{name}' x{hits}")
        if metadata.organisation and options.organisation_weight and _says_organisation(
            tokens, metadata.organisation, options.organisation_within_s
        ):
            score += options.organisation_weight
            evidence.append(f"{label}: says the organisation name in the opening")
        for name, cue in options.customer_cues.items():
            hits = _cue_hits(tokens, cue)
            if hits:
                score -= cue.weight * hits
                evidence.append(f"{label}: customer cue '{name}' x{hits}")
        scores[label] = score
    spoken = [(tokens[0].start_s, label) for label, tokens in by_speaker.items() if tokens]
    if spoken and options.first_speaker_weight:
        first = min(spoken)[1]
        outbound = metadata.direction == "outbound"
        scores[first] += -options.first_speaker_weight if outbound else options.first_speaker_weight
        evidence.append(f"{first}: speaks first ({'outbound: callee' if outbound else 'inbound: agent'} opens)")
    return scores, evidence


def confidence_from_margin(margin: float, scale: float) -> float:
    """0.5 for no margin, approaching 1 as the evidence margin grows."""
    return round(0.5 + 0.5 * (1.0 - math.exp(-max(margin, 0.0) / scale)), 3)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / denominator if denominator > 0 else 0.0


def assign_roles(
    by_speaker: Mapping[str, Sequence[Token]],
    metadata: RecordingMetadata,
    options: RoleOptions,
    *,
    embeddings: Mapping[str, np.ndarray] | None = None,
) -> RoleAssignment:
    """Decide each speaker's role from the evidence alone.

    The speaker with the highest net score is the agent and the lowest the customer. A third
    speaker (a transfer, or a cluster split off one party) takes the role its own evidence says;
    with no evidence either way, the role of the main speaker whose voice it is closest to
    (`embeddings`), else unknown.

    Args:
        by_speaker: each speaker label's tokens, in time order (speakers with no words may be absent).
        metadata: the recording's sidecar metadata.
        options: role options.
        embeddings: optional speaker label -> voice embedding, to place extra speakers.

    Returns:
        The assignment; `flagged` when the margin between agent and customer is below `min_margin`.
    """
    scores, evidence = speaker_scores(by_speaker, metadata, options)
    labels = sorted(scores, key=lambda label: (-scores[label], label))
    if not labels:
        return RoleAssignment(mapping={}, agent=None, confidence=0.0, source="evidence",
                              evidence=["no words to judge roles by"], flagged=True)
    if len(labels) == 1:
        only = labels[0]
        role: Speaker = "agent" if scores[only] > 0 else "customer" if scores[only] < 0 else "unknown"
        margin = abs(scores[only])
        evidence.append(f"only one speaker heard: {only}")
        return RoleAssignment(
            mapping={only: role}, agent=only if role == "agent" else None,
            confidence=confidence_from_margin(margin, options.confidence_scale), source="evidence",
            evidence=evidence, scores=scores, flagged=margin < options.min_margin,
        )
    agent, customer = labels[0], labels[-1]
    mapping: dict[str, Speaker] = {agent: "agent", customer: "customer"}
    for label in labels[1:-1]:
        own = scores[label]
        if abs(own) >= options.min_margin:
            mapping[label] = "agent" if own > 0 else "customer"
            evidence.append(f"{label}: third speaker, {mapping[label]} by its own evidence")
        elif embeddings and label in embeddings and agent in embeddings and customer in embeddings:
            to_agent = _cosine(embeddings[label], embeddings[agent])
            to_customer = _cosine(embeddings[label], embeddings[customer])
            mapping[label] = "agent" if to_agent >= to_customer else "customer"
            evidence.append(f"{label}: third speaker, voice closest to the {mapping[label]}")
        else:
            mapping[label] = "unknown"
            evidence.append(f"{label}: third speaker, role unknown")
    margin = scores[agent] - scores[customer]
    flagged = margin < options.min_margin
    if flagged:
        evidence.append(f"margin {margin:.1f} below {options.min_margin:.1f}: roles not told apart")
    return RoleAssignment(
        mapping=mapping, agent=agent, confidence=confidence_from_margin(margin, options.confidence_scale),
        source="evidence", evidence=evidence, scores=scores, flagged=flagged,
    )
