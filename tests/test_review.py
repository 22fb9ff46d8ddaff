"""Assessor workflow: review, feedback, calibration, exports and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import json
import multiprocessing

import pytest
import typer
from _score_support import BACKENDS, decide_worker, scored_result, store_url, write_result
from sqlalchemy import select, text
from typer.testing import CliRunner

from pipeline import review
from pipeline.review import ReviewError
from pipeline.cli.review import calibrate_command, review_app
from pipeline.store import open_store
from pipeline.store.models import AccessLogRow, DecisionRow


def _load(store, tmp_path, calls):
    run = store.record_run(pipeline_version="0.1.0", config_hash="a" * 64)
    for call_id, agent, started in calls:
        result = scored_result(call_id, agent_id=agent, started_at=started)
        store.save_result(run, result, write_result(result, tmp_path / "out"))


CALLS = [
    ("dev-001", "agent-01", "2026-10-05T09:00:00Z"),
    ("dev-003", "agent-01", "2026-11-03T09:00:00Z"),
    ("dev-005", "agent-02", "2026-11-04T09:00:00Z"),
    ("dev-007", "agent-02", "2026-11-05T09:00:00Z"),
]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    with store_url(request.param, tmp_path) as url:
        s = open_store(url)
        s.upgrade()
        _load(s, tmp_path, CALLS)
        try:
            yield s
        finally:
            s.dispose()


def _decide_all(store, call_id, user="ann"):
    for item in review.show_card(store=store, user=user, call_id=call_id).card.items:
        if item.suggestion is None:
            review.override_item(store=store, user=user, call_id=call_id, item_id=item.id, value="yes",
                                 reason="observed on the video")
        else:
            review.confirm_item(store=store, user=user, call_id=call_id, item_id=item.id)


def test_queue_filters(store):
    everything = review.list_cards(store=store, user="ann")
    assert [c.call_id for c in everything] == ["dev-007", "dev-005", "dev-003", "dev-001"]
    assert [c.call_id for c in review.list_cards(store=store, user="ann", agent="agent-02")] == ["dev-007", "dev-005"]
    flagged = review.list_cards(store=store, user="ann", flagged=True)
    assert [c.call_id for c in flagged] == ["dev-007"] and "critical_failed" in flagged[0].flags
    _decide_all(store, "dev-003")
    assert "dev-003" not in {c.call_id for c in review.list_cards(store=store, user="ann", pending=True)}
    window = review.list_cards(store=store, user="ann", since=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert "dev-001" not in {c.call_id for c in window}


def test_show_has_evidence_with_quotes_and_times(store):
    view = review.show_card(store=store, user="ann", call_id="dev-001")
    apology = next(i for i in view.card.items if i.id == "lass_apologise")
    assert apology.suggestion == "yes" and apology.evidence[0].quote and apology.evidence[0].start_s > 0
    assert view.summary.pending == len(view.card.items)


def test_confirm_override_finalise(store):
    with pytest.raises(ReviewError, match="needs a reason") as caught:
        review.override_item(store=store, user="ann", call_id="dev-007", item_id="greeting", value="no", reason="  ")
    assert caught.value.reason == "reason_required"
    with pytest.raises(ReviewError, match="one of"):
        review.override_item(store=store, user="ann", call_id="dev-007", item_id="greeting", value="maybe", reason="x")
    with pytest.raises(ReviewError, match="no item 'nope'"):
        review.confirm_item(store=store, user="ann", call_id="dev-007", item_id="nope")
    with pytest.raises(ReviewError, match="no scorecard"):
        review.confirm_item(store=store, user="ann", call_id="dev-999", item_id="greeting")
    review.confirm_item(store=store, user="ann", call_id="dev-007", item_id="greeting")
    with pytest.raises(ReviewError, match="still pending") as caught:
        review.finalise(store=store, user="ann", call_id="dev-007")
    assert caught.value.reason == "pending"
    # Two overrides of one item: both kept, the latest counts.
    review.override_item(store=store, user="ann", call_id="dev-007", item_id="recording_notice", value="yes",
                         reason="notice played by the IVR")
    review.override_item(store=store, user="bob", call_id="dev-007", item_id="recording_notice", value="no",
                         reason="IVR notice not on this line")
    _decide_all(store, "dev-007", user="bob")
    view = review.show_card(store=store, user="ann", call_id="dev-007")
    history = view.history["recording_notice"]
    assert [(d.who, d.value) for d in history][:2] == [("ann", "yes"), ("bob", "no")]
    summary = review.finalise(store=store, user="bob", call_id="dev-007")
    assert summary.status == "finalised" and summary.critical_failed and summary.pending == 0
    with pytest.raises(ReviewError, match="finalised"):
        review.confirm_item(store=store, user="ann", call_id="dev-007", item_id="greeting")
    with pytest.raises(ReviewError, match="already finalised"):
        review.finalise(store=store, user="ann", call_id="dev-007")


def test_observation_items_need_an_override(store):
    with pytest.raises(ReviewError, match="no suggestion") as caught:
        review.confirm_item(store=store, user="ann", call_id="dev-005", item_id="eye_contact")
    assert caught.value.reason == "no_suggestion"
    review.override_item(store=store, user="ann", call_id="dev-005", item_id="eye_contact", value="partial",
                         reason="looked at the till most of the time")
    item = next(i for i in review.show_card(store=store, user="ann", call_id="dev-005").card.items
                if i.id == "eye_contact")
    assert item.status == "overridden" and item.assessor_value == "partial"


def test_every_view_and_decision_is_logged(store):
    review.list_cards(store=store, user="carol")
    review.show_card(store=store, user="carol", call_id="dev-001")
    review.confirm_item(store=store, user="carol", call_id="dev-001", item_id="greeting")
    with store.session() as s:
        actions = [(r.who, r.action, r.call_id, r.item_id) for r in s.scalars(
            select(AccessLogRow).where(AccessLogRow.who == "carol").order_by(AccessLogRow.id))]
    assert actions == [("carol", "list", None, None), ("carol", "view", "dev-001", None),
                       ("carol", "confirm", "dev-001", "greeting")]


def test_self_assessment_comes_before_the_assessor_marks(store):
    review.override_item(store=store, user="ann", call_id="dev-001", item_id="summary", value="partial",
                         reason="recap missed the email change")
    hidden = review.show_card(store=store, user="agent-01", call_id="dev-001", as_agent=True)
    assert hidden.assessor_marks_hidden and hidden.history == {}
    assert all(i.status == "pending" for i in hidden.card.items)
    review.self_assess(store=store, user="agent-01", call_id="dev-001", marks={"summary": "yes", "greeting": "yes"})
    shown = review.show_card(store=store, user="agent-01", call_id="dev-001", as_agent=True)
    assert not shown.assessor_marks_hidden
    assert shown.self_assessment == {"summary": "yes", "greeting": "yes"}
    assert next(i for i in shown.card.items if i.id == "summary").assessor_value == "partial"
    with pytest.raises(ReviewError, match="already self-assessed"):
        review.self_assess(store=store, user="agent-01", call_id="dev-001", marks={"summary": "no"})
    with pytest.raises(ReviewError, match="no item"):
        review.self_assess(store=store, user="agent-02", call_id="dev-001", marks={"bogus": "no"})


def test_actions_and_agent_summary_with_trend(store):
    action = review.add_action(store=store, user="ann", call_id="dev-007", description="Give the recording notice "
                               "in the first 30 s", owner="team-leader-3", review_date=dt.date(2026, 12, 1))
    assert action.agent_id == "agent-02" and action.status == "open"
    assert [a.id for a in review.list_actions(store=store, user="ann", agent="agent-02")] == [action.id]
    # agent-01: October card finalised high, November card finalised low -> declining.
    _decide_all(store, "dev-001")
    review.finalise(store=store, user="ann", call_id="dev-001")
    for item in review.show_card(store=store, user="ann", call_id="dev-003").card.items:
        review.override_item(store=store, user="ann", call_id="dev-003", item_id=item.id,
                             value="n/a" if item.suggestion == "n/a" else "no", reason="coaching case")
    review.finalise(store=store, user="ann", call_id="dev-003")
    summary = review.agent_summary(store=store, user="tl", agent_id="agent-01")
    assert summary.cards == 2 and summary.finalised == 2
    assert [t["period"] for t in summary.trend] == ["2026-10", "2026-11"]
    assert summary.trend[0]["mean_score"] == 100.0 and summary.trend[1]["mean_score"] == 0.0
    assert summary.direction == "declining"
    assert summary.development_points and summary.strengths
    other = review.agent_summary(store=store, user="tl", agent_id="agent-02")
    assert other.critical_fails == 1 and [a.id for a in other.open_actions] == [action.id]
    review.close_action(store=store, user="tl", action_id=action.id)
    assert review.list_actions(store=store, user="tl", agent="agent-02") == []


def test_calibration_agreement(store):
    calls = ["dev-001", "dev-003"]
    items = ["greeting", "summary", "closing", "commitment"]
    # ann and bob agree on everything but dev-003 summary.
    for call_id in calls:
        for item_id in items:
            review.mark_item(store=store, user="ann", call_id=call_id, item_id=item_id, value="yes")
            bob = "no" if (call_id, item_id) in {("dev-003", "summary"), ("dev-001", "closing")} else "yes"
            review.mark_item(store=store, user="bob", call_id=call_id, item_id=item_id, value=bob)
    # Calibration marks do not decide the card.
    assert review.show_card(store=store, user="ann", call_id="dev-001").card.pending > 0
    report = review.calibrate(store=store, user="ann", call_ids=calls)
    assert report.raters == ["ann", "bob"] and report.method == "cohen"
    by_item = {i.item_id: i for i in report.items}
    assert by_item["greeting"].percent_agreement == 100.0 and by_item["greeting"].subjects == 2
    assert by_item["summary"].percent_agreement == 50.0
    assert report.overall_percent_agreement == 75.0
    assert report.overall_kappa == 0.0  # ann always said yes: agreement is what chance gives
    # A third rater switches to Fleiss' kappa.
    for call_id in calls:
        for item_id in items:
            review.mark_item(store=store, user="cat", call_id=call_id, item_id=item_id,
                             value="no" if item_id == "closing" else "yes")
    three = review.calibrate(store=store, user="ann", call_ids=calls)
    assert three.method == "fleiss" and three.raters == ["ann", "bob", "cat"]
    assert three.overall_kappa is not None
    # Pre-fill vs final: confirm two, override one.
    review.confirm_item(store=store, user="ann", call_id="dev-001", item_id="greeting")
    review.confirm_item(store=store, user="ann", call_id="dev-003", item_id="greeting")
    review.override_item(store=store, user="ann", call_id="dev-001", item_id="summary", value="no", reason="no recap")
    report = review.calibrate(store=store, user="ann", call_ids=calls)
    by_item = {i.item_id: i for i in report.items}
    assert by_item["greeting"].auto_subjects == 2 and by_item["greeting"].auto_percent_agreement == 100.0
    assert by_item["summary"].auto_percent_agreement == 0.0
    assert report.auto_percent_agreement == pytest.approx(66.7)


def test_exports(store, tmp_path):
    review.override_item(store=store, user="ann", call_id="dev-007", item_id="greeting", value="partial",
                         reason="no offer of help")
    html_path = review.export_html(store=store, user="ann", call_id="dev-007", out_path=tmp_path / "sc.html")
    html = html_path.read_text()
    assert "ann override" in html and "no offer of help" in html and "critical item is failed" in html
    assert "COMP-2 Call recording notice" in html and "formative" in html and "Compliance and ID&amp;V" in html
    csv_path = review.export_period(store=store, user="ann", since=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                                    until=None, fmt="csv", out_path=tmp_path / "p.csv")
    rows = list(csv.DictReader(csv_path.open()))
    assert {r["call_id"] for r in rows} == {"dev-003", "dev-005", "dev-007"}
    assert all(r["purpose"] == "formative" for r in rows)
    greeting = next(r for r in rows if r["call_id"] == "dev-007" and r["item_id"] == "greeting")
    assert greeting["value"] == "partial" and greeting["decided_by"] == "ann"
    data = json.loads(review.export_period(store=store, user="ann", since=None, until=None, fmt="json",
                                           out_path=tmp_path / "p.json").read_text())
    assert len(data["cards"]) == 4 and all(c["purpose"] == "formative" for c in data["cards"])


def test_current_user(monkeypatch):
    monkeypatch.setenv("CALLQA_USER", "dana")
    assert review.current_user() == "dana"
    assert review.current_user("erin") == "erin"


# ------------------------------------------------------------------------------ concurrency


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_processes_deciding_at_once_lose_no_decision(backend, tmp_path):
    with store_url(backend, tmp_path) as url:
        store = open_store(url)
        store.upgrade()
        _load(store, tmp_path, [CALLS[3]])
        items = [i.id for i in review.show_card(store=store, user="t", call_id="dev-007").card.items
                 if i.suggestion is not None]
        rounds = 3
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(2)
        results = ctx.Queue()
        workers = [ctx.Process(target=decide_worker, args=(url, "dev-007", items, who, rounds, barrier, results))
                   for who in ("ann", "bobby")]
        for w in workers:
            w.start()
        made = dict(results.get(timeout=240) for _ in workers)
        for w in workers:
            w.join(timeout=60)
            assert w.exitcode == 0
        assert made == {"ann": rounds * len(items), "bobby": rounds * len(items)}
        with store.session() as s:
            rows = s.scalars(select(DecisionRow)).all()
            assert len(rows) == 2 * rounds * len(items)
            assert {r.who for r in rows} == {"ann", "bobby"}
            logged = s.scalar(text("SELECT count(*) FROM access_log WHERE action IN ('confirm', 'override')"))
            assert logged == len(rows)
        view = review.show_card(store=store, user="t", call_id="dev-007")
        assert view.card.pending == len(view.card.items) - len(items)
        store.dispose()


# -------------------------------------------------------------------------------------- CLI


def _app():
    app = typer.Typer()

    @app.command()
    def version() -> None:
        """A second command, so the mounted apps behave as under `callqa`."""

    app.add_typer(review_app, name="review")
    app.command("calibrate")(calibrate_command)
    return app


def test_cli_workflow(tmp_path, monkeypatch):
    db = tmp_path / "callqa.db"
    store = open_store(str(db))
    store.upgrade()
    _load(store, tmp_path, CALLS[2:])
    monkeypatch.setenv("CALLQA_USER", "ann")
    monkeypatch.delenv("CALLQA_DATABASE_URL", raising=False)
    runner = CliRunner()
    app = _app()

    def run(*args):
        return runner.invoke(app, [*args, "--database-url", str(db)])

    listed = run("review", "list", "--flagged")
    assert listed.exit_code == 0 and "dev-007" in listed.output and "dev-005" not in listed.output
    shown = run("review", "show", "dev-007")
    assert shown.exit_code == 0 and "CRITICAL ITEM FAILED" in shown.output and "idv_before_account" in shown.output
    assert run("review", "confirm", "dev-007", "greeting").exit_code == 0
    missing = run("review", "override", "dev-007", "closing", "--value", "no")
    assert missing.exit_code == 2 and "--reason" in missing.output
    done = run("review", "override", "dev-007", "closing", "--value", "no", "--reason", "curt close")
    assert done.exit_code == 0 and "overridden to no by ann" in done.output
    refused = run("review", "finalise", "dev-007")
    assert refused.exit_code == 3 and "still pending" in refused.output
    assert run("review", "self-assess", "dev-005", "--mark", "greeting=yes").exit_code == 0
    assert run("review", "action-add", "dev-007", "--description", "ID&V first", "--owner", "tl-1",
               "--review-date", "2026-12-01").exit_code == 0
    summary = run("review", "summary", "agent-02")
    assert summary.exit_code == 0 and "2 cards" in summary.output
    assert run("review", "mark", "dev-007", "greeting", "--value", "yes", "--user", "bob").exit_code == 0
    assert run("review", "mark", "dev-007", "greeting", "--value", "yes", "--user", "cy").exit_code == 0
    calibrated = run("calibrate", "dev-007", "dev-005")
    assert calibrated.exit_code == 0 and "raters: bob, cy" in calibrated.output and "alpha" in calibrated.output
    assert run("review", "session-open", "r1", "dev-007").exit_code == 0
    assert run("review", "session-close", "r1").exit_code == 0
    locked = run("review", "mark", "dev-007", "greeting", "--value", "no", "--user", "bob")
    assert locked.exit_code != 0 and "locked" in locked.output
    out = tmp_path / "x.csv"
    assert run("review", "export", "--csv", str(out)).exit_code == 0 and out.is_file()
    html = tmp_path / "dev-007.html"
    assert run("review", "export-html", "dev-007", "--html", str(html)).exit_code == 0
    assert "curt close" in html.read_text()
    nowhere = runner.invoke(app, ["review", "list", "--database-url", str(tmp_path / "missing.db")])
    assert nowhere.exit_code == 2 and "no results index" in nowhere.output
