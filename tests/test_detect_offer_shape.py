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


def test_a_swap_to_a_dearer_version_is_marked():
    # Round 8: an up-sell puts a higher version in place of the base, with a price or a comparison.
    out = offer_shape_block(["agent"] * 4, [
        "Then I suggest the Astra Ergo instead, it's forty pounds more each.",
        "I'd go for Silver rather than Bronze, it covers far more of the records.",
        "Then I suggest the Astra Ergo instead.",  # a swap with no price or comparison: no
        "I can exchange it for the same model if you'd like.",
    ])
    assert out[0, COL["swap"]] == 1.0
    assert out[1, COL["swap"]] == 1.0
    assert out[2, COL["swap"]] == 0.0
    assert out[3, COL["swap"]] == 0.0


def test_a_price_difference_is_marked():
    out = offer_shape_block(["agent"] * 5, [
        "The hundred-page one is only a pound more and you'd not be paying the overage.",
        "For eight more you could have the luxe set with the chrome finish.",
        "Our Premium cover is six pound more a month if you'd like it.",
        "That's eight pounds for the set, and the postage is extra.",
        "Would you like more time to think about it?",
    ])
    assert out[:3, COL["more_for"]].tolist() == [1.0, 1.0, 1.0]
    assert out[3:, COL["more_for"]].tolist() == [0.0, 0.0]


def test_a_customer_asking_for_an_upgrade_is_not_marked():
    out = offer_shape_block(["customer"], ["Could I upgrade instead, if it's only a pound more?"])
    assert not out.any()
