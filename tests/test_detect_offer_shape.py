"""The offer-shape columns (pipeline/detect/offer_shape.py): controlled sentences, no models."""

from __future__ import annotations

import numpy as np

from pipeline.detect.offer_shape import OFFER_SHAPE_FIELDS, offer_shape_block

COL = {f: i for i, f in enumerate(OFFER_SHAPE_FIELDS)}


def test_a_priced_offer_of_something_more_reads_as_one():
    out = offer_shape_block(["agent"] * 3, [
        "And when you're ready to come back, our physio add-on is 15 pound a month, one session a month in the club.",
        "While he's there on Friday, he could clear the gutters as well, it's thirty-five pounds for a semi like yours.",
        "If you're new to weights, I'd suggest the PT starter pack, three sessions for 45 quid.",
    ])
    assert out[0, COL["priced_more"]] == 1.0 and out[1, COL["priced_more"]] == 1.0
    assert out[2, COL["priced"]] == 1.0
    assert not out[:, COL["choice"]].any()


def test_price_and_offer_words_count_only_in_one_sentence():
    # The price is the bill's, the offer frame asks about the confirmation: no priced offer.
    out = offer_shape_block(["agent", "agent"], [
        "That's 55 pound. Would you like the receipt by email?",
        "Would you like the 55 pound case with it?",
    ])
    assert out[0, COL["priced"]] == 0.0
    assert out[1, COL["priced"]] == 1.0


def test_a_question_offering_a_choice_is_marked_unless_it_names_a_price():
    out = offer_shape_block(["agent", "agent", "agent"], [
        "What would suit you for the box? We can send a bag, or collect it.",
        "Would you rather come in or would you like us to pack them up for you?",
        "We deliver within ten miles for 8 pounds, or would you collect it?",
    ])
    assert out[0, COL["choice"]] == 0.0  # its "or" is not in the question
    assert out[1, COL["choice"]] == 1.0
    assert out[2, COL["choice"]] == 0.0


def test_plain_turns_and_customer_turns_stay_zero():
    out = offer_shape_block(["agent", "customer", "agent"], [
        "I've refunded the duplicate payment today.",
        "Would you like to add the 5 pound bolt-on as well?",
        None,
    ])
    assert not out.any()
    assert offer_shape_block([], []).shape == (0, len(OFFER_SHAPE_FIELDS))


def test_the_columns_are_features_of_every_turn():
    from pipeline.detect.features import feature_names

    names = feature_names(["sales_cross_sell"], 4)
    assert [n for n in names if n.startswith("offer_shape:")] == [f"offer_shape:{f}" for f in OFFER_SHAPE_FIELDS]
    assert np.unique(names).size == len(names)
