"""One resolver (pipeline.paths): flag > environment > site config > default under --out, for the
results index and the audit log; the runner, the flows' folders and the web app all use it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from pipeline.config import OutputOptions
from pipeline.paths import open_index, resolve_paths
from pipeline.settings import load_settings
from pipeline.web.settings import load_web_settings

ENV = {"CALLQA_OUT": "/env/out", "CALLQA_DATABASE_URL": "postgresql://u@db/env",
       "CALLQA_AUDIT_LOG": "/env/audit.jsonl"}
CONFIG = OutputOptions(database_url="/site/index.db", audit_log="/site/audit.jsonl")


@pytest.mark.parametrize(
    ("flags", "environ", "output", "expected", "source"),
    [
        ({"out_dir": "/flag/out", "database_url": "/flag/x.db", "audit_log": "/flag/a.jsonl"}, ENV, CONFIG,
         ("/flag/out", "/flag/x.db", "/flag/a.jsonl"), "flag"),
        ({}, ENV, CONFIG, ("/env/out", "postgresql://u@db/env", "/env/audit.jsonl"), "environment"),
        ({"out_dir": "/flag/out"}, {}, CONFIG, ("/flag/out", "/site/index.db", "/site/audit.jsonl"), "config"),
        ({"out_dir": "/flag/out"}, {}, None,
         ("/flag/out", "/flag/out/callqa.db", "/flag/out/audit/redaction.jsonl"), "default"),
    ],
    ids=["flag", "environment", "config", "default"],
)
def test_one_precedence_order(flags, environ, output, expected, source):
    paths = resolve_paths(flags.pop("out_dir", None), **flags, output=output, environ=environ)
    assert (str(paths.out_dir), paths.database_url, str(paths.audit_log)) == expected
    assert paths.sources["database_url"] == source and paths.sources["audit_log"] == source


def test_defaults_follow_out_and_name_every_folder():
    paths = resolve_paths(None, environ={})
    assert paths.out_dir == Path("out") and paths.sqlite_path == Path("out/callqa.db")
    assert paths.audit_log == Path("out/audit/redaction.jsonl")
    assert paths.quarantine_dir == Path("out/quarantine") and paths.run_report == Path("out/run-report.json")
    assert paths.cache_dir == Path("out/.callqa/cache") and paths.shards_dir == Path("out/.callqa/shards")
    assert paths.web_secret_file == Path("out/.web-secret")
    assert resolve_paths("o", database_url="postgresql://u@db/x", environ={}).sqlite_path is None


def test_absolute_keeps_server_urls_and_resolves_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    local = resolve_paths("out", environ={}).absolute()
    assert local.out_dir == tmp_path / "out" and local.database_url == str(tmp_path / "out" / "callqa.db")
    assert local.audit_log == tmp_path / "out" / "audit" / "redaction.jsonl"
    server = resolve_paths("out", database_url="postgresql://u@db/x", environ={}).absolute()
    assert server.database_url == "postgresql://u@db/x"


def test_describe_never_prints_a_password():
    described = resolve_paths("o", database_url="postgresql://user:s3cret@db/x", environ={}).describe()
    assert "s3cret" not in described["database_url"] and "(flag)" in described["database_url"]


def test_site_config_output_paths_are_relative_to_the_site_file(tmp_path, monkeypatch):
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    site = site_dir / "callqa.yaml"
    site.write_text("output:\n  database_url: index/callqa.db\n  audit_log: logs/audit.jsonl\n")
    monkeypatch.chdir(tmp_path)  # not the site folder: relative paths must not follow the cwd
    output = load_settings(site).core.output
    paths = resolve_paths("out", output=output, environ={})
    assert paths.database_url == str(site_dir / "index" / "callqa.db")
    assert paths.audit_log == site_dir / "logs" / "audit.jsonl"
    assert paths.sources["database_url"] == paths.sources["audit_log"] == "config"

    site.write_text("output:\n  database_url: sqlite:///rel.db\n")
    assert load_settings(site).core.output.database_url == f"sqlite:///{site_dir / 'rel.db'}"
    site.write_text("output:\n  database_url: postgresql://u@db/site\n")
    assert load_settings(site).core.output.database_url == "postgresql://u@db/site"  # a server: untouched


def test_open_index_opens_and_upgrades_what_was_resolved(tmp_path):
    paths = resolve_paths(tmp_path / "out", environ={"CALLQA_DATABASE_URL": str(tmp_path / "env" / "idx.db")})
    store = open_index(paths)
    try:
        assert (tmp_path / "env" / "idx.db").is_file() and not (tmp_path / "out" / "callqa.db").exists()
        assert {"runs", "calls", "results", "scorecards"} <= set(inspect(store.engine).get_table_names())
    finally:
        store.dispose()


def test_web_settings_resolve_like_every_command(tmp_path):
    environ = {"CALLQA_AUDIT_LOG": str(tmp_path / "env-audit.jsonl")}
    web = load_web_settings(out_dir=tmp_path / "out", environ=environ)
    assert web.audit_log == tmp_path / "env-audit.jsonl"  # the environment, as for `callqa run`
    assert web.database_url == str(tmp_path / "out" / "callqa.db")
    secret = tmp_path / "out" / ".web-secret"
    assert secret.is_file() and (secret.stat().st_mode & 0o077) == 0
    # Given resolved paths, the app uses exactly those (and the same secret file again).
    paths = resolve_paths(tmp_path / "out", database_url="postgresql://u@db/x", environ={})
    again = load_web_settings(paths, environ={})
    assert again.database_url == "postgresql://u@db/x" and again.secret == web.secret
