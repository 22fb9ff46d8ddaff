"""How an agent turn takes the customer's side (empathy, issue #17 round 9).

Leave-author-pair-out, the empathy the classifier missed was seldom the textbook "I understand how
frustrating that must be" the lexicon knows: it was the agent reacting as a person would ("I'd be put
out too", "that would shake anyone", "Oh, you're joking... I'd be spitting feathers"), an exclamation at
the customer's lot ("Urgh, what a horrible thing to open on your doorstep", "Oh bless him"), naming the
customer's plight ("no wonder you're fed up", "a lot to face on top of grieving", "that can't be easy",
"it's completely normal to feel lost") or their feeling ("you must have been beside yourself", "of course
you're scared"). Round 8 tried such phrases as lexicon cues, which the lexicon's own features merge with
its other cues; here they are four columns of their own on agent turns, each a sentence that holds:

- side: the agent putting themself in the customer's place ("I'd be fuming too", "in your shoes",
  "any parent would be worried", "would drive me mad", "I feel awful for you");
- exclaim: an exclamation at what happened (an interjection with a feeling word, "what a worry",
  "what a waste of a morning", "oh my goodness");
- plight: the customer's situation named as hard, or the feeling as natural ("no wonder", "that must be
  really stressful", "that's a horrible feeling", "the last thing you need", "understandable");
- you_feel: the customer's feeling named ("you're worried", "you must be exhausted", "I can hear how ...").

Written from the misses of train4 and train5 (their authors' empathy); on the other training folders
they are on a third to a half of empathy turns and under 1% of other agent turns. Pure functions of the
turn's text (split into sentences at . ! ? here, so training and live rows agree whatever the parser does).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from pipeline.detect.offer_shape import agent_sentences

__all__ = ["EMPATHY_SHAPE_FIELDS", "empathy_shape_block", "sentence_shape"]

EMPATHY_SHAPE_FIELDS: tuple[str, ...] = ("side", "exclaim", "plight", "you_feel")

# Words of a bad feeling or a bad time (a group's body, for use inside the patterns below).
_FEEL = (r"annoy\w*|cross|fuming|furious|livid|mad|upset\w*|worr\w*|frustrat\w*|fed up|put out|gutted|gutting|"
         r"stress\w*|nervous|anxious|disappoint\w*|shak\w*|rattl\w*|scar\w*|frighten\w*|miserable|horrible|awful|"
         r"rotten|hard|difficult|tough|painful|exhaust\w*|worn down|sick|tearing my hair out|heartbroken|devastat\w*|"
         r"upsetting|unsettl\w*|embarrass\w*|humiliat\w*|lonely|grim|nightmare|shame|shock\w*|waste|blow")
_SIDE = re.compile(
    r"\b(?:i'?d|i would|i'd have|i would have|anyone would|anybody would|that would|it would|that'd|it'd)\b[^.!?]{0,40}?"
    r"\b(?:too|as well|the same|anyone|anybody|any (?:parent|owner|of us)|me (?:mad|up the wall|spare))\b"
    r"|\bin your (?:shoes|place)\b|\b(?:anyone|anybody|everyone|any \w+) would (?:be|feel|have been)\b"
    r"|\bi'?d be (?:climbing|spitting|tearing|going spare|up the wall|beside myself|in bits)\b"
    r"|\bi feel (?:awful|terrible|so bad|dreadful) for you\b"
    r"|\bi'?d (?:have been|be|feel|have felt) (?:\w+ ){0,2}?(?:" + _FEEL + r")\b"
    r"|\bwould (?:shake|upset|worry|annoy|drive|frustrate|rattle|keep|wind|unsettle|get to|throw)\b[^.!?]{0,30}"
    r"\b(?:anyone|anybody|me|any)\b", re.IGNORECASE)
_EXCLAIM = re.compile(
    r"^(?:oh|ah)?,? ?(?:bless (?:him|her|you|them)|my goodness|good grief|you're joking|my word)\b"
    r"|^(?:oh|ah|ugh|urgh|gosh|goodness|blimey|crikey|oof)\b[^.!?]{0,60}?\b(?:" + _FEEL + r"|what an?)\b"
    r"|\bwhat an? (?:\w+ ){0,2}?(?:worry|waste|shame|pain|nightmare|shock|disappointment|horrible|rotten|awful|"
    r"terrible|stressful|miserable|upsetting|frustrating|thing|moment|mess|start|day|week|time|ordeal|palaver|hassle)\b",
    re.IGNORECASE)
_PLIGHT = re.compile(
    r"\bno wonder\b|\b(?:it's|it is) easy to see why\b|\bputs? you in an? \w+ (?:spot|position)\b"
    r"|\b(?:an?|such an?) (?:hard|difficult|tough|horrible|awful|rotten|worrying|stressful|miserable|lonely) "
    r"(?:spot|position|time|place|situation|thing|week|day|year)\b"
    r"|\ba lot to (?:face|deal|take|cope|manage|carry)\b|\bon top of (?:everything|grieving|all that|all this|it all)\b"
    r"|\bthe last thing you (?:need|want)\b|\bnot overreacting\b|\bcan't (?:have been|be) easy\b"
    r"|\b(?:normal|natural|understandable) to feel\b"
    r"|\b(?:that's|that is|it's) (?:so |completely |perfectly |totally )?(?:natural|understandable)\b"
    r"|\b(?:that's|that is|it's) (?:a|such a) (?:" + _FEEL + r"|\w+) (?:feeling|message|shock|squeeze|worry)\b"
    r"|\b(?:that's|that is|it's) (?:a|such a) (?:" + _FEEL + r") thing\b"
    r"|\b(?:sounds?|must be|must have been|must feel|can't have been)\s+(?:\w+ ){0,2}?(?:" + _FEEL + r")\b"
    r"|\bi know how (?:much|" + _FEEL + r")\b|\b(?:that's|that is|it's|it is) (?:really |so |just )?(?:" + _FEEL + r")\b",
    re.IGNORECASE)
_YOU_FEEL = re.compile(
    r"\byou(?:'re| are|'ve been| have been| must be| must have been| must feel| feel| sound)\s+(?:\w+ ){0,2}?"
    r"(?:worried|upset|cross|fed up|frustrated|worn down|disappointed|anxious|nervous|stressed|angry|shaken|"
    r"let down|out of pocket|exhausted|fuming|gutted|at your wits|beside yourself|in bits|scared|lost|worried sick)\b"
    r"|\bi can (?:hear|tell) (?:how|that you|you)\b(?! about)|\bi can see (?:how|why)\b", re.IGNORECASE)


def sentence_shape(sentence: str) -> tuple[bool, bool, bool, bool]:
    """(side, exclaim, plight, you_feel) found in one sentence."""
    s = sentence.strip()
    return (bool(_SIDE.search(s)), bool(_EXCLAIM.search(s)), bool(_PLIGHT.search(s)), bool(_YOU_FEEL.search(s)))


def empathy_shape_block(speakers: Sequence[str], texts: Sequence[str | None]) -> np.ndarray:
    """(n_turns, len(EMPATHY_SHAPE_FIELDS)) columns, one row per agent turn, zeros on customer turns.

    Args:
        speakers: each turn's speaker ("agent" | "customer").
        texts: each turn's text.
    """
    out = np.zeros((len(speakers), len(EMPATHY_SHAPE_FIELDS)))
    for t, sentences in agent_sentences(speakers, texts):
        for shape in map(sentence_shape, sentences):
            out[t] = np.maximum(out[t], shape)
    return out
