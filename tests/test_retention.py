"""Retention (pipeline.retention, `callqa retention apply`): what is past its period goes, with a
counts-only audit record and a tombstone; a dry run changes nothing; the options are validated."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text

from pipeline.compliance import is_erased
from pipeline.errors import ConfigError
from pipeline.redact.audit import read_log
from pipeline.redact.keys import DEV_KEY
from pipeline.redact.options import RetentionOptions
from pipeline.retention import apply_retention
from pipeline.store import open_store
from tests._score_support import scored_result, write_result

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)  # the CLI counts from the real clock


@pytest.fixture
def site(tmp_path):
    """Three calls: started 120 (dev-001), 40 (dev-002) and 5 (dev-003) days before NOW, each in out/
    and in the index."""
    out = tmp_path / "out"
    store = open_store(sqlite_path=out / "callqa.db")
    store.upgrade()
    ages = {"dev-001": 120, "dev-002": 40, "dev-003": 5}
    for call_id, days in ages.items():
        started = (NOW - dt.timedelta(days=days)).isoformat().replace("+00:00", "Z")
        result = scored_result(call_id, started_at=started)
        path = write_result(result, out)
        (path.parent / "audio.redacted.wav").write_bytes(b"RIFF")
        store.save_result(None, result, path)
    yield out, store, tmp_path / "audit.jsonl"
    store.dispose()


def test_apply_removes_what_is_past_each_period_and_records_counts_only(site):
    out, store, log = site
    options = RetentionOptions(results_days=90, redacted_audio_days=30, index_days=100)

    dry = apply_retention(options, out, log, store, key=None, dry_run=True, now=NOW)
    assert (dry.results, dry.redacted_audio, dry.index_calls) == (1, 1, 1)
    assert (out / "dev-001").is_dir() and not log.exists()  # a dry run changes nothing

    done = apply_retention(options, out, log, store, key=DEV_KEY, now=NOW)
    assert (done.results, done.redacted_audio, done.index_calls) == (1, 1, 1)
    assert not (out / "dev-001").exists()
    assert not (out / "dev-002" / "audio.redacted.wav").exists() and (out / "dev-002" / "result.json").is_file()
    assert (out / "dev-003" / "audio.redacted.wav").is_file()
    with store.session() as s:
        assert {r[0] for r in s.execute(text("SELECT call_id FROM calls"))} == {"dev-002", "dev-003"}
    # The removed result cannot come back from the incoming folder: it has a tombstone.
    assert is_erased(store, DEV_KEY, "dev-001", None) and not is_erased(store, DEV_KEY, "dev-003", None)
    records = list(read_log(log))
    assert [r.kind for r in records] == ["retention"] * 3 and done.audit_records == 3
    assert all(r.call_id is None for r in records)
    assert not any(c in json.dumps([r.model_dump() for r in records]) for c in ("dev-001", "dev-002", "dev-003"))
    # Applied again: nothing more is past its period.
    again = apply_retention(options, out, log, store, key=DEV_KEY, now=NOW)
    assert (again.results, again.redacted_audio, again.index_calls, again.audit_records) == (0, 0, 0, 0)


def test_no_periods_keep_everything(site):
    out, store, log = site
    report = apply_retention(RetentionOptions(), out, log, store, key=DEV_KEY, now=NOW)
    assert (report.results, report.redacted_audio, report.index_calls) == (0, 0, 0)
    assert len(list(p for p in out.iterdir() if p.is_dir())) == 3


def test_options_are_validated():
    with pytest.raises(ValueError):
        RetentionOptions(results_days=30, redacted_audio_days=60)
    with pytest.raises(ValueError):
        RetentionOptions(results_days=0)


def test_a_site_config_with_an_unknown_retention_key_is_refused(tmp_path):
    from pipeline.settings import load_settings

    (tmp_path / "site.yaml").write_text("stages:\n  redaction:\n    retention:\n      results_dayz: 30\n")
    with pytest.raises(ConfigError, match="results_dayz"):
        load_settings(tmp_path / "site.yaml")


def test_cli_retention_apply_dry_run_then_apply(site, monkeypatch):
    from typer.testing import CliRunner

    from pipeline.cli.app import app

    out, store, log = site
    monkeypatch.delenv("CALLQA_DATABASE_URL", raising=False)
    site_yaml = out.parent / "site.yaml"
    site_yaml.write_text("stages:\n  redaction:\n    retention:\n      results_days: 1\n")
    args = ["retention", "apply", "--out", str(out), "--config", str(site_yaml), "--audit-log", str(log), "--json"]
    dry = CliRunner().invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["results"] == 3 and (out / "dev-003").is_dir()
    applied = CliRunner().invoke(app, args)
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.output)["results"] == 3
    assert [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")] == []
