"""How much an agent turn reads like a priced offer of something more (sales.*, issue #17 round 7).

Leave-one-author-out, most missed cross-sells were plain offers that the classifiers scored near 0:
a product and its price put to the customer ("our physio add-on is 15 pound a month", "a second
pair's forty percent off", "he could clear the gutters as well. It's thirty-five"), while a question
offering a choice of how to do something ("What would suit you for the box? We can send a bag, or
collect it.") was read as one. The lexicons hold the price words and the offer words, but a linear
model cannot ask for both in one sentence. Four columns on agent turns:

- priced: a sentence has a price and an offer frame ("you might like", "I'd suggest", "we also do",
  "would you like", "a lot of people take");
- priced_more: a sentence has a price and a word of addition (also, as well, on top, another, a
  second, extra, add-on);
- frame_more: a sentence has an offer frame and a word of addition;
- choice: a question that offers alternatives ("... or ...?") with no price in the turn.

Pure functions of the turn's text (split into sentences at . ! ? here, so training and live rows
agree whatever the parser does).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = ["OFFER_SHAPE_FIELDS", "offer_shape_block", "sentence_shape"]

OFFER_SHAPE_FIELDS: tuple[str, ...] = ("priced", "priced_more", "frame_more", "choice")

_SPLIT = re.compile(r"(?<=[.!?])\s+")
_PRICE = re.compile(
    r"£\s?\d|\b\d+(?:\.\d+)?\s?(?:p|pence|pounds?|quid|euros?)\b|\b(?:pound|pounds|quid|fiver|tenner|pence|euros?)\b"
    r"|\b(?:a|per)\s(?:month|year|week|day|night|session|lesson|term)\b|\b\d+\s?(?:%|percent|per cent)\s?off\b"
    r"|\bhalf[- ]price\b|\bdiscount(?:ed)?\b", re.IGNORECASE)
_FRAME = re.compile(
    r"\byou (?:might|may|could) (?:also )?(?:like|want|consider|fancy|find|have|add|get|take|join|go|try|want)\b"
    r"|\bi'?d (?:really |honestly |also |just )?(?:suggest|recommend|go for|add|look at)\b"
    r"|\b(?:i|we) (?:can|could) (?:also )?(?:add|include|put|pop|do|book|set|throw|offer)\b"
    r"|\bworth (?:a look|having|adding|considering|thinking)\b"
    r"|\b(?:a lot of|lots of|plenty of|some|many|most) (?:our )?(?:people|customers|families|clients|members|owners|parents|drivers)\b"
    r"|\bwe (?:also )?(?:do|have|sell|offer|run|'ve got)\b|\bwe've (?:also )?got\b"
    r"|\bwould you like\b|\bdo you want\b|\bshall i\b|\bif you(?:'d| would)? (?:like|fancy|want)\b"
    r"|\binterested in\b|\bhave you (?:thought|considered)\b|\bif (?:that|it) (?:appeals|interests)\b"
    r"|\byou can (?:also )?(?:add|have|get|take|join)\b|\bsomething that helps\b", re.IGNORECASE)
_MORE = re.compile(
    r"\b(?:also|as well|too|on top|add|adding|add-on|another|second|spare|extra|alongside|bolt-on|in addition"
    r"|while (?:you're|he's|she's|they're|we're|it's|i've got you|you are))\b", re.IGNORECASE)
_CHOICE = re.compile(r"\bor\b", re.IGNORECASE)


def sentence_shape(sentence: str) -> tuple[bool, bool, bool]:
    """(price, offer frame, addition) found in one sentence."""
    return bool(_PRICE.search(sentence)), bool(_FRAME.search(sentence)), bool(_MORE.search(sentence))


def offer_shape_block(speakers: Sequence[str], texts: Sequence[str | None]) -> np.ndarray:
    """(n_turns, len(OFFER_SHAPE_FIELDS)) columns, one row per agent turn, zeros on customer turns.

    Args:
        speakers: each turn's speaker ("agent" | "customer").
        texts: each turn's text.
    """
    out = np.zeros((len(speakers), len(OFFER_SHAPE_FIELDS)))
    for t, (speaker, text) in enumerate(zip(speakers, texts)):
        if speaker != "agent" or not text:
            continue
        sentences = [s for s in _SPLIT.split(text.strip()) if s]
        shapes = [sentence_shape(s) for s in sentences]
        out[t, 0] = float(any(p and f for p, f, _ in shapes))
        out[t, 1] = float(any(p and m for p, _, m in shapes))
        out[t, 2] = float(any(f and m for _, f, m in shapes))
        priced = any(p for p, _, _ in shapes)
        out[t, 3] = float(not priced and any(s.rstrip().endswith("?") and _CHOICE.search(s) for s in sentences))
    return out
