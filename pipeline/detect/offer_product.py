"""Which product an agent's offer names, against the base the customer has or is buying (issue #17, round 5).

An up-sell offers a higher-value version of the BASE (what the customer has or is buying) *instead
of* it; a cross-sell offers something paid for *as well as* it (docs/offer_label_audit.md). The
offer's wording often hides which ("for five pound more you could have the 500 meg"), and sentence
similarity (offer.py) does not name the product. These columns read the parse instead: the nouns the
customer used before the turn are the base, the nouns the offer sentence is about are the offer.

- base_object: the offer's head object (the first noun the sentence is about, with its compounds: "our
  Premier plan", "a 20 kg checked bag") was already named by the customer (the same thing, bigger);
- known_object: it was already said by anyone earlier in the call (an agent restates the need);
- new_share: the share of the nouns the sentence is about that are new to the call (another product);
- tier_known: a comparative, tier word or number qualifies a noun already in the call ("the faster broadband");
- add_frame / replace_frame: the offer sentence frames it as beside the base ("as well", "add", "on top of")
  or in its place ("instead", "switch", "move you up to", "upgrade").

Pure functions of the parsed tokens: the same for training and live. The parse is the project's spaCy
pipeline (`parse_turns`), run again on the turn texts because the call's analysis keeps no parse.

Not read by the features (features.py) yet: leave-one-author-out in round 5 none of these columns
raised both offer kinds (docs/detection.md, "Round 5: the offer's product read from the parse"). The
module stays so those figures can be reproduced and a later round can build on the parse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PRODUCT_FIELDS", "Token", "parse_turns", "product_block", "offer_nouns", "head_object"]

PRODUCT_FIELDS: tuple[str, ...] = ("base_object", "known_object", "new_share", "tier_known", "add_frame",
                                   "replace_frame")

# Nouns that name no product: money, time, the call's own business, people. Without them "for
# three pound a month" or "your account" would make every priced offer look like a known product.
_GENERIC = frozenset(
    "pound pence penny quid fiver tenner price cost money payment charge fee bill month year week day hour minute "
    "moment time today tomorrow thing lot bit way kind sort option deal offer one account number name address "
    "detail question problem issue customer call chat line reason moment morning afternoon evening weekend "
    "minute second lady gentleman sir madam mr mrs miss ms".split())
# Subjects, objects, complements and coordinated nouns: what a sentence is about ("you could have
# Multiscreen", "our physio add-on is", "move you up to Premium", "sports and movies").
_OBJECT_DEPS = frozenset({"dobj", "pobj", "attr", "oprd", "nsubj", "nsubjpass", "conj", "appos", "ROOT", "npadvmod"})
# The offered thing is the object or complement of the offer ("you could have Multiscreen", "it's
# our Premier plan") before it is a prepositional object ("... on purchases", "... at the airport"),
# which is more often a circumstance of the offer than the product.
_CORE_DEPS = frozenset({"dobj", "attr", "oprd", "nsubj", "nsubjpass", "appos", "ROOT"})
_NOUN_POS = frozenset({"NOUN", "PROPN"})
# Tier and size words that make a known noun the bigger version of itself (comparatives come from the tag).
_TIER = frozenset("premium unlimited plus pro gold platinum silver deluxe super superfast ultra max extra "
                  "full complete comprehensive enhanced top higher bigger faster larger annual family".split())
# The offer's frame (lemmas, and two-word phrases read as lemma pairs).
_ADD_WORDS = frozenset("add alongside also too another extra bolt additional second addition".split())
_ADD_PAIRS = frozenset({("as", "well"), ("on", "top"), ("in", "addition")})
_REPLACE_WORDS = frozenset("instead switch swap upgrade replace change".split())
_REPLACE_PAIRS = frozenset({("rather", "than"), ("move", "up"), ("step", "up"), ("go", "up"), ("move", "to"),
                            ("move", "you"), ("bump", "up"), ("trade", "up")})


@dataclass(frozen=True)
class Token:
    """One parsed token of a turn."""

    lemma: str  # lower-cased lemma
    pos: str  # coarse part of speech (NOUN, PROPN, ADJ...)
    tag: str  # fine tag (JJR, JJS, CD...)
    dep: str  # dependency label
    head: int  # index of its head among the turn's tokens
    sentence: int  # position of its sentence in the turn (the analysis's sentences), -1 when none


def parse_turns(nlp: Any, texts: Sequence[str], sentence_texts: Sequence[Sequence[str]]) -> list[list[Token]]:
    """Each turn's tokens, with the analysis sentence each one lies in.

    Args:
        nlp: the spaCy pipeline the call's analysis used (the same parse).
        texts: each turn's text.
        sentence_texts: each turn's analysed sentence texts, in order (they are spans of the turn's text).
    """
    out = []
    for doc, sentences in zip(nlp.pipe([t or "" for t in texts], disable=["ner"]), sentence_texts):
        text = doc.text
        bounds, cursor = [], 0
        for s in sentences:
            start = text.find(s, cursor)
            if start < 0:
                continue
            bounds.append((start, start + len(s)))
            cursor = start + len(s)

        def position(char: int) -> int:
            return next((i for i, (a, b) in enumerate(bounds) if a <= char < b), -1)

        out.append([Token(t.lemma_.lower(), t.pos_, t.tag_, t.dep_, t.head.i, position(t.idx)) for t in doc])
    return out


def _nouns(tokens: Sequence[Token]) -> set[str]:
    return {t.lemma for t in tokens if t.pos in _NOUN_POS and len(t.lemma) > 2 and t.lemma not in _GENERIC}


def offer_nouns(tokens: Sequence[Token], sentence: int) -> list[int]:
    """Indices of the nouns one sentence is about: subject, object, complement (their compounds go with them)."""
    return [i for i, t in enumerate(tokens)
            if t.sentence == sentence and t.pos in _NOUN_POS and len(t.lemma) > 2 and t.lemma not in _GENERIC
            and (t.dep in _OBJECT_DEPS or (t.dep == "compound" and tokens[t.head].dep in _OBJECT_DEPS))]


def head_object(tokens: Sequence[Token], sentence: int) -> set[str]:
    """Lemmas of the offer's head object in one sentence: the first core-role noun (else the first
    prepositional object) that is not itself a compound, with the compounds that name it."""
    nouns = [i for i in offer_nouns(tokens, sentence) if tokens[i].dep != "compound"]
    core = [i for i in nouns if tokens[i].dep in _CORE_DEPS]
    pick = (core or nouns)[:1]
    if not pick:
        return set()
    i = pick[0]
    return {tokens[i].lemma} | {t.lemma for t in tokens if t.head == i and t.dep == "compound" and t.pos in _NOUN_POS
                                and t.lemma not in _GENERIC}


def _frame(tokens: Sequence[Token], words: frozenset[str], pairs: frozenset[tuple[str, str]]) -> bool:
    lemmas = [t.lemma for t in tokens]
    return any(w in words for w in lemmas) or any(p in pairs for p in zip(lemmas, lemmas[1:]))


def product_block(speakers: Sequence[str], tokens: Sequence[Sequence[Token]], focus: Sequence[int]) -> np.ndarray:
    """(n_turns, len(PRODUCT_FIELDS)) columns, one row per agent turn, zeros on customer turns.

    Args:
        speakers: each turn's speaker ("agent" | "customer").
        tokens: each turn's parsed tokens (`parse_turns`).
        focus: per turn, the position of its offer sentence (the one most like an offer); -1 for none.
    """
    n = len(speakers)
    out = np.zeros((n, len(PRODUCT_FIELDS)))
    base: set[str] = set()  # nouns the customer said
    said: set[str] = set()  # nouns anyone said
    for t in range(n):
        turn = tokens[t]
        nouns = _nouns(turn)
        if speakers[t] == "agent" and focus[t] >= 0:
            sentence = [tok for tok in turn if tok.sentence == focus[t]]
            objects = offer_nouns(turn, focus[t])
            lemmas = {turn[i].lemma for i in objects}
            head = head_object(turn, focus[t])
            tier = False
            for i in objects:
                if turn[i].lemma not in said:
                    continue
                modifiers = [m for m in turn if m.head == i and m is not turn[i]]
                tier = tier or any(m.tag in {"JJR", "JJS", "CD"} or m.lemma in _TIER for m in modifiers)
            out[t] = (
                float(bool(head & base)),
                float(bool(head & said)),
                len(lemmas - said) / len(lemmas) if lemmas else 0.0,
                float(tier),
                float(_frame(sentence, _ADD_WORDS, _ADD_PAIRS)),
                float(_frame(sentence, _REPLACE_WORDS, _REPLACE_PAIRS)),
            )
        if speakers[t] == "customer":
            base |= nouns
        said |= nouns
    return out
