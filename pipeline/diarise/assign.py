"""Words to diarised speakers (mono): each word gets the speaker active at its time.

Whisper's word times are approximate (tens to hundreds of ms) and pyannote's boundaries too, so
a word right at a speaker change is a coin toss. Two cheap corrections use what the transcript
knows: a sentence that one speaker holds most of goes wholly to that speaker, and a change left
inside a sentence moves to the nearest sentence end a few words away.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pipeline.diarise.options import WordAssignOptions
from pipeline.diarise.turns import Token

__all__ = ["SpeakerRegion", "assign_words", "sentences", "ends_sentence"]

_SENTENCE_END = (".", "?", "!")
# Titles whisper writes with a full stop that do not end a sentence ("Mr. Okafor").
_ABBREVIATIONS = frozenset({"mr.", "mrs.", "ms.", "dr.", "st.", "no.", "mx.", "prof.", "e.g.", "i.e.", "etc."})


@dataclass(frozen=True)
class SpeakerRegion:
    """One stretch of one diarised speaker's speech (regions of two speakers may overlap)."""

    start_s: float
    end_s: float
    label: str


def ends_sentence(token: Token) -> bool:
    text = token.word.text.rstrip("\"')]")
    return text.endswith(_SENTENCE_END) and text.lower() not in _ABBREVIATIONS


def sentences(tokens: Sequence[Token], pause_s: float | None = None) -> list[tuple[int, int]]:
    """[start, end) index ranges of the sentences in `tokens`.

    A sentence ends after . ? ! and, when `pause_s` is given, at a pause at least that long
    (whisper often leaves out the full stop where one speaker hands over to the other).
    """
    spans, start = [], 0
    for i, token in enumerate(tokens):
        paused = pause_s is not None and i + 1 < len(tokens) and tokens[i + 1].start_s - token.end_s >= pause_s
        if ends_sentence(token) or paused:
            spans.append((start, i + 1))
            start = i + 1
    if start < len(tokens):
        spans.append((start, len(tokens)))
    return spans


def _overlaps(token: Token, regions: Sequence[SpeakerRegion], pad: float) -> dict[str, float]:
    start, end = token.start_s - pad, token.end_s + pad
    per_label: dict[str, float] = defaultdict(float)
    for region in regions:
        if region.end_s <= start:
            continue
        if region.start_s >= end:
            break
        per_label[region.label] += min(end, region.end_s) - max(start, region.start_s)
    return per_label


def _nearest(token: Token, regions: Sequence[SpeakerRegion], max_gap: float) -> str | None:
    best, best_gap = None, max_gap
    for region in regions:
        gap = max(region.start_s - token.end_s, token.start_s - region.end_s, 0.0)
        if gap <= best_gap:
            best, best_gap = region.label, gap
    return best


def _vote(tokens: list[Token], labels: list[str | None], weights: list[dict[str, float]], majority: float,
          pause_s: float | None, max_flip_s: float) -> None:
    for start, end in sentences(tokens, pause_s):
        totals: dict[str, float] = defaultdict(float)
        for i in range(start, end):
            for label, weight in weights[i].items():
                totals[label] += weight
        whole = sum(totals.values())
        if whole <= 0:
            continue
        winner = max(totals, key=totals.__getitem__)
        if totals[winner] / whole < majority:
            continue
        # Flip only short minority runs (blurred boundary words); a long one is a real change
        # whisper wrote into the same sentence, and stays.
        i = start
        while i < end:
            j = i
            while j + 1 < end and labels[j + 1] == labels[i]:
                j += 1
            if labels[i] != winner and tokens[j].end_s - tokens[i].start_s <= max_flip_s:
                for k in range(i, j + 1):
                    labels[k] = winner
            i = j + 1


def _snap(tokens: list[Token], labels: list[str | None], window: int) -> None:
    i = 0
    while i < len(tokens) - 1:
        if labels[i] != labels[i + 1] and not ends_sentence(tokens[i]):
            candidates = [j for j in range(max(0, i - window), min(len(tokens) - 1, i + window + 1))
                          if j != i and ends_sentence(tokens[j])]
            if candidates:
                j = min(candidates, key=lambda c: (abs(c - i), c))
                before, after = labels[i], labels[i + 1]
                if j < i:
                    for k in range(j + 1, i + 1):
                        labels[k] = after
                else:
                    for k in range(i + 1, j + 1):
                        labels[k] = before
                i = max(i, j)
        i += 1


def assign_words(tokens: Sequence[Token], regions: Sequence[SpeakerRegion], options: WordAssignOptions) -> list[Token]:
    """Give each token the label of the diarised speaker active at its time.

    Args:
        tokens: words in time order.
        regions: diarised speech regions (overlapping allowed), any order.
        options: word-assignment options.

    Returns:
        The tokens with `label` set (None only when there are no regions at all).
    """
    tokens = list(tokens)
    ordered = sorted(regions, key=lambda r: (r.start_s, r.end_s))
    weights = [_overlaps(t, ordered, options.word_pad_s) for t in tokens]
    labels: list[str | None] = [max(w, key=w.__getitem__) if w else None for w in weights]
    for i, token in enumerate(tokens):
        if labels[i] is None:
            labels[i] = _nearest(token, ordered, options.max_nearest_gap_s)
    # Words far from any region (e.g. heard by whisper, missed by the segmentation) follow their neighbours.
    last = None
    for i in range(len(labels)):
        labels[i] = labels[i] or last
        last = labels[i]
    following = None
    for i in range(len(labels) - 1, -1, -1):
        labels[i] = labels[i] or following
        following = labels[i]
    if options.sentence_vote:
        unit = [w if w else ({labels[i]: tokens[i].end_s - tokens[i].start_s} if labels[i] else {})
                for i, w in enumerate(weights)]
        _vote(tokens, labels, unit, options.sentence_majority, options.pause_split_s, options.vote_max_flip_s)
    if options.snap_changes_to_punctuation and options.snap_window_words:
        _snap(tokens, labels, options.snap_window_words)
    return [replace(t, label=label) for t, label in zip(tokens, labels)]
