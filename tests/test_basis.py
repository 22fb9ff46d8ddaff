"""The basis of every suggestion, evidence reference and event (objective: measured; interpretive:
judged) is set by the score stage and shown on the scorecard HTML, the web call page and the
CSV / JSON exports, so an assessor sees which suggestions need their judgement (issue #18).
"""

from __future__ import annotations

import csv
import json
import re

import pytest
from _score_support import BACKENDS, scored_result, store_url, write_result
from _web_support import add_accounts, load_store, login, make_app
from fastapi.testclient import TestClient

from pipeline import review
from pipeline.schema import Event
from pipeline.score import ScoreOptions, load_templates, score
from pipeline.score.render import render_scorecard_html
from pipeline.store import open_store


def _items(result):
    return {i.id: i for i in result.scorecard.items}


def test_each_suggestion_says_what_it_rests_on():
    items = _items(scored_result("dev-001"))
    # Measured: said or not (greeting), an SLA figure (greeting latency).
    assert items["greeting"].basis == "objective" and items["greeting"].suggestion == "yes"
    assert {e.basis for e in items["greeting"].evidence} == {"objective"}
    assert items["greeting_latency"].basis == "objective"
    assert {e.basis for e in items["greeting_latency"].evidence} <= {"objective"}
    # Judged: an apology after a judged complaint.
    assert items["lass_apologise"].basis == "interpretive" and items["lass_apologise"].suggestion == "yes"
    assert {e.basis for e in items["lass_apologise"].evidence} == {"interpretive"}
    # Every suggestion has a basis; a card item no recording can judge has none.
    assert all(i.basis in ("objective", "interpretive") for i in items.values() if i.suggestion is not None)


def test_an_absence_is_judged_unless_the_call_shows_the_kind_is_measured():
    # No greeting event at all: the detector may have missed it, so the "no" is interpretive.
    missed = _items(scored_result("dev-001", drop_kinds=("call.greeting",)))["greeting"]
    assert missed.suggestion == "no" and missed.basis == "interpretive"
    # A complaint-free call: the LASS items are n/a on a judged absence of a complaint.
    result = scored_result("dev-001", drop_kinds=("complaint.raised",))
    assert _items(result)["lass_listen"].suggestion == "n/a" and _items(result)["lass_listen"].basis == "interpretive"


def test_a_measured_event_kind_scores_as_objective():
    result = scored_result("dev-001")
    loud = Event(kind="voice.raised", turn_index=1, start_s=5.0, end_s=9.0, speaker="customer",
                 evidence="customer turn 11.0 LU louder than the customer's median", confidence=0.95,
                 detector="loudness/1", basis="objective")
    result = result.model_copy(update={"events": [*result.events, loud]})
    card = score(result, load_templates()["telephone"], ScoreOptions())
    assert card.items  # a result holding a measured kind scores as before
    html = render_scorecard_html(result.model_copy(update={"scorecard": card}))
    row = re.search(r"<tr><td>[^<]*</td><td>voice\.raised</td>.*?</tr>", html, re.S)
    assert row and 'basis-objective">objective<' in row.group(0)


def _row(html: str, item_id: str) -> str:
    start = html.index(f'id="item-{item_id}"')
    return html[start:html.index("</tr>", start)]


def test_the_scorecard_html_shows_the_basis_of_items_evidence_and_events():
    result = scored_result("dev-001")
    html = render_scorecard_html(result)
    greeting = _row(html, "greeting")
    assert len(re.findall(r'basis-objective"[^>]*>objective<', greeting)) == 1 + len(_items(result)["greeting"].evidence)
    apologise = _row(html, "lass_apologise")
    # The item's badge (with a hint that it needs judging) and one per evidence reference.
    assert re.search(r'basis-interpretive" title="judged: check it">interpretive<', apologise)
    assert len(re.findall(r'basis-interpretive"[^>]*>interpretive<', apologise)) == \
        1 + len(_items(result)["lass_apologise"].evidence)
    events = html[html.index('<table id="events">'):]
    events = events[:events.index("</table>")]
    assert events.count("<tr><td>") == len(result.events)
    assert events.count(">interpretive<") == sum(e.basis == "interpretive" for e in result.events)
    assert "needs the assessor's judgement" in html  # the legend says what the two words mean


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    with store_url(request.param, tmp_path) as url:
        s = open_store(url)
        s.upgrade()
        run = s.record_run(pipeline_version="0.1.0", config_hash="a" * 64)
        result = scored_result("dev-001", agent_id="agent-01", started_at="2026-11-02T09:00:00Z")
        s.save_result(run, result, write_result(result, tmp_path / "out"))
        try:
            yield s, result
        finally:
            s.dispose()


def test_exports_carry_the_basis(store, tmp_path):
    store, result = store
    expected = {i.id: i for i in result.scorecard.items}
    rows = list(csv.DictReader(review.export_period(store=store, user="ann", since=None, until=None, fmt="csv",
                                                    out_path=tmp_path / "p.csv").open()))
    assert rows and all(r["basis"] == (expected[r["item_id"]].basis or "") for r in rows)
    assert next(r for r in rows if r["item_id"] == "lass_apologise")["evidence_basis"].split(";")[0] == "interpretive"
    data = json.loads(review.export_period(store=store, user="ann", since=None, until=None, fmt="json",
                                           out_path=tmp_path / "p.json").read_text())
    detail = {i["item_id"]: i for i in data["cards"][0]["items_detail"]}
    assert detail["greeting"]["basis"] == "objective" and detail["lass_solve"]["basis"] == "interpretive"
    assert [e["basis"] for e in detail["greeting"]["evidence"]] == [e.basis for e in expected["greeting"].evidence]
    html = review.export_html(store=store, user="ann", call_id="dev-001", out_path=tmp_path / "sc.html").read_text()
    assert 'basis-interpretive">interpretive<' in _row(html, "lass_apologise")


def test_the_web_call_page_shows_the_basis(tmp_path):
    store = load_store(f"sqlite:///{tmp_path / 'callqa.db'}", tmp_path / "out")
    try:
        add_accounts(store)
        client = TestClient(make_app(store, tmp_path / "out"))
        assert login(client, "ann").status_code == 303
        page = client.get("/calls/dev-001").text
        article = page[page.index('id="item-lass_apologise"'):]
        article = article[:article.index("</article>")]
        assert 'class="basis interpretive"' in article
        greeting = page[page.index('id="item-greeting"'):]
        assert 'class="basis objective"' in greeting[:greeting.index("</article>")]
        events = page[page.index('id="events"'):]
        assert 'class="basis interpretive"' in events and 'class="basis objective"' in events
    finally:
        store.dispose()
