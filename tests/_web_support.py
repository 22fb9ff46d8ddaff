"""Test support for the web app: a store of scored dev calls, accounts, a logged-in client."""

from __future__ import annotations

import re
from pathlib import Path

from _score_support import scored_result, write_result

from pipeline.store import Store, open_store
from pipeline.web.app import create_app
from pipeline.web.settings import load_web_settings
from pipeline.web.users import add_user

PASSWORD = "correct horse battery"
SECRET_ENV = {"CALLQA_WEB_SECRET": "s" * 48}

# (call, agent, started): two agents, so that isolation between them can be tested. Both are in
# TEAM, the team of the team leader "tia" (tests/test_web_teams.py tests isolation between teams).
TEAM = "team-1"
CALLS = [
    ("dev-001", "agent-01", "2026-11-02T09:00:00Z"),
    ("dev-005", "agent-02", "2026-11-04T09:00:00Z"),
]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def load_store(url: str, out_dir: Path, calls=CALLS) -> Store:
    store = open_store(url)
    store.upgrade()
    run = store.record_run(pipeline_version="0.1.0", config_hash="a" * 64)
    for call_id, agent, started in calls:
        result = scored_result(call_id, agent_id=agent, started_at=started)
        result = result.model_copy(update={"metadata": result.metadata.model_copy(update={"team_id": TEAM})})
        store.save_result(run, result, write_result(result, out_dir))
    return store


def add_accounts(store: Store) -> None:
    for name, role, agent in [("ann", "assessor", None), ("bob", "assessor", None), ("tia", "team_leader", None),
                              ("ag1", "agent", "agent-01"), ("ag2", "agent", "agent-02"),
                              ("aud", "auditor", None), ("adm", "admin", None)]:
        add_user(store=store, actor="test", username=name, password=PASSWORD, role=role, agent_id=agent,
                 team_id=TEAM if role == "team_leader" else None)


def make_app(store: Store, out_dir: Path, **options):
    settings = load_web_settings(out_dir=out_dir, database_url=str(store.engine.url), environ=SECRET_ENV)
    if options:
        settings = settings.model_copy(update={"options": settings.options.model_copy(update=options)})
    return create_app(settings, store=store)


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(page.text)}, follow_redirects=False)
