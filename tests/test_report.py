"""`callqa report` end to end (issue #18): transcript inputs with KPI metadata run through the real
pipeline (`callqa run`: real Presidio, detectors and scorer) into a real SQLite file and a real
PostgreSQL schema, then reported as JSON, CSV and HTML.

The calls: one customer (by customer_ref) rings twice in two days, another twice sixteen days
apart; two calls without a customer_ref quote the same phone number a day apart; one call has a
long hold. Figures the report must give are worked out here from the inputs and result.json.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from _score_support import BACKENDS, store_url

from pipeline import review
from pipeline.store import open_store

CALLQA = [sys.executable, "-m", "pipeline.cli"]
ALPHA, BRAVO = "CUST-REF-ALPHA-991", "CUST-REF-BRAVO-552"
PHONE = "07700 900123"


def _turns(agent_close: str = "Is there anything else I can help with today?", hold: bool = False,
           customer_says: str = "I'd like to check my bill please, it looks higher than usual.") -> list[dict]:
    script = [
        ("agent", "Good morning, you're through to Rowan Energy, my name is Kim. This call is recorded for "
                  "quality and training purposes. How can I help?"),
        ("customer", customer_says),
        ("agent", "Of course. Can I take your full name and the first line of your address to confirm it's you?"),
        ("customer", "Yes, it's Sam Okoro, 14 Elm Road."),
        ("agent", "Thank you, you're verified. Can I put you on hold for a moment while I check the account?"),
        ("customer", "That's fine."),
        ("agent", "Thanks for holding. The bill covers a longer period this time, that's why it is higher."),
        ("customer", "Ah, that makes sense. Thanks."),
        ("agent", agent_close),
        ("customer", "No, that's all, thank you."),
        ("agent", "Thanks for calling Rowan Energy, have a lovely day. Goodbye."),
    ]
    turns, clock = [], 0.5
    for index, (speaker, text) in enumerate(script):
        if hold and index == 6:
            clock += 45.0  # after "can I put you on hold": a 45 s gap is a hold
        length = max(1.0, len(text.split()) / 2.7)
        turns.append({"speaker": speaker, "text": text, "start_s": round(clock, 3), "end_s": round(clock + length, 3)})
        clock += length + 0.6
    return turns


CALLS = {
    # call id: (metadata, transcript options)
    "kpi-01": ({"agent_id": "A1", "team_id": "north", "queue": "Billing", "customer_ref": ALPHA, "csat": 5,
                "nps": 9, "wrap_up_s": 30.0, "disposition": "resolved", "started_at": "2026-11-02T09:00:00Z"}, {}),
    "kpi-02": ({"agent_id": "A2", "team_id": "south", "queue": "Billing", "customer_ref": f" {ALPHA.lower()}",
                "csat": 2, "nps": 3, "wrap_up_s": 60.0, "disposition": "callback",
                "started_at": "2026-11-03T15:30:00Z"}, {}),
    "kpi-03": ({"agent_id": "A1", "team_id": "north", "queue": "Sales", "customer_ref": BRAVO, "csat": 4,
                "wrap_up_s": 0.0, "started_at": "2026-11-04T10:00:00Z"}, {}),
    "kpi-04": ({"agent_id": "A3", "team_id": "south", "queue": "Sales", "customer_ref": BRAVO,
                "wrap_up_s": 45.0, "started_at": "2026-11-20T10:00:00Z"}, {"hold": True}),
    "kpi-05": ({"agent_id": "A2", "team_id": "south", "queue": "Billing", "csat": 3,
                "started_at": "2026-11-05T11:00:00Z"},
               {"customer_says": f"Hi, I'm calling about my bill, my phone number is {PHONE}."}),
    "kpi-06": ({"agent_id": "A1", "team_id": "north", "queue": "Billing", "started_at": "2026-11-06T11:00:00Z"},
               {"customer_says": f"Hello again, it's about the bill, my number is {PHONE}."}),
}
CSATS = [5, 2, 4, 3]


def callqa(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*CALLQA, *map(str, args)], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module", params=BACKENDS)
def reported(request, tmp_path_factory):
    """The calls run into one index per backend; yields (out dir, database URL, run's stderr)."""
    tmp = tmp_path_factory.mktemp(f"report-{request.param}")
    inputs = tmp / "in"
    inputs.mkdir()
    for call_id, (metadata, options) in CALLS.items():
        (inputs / f"{call_id}.transcript.json").write_text(json.dumps({
            "call_id": call_id, "channel_type": "telephone", "metadata": metadata, "turns": _turns(**options)}))
    out = tmp / "out"
    with store_url(request.param, tmp) as url:
        proc = callqa("run", inputs, "--out", out, "--database-url", url)
        assert proc.returncode == 0, proc.stderr[-2000:]
        # An assessor disagrees with one pre-filled item on kpi-01 and agrees with it on kpi-02.
        store = open_store(url)
        try:
            item = review.show_card(store=store, user="qa1", call_id="kpi-01").card.items[0]
            other = next(v for v in ("yes", "no") if v != item.suggestion)
            review.override_item(store=store, user="qa1", call_id="kpi-01", item_id=item.id, value=other,
                                 reason="heard differently")
            review.confirm_item(store=store, user="qa1", call_id="kpi-02", item_id=item.id)
        finally:
            store.dispose()
        yield out, url, proc.stderr, item.id


def _report(reported, *args) -> dict:
    out, url, _, _ = reported
    proc = callqa("report", "--out", out, "--database-url", url, "--json", *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def _result(out: Path, call_id: str) -> dict:
    return json.loads((out / call_id / "result.json").read_text())


@pytest.mark.slow
def test_one_customer_ringing_twice_in_two_days_is_one_repeat_contact(reported):
    report = _report(reported)
    # kpi-02: ALPHA again 30 h later (customer_ref matched whatever its case and spaces);
    # kpi-06: no customer_ref, the same phone number as kpi-05 a day later; kpi-04: BRAVO after 16 days.
    assert report["fcr"]["repeats"] == ["kpi-02", "kpi-06"]
    assert report["fcr"]["repeat_contacts"] == 2 and report["fcr"]["contacts"] == 6
    assert report["fcr"]["rate"] == pytest.approx(4 / 6, abs=1e-3)
    assert report["by"] == "agent"  # the default
    by_agent = {g["key"]: g["fcr"] for g in report["groups"]}
    assert by_agent["A2"]["repeats"] == ["kpi-02"] and by_agent["A1"]["repeats"] == ["kpi-06"]
    assert by_agent["A3"]["repeat_contacts"] == 0


@pytest.mark.slow
def test_a_repeat_is_found_from_a_call_before_the_period(reported):
    report = _report(reported, "--since", "2026-11-03", "--until", "2026-11-04")
    assert report["calls"] == 1 and report["fcr"]["repeats"] == ["kpi-02"]


@pytest.mark.slow
def test_csat_and_nps_from_the_metadata(reported):
    report = _report(reported)
    assert report["csat"]["n"] == len(CSATS)
    assert report["csat"]["mean"] == pytest.approx(sum(CSATS) / len(CSATS))
    assert report["csat"]["distribution"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}
    # One promoter (9), one detractor (3): NPS 0.
    assert report["nps"] == {"n": 2, "score": 0.0, "promoters": 1, "passives": 0, "detractors": 1}
    assert report["dispositions"] == {"callback": 1, "resolved": 1}


@pytest.mark.slow
def test_handling_time_is_talk_plus_hold_plus_wrap_up(reported):
    out = reported[0]
    result = _result(out, "kpi-04")
    hold = sum(h["duration_s"] for h in result["metrics"]["holds"])
    length = result["metrics"]["call_length_s"]
    assert hold >= 40.0, "the 45 s gap after the hold request was not measured as a hold"
    report = _report(reported, "--by", "agent")
    a3 = next(g for g in report["groups"] if g["key"] == "A3")["aht_s"]
    # talk is the connected time less hold, so AHT = (length - hold) + hold + wrap-up.
    assert a3["hold_mean"] == pytest.approx(hold, abs=0.01)
    assert a3["talk_mean"] == pytest.approx(length - hold, abs=0.01)
    assert a3["mean"] == pytest.approx(length + 45.0, abs=0.01)
    expected = sorted(_result(out, c)["metrics"]["call_length_s"] + (m.get("wrap_up_s") or 0.0)
                      for c, (m, _) in CALLS.items())
    assert report["aht_s"]["n"] == 6
    assert report["aht_s"]["mean"] == pytest.approx(sum(expected) / 6, abs=0.01)
    assert report["aht_s"]["median"] == pytest.approx((expected[2] + expected[3]) / 2, abs=0.01)
    assert report["aht_s"]["p90"] == pytest.approx(expected[4] + 0.5 * (expected[5] - expected[4]), abs=0.01)


@pytest.mark.slow
def test_groups_by_agent_team_and_queue(reported):
    expected = {"agent": {"A1": 3, "A2": 2, "A3": 1}, "team": {"north": 3, "south": 3},
                "queue": {"Billing": 4, "Sales": 2}}
    for by, counts in expected.items():
        report = _report(reported, "--by", by)
        assert {g["key"]: g["calls"] for g in report["groups"]} == counts
    team = {g["key"]: g for g in _report(reported, "--by", "team")["groups"]}
    assert team["north"]["csat"]["mean"] == pytest.approx(4.5)  # kpi-01 (5), kpi-03 (4)
    assert team["south"]["csat"]["mean"] == pytest.approx(2.5)  # kpi-02 (2), kpi-05 (3)


@pytest.mark.slow
def test_buckets_per_week_and_scores_and_agreement(reported):
    report = _report(reported, "--period", "week")
    weeks = {p["period"]: p for p in report["periods"]}
    assert {k: p["calls"] for k, p in weeks.items()} == {"2026-W45": 5, "2026-W47": 1}
    assert weeks["2026-W45"]["fcr"]["repeats"] == ["kpi-02", "kpi-06"]
    assert {g["key"] for g in weeks["2026-W47"]["groups"]} == {"A3"}
    assert report["score"]["cards"] == 6 and report["score"]["mean"] is not None
    assert sum(b["n"] for b in report["score"]["histogram"]) == 6
    item_id = reported[3]
    agreement = next(a for a in report["agreement"] if a["item_id"] == item_id)
    assert (agreement["n"], agreement["agreed"], agreement["rate"]) == (2, 1, 0.5)
    assert all(a["n"] == 0 for a in report["agreement"] if a["item_id"] != item_id)


@pytest.mark.slow
def test_csv_and_html(reported, tmp_path):
    out, url, _, _ = reported
    proc = callqa("report", "--out", out, "--database-url", url, "--by", "queue", "--period", "month",
                  "--csv", tmp_path / "kpi.csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "kpi.csv").read_text())))
    first = rows[0]
    assert (first["period"], first["group"], first["calls"], first["repeat_contacts"]) == ("all", "all", "6", "2")
    assert {(r["period"], r["group"]) for r in rows} >= {("2026-11", "Billing"), ("2026-11", "Sales"),
                                                         ("all", "Billing")}
    proc = callqa("report", "--out", out, "--database-url", url, "--period", "week", "--html", tmp_path / "kpi.html")
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "kpi.html").read_text()
    assert page.startswith("<!doctype html>") and "<script" not in page.lower()
    assert "src=" not in page and "href=" not in page  # self-contained: nothing to fetch
    assert page.count("<svg") >= 6 and page.count("<table") == page.count("<svg")
    assert "Mean handling time per agent" in page and "Scorecard score distribution" in page


@pytest.mark.slow
def test_the_customer_reference_is_never_in_clear(reported, tmp_path):
    out, url, run_stderr, _ = reported
    needles = [ALPHA, BRAVO, ALPHA.lower(), "ALPHA-991", "BRAVO-552"]
    for path in [p for p in out.rglob("*") if p.is_file()]:
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data, f"{needle} in {path.relative_to(out)}"
    assert not any(n in run_stderr for n in needles)
    outputs = [callqa("report", "--out", out, "--database-url", url, "--json", "--period", "day").stdout,
               callqa("report", "--out", out, "--database-url", url).stdout]
    callqa("report", "--out", out, "--database-url", url, "--html", tmp_path / "r.html")
    callqa("report", "--out", out, "--database-url", url, "--csv", tmp_path / "r.csv")
    outputs += [(tmp_path / "r.html").read_text(), (tmp_path / "r.csv").read_text()]
    # The index, every table and column (SQLite's file is under out/ and was read above).
    tables = []
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            from sqlalchemy import inspect, text

            for table in inspect(conn).get_table_names():
                tables.append(repr(conn.execute(text(f'SELECT * FROM "{table}"')).all()))
            digests = {row[0] for row in conn.execute(text("SELECT customer_digest FROM calls")) if row[0]}
    finally:
        store.dispose()
    assert len(digests) == 2  # ALPHA (twice, whatever the case and spaces: one digest) and BRAVO
    for blob in outputs + tables:
        for needle in needles:
            assert needle not in blob
    for blob in outputs:  # a report names calls, never a customer's digest
        assert not any(digest in blob for digest in digests)
