"""Refine word labels with voice embeddings of whole sentences (mono).

pyannote decides speakers on 10 s windows; when turns are short (ID&V exchanges, "yes" / "no")
its local segmentation can lump two voices into one and give a whole exchange to one speaker.
The transcript knows where sentences start and end, so each sentence (cut further where the
label changes) is embedded on its own and moved to the speaker whose voice it is closest to,
k-means style, starting from pyannote's labels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from pipeline.diarise.assign import ends_sentence
from pipeline.diarise.options import RefineOptions
from pipeline.diarise.turns import Token

__all__ = ["units", "refine_labels"]

Embed = Callable[[list[tuple[float, float]]], np.ndarray]


def units(tokens: Sequence[Token], pause_s: float | None = None) -> list[tuple[int, int]]:
    """[start, end) ranges of tokens cut after each sentence end, at each label change and at pauses."""
    spans, start = [], 0
    for i in range(len(tokens)):
        last = i == len(tokens) - 1
        if (last or ends_sentence(tokens[i]) or tokens[i + 1].label != tokens[i].label
                or (pause_s is not None and tokens[i + 1].start_s - tokens[i].end_s >= pause_s)):
            spans.append((start, i + 1))
            start = i + 1
    return spans


def refine_labels(tokens: Sequence[Token], embed: Embed, options: RefineOptions) -> tuple[list[Token], int]:
    """Move sentences to the speaker whose voice they match best.

    Args:
        tokens: labelled tokens in time order.
        embed: spans -> embeddings (NaN rows where a span cannot be embedded).
        options: refinement options.

    Returns:
        (tokens with refined labels, number of stretches that changed speaker).
    """
    tokens = list(tokens)
    if not options.enabled or not tokens:
        return tokens, 0
    ranges = units(tokens, options.pause_split_s)
    spans = [(tokens[a].start_s, max(t.end_s for t in tokens[a:b])) for a, b in ranges]
    durations = np.array([e - s for s, e in spans])
    vectors = embed(spans)
    usable = (durations >= options.min_unit_s) & np.all(np.isfinite(vectors), axis=1)
    if usable.sum() < 2:
        return tokens, 0
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.where(norms > 0, vectors / np.where(norms > 0, norms, 1.0), 0.0)
    labels = [tokens[a].label for a, _ in ranges]
    original = list(labels)
    for _ in range(options.iterations):
        centroids = {}
        for label in {l for l in labels if l is not None}:
            members = [i for i, l in enumerate(labels) if l == label and usable[i]]
            if durations[members].sum() < options.min_speaker_s:
                continue
            c = (vectors[members] * durations[members, None]).sum(axis=0)
            centroids[label] = c / (np.linalg.norm(c) or 1.0)
        if len(centroids) < 2:
            break
        names = sorted(centroids)
        matrix = np.stack([centroids[n] for n in names])
        changed = False
        for i in np.flatnonzero(usable):
            sims = matrix @ vectors[i]
            best = names[int(np.argmax(sims))]
            current = labels[i]
            current_sim = sims[names.index(current)] if current in centroids else -np.inf
            if best != current and sims[names.index(best)] - current_sim >= options.margin:
                labels[i] = best
                changed = True
        if not changed:
            break
    # Guard against collapse: a refinement that takes most of one speaker's speech away is the
    # centroids drifting, not a correction; keep pyannote's labels then.
    for label in {l for l in original if l is not None}:
        before = durations[[i for i, l in enumerate(original) if l == label]].sum()
        after = durations[[i for i, l in enumerate(labels) if l == label]].sum()
        if before > 0 and after < (1.0 - options.max_loss) * before:
            return tokens, 0
    out = list(tokens)
    for (a, b), label in zip(ranges, labels):
        for k in range(a, b):
            out[k] = replace(out[k], label=label)
    return out, sum(1 for x, y in zip(original, labels) if x != y)
