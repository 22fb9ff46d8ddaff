"""The recap-shape columns (pipeline/detect/recap.py): controlled sentences, no models."""

from __future__ import annotations

from pipeline.detect.recap import RECAP_FIELDS, recap_block

COL = {f: i for i, f in enumerate(RECAP_FIELDS)}


def test_a_recap_lists_points_after_so_and_a_confirmation_does_not():
    out = recap_block(["agent", "agent"], [
        ["So, fault reference ending 492, engineer Thursday eight till one, and a week's credit on your next bill."],
        ["Done, the policy documents will arrive by email today."],
    ])
    assert out[0, COL["so_opener"]] == 1.0 and out[1, COL["so_opener"]] == 0.0
    assert out[0, COL["items"]] > out[1, COL["items"]]


def test_items_are_capped_and_counted_per_sentence():
    many = "So: a, b, c, d, e, f, g, h."
    out = recap_block(["agent", "agent"], [[many], ["One point.", "Another one."]])
    assert out[0, COL["items"]] == 1.0
    assert 0.0 < out[1, COL["items"]] < 0.5  # two one-point sentences are not a two-point list


def test_customer_turns_and_empty_turns_stay_zero():
    out = recap_block(["customer", "agent"], [["So, that's a, b and c then?"], []])
    assert not out.any()
    assert recap_block([], []).shape == (0, len(RECAP_FIELDS))


def test_so_must_be_a_word_of_its_own():
    out = recap_block(["agent"], [["Sorry, could you say that again?"]])
    assert out[0, COL["so_opener"]] == 0.0
