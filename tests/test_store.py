"""Results index: migrations (empty and populated databases), writes, no personal data; SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from _score_support import BACKENDS, scored_result, store_url, write_result
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from pipeline import review
from pipeline.errors import ConfigError
from pipeline.store import Store, open_store
from pipeline.store.db import HEAD_REVISION
from pipeline.store.models import Base, CallRow, ItemRow, ResultRow, ScorecardRow
from pipeline.store.search import outside_models

TABLES = {"runs", "calls", "results", "scorecards", "items", "decisions", "actions", "self_assessments",
          "access_log", "users", "web_sessions", "login_attempts",
          "feedback_notes", "audit_heads", "tombstones", "search_turns", "search_calls", "calibration_sessions",
          "alembic_version"}


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    with store_url(request.param, tmp_path) as url:
        s = open_store(url)
        try:
            yield s
        finally:
            s.dispose()


def test_upgrade_on_an_empty_database_reaches_head_and_matches_the_models(store):
    assert store.revision() is None
    store.upgrade()
    assert store.revision() == HEAD_REVISION
    # The full-text index (FTS5 tables, the tsvector column) is the migration's alone.
    assert {t for t in inspect(store.engine).get_table_names() if outside_models(t, "table", {})} == TABLES
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": outside_models}),
                                Base.metadata)
    assert diff == []
    store.upgrade()  # idempotent
    assert store.revision() == HEAD_REVISION


def test_head_revision_constant_is_alembics_head():
    # Store.upgrade() skips Alembic when the database already records HEAD_REVISION: a new
    # migration that forgot to move the constant would never run.
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from pipeline.store import migrations_dir
    from pipeline.store.db import HEAD_REVISION

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_upgrade_from_an_older_revision_still_migrates_after_the_fast_check(store):
    store.upgrade("0001")
    store.upgrade()
    assert store.revision() == HEAD_REVISION


def _insert_v1_rows(store: Store) -> None:
    """Rows as revision 0001 knew them (no purpose, no decision mode)."""
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO runs (id, started_at, status, pipeline_version, config_hash, n_calls, n_failed)"
                          " VALUES ('run-1', :t, 'done', '0.0.9', :h, 1, 0)"),
                     {"t": "2026-10-01 09:00:00", "h": "a" * 64})
        conn.execute(text("INSERT INTO calls (call_id, channel_type, agent_id, started_at, source_sha256,"
                          " first_seen_at)"
                          " VALUES ('old-1', 'telephone', 'agent-9', :t, :h, :t)"),
                     {"t": "2026-10-01 09:00:00", "h": "b" * 64})
        conn.execute(text("INSERT INTO results (id, call_id, run_id, result_path, result_sha256, schema_version,"
                          " created_at, n_events, n_pii, flags) VALUES (1, 'old-1', 'run-1', '/nowhere/result.json',"
                          " :h, '1.0', :t, 3, 0, '[]')"), {"t": "2026-10-01 09:00:00", "h": "c" * 64})
        conn.execute(text("INSERT INTO scorecards (id, call_id, result_id, template, channel_type, current, created_at,"
                          " suggested_score, critical_failed_suggested, strengths, development_points)"
                          " VALUES (1, 'old-1', 1, 'telephone@1', 'telephone', :yes, :t, 80.0, :no, '[]', '[]')"),
                     {"t": "2026-10-01 09:00:00", "yes": True, "no": False})
        for pos, (item_id, suggestion) in enumerate([("greeting", "yes"), ("closing", "no")]):
            conn.execute(text("INSERT INTO items (scorecard_id, item_id, position, section, question, weight, critical,"
                              " standard_ref, suggestion, confidence, needs_observation, rule, evidence)"
                              " VALUES (1, :i, :p, 'opening', 'Q?', 1.0, :no, 'QA-1', :s, 0.9, :no, 'r', '[]')"),
                         {"i": item_id, "p": pos, "s": suggestion, "no": False})
        conn.execute(text("INSERT INTO decisions (scorecard_id, item_id, who, at, kind, value, reason)"
                          " VALUES (1, 'greeting', 'ann', :t, 'confirm', 'yes', NULL)"), {"t": "2026-10-02 10:00:00"})
        # Keep sequences in step with the explicit ids (PostgreSQL).
        if store.dialect == "postgresql":
            for table in ("results", "scorecards"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1)"))


def test_upgrade_keeps_data_written_at_the_previous_revision(store):
    store.upgrade("0001")
    assert store.revision() == "0001"
    _insert_v1_rows(store)
    store.upgrade()
    assert store.revision() == HEAD_REVISION
    with store.session() as s:
        card = s.get(ScorecardRow, 1)
        assert card.purpose == "formative" and card.suggested_score == 80.0
        assert s.scalar(text("SELECT mode FROM decisions WHERE item_id = 'greeting'")) == "review"
    # The workflow runs on the migrated rows: the old decision counts, the rest goes on.
    view = review.show_card(store=store, user="bob", call_id="old-1")
    assert [i.status for i in view.card.items] == ["confirmed", "pending"]
    review.override_item(store=store, user="bob", call_id="old-1", item_id="closing", value="yes", reason="heard it")
    assert review.finalise(store=store, user="bob", call_id="old-1").final_score == 100.0
    # And new results go in beside the old ones.
    run = store.record_run(pipeline_version="0.1.0", config_hash="d" * 64)
    saved = store.save_result(run, scored_result("dev-002"), "/tmp/none.json")
    assert saved.result_id == 2


def test_save_result_indexes_the_call_without_personal_data(store, tmp_path):
    store.upgrade()
    result = scored_result("dev-001", agent_id="agent-07")
    path = write_result(result, tmp_path / "out")
    run = store.record_run(pipeline_version="0.1.0", config_hash="e" * 64)
    saved = store.save_result(run, result, path)
    store.finish_run(run, status="done", n_calls=1, n_failed=0)
    with store.session() as s:
        call = s.get(CallRow, "dev-001")
        assert call.agent_id == "agent-07" and call.channel_type == "telephone"
        row = s.get(ResultRow, saved.result_id)
        assert row.result_path == str(path) and row.n_events == len(result.events)
        items = s.scalars(select(ItemRow).where(ItemRow.scorecard_id == saved.scorecard_id)).all()
        assert len(items) == len(result.scorecard.items)
        assert all(set(e) == {"event_index", "sla_rule", "kind", "start_s", "confidence", "basis"}
                   for i in items for e in i.evidence)
    # No column holds transcript text or quotes, but for search's copy of the redacted turns.
    fragments = {t.text[:25] for t in result.turns if len(t.text) >= 25}
    fragments |= {e.evidence[:25] for e in result.events if len(e.evidence) >= 25}
    with store.engine.connect() as conn:
        indexed = conn.execute(text("SELECT turn_index, text FROM search_turns ORDER BY turn_index")).all()
        assert [tuple(r) for r in indexed] == [(t.index, t.text) for t in result.turns if t.text.strip()]
        for table in TABLES - {"alembic_version", "search_turns"}:
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                blob = json.dumps([str(v) for v in row])
                assert not any(f in blob for f in fragments), table


def test_save_result_is_one_transaction(store):
    store.upgrade()
    result = scored_result("dev-002")
    with pytest.raises(IntegrityError):
        store.save_result("no-such-run", result, "/tmp/none.json")  # foreign key violation after the call row
    with store.session() as s:
        assert s.get(CallRow, "dev-002") is None
        assert s.scalar(select(ResultRow.id)) is None


def test_a_rerun_makes_a_new_current_card_and_keeps_the_history(store):
    store.upgrade()
    run = store.record_run(pipeline_version="0.1.0", config_hash="f" * 64)
    first = store.save_result(run, scored_result("dev-003"), "/tmp/none.json")
    review.confirm_item(store=store, user="ann", call_id="dev-003", item_id="greeting")
    second = store.save_result(run, scored_result("dev-003"), "/tmp/none.json")
    with store.session() as s:
        assert s.get(ScorecardRow, first.scorecard_id).current is False
        assert s.get(ScorecardRow, second.scorecard_id).current is True
        assert s.scalar(text("SELECT count(*) FROM decisions")) == 1
    assert review.show_card(store=store, user="ann", call_id="dev-003").card.pending == len(
        scored_result("dev-003").scorecard.items)


def test_open_store_urls(tmp_path, monkeypatch):
    monkeypatch.delenv("CALLQA_DATABASE_URL", raising=False)
    store = open_store(sqlite_path=tmp_path / "sub" / "x.db")
    assert store.dialect == "sqlite" and "x.db" in repr(store)
    # The environment is the resolver's business (pipeline.paths), never the store's.
    monkeypatch.setenv("CALLQA_DATABASE_URL", str(tmp_path / "env.db"))
    assert "chosen.db" in repr(open_store(sqlite_path=tmp_path / "chosen.db"))
    assert open_store("postgresql://u@localhost/db").engine.dialect.driver == "psycopg"
    with pytest.raises(ConfigError, match="unsupported database backend"):
        open_store("mysql://u@localhost/db")


@pytest.mark.postgres
def test_concurrent_upgrades_on_postgresql_do_not_collide(tmp_path):
    import threading

    with store_url("postgresql", tmp_path) as url:
        stores = [open_store(url) for _ in range(3)]
        errors: list[BaseException] = []

        def upgrade(s):
            try:
                s.upgrade()
            except BaseException as e:  # noqa: BLE001 - collected and asserted below
                errors.append(e)

        threads = [threading.Thread(target=upgrade, args=(s,), daemon=True) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "upgrades blocked each other"
        assert errors == []
        assert {s.revision() for s in stores} == {HEAD_REVISION}
        for s in stores:
            s.dispose()


def test_call_times_are_stored_in_utc(store):
    store.upgrade()
    store.save_result(None, scored_result("dev-002", started_at="2026-11-03T10:30:00+01:00"), "/tmp/none.json")
    cards = review.list_cards(store=store, user="ann")
    assert cards[0].started_at.isoformat() == "2026-11-03T09:30:00+00:00"


def test_erase_removes_the_calls_rows_pseudonymises_its_access_log_and_records_it(store, tmp_path):
    import datetime as dt

    from pipeline.compliance import erase_call
    from pipeline.redact.audit import read_log, verify_log
    from pipeline.redact.keys import DEV_KEY, derive_audit_key
    from pipeline.store.models import AccessLogRow, ActionRow

    store.upgrade()
    run = store.record_run(pipeline_version="0.1.0", config_hash="f" * 64)
    for call_id in ("dev-003", "dev-002"):
        store.save_result(run, scored_result(call_id), "/tmp/none.json")
        review.show_card(store=store, user="ann", call_id=call_id)
        review.confirm_item(store=store, user="ann", call_id=call_id, item_id="greeting")
        review.add_action(store=store, user="ann", call_id=call_id, description="Open with the greeting.",
                          owner="ann", review_date=dt.date(2026, 12, 1))
        review.add_note(store=store, user="ann", call_id=call_id, kind="strength", text="Clear recap of next steps.")
    store.save_result(run, scored_result("dev-003"), "/tmp/none.json")  # a re-run: two results, two cards
    (tmp_path / "out" / "dev-003").mkdir(parents=True)
    (tmp_path / "out" / "dev-003" / "result.json").write_text("{}")
    log = tmp_path / "audit.jsonl"

    erased = erase_call("dev-003", tmp_path / "out", log, store, key=DEV_KEY)

    rows = erased.index_rows
    assert rows["calls"] == 1 and rows["results"] == 2 and rows["scorecards"] == 2 and rows["decisions"] == 1
    assert rows["items"] > 0 and rows["actions_detached"] == 1 and rows["access_log_pseudonymised"] >= 2
    assert rows["feedback_notes"] == 1
    with store.session() as s:
        for table in ("calls", "results", "scorecards"):
            assert s.scalar(text(f"SELECT count(*) FROM {table} WHERE call_id = 'dev-003'")) == 0
            assert s.scalar(text(f"SELECT count(*) FROM {table} WHERE call_id = 'dev-002'")) >= 1  # others untouched
        assert s.scalar(text("SELECT count(*) FROM decisions")) == 1
        assert s.scalar(text("SELECT count(*) FROM feedback_notes")) == 1  # dev-002's
        assert s.scalar(select(AccessLogRow).where(AccessLogRow.call_id == "dev-003").limit(1)) is None
        assert s.scalar(text("SELECT count(*) FROM access_log WHERE call_id LIKE 'erased:%'")) >= 2
        assert s.scalar(text("SELECT count(*) FROM actions WHERE call_id IS NULL")) == 1
        assert len(s.scalars(select(ActionRow)).all()) == 2
    assert not (tmp_path / "out" / "dev-003").exists()
    records = list(read_log(log))
    # The erasure record names the call but not the access log's reference: nothing links the two.
    assert [r.kind for r in records] == ["erasure"] and "erased:" not in records[0].reason
    assert erased.tombstones == 2 and "reference" not in erased.model_dump()  # call id + recording
    assert verify_log(log, derive_audit_key(DEV_KEY)).ok  # the chain under the key erase_call was given
    # Erasing again finds nothing more, and says so in the log.
    assert erase_call("dev-003", tmp_path / "out", log, store, key=DEV_KEY).index_rows["calls"] == 0


def test_cli_erase_finds_the_runs_sqlite_index_in_out(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pipeline.cli.compliance import app

    monkeypatch.delenv("CALLQA_DATABASE_URL", raising=False)
    out = tmp_path / "out"
    out.mkdir()
    store = open_store(sqlite_path=out / "callqa.db")
    store.upgrade()
    store.save_result(None, scored_result("dev-002"), "/tmp/none.json")
    store.dispose()
    erased = CliRunner().invoke(app, ["erase", "dev-002", "--out", str(out), "--audit-log", str(tmp_path / "a.jsonl"),
                                       "--allow-dev-key", "--no-prefect"])
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.output)["index_rows"]["calls"] == 1
    store = open_store(sqlite_path=out / "callqa.db")
    with store.session() as s:
        assert s.scalar(text("SELECT count(*) FROM calls")) == 0
    store.dispose()
