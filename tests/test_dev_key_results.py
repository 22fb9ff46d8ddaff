"""Results made with the public development key are marked, and exports and the web app refuse
them unless explicitly allowed (issue #16)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _score_support import scored_result, write_result
from _web_support import PASSWORD, login, make_app
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pipeline import review
from pipeline.cli import app as cli_app
from pipeline.errors import ReviewError
from pipeline.redact.keys import DEV_KEY, audit_key, derive_audit_key, is_dev_key_id, key_id
from pipeline.schema import DEV_KEY_FLAG
from pipeline.store import open_store
from pipeline.web.settings import ResultsOptions
from pipeline.web.users import add_user
from tests._paths import SAMPLE_CALLS

REAL_KEY = b"a-real-site-key-0123456789"


def test_key_ids_mark_the_development_key_and_say_nothing_of_a_real_one(monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_dev_key_id(key_id(DEV_KEY)) and is_dev_key_id(derive_audit_key(DEV_KEY).key_id)
    real = key_id(REAL_KEY)
    assert not is_dev_key_id(real) and real != key_id(b"another-real-key-0123456789")
    assert REAL_KEY.decode() not in real and len(real) <= 16
    # The audit key is its own: derived with a label, so it differs from the redaction key and its id.
    assert derive_audit_key(REAL_KEY).secret != REAL_KEY and derive_audit_key(REAL_KEY).key_id != real
    monkeypatch.setenv("CALLQA_AUDIT_KEY", "a-separate-audit-key-0123456789")
    assert audit_key().secret == b"a-separate-audit-key-0123456789"
    assert "a-separate" not in repr(audit_key())  # the secret never shows in a repr


def _dev(result):
    return result.model_copy(update={
        "flags": [*result.flags, DEV_KEY_FLAG],
        "pipeline": result.pipeline.model_copy(update={"redaction_key_id": key_id(DEV_KEY)})})


@pytest.fixture()
def site(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'callqa.db'}")
    store.upgrade()
    out = tmp_path / "out"
    run = store.record_run(pipeline_version="test", config_hash="a" * 64)
    for result in (scored_result("dev-001"), _dev(scored_result("dev-002"))):
        store.save_result(run, result, write_result(result, out))
    yield store, out
    store.dispose()


def test_exports_refuse_development_key_results_unless_allowed(site, tmp_path: Path) -> None:
    store, _ = site
    target = tmp_path / "cards.csv"
    with pytest.raises(ReviewError) as caught:
        review.export_period(store=store, user="ann", since=None, until=None, fmt="csv", out_path=target)
    assert caught.value.reason == "dev_key" and "development key" in str(caught.value) and "dev-002" in str(caught.value)
    assert not target.exists()
    review.export_period(store=store, user="ann", since=None, until=None, fmt="csv", out_path=target,
                         allow_dev_key=True)
    assert "dev-002" in target.read_text() and "dev-001" in target.read_text()
    with pytest.raises(ReviewError):
        review.export_html(store=store, user="ann", call_id="dev-002", out_path=tmp_path / "c.html")
    assert review.export_html(store=store, user="ann", call_id="dev-001", out_path=tmp_path / "c.html").is_file()


def test_cli_export_refuses_them_with_a_clear_message(site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, _ = site
    monkeypatch.setenv("CALLQA_USER", "ann")
    db = str(store.engine.url.database)
    runner = CliRunner()
    refused = runner.invoke(cli_app, ["review", "export", "--csv", str(tmp_path / "x.csv"), "--database-url", db])
    assert refused.exit_code == 3 and "development key" in refused.output and "--allow-dev-key" in refused.output
    allowed = runner.invoke(cli_app, ["review", "export", "--csv", str(tmp_path / "x.csv"), "--database-url", db,
                                      "--allow-dev-key"])
    assert allowed.exit_code == 0, allowed.output


def test_web_app_refuses_them_unless_the_config_allows(site) -> None:
    store, out = site
    add_user(store=store, actor="test", username="ann", password=PASSWORD, role="assessor", agent_id=None)
    client = TestClient(make_app(store, out))
    assert login(client, "ann").status_code == 303
    assert client.get("/calls/dev-001").status_code == 200
    page = client.get("/calls/dev-002")
    assert page.status_code == 403 and "development key" in page.text
    assert client.get("/api/calls/dev-002").status_code == 403
    allowing = TestClient(make_app(store, out, results=ResultsOptions(allow_dev_key=True)))
    assert login(allowing, "ann").status_code == 303
    assert allowing.get("/calls/dev-002").status_code == 200


@pytest.mark.slow
def test_a_run_with_the_development_key_marks_its_results_and_audit_records(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A transcript run (~5 s: the analyser and detectors load): results and records carry dev ids,
    the log's head is anchored in the run's index, and `audit verify --out` passes, noting the key."""
    for name in ("CALLQA_REDACTION_KEY", "CALLQA_AUDIT_KEY", "CALLQA_DATABASE_URL", "CALLQA_AUDIT_LOG", "CALLQA_OUT"):
        monkeypatch.delenv(name, raising=False)
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(SAMPLE_CALLS / "sample-005.transcript.json", inputs)
    out = tmp_path / "out"
    runner = CliRunner()
    ran = runner.invoke(cli_app, ["run", str(inputs), "--out", str(out), "--allow-dev-key"])
    assert ran.exit_code == 0, ran.output
    result = json.loads((out / "sample-005" / "result.json").read_text())
    assert is_dev_key_id(result["pipeline"]["redaction_key_id"]) and DEV_KEY_FLAG in result["flags"]
    records = [json.loads(line) for line in (out / "audit" / "redaction.jsonl").read_text().splitlines()]
    assert records and all(is_dev_key_id(r["key_id"]) for r in records) and records[-1]["kind"] == "call"
    verified = runner.invoke(cli_app, ["audit", "verify", "--out", str(out), "--allow-dev-key"])
    assert verified.exit_code == 0, verified.output
    assert f"anchored in the results index ({len(records)})" in verified.output and "development key" in verified.output
    no_key = runner.invoke(cli_app, ["audit", "verify", "--out", str(out)])
    assert no_key.exit_code == 2 and "CALLQA_REDACTION_KEY" in no_key.output
