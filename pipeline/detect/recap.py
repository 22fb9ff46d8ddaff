"""How much an agent turn reads like a recap (call.summary, issue #17 round 5).

A recap restates several agreed points in one go ("So, fault reference ending 492, engineer Thursday
eight till one, a week's credit on your next bill"); a single confirmation with a time ("I'll email the
documents by Friday") is not one, yet the recap classifier read those as recaps and missed recaps with
no recap word (leave-one-author-out errors of round 5, docs/detection.md). Two columns on agent turns:

- so_opener: a sentence opens with "So" or "(just) to recap" (the spoken marker of a summing-up);
- items: the most list items in one of its sentences (parts split at , ; : and " and "), capped at
  `_MOST_ITEMS`, as a share of it.

Pure functions of the turn's sentences: the same for training and live.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = ["RECAP_FIELDS", "recap_block"]

RECAP_FIELDS: tuple[str, ...] = ("so_opener", "items")

_OPENER = re.compile(r"^(so|to recap|just to recap)\b", re.IGNORECASE)
_ITEM_BREAK = re.compile(r"[,;:]| and ")
# Six points is already a long recap; more says nothing new.
_MOST_ITEMS = 6


def recap_block(speakers: Sequence[str], sentences: Sequence[Sequence[str]]) -> np.ndarray:
    """(n_turns, len(RECAP_FIELDS)) columns, one row per agent turn, zeros on customer turns.

    Args:
        speakers: each turn's speaker ("agent" | "customer").
        sentences: each turn's analysed sentence texts.
    """
    out = np.zeros((len(speakers), len(RECAP_FIELDS)))
    for t, (speaker, texts) in enumerate(zip(speakers, sentences)):
        if speaker != "agent" or not texts:
            continue
        out[t, 0] = float(any(_OPENER.match(s.strip()) for s in texts))
        out[t, 1] = min(max(len(_ITEM_BREAK.split(s)) for s in texts), _MOST_ITEMS) / _MOST_ITEMS
    return out
