"""The empathy-shape columns (pipeline/detect/empathy_shape.py): controlled sentences, no models."""

from __future__ import annotations

import numpy as np

from pipeline.detect.empathy_shape import EMPATHY_SHAPE_FIELDS, empathy_shape_block

COL = {f: i for i, f in enumerate(EMPATHY_SHAPE_FIELDS)}


def test_the_agent_in_the_customers_place_reads_as_taking_their_side():
    out = empathy_shape_block(["agent"] * 5, [
        "So it's gone up ten pound with no claims. I'd be put out too, seeing a jump like that.",
        "Two days lost and no word from us, that would drive me mad too. Can I take the order reference?",
        "You're not overreacting at all, any parent would be worried seeing that.",
        "Oh, you're joking. Paying for them twice, I'd be spitting feathers. What's the reg?",
        "I'd have been worried sick watching that. I'm sorry, it shouldn't have happened.",
    ])
    assert out[:, COL["side"]].all()


def test_an_exclamation_the_plight_and_the_feeling_are_marked():
    out = empathy_shape_block(["agent"] * 4, [
        "Urgh, what a horrible thing to open on your doorstep. Can I have your order number?",
        "No wonder you're fed up, paying for sessions she couldn't use.",
        "Two weeks to go and no letter, that must be really stressful. Can I take your reference?",
        "Getting that call at work, you must have been beside yourself. What's your surname?",
    ])
    assert out[0, COL["exclaim"]] == 1.0
    assert out[1, COL["plight"]] == 1.0 and out[2, COL["plight"]] == 1.0
    assert out[3, COL["you_feel"]] == 1.0


def test_plain_service_turns_and_sales_turns_mark_nothing():
    out = empathy_shape_block(["agent"] * 6, [
        "Oh no. Can I take your member number and postcode?",
        "Many couples in your position also put lasting powers of attorney in place, it's ninety pounds.",
        "Afternoon! Colin speaking. Anything I can tell you about?",
        "Oh that's a good one! It's three hundred and ninety-nine plus the transfer fee.",
        "I can see that note on the account, and it wasn't done.",
        "I understand, I'll just check that for you.",
    ])
    assert not out.any()


def test_customer_turns_and_empty_calls_get_zeros():
    out = empathy_shape_block(["customer", "agent"], ["I'd be fuming too if I were you, honestly.", None])
    assert not out.any()
    assert empathy_shape_block([], []).shape == (0, len(EMPATHY_SHAPE_FIELDS))


def test_the_columns_are_named_once_after_the_offer_shape():
    from pipeline.detect.features import feature_names

    names = feature_names(["empathy"], 4)
    assert [n for n in names if n.startswith("empathy_shape:")] == [f"empathy_shape:{f}" for f in EMPATHY_SHAPE_FIELDS]
    assert names[-len(EMPATHY_SHAPE_FIELDS):] == tuple(f"empathy_shape:{f}" for f in EMPATHY_SHAPE_FIELDS)
    assert np.unique(names).size == len(names)
