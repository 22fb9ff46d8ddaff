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
- choice: a question that offers alternatives ("... or ...?") with no price in the turn;
- swap (round 8): a sentence that puts one thing in place of another ("instead", "rather than", "switch to",
  "upgrade", "move up", "the better option", "would suit you better") with a price or a comparison (more, extra,
  cheaper, better, the difference): an up-sell's higher version taken instead of the base;
- more_for (round 8): a price difference ("only a pound more", "for eight more", "six pound more a month",
  "a little more"): what an up-sell costs over the base.

Round 8, leave-author-pair-out: the last two are on about 30% of up-sell turns, 2% of cross-sell turns and
under 0.5% of other agent turns; most up-sells the classifiers missed, or read as cross-sells, were such
swaps ("the one-kilo plan ... you'd save four forty a month switching over").

Pure functions of the turn's text (split into sentences at . ! ? here, so training and live rows
agree whatever the parser does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["OFFER_SHAPE_FIELDS", "agent_sentences", "offer_shape_block", "sentence_shape"]

OFFER_SHAPE_FIELDS: tuple[str, ...] = ("priced", "priced_more", "frame_more", "choice", "swap", "more_for")

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
_SWAP = re.compile(
    r"\binstead\b|\brather than\b|\bswitch(?:ing)? (?:to|over|you)\b|\bupgrad\w*\b"
    r"|\b(?:step|move|moving|stepping|go|going|bump|bumping) (?:you )?up\b"
    r"|\b(?:better|bigger|faster|larger) (?:one|option|plan|package|deal|shout|bet|booking|choice|fit|value)\b"
    r"|\bsuit (?:you|him|her|them) better\b", re.IGNORECASE)
_COMPARE = re.compile(r"\bmore\b|\bextra\b|\bcheaper\b|\bdifference\b|\bon top\b|\bbetter\b", re.IGNORECASE)
_MORE_FOR = re.compile(
    r"\b(?:for|only|just)\s+(?:an?\s+|a few\s+|a little\s+|a bit\s+)?(?:£\s?\d[\d.,]*|\d[\d.,]*|[a-z]+(?:[- ][a-z]+)?)\s?"
    r"(?:pounds?|quid|p|pence)?\s+(?:more|extra)\b"
    r"|\b(?:pounds?|quid|pence|£\s?\d[\d.,]*|\d[\d.,]*p?)\s+(?:more|extra)\b|\bmore (?:a|per|each) (?:month|year|week)\b"
    r"|\ba (?:little|bit|few pounds?|fiver|tenner|pound) more\b", re.IGNORECASE)


def sentence_shape(sentence: str) -> tuple[bool, bool, bool]:
    """(price, offer frame, addition) found in one sentence."""
    return bool(_PRICE.search(sentence)), bool(_FRAME.search(sentence)), bool(_MORE.search(sentence))


def agent_sentences(speakers: Sequence[str], texts: Sequence[str | None]) -> Iterator[tuple[int, list[str]]]:
    """(turn index, its sentences) for each agent turn with text: what the shape columns read."""
    for t, (speaker, text) in enumerate(zip(speakers, texts)):
        if speaker == "agent" and text:
            yield t, [s for s in _SPLIT.split(text.strip()) if s]


def offer_shape_block(speakers: Sequence[str], texts: Sequence[str | None]) -> np.ndarray:
    """(n_turns, len(OFFER_SHAPE_FIELDS)) columns, one row per agent turn, zeros on customer turns.

    Args:
        speakers: each turn's speaker ("agent" | "customer").
        texts: each turn's text.
    """
    out = np.zeros((len(speakers), len(OFFER_SHAPE_FIELDS)))
    for t, sentences in agent_sentences(speakers, texts):
        shapes = [sentence_shape(s) for s in sentences]
        out[t, 0] = float(any(p and f for p, f, _ in shapes))
        out[t, 1] = float(any(p and m for p, _, m in shapes))
        out[t, 2] = float(any(f and m for _, f, m in shapes))
        priced = any(p for p, _, _ in shapes)
        out[t, 3] = float(not priced and any(s.rstrip().endswith("?") and _CHOICE.search(s) for s in sentences))
        out[t, 4] = float(any(_SWAP.search(s) and (_PRICE.search(s) or _COMPARE.search(s)) for s in sentences))
        out[t, 5] = float(any(_MORE_FOR.search(s) for s in sentences))
    return out
