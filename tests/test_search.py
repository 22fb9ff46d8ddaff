"""Full-text search over redacted transcripts (pipeline.store.search, `callqa search`) and the
review queue's page (pipeline.store.queue_page), on SQLite (FTS5) and real PostgreSQL (tsvector + GIN).

The calls are dev scripts with known turns: dev-001 (energy bill, hold), dev-002 (mobile bill,
roaming) and dev-005 (a kettle that trips the fuse box), each with its own agent, team, queue and day.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from _score_support import BACKENDS, scored_result, store_url, write_result
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from pipeline import review
from pipeline.cli import app as cli_app
from pipeline.review.queue import queue_page
from pipeline.store import erase_call_rows, open_store
from pipeline.store.call_filters import CallFilters, Scope
from pipeline.store.models import SearchCallRow, SearchTurnRow
from pipeline.store.search import parse_query, reindex, search
from tests._paths import SAMPLE_CALLS

# call: (agent, team, queue, started, flags)
CALLS = {
    "dev-001": ("agent-01", "team-a", "billing", "2026-11-02T09:00:00Z", []),
    "dev-002": ("agent-02", "team-a", "mobile", "2026-11-03T09:00:00Z", ["roles_unclear"]),
    "dev-005": ("agent-03", "team-b", "retail", "2026-11-04T09:00:00Z", []),
}


def _result(call_id: str):
    agent, team, queue, started, flags = CALLS[call_id]
    result = scored_result(call_id, agent_id=agent, started_at=started)
    meta = result.metadata.model_copy(update={"team_id": team, "queue": queue})
    return result.model_copy(update={"metadata": meta, "flags": flags})


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    with store_url(request.param, tmp_path) as url:
        s = open_store(url)
        s.upgrade()
        for call_id in CALLS:
            result = _result(call_id)
            s.save_result(None, result, write_result(result, tmp_path / "out"))
        try:
            yield s
        finally:
            s.dispose()


def _where(page) -> list[tuple[str, int]]:
    return [(h.call_id, h.turn_index) for h in page.hits]


def _calls(page) -> set[str]:
    return {h.call_id for h in page.hits}


def test_words_must_all_occur_in_one_turn_and_a_phrase_in_order(store):
    kettle = search(store, "kettle")
    assert _calls(kettle) == {"dev-005"}
    first = kettle.hits[0]
    assert first.turn_index == 1 and "kettle" in first.snippet and first.start_s is not None
    assert _where(search(store, "fuse reset")) == [("dev-005", 3)]  # both words, any order
    assert _where(search(store, '"reset the fuse box"')) == [("dev-005", 3)]
    assert search(store, '"fuse reset"').hits == []  # a phrase keeps its order
    assert _calls(search(store, "kettles")) == {"dev-005"}  # both backends stem
    assert _calls(search(store, "roaming")) == {"dev-002"}
    assert search(store, "kettle roaming").hits == []  # never in one turn
    # Newest call first, then turn order: a word in every call.
    bill = search(store, "bill")
    order = [h.call_id for h in bill.hits]
    assert order == sorted(order, key=lambda c: CALLS[c][3], reverse=True)
    assert all(a.turn_index < b.turn_index for a, b in zip(bill.hits, bill.hits[1:]) if a.call_id == b.call_id)


def test_pages_are_stable_and_do_not_overlap(store):
    whole = search(store, "thanks", limit=500)
    assert len(whole.hits) > 6 and not whole.more
    paged, offset = [], 0
    while True:
        page = search(store, "thanks", limit=4, offset=offset)
        paged += _where(page)
        offset += 4
        if not page.more:
            break
    assert paged == _where(whole)


def test_filters_narrow_the_hits(store):
    def found(**filters) -> set[str]:
        return _calls(search(store, "thanks", filters=CallFilters(**filters), limit=500))

    assert found() == set(CALLS)
    assert found(agent="agent-02") == {"dev-002"}
    assert found(team="team-a") == {"dev-001", "dev-002"}
    assert found(queue="retail") == {"dev-005"}
    assert found(since=dt.datetime(2026, 11, 3, tzinfo=dt.UTC)) == {"dev-002", "dev-005"}
    assert found(until=dt.datetime(2026, 11, 3, tzinfo=dt.UTC)) == {"dev-001"}
    assert found(event_kind="call.hold_request") == {"dev-001"}
    assert found(event_kind="call.hold") == set()  # a whole kind, not a prefix
    assert found(score_max=95) == {"dev-002"}  # suggested 92; the others 100
    assert found(score_min=95) == {"dev-001", "dev-005"}
    assert found(flag="roles_unclear") == {"dev-002"}
    assert found(flag="critical_failed") == set()
    assert found(channel="face_to_face") == {"dev-005"}
    # Customer sentiment is the column the turn-sentiment stage fills; no call has one yet.
    assert found(sentiment="negative") == set()
    with store.session() as s:
        s.execute(update(SearchCallRow).where(SearchCallRow.call_id == "dev-005").values(customer_sentiment=-0.6))
        s.execute(update(SearchCallRow).where(SearchCallRow.call_id == "dev-001").values(customer_sentiment=0.02))
    assert found(sentiment="negative") == {"dev-005"}
    assert found(sentiment="neutral") == {"dev-001"}
    assert found(sentiment="positive") == set()


def test_scope_limits_what_a_viewer_can_find_whatever_the_filters(store):
    def found(scope: Scope, **filters) -> set[str]:
        return _calls(search(store, "thanks", filters=CallFilters(**filters), scope=scope, limit=500))

    assert found(Scope(teams=frozenset({"team-b"}))) == {"dev-005"}
    assert found(Scope(teams=frozenset({"team-b"})), team="team-a") == set()
    assert found(Scope(teams=frozenset())) == set()  # a team leader without a team: nothing
    assert found(Scope(agent="agent-01")) == {"dev-001"}
    assert found(Scope(agent="")) == set()


@pytest.mark.parametrize("query", [
    '"', '""', '"kettle', 'NEAR(kettle fuse, 2)', 'NEAR(', 'text:kettle', ':', '*', 'kettle*', '^kettle', '-kettle',
    "kettle OR roaming", "kettle AND", "NOT kettle", "(kettle", "kettle)", "'; DROP TABLE calls; --", "%", "_", "\\",
    "a' OR '1'='1", "kettle\x00", "😀 kettle", "k" * 20000, " ", "",
])
def test_hostile_query_text_never_raises_and_only_its_words_count(store, query):
    parsed = parse_query(query)
    plain = " ".join(list(parsed.words) + [f'"{" ".join(p)}"' for p in parsed.phrases])
    page = search(store, query)
    assert _where(page) == _where(search(store, plain))
    with store.session() as s:  # the tables are all still there
        assert s.scalar(select(SearchTurnRow.id).limit(1)) is not None
        assert s.execute(text("SELECT count(*) FROM calls")).scalar() == 3


def test_operators_in_a_query_are_words_or_separators(store):
    assert search(store, "kettle OR roaming").hits == []  # "or" is a word: no turn has all three
    assert _calls(search(store, '"kettle')) == {"dev-005"}  # an unmatched quote separates
    assert _calls(search(store, "-kettle")) == {"dev-005"}  # no negation
    assert _calls(search(store, "kettle*")) == {"dev-005"}  # no prefix syntax
    assert search(store, "NEAR(kettle fuse)").hits == []  # "near" is a word too
    assert search(store, "text:kettle").hits == []  # "text" is a word, not a column
    assert search(store, "").hits == [] and search(store, "%_*").hits == []


def test_an_erased_call_leaves_the_search_index(store):
    assert _calls(search(store, "kettle")) == {"dev-005"}
    erased = erase_call_rows(store, "dev-005", "erased:test")
    assert erased.search_turns == len(_result("dev-005").turns)
    assert search(store, "kettle").hits == [] and search(store, "fuse").hits == []
    assert _calls(search(store, "thanks", limit=500)) == {"dev-001", "dev-002"}
    with store.session() as s:
        assert s.scalar(select(SearchTurnRow.id).where(SearchTurnRow.call_id == "dev-005")) is None
        assert s.get(SearchCallRow, "dev-005") is None
    if store.dialect == "sqlite":
        # The words are gone from the FTS5 index's pages too, not only marked deleted.
        with store.engine.begin() as conn:
            conn.exec_driver_sql("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, search_fts, 'row')")
            terms = {row[0] for row in conn.exec_driver_sql("SELECT term FROM temp.vocab")}
        assert "kettl" not in terms and "fuse" not in terms and "roam" in terms


def test_reindex_fills_the_index_from_the_results(store):
    with store.session() as s:
        s.execute(SearchTurnRow.__table__.delete())
        s.execute(SearchCallRow.__table__.delete())
    assert search(store, "kettle").hits == []
    assert reindex(store) == 3
    assert _calls(search(store, "kettle")) == {"dev-005"}
    assert _calls(search(store, "thanks", filters=CallFilters(event_kind="call.hold_request"))) == {"dev-001"}


def test_search_is_access_logged_without_its_text(store):
    review.list_cards(store=store, user="ann")  # anything before
    from pipeline.review.queue import search_calls

    search_calls(store=store, user="ann", query="reset the fuse", filters=CallFilters(), scope=Scope())
    entries = review.access_log(store=store, user="aud", who="ann")
    logged = [e for e in entries if e.action == "search"]
    assert len(logged) == 1 and "fuse" not in (logged[0].detail or "") and "n=1" in logged[0].detail


# --------------------------------------------------------------------------------- queue page


def _page(store, **kwargs):
    options = {"filters": CallFilters(), "scope": Scope(), "show": "all"} | kwargs
    return queue_page(store=store, user="ann", **options)


def test_queue_sorts_in_the_database_stably_and_pages(store):
    assert [c.call_id for c in _page(store, sort="date").cards] == ["dev-005", "dev-002", "dev-001"]
    assert [c.call_id for c in _page(store, sort="date", descending=False).cards] == ["dev-001", "dev-002", "dev-005"]
    assert [c.call_id for c in _page(store, sort="agent", descending=False).cards] == ["dev-001", "dev-002", "dev-005"]
    # Ties (dev-001 and dev-005 both 100) go by call id, whichever direction.
    assert [c.call_id for c in _page(store, sort="score").cards] == ["dev-001", "dev-005", "dev-002"]
    assert [c.call_id for c in _page(store, sort="score", descending=False).cards] == ["dev-002", "dev-001", "dev-005"]
    assert [c.call_id for c in _page(store, sort="flag").cards][0] == "dev-002"
    first = _page(store, sort="date", page=1, page_size=2)
    second = _page(store, sort="date", page=2, page_size=2)
    assert first.total == second.total == 3 and first.pages == 2
    assert [c.call_id for c in first.cards + second.cards] == ["dev-005", "dev-002", "dev-001"]
    assert _page(store, page=3, page_size=2).cards == []


def test_queue_filters_pending_flagged_and_scope(store):
    assert _page(store, show="flagged").total == 1
    assert {c.call_id for c in _page(store, show="pending").cards} == set(CALLS)
    card = review.show_card(store=store, user="ann", call_id="dev-001").card
    for item in card.items:
        review.confirm_item(store=store, user="ann", call_id="dev-001", item_id=item.id)
    assert {c.call_id for c in _page(store, show="pending").cards} == {"dev-002", "dev-005"}
    assert {c.call_id for c in _page(store, scope=Scope(teams=frozenset({"team-a"}))).cards} == {"dev-001", "dev-002"}
    assert _page(store, scope=Scope(teams=frozenset())).total == 0
    team_b = _page(store, filters=CallFilters(queue="retail", event_kind="lass.apologise"))
    assert [c.call_id for c in team_b.cards] == ["dev-005"]


# ------------------------------------------------------------------------------------- CLI


def test_cli_search_prints_json_hits(store, tmp_path):
    url = store.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    done = runner.invoke(cli_app, ["search", '"reset the fuse box"', "--database-url", url, "--json"])
    assert done.exit_code == 0, done.output
    hits = json.loads(done.stdout)["hits"]
    assert hits == [{"call_id": "dev-005", "turn_index": 3, "start_s": hits[0]["start_s"],
                     "snippet": hits[0]["snippet"]}]
    assert "fuse box" in hits[0]["snippet"]
    filtered = runner.invoke(cli_app, ["search", "thanks", "--database-url", url, "--json", "--team", "team-b"])
    assert {h["call_id"] for h in json.loads(filtered.stdout)["hits"]} == {"dev-005"}
    bad = runner.invoke(cli_app, ["search", "thanks", "--database-url", url, "--score-min", "90", "--score-max", "10"])
    assert bad.exit_code != 0 and "score_min" in bad.output


# ------------------------------------------------------------------ redacted text, real pipeline


@pytest.mark.slow
def test_only_redacted_text_is_searchable_after_a_real_run(tmp_path):
    """The real pipeline (Presidio) on the bundled chat transcript: the index holds its redacted turns,
    so the e-mail address and booking reference it replaced find nothing, and the words around them do."""
    from pipeline.ingest import discover_inputs
    from pipeline.run import run_batch
    from pipeline.settings import load_settings

    inputs, out = tmp_path / "inputs", tmp_path / "out"
    inputs.mkdir()
    shutil.copy(SAMPLE_CALLS / "sample-005.transcript.json", inputs)
    summary = run_batch(discover_inputs([inputs]), out, load_settings())
    assert [o.status for o in summary.outcomes] == ["done"], summary.to_json()
    store = open_store(str(out / "callqa.db"))
    try:
        assert _calls(search(store, "refund")) == {"sample-005"}
        for value in ("sam.okoro@example.com", "okoro", "RR4K7QZ2"):
            assert search(store, value).hits == [], value
        runner = CliRunner()
        done = runner.invoke(cli_app, ["search", "booking reference", "--out", str(out), "--json"])
        assert done.exit_code == 0, done.output
        hits = json.loads(done.stdout)["hits"]
        assert hits and all("okoro" not in h["snippet"].lower() for h in hits)
    finally:
        store.dispose()
