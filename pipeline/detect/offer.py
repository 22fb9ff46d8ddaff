"""How an agent turn relates to what the customer said before it: the offer's base (issue #17).

An up-sell offers a higher-value version of the base - the product the customer has or is buying -
*instead of* it; a cross-sell offers something *as well as* it. The offer's wording often does not
say which ("for five pound more you could have the 500 meg"), so these columns compare the turn
with what was said before it in the call (a bigger version of the base is talked about in the
customer's own terms; another product is new to the call):

- sim_customer: the turn's closest sentence embedding to any earlier customer sentence;
- sim_first: the turn's mean embedding against the call's first customer turn (why they called);
- overlap: the share of the turn's content words already said earlier in the call.

Pure functions of the turns, the sentences and their embeddings: the same for training and live.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = ["OFFER_FIELDS", "offer_block"]

# Tier / comparative words ("bigger", "premium", "your current") were tried as columns too and
# lowered the offer kinds leave-one-author-out (docs/detection.md, "Round 4"): not used.
OFFER_FIELDS: tuple[str, ...] = ("sim_customer", "sim_first", "overlap")

_WORD = re.compile(r"[a-z][a-z'-]{3,}")
_STOP = frozenset(
    "that this with have your you're you've what when where which would could there their they them then than "
    "just like also will been were from into about okay right yeah well much more some only very really thank "
    "thanks sorry please help today there's that's it's i'll i've we'll we've we're can't don't won't pound "
    "pounds month year week a-month going want need should shall make sure know think other another".split())


def _content_words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall((text or "").lower()) if w not in _STOP}


def offer_block(speakers: Sequence[str], texts: Sequence[str], sentence_turns: Sequence[int],
                embeddings: np.ndarray) -> np.ndarray:
    """(n_turns, len(OFFER_FIELDS)) columns, one row per agent turn, zeros on customer turns.

    Args:
        speakers: each turn's speaker ("agent" | "customer").
        texts: each turn's text.
        sentence_turns: the turn index of each analysed sentence, in order.
        embeddings: (n_sentences, dim) L2-normalised sentence embeddings.
    """
    n = len(speakers)
    out = np.zeros((n, len(OFFER_FIELDS)))
    if n == 0:
        return out
    sentence_turns = np.asarray(sentence_turns, dtype=int)
    customer_sentence = np.array([speakers[t] == "customer" for t in sentence_turns], dtype=bool) \
        if len(sentence_turns) else np.zeros(0, dtype=bool)
    first_customer = next((i for i, s in enumerate(speakers) if s == "customer" and np.any(sentence_turns == i)), None)
    first_mean = None
    if first_customer is not None:
        v = embeddings[sentence_turns == first_customer].sum(axis=0)
        first_mean = v / (np.linalg.norm(v) or 1.0)
    seen: set[str] = set()
    for t in range(n):
        text = texts[t] or ""
        words = _content_words(text)
        if speakers[t] != "agent":  # offers are the agent's; customer rows stay zero (the complaint model ignores them)
            seen |= words
            continue
        mine = sentence_turns == t
        sim_customer = sim_first = 0.0
        if mine.any():
            earlier = customer_sentence & (sentence_turns < t)
            if earlier.any():
                sim_customer = float((embeddings[mine] @ embeddings[earlier].T).max())
            if first_mean is not None and first_customer < t:
                v = embeddings[mine].sum(axis=0)
                sim_first = float(v @ first_mean / (np.linalg.norm(v) or 1.0))
        out[t] = (max(sim_customer, 0.0), max(sim_first, 0.0), len(words & seen) / len(words) if words else 0.0)
        seen |= words
    return out
