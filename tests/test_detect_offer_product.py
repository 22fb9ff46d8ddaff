"""The offer-product columns (pipeline/detect/offer_product.py): controlled turns parsed by the project's spaCy."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.detect.offer_product import PRODUCT_FIELDS, Token, head_object, parse_turns, product_block

COL = {f: i for i, f in enumerate(PRODUCT_FIELDS)}


@pytest.fixture(scope="module")
def nlp(detect_setup):
    return detect_setup[1].nlp


def _columns(nlp, turns: list[tuple[str, str]], focus: list[int] | None = None) -> np.ndarray:
    speakers = [s for s, _ in turns]
    texts = [t for _, t in turns]
    sentences = [[str(s).strip() for s in nlp(t).sents] for t in texts]
    tokens = parse_turns(nlp, texts, sentences)
    return product_block(speakers, tokens, focus if focus is not None else [0] * len(turns))


def test_an_offer_of_the_customers_own_product_reads_as_the_base(nlp):
    out = _columns(nlp, [("customer", "My broadband keeps dropping in the evenings."),
                         ("agent", "I could upgrade your broadband to our faster broadband for five pound more.")])
    assert not out[0].any()  # customer turns stay zero
    assert out[1, COL["base_object"]] == 1.0 and out[1, COL["known_object"]] == 1.0
    assert out[1, COL["replace_frame"]] == 1.0 and out[1, COL["add_frame"]] == 0.0
    assert out[1, COL["tier_known"]] == 1.0


def test_a_product_new_to_the_call_reads_as_new(nlp):
    out = _columns(nlp, [("customer", "My broadband keeps dropping in the evenings."),
                         ("agent", "You could add our mobile insurance as well for six pound a month.")])
    assert out[1, COL["base_object"]] == 0.0 and out[1, COL["known_object"]] == 0.0
    assert out[1, COL["new_share"]] == 1.0
    assert out[1, COL["add_frame"]] == 1.0 and out[1, COL["replace_frame"]] == 0.0


def test_the_base_is_only_what_was_said_before_the_offer(nlp):
    # The customer names the insurance only after the agent offered it: not the base at the offer.
    out = _columns(nlp, [("agent", "You could add our gadget insurance."),
                         ("customer", "What does the gadget insurance cover?")])
    assert out[0, COL["base_object"]] == 0.0 and out[0, COL["new_share"]] == 1.0


def test_only_the_focus_sentence_is_read(nlp):
    turns = [("customer", "I'd like the sports pack please."),
             ("agent", "That's the sports pack added. You could have Multiscreen too.")]
    on_offer = _columns(nlp, turns, focus=[0, 1])
    on_confirmation = _columns(nlp, turns, focus=[0, 0])
    assert on_offer[1, COL["add_frame"]] == 1.0 and on_offer[1, COL["base_object"]] == 0.0
    assert on_confirmation[1, COL["base_object"]] == 1.0
    assert not _columns(nlp, turns, focus=[0, -1])[1].any()  # no offer sentence: nothing to read


def test_money_and_time_are_not_products():
    tokens = [Token("pound", "NOUN", "NN", "dobj", 1, 0), Token("pay", "VERB", "VB", "ROOT", 1, 0),
              Token("month", "NOUN", "NN", "npadvmod", 1, 0)]
    assert head_object(tokens, 0) == set()
    assert head_object([Token("plan", "NOUN", "NN", "pobj", 0, 0), Token("premier", "PROPN", "NNP", "compound", 0, 0)],
                       0) == {"plan", "premier"}


def test_a_call_with_no_turns():
    assert product_block([], [], []).shape == (0, len(PRODUCT_FIELDS))
