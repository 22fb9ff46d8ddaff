"""The offer-base columns (pipeline/detect/offer.py): controlled turns and embeddings, no models."""

from __future__ import annotations

import numpy as np

from pipeline.detect.offer import OFFER_FIELDS, offer_block

COL = {f: i for i, f in enumerate(OFFER_FIELDS)}


def _unit(rows: list[list[float]]) -> np.ndarray:
    a = np.asarray(rows, dtype=float)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _call(texts: list[str], speakers: list[str], emb: np.ndarray | None = None) -> np.ndarray:
    emb = emb if emb is not None else _unit(np.eye(len(texts), 4 + len(texts)).tolist())
    return offer_block(speakers, texts, list(range(len(texts))), emb)


def test_customer_turns_stay_zero():
    out = _call(["My broadband router keeps dropping.", "Your broadband router needs a reset."], ["customer", "agent"])
    assert not out[0].any() and out[1].any()


def test_similarity_reads_only_earlier_customer_sentences():
    # The agent turn points the same way as the customer turn AFTER it and away from the one before it.
    emb = _unit([[1, 0, 0], [0, 1, 0], [0, 1, 0]])
    out = offer_block(["customer", "agent", "customer"], ["a", "b", "c"], [0, 1, 2], emb)
    assert out[1, COL["sim_customer"]] == 0.0
    emb = _unit([[0, 1, 0], [0, 1, 0], [1, 0, 0]])
    out = offer_block(["customer", "agent", "customer"], ["a", "b", "c"], [0, 1, 2], emb)
    assert out[1, COL["sim_customer"]] > 0.99 and out[1, COL["sim_first"]] > 0.99


def test_overlap_is_the_share_of_words_said_before():
    speakers = ["customer", "agent", "agent"]
    out = _call(["The broadband router keeps dropping.", "Your broadband router needs resetting.",
                 "Glasses insurance covers breakages abroad."], speakers)
    assert out[1, COL["overlap"]] >= 0.5
    assert out[2, COL["overlap"]] == 0.0


def test_a_call_with_no_turns_or_no_sentences():
    assert offer_block([], [], [], np.zeros((0, 4))).shape == (0, len(OFFER_FIELDS))
    out = offer_block(["agent", "customer"], ["", ""], [], np.zeros((0, 4)))
    assert out.shape == (2, len(OFFER_FIELDS)) and not out.any()
