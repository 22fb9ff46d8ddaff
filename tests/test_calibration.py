"""Calibration that means something (issue #18): blind marks, sessions that lock, and Krippendorff's
alpha with a bootstrap interval beside kappa, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from _score_support import BACKENDS, scored_result, store_url, write_result

from pipeline import review
from pipeline.review import ReviewError
from pipeline.score.agreement import krippendorff_alpha
from pipeline.store import open_store

CALLS = ["dev-001", "dev-003"]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    with store_url(request.param, tmp_path) as url:
        s = open_store(url)
        s.upgrade()
        run = s.record_run(pipeline_version="0.1.0", config_hash="a" * 64)
        for call_id in CALLS:
            result = scored_result(call_id, agent_id="agent-01", started_at="2026-11-03T09:00:00Z")
            s.save_result(run, result, write_result(result, tmp_path / "out"))
        try:
            yield s
        finally:
            s.dispose()


def _items(store, call_id):
    return [i.id for i in review.show_card(store=store, user="ann", call_id=call_id).card.items]


def _mark_all(store, user, call_id, value_of):
    for item_id in _items(store, call_id):
        review.mark_item(store=store, user=user, call_id=call_id, item_id=item_id, value=value_of(item_id))


def test_alpha_follows_agreement_and_allows_missing_ratings():
    perfect = krippendorff_alpha([["yes", "yes"], ["no", "no"], ["partial", "partial", None], ["yes", "yes"]])
    assert perfect.alpha == 1.0 and perfect.units == 4
    opposed = krippendorff_alpha([["yes", "no"], ["no", "yes"], ["yes", "no"], ["no", "yes"]])
    assert opposed.alpha < 0
    # Ordinal: a one-step slip (yes/partial) costs less than a two-step one (yes/no).
    near = krippendorff_alpha([["yes", "partial"], ["no", "no"], ["yes", "yes"], ["partial", "partial"], ["no", "no"]])
    far = krippendorff_alpha([["yes", "no"], ["no", "no"], ["yes", "yes"], ["partial", "partial"], ["no", "no"]])
    assert near.alpha > far.alpha
    # n/a and a missing rating are both missing: a unit with one real rating is not pairable.
    mixed = krippendorff_alpha([["yes", "n/a"], ["no", None, "no"], ["yes", "yes"], ["partial", "yes"]])
    assert mixed.units == 3
    assert mixed.ci_low <= mixed.alpha <= mixed.ci_high
    assert krippendorff_alpha([["yes", "yes"], ["yes", "yes"]]) is None  # no variation: undefined
    assert krippendorff_alpha([["yes", None]]) is None


def test_bootstrap_is_reproducible_and_narrows_with_more_units():
    units = [["yes", "yes"], ["no", "partial"], ["partial", "partial"], ["yes", "no"], ["no", "no"]]
    assert krippendorff_alpha(units, seed=3) == krippendorff_alpha(units, seed=3)
    small = krippendorff_alpha(units)
    large = krippendorff_alpha(units * 8)
    assert (large.ci_high - large.ci_low) < (small.ci_high - small.ci_low)


def test_marks_stay_blind_until_the_assessors_own_are_in(store):
    _mark_all(store, "bob", "dev-001", lambda item: "no")
    first = _items(store, "dev-001")[0]
    review.mark_item(store=store, user="ann", call_id="dev-001", item_id=first, value="yes")
    seen = review.calibration_marks(store=store, user="ann", call_id="dev-001")
    assert not seen.revealed
    assert seen.marks == {first: {"ann": "yes"}}  # nothing of bob's
    _mark_all(store, "ann", "dev-001", lambda item: "yes")
    seen = review.calibration_marks(store=store, user="ann", call_id="dev-001")
    assert seen.revealed and seen.marks[first] == {"ann": "yes", "bob": "no"}


def test_closing_a_session_locks_and_reveals_the_marks(store):
    session = review.open_session(store=store, user="lead", name="nov-round", call_ids=CALLS)
    assert session.closed_at is None and session.call_ids == CALLS
    with pytest.raises(ReviewError) as taken:
        review.open_session(store=store, user="lead", name="nov-round", call_ids=CALLS)
    assert taken.value.reason == "exists"
    with pytest.raises(ReviewError):
        review.open_session(store=store, user="lead", name="x", call_ids=["no-such-call"])
    first = _items(store, "dev-003")[0]
    review.mark_item(store=store, user="bob", call_id="dev-003", item_id=first, value="partial")
    assert not review.calibration_marks(store=store, user="cat", call_id="dev-003").marks  # cat: nothing yet
    closed = review.close_session(store=store, user="lead", name="nov-round")
    assert closed.closed_by == "lead" and closed.closed_at is not None
    seen = review.calibration_marks(store=store, user="cat", call_id="dev-003")
    assert seen.locked and seen.revealed and seen.marks[first] == {"bob": "partial"}
    with pytest.raises(ReviewError) as locked:
        review.mark_item(store=store, user="bob", call_id="dev-003", item_id=first, value="yes")
    assert locked.value.reason == "locked"
    with pytest.raises(ReviewError) as again:
        review.close_session(store=store, user="lead", name="nov-round")
    assert again.value.reason == "closed"
    assert [s.name for s in review.list_sessions(store=store)] == ["nov-round"]


def test_report_gives_alpha_beside_kappa(store):
    for call_id in CALLS:
        _mark_all(store, "ann", call_id, lambda item: "yes")
        _mark_all(store, "bob", call_id, lambda item: "no" if item.startswith(("s", "c")) else "yes")
    report = review.calibrate(store=store, user="ann", call_ids=CALLS)
    assert report.overall_kappa is not None and report.overall_alpha is not None
    assert report.alpha_units == sum(len(_items(store, c)) for c in CALLS)
    low, high = report.overall_alpha_ci
    assert low <= report.overall_alpha <= high
    assert any(i.alpha is not None for i in report.items)
