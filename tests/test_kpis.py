"""KPIs (issue #18): repeat contacts, handling time, CSAT/NPS and percentiles as pure functions; the
KPI config; the SVG charts (escaped, no script); and the web dashboard on SQLite and PostgreSQL,
where a team leader's figures cover only their team."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from _score_support import BACKENDS, scored_result, store_url, write_result
from _web_support import PASSWORD, SECRET_ENV, login
from fastapi.testclient import TestClient

from pipeline import review
from pipeline.errors import ConfigError
from pipeline.review.charts import bar_chart, histogram, line_chart, report_charts, report_html, Series
from pipeline.review.kpis import build_report, load_kpi_config, quantile, repeat_contacts, report_csv
from pipeline.store import open_store
from pipeline.store.kpis import ItemOutcome, KpiCall
from pipeline.web.app import create_app
from pipeline.web.settings import load_web_settings
from pipeline.web.users import add_user

HOSTILE = '<script>alert("x")</script>&"\''


def _at(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC)


def _call(call_id: str, day: int | None, **fields) -> KpiCall:
    values = {"agent_id": "A1", "team_id": "north", "queue": "Billing", "talk_s": 100.0, "hold_s": 0.0,
              "wrap_up_s": 0.0, "csat": None, "nps": None, "disposition": None, "customer_digest": None,
              "contact_digests": [], "score": 80.0, "critical_failed": False, "has_card": True}
    values.update(fields)
    return KpiCall(call_id=call_id, started_at=_at(day) if day else None, **values)


SETTINGS = load_kpi_config()
MATCH = SETTINGS.fcr.match_by
CUST_A, CUST_B = "a" * 64, "b" * 64


# ------------------------------------------------------------------------------ repeat contacts


def test_a_customer_calling_again_inside_the_window_is_one_repeat():
    calls = [_call("c1", 2, customer_digest=CUST_A), _call("c2", 3, customer_digest=CUST_A),
             _call("c3", 20, customer_digest=CUST_A), _call("c4", 3, customer_digest=CUST_B)]
    # c3 is 17 days after c2: outside a 7-day window.
    assert repeat_contacts(calls, window_days=7, match_by=MATCH) == {"c2"}
    assert repeat_contacts(calls, window_days=30, match_by=MATCH) == {"c2", "c3"}


def test_the_window_is_measured_from_the_last_call_not_the_first():
    calls = [_call("c1", 1, customer_digest=CUST_A), _call("c2", 6, customer_digest=CUST_A),
             _call("c3", 11, customer_digest=CUST_A)]
    assert repeat_contacts(calls, window_days=7, match_by=MATCH) == {"c2", "c3"}


def test_numbers_match_only_where_a_call_has_no_customer_digest():
    phone, other = "PHONE_NUMBER:" + "1" * 64, "ACCOUNT_NUMBER:" + "2" * 64
    calls = [_call("p1", 2, contact_digests=[phone]), _call("p2", 3, contact_digests=[phone]),
             # Two different customers (by their references) quoting the same number: not a repeat...
             _call("r1", 4, customer_digest=CUST_A, contact_digests=[other]),
             _call("r2", 5, customer_digest=CUST_B, contact_digests=[other]),
             # ...but a call without a reference quoting it is.
             _call("r3", 6, contact_digests=[other])]
    assert repeat_contacts(calls, window_days=7, match_by=MATCH) == {"p2", "r3"}
    # Without PHONE_NUMBER among the match keys, numbers tell nothing.
    assert repeat_contacts(calls, window_days=7, match_by=["customer_ref"]) == set()


def test_undated_calls_are_never_repeats():
    calls = [_call("u1", None, customer_digest=CUST_A), _call("u2", None, customer_digest=CUST_A)]
    assert repeat_contacts(calls, window_days=7, match_by=MATCH) == set()


# ----------------------------------------------------------------------------------- figures


def test_quantile_interpolates_like_numpy():
    assert quantile([], 0.9) is None
    assert quantile([5.0], 0.9) == 5.0
    assert quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == pytest.approx(9.1)
    assert quantile([10, 1, 4], 0.5) == 4


def test_report_figures_over_a_known_set():
    calls = [_call("c1", 2, customer_digest=CUST_A, csat=5, nps=10, talk_s=200, hold_s=40, wrap_up_s=60),
             _call("c2", 3, customer_digest=CUST_A, csat=1, nps=6, talk_s=100, hold_s=0, wrap_up_s=20,
                   agent_id="A2", score=40.0, critical_failed=True),
             _call("c3", 4, csat=4, talk_s=None, hold_s=None, wrap_up_s=None, agent_id="A2", has_card=False,
                   score=None)]
    outcomes = [ItemOutcome(call_id="c1", item_id="greet", question="Greeted?", suggestion="yes", value="yes"),
                ItemOutcome(call_id="c2", item_id="greet", question="Greeted?", suggestion="yes", value="no"),
                ItemOutcome(call_id="c2", item_id="close", question="Closed?", suggestion="no", value=None)]
    report = build_report(calls, calls, outcomes, SETTINGS, period="day", by="agent")
    assert (report.aht_s.n, report.aht_s.mean) == (2, pytest.approx((300 + 120) / 2))
    assert report.aht_s.hold_mean == 20 and report.aht_s.wrap_up_mean == 40
    assert (report.csat.n, report.csat.mean) == (3, pytest.approx(10 / 3, abs=1e-3))
    assert (report.nps.score, report.nps.promoters, report.nps.detractors) == (0.0, 1, 1)
    assert report.fcr.repeats == ["c2"] and report.fcr.rate == pytest.approx(2 / 3, abs=1e-3)
    assert (report.score.cards, report.score.mean, report.critical_fails) == (2, 60.0, 1)
    greet = next(a for a in report.agreement if a.item_id == "greet")
    close = next(a for a in report.agreement if a.item_id == "close")
    assert (greet.n, greet.agreed, greet.rate) == (2, 1, 0.5) and close.n == 0 and close.rate is None
    assert [p.period for p in report.periods] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    assert [g.key for g in report.groups] == ["A1", "A2"]
    assert next(g for g in report.groups if g.key == "A2").fcr.repeats == ["c2"]


def test_csv_cells_cannot_become_formulas():
    report = build_report([_call("c1", 2, agent_id="=HYPERLINK(\"http://x\")")], [], [], SETTINGS, period="all",
                          by="agent")
    text = report_csv(report)
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text and "'=HYPERLINK" in text


# ------------------------------------------------------------------------------------ config


def test_kpi_config_is_validated(tmp_path):
    assert SETTINGS.fcr.repeat_window_days == 7
    for text, key in [("fcr:\n  repeat_window_days: 0\n", "fcr.repeat_window_days"),
                      ("fcr:\n  match_by: [EMAIL_ADDRESS]\n", "fcr.match_by"),
                      ("fcr:\n  windo: 3\n", "fcr.windo")]:
        site = tmp_path / "kpi.yaml"
        site.write_text(text)
        with pytest.raises(ConfigError) as caught:
            load_kpi_config(site)
        assert key in str(caught.value) and "kpi.yaml" in str(caught.value)
    site.write_text("fcr:\n  repeat_window_days: 2\n")
    assert load_kpi_config(site).fcr.repeat_window_days == 2


# ------------------------------------------------------------------------------------ charts


def test_charts_escape_every_label_and_carry_their_data_table():
    charts = [line_chart(HOSTILE, ["2026-W45", HOSTILE], [Series(name=HOSTILE, values=[1.0, None])]),
              bar_chart(HOSTILE, [HOSTILE, "b"], [3.0, 4.5], value_label=HOSTILE),
              histogram(HOSTILE, [(0, 10, 2), (10, 20, 0)], x_label=HOSTILE)]
    for chart in charts:
        assert chart.svg.startswith("<svg") and chart.svg.endswith("</svg>")
        assert "<script" not in chart.svg and 'alert("x")' not in chart.svg and " style=" not in chart.svg
        assert "&lt;script&gt;" in chart.svg
        assert chart.rows  # the data, under the chart
    assert charts[1].rows == [[HOSTILE, "3"], ["b", "4.5"]]  # escaped when rendered, not here
    assert line_chart("empty", [], []).svg.count("no data") == 1


def test_the_html_report_is_self_contained_and_escaped():
    calls = [_call("c1", 2, agent_id=HOSTILE, csat=3), _call("c2", 10, agent_id="A2", csat=5)]
    page = report_html(build_report(calls, calls, [], SETTINGS, period="week", by="agent"))
    assert "<script" not in page and 'alert("x")' not in page and "&lt;script&gt;" in page
    assert not re.search(r"\s(src|href)=", page)
    assert page.count("<svg") == page.count("<table") >= 7


# ---------------------------------------------------------------------------------- dashboard

TEAMS = {"dev-001": ("agent-01", "team-1", 5), "dev-005": ("agent-02", "team-1", 4),
         "dev-002": ("agent-03", "team-2", 1), "dev-003": (HOSTILE[:60], "team-2", 2)}


@pytest.fixture(scope="module", params=BACKENDS)
def dashboard_store(request, tmp_path_factory):
    """The dashboard's store, built once per backend (scoring and argon2id hashing are the cost);
    the tests only read it and log in, each with a fresh client (see `dashboard_site`)."""
    tmp_path = tmp_path_factory.mktemp(f"dashboard-{request.param}")
    with store_url(request.param, tmp_path) as url:
        store = open_store(url)
        store.upgrade()
        run = store.record_run(pipeline_version="0.1.0", config_hash="a" * 64)
        for day, (call_id, (agent, team, csat)) in enumerate(TEAMS.items(), start=2):
            result = scored_result(call_id, agent_id=agent, started_at=f"2026-11-{day:02d}T09:00:00Z")
            meta = result.metadata.model_copy(update={"team_id": team, "csat": csat, "queue": "Billing"})
            result = result.model_copy(update={"metadata": meta})
            store.save_result(run, result, write_result(result, tmp_path / "out"))
        for name, role, team in [("tia", "team_leader", "team-1"), ("adm", "admin", None), ("ann", "assessor", None),
                                 ("ag1", "agent", None), ("nob", "team_leader", None)]:
            add_user(store=store, actor="test", username=name, password=PASSWORD, role=role,
                     agent_id="agent-01" if role == "agent" else None, team_id=team)
        # Two assessors mark dev-001 independently: calibration drift has a point.
        item_ids = [i.id for i in review.show_card(store=store, user="ann", call_id="dev-001").card.items[:3]]
        for who in ("ann", "bob"):
            for item_id in item_ids:
                review.mark_item(store=store, user=who, call_id="dev-001", item_id=item_id, value="yes")
        settings = load_web_settings(out_dir=tmp_path / "out", database_url=url, environ=SECRET_ENV)
        try:
            yield store, settings
        finally:
            store.dispose()


@pytest.fixture
def dashboard_site(dashboard_store):
    """A new app and client (no cookies, no session) on the shared dashboard store."""
    store, settings = dashboard_store
    return TestClient(create_app(settings, store=store))


def _table_after(page: str, caption: str) -> str:
    start = page.index(caption)
    return page[start:page.index("</table>", start)]


def test_the_dashboard_shows_charts_with_tables_and_no_inline_script(dashboard_site):
    client = dashboard_site
    assert login(client, "adm").status_code == 303
    response = client.get("/dashboard?period=day&by=team")
    assert response.status_code == 200
    page = response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert not re.search(r"<script(?![^>]*\ssrc=)", page), "an inline script"
    assert " style=" not in page and "onclick" not in page.lower()
    assert page.count("<svg") >= 8 and page.count("<figure") == page.count("<svg")
    assert "All teams." in page
    teams = _table_after(page, "Mean CSAT per team")
    assert "team-1" in teams and "team-2" in teams
    assert "<td>4.5</td>" in teams and "<td>1.5</td>" in teams  # (5 + 4) / 2 and (1 + 2) / 2
    assert "Mean scorecard score over time, per agent" in page  # agents beside the teams
    assert "Calibration drift" in page and "Scorecard score distribution" in page
    assert "Auto-vs-assessor agreement per item" in page
    assert HOSTILE not in page and "&lt;script&gt;alert" in page


def test_a_team_leader_sees_only_their_team(dashboard_site):
    client = dashboard_site
    assert login(client, "tia").status_code == 303
    page = client.get("/dashboard?by=agent").text
    assert "Team: team-1." in page
    agents = _table_after(page, "Mean handling time per agent")
    assert "agent-01" in agents and "agent-02" in agents
    assert "agent-03" not in page and "team-2" not in page and "&lt;script&gt;" not in page
    summary = page[page.index('id="kpi-summary"'):page.index("</dl>")]
    assert "<dd>2</dd>" in summary  # two calls of team-1, of four
    # The scope comes from the account: no parameter widens it.
    assert "agent-03" not in client.get("/dashboard?by=agent&teams=team-2&team=team-2").text


def test_a_team_leader_without_a_team_sees_nothing_and_agents_are_refused(dashboard_site):
    client = dashboard_site
    assert login(client, "nob").status_code == 303
    page = client.get("/dashboard").text
    assert "no calls to show" in page and "agent-0" not in page
    client.cookies.clear()
    assert login(client, "ag1").status_code == 303
    assert client.get("/dashboard").status_code == 403


def test_bad_dashboard_parameters_are_refused(dashboard_site):
    client = dashboard_site
    assert login(client, "adm").status_code == 303
    for query in ("period=year", "by=customer", "since=02/11/2026"):
        assert client.get(f"/dashboard?{query}").status_code == 400
