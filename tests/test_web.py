"""The review web app without a browser (FastAPI TestClient): authentication, CSRF, roles, decisions."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import soundfile as sf
from _score_support import store_url
from _web_support import PASSWORD, add_accounts, csrf_token, load_store, login, make_app
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from pipeline.cli import app as cli_app
from pipeline.store import open_store
from pipeline.store.models import AccessLogRow, DecisionRow, UserRow
from pipeline.web.settings import LoginOptions, SessionOptions
from pipeline.web.users import add_user


@pytest.fixture(scope="module")
def template_site(tmp_path_factory):
    """Scoring the cards and hashing seven passwords takes seconds: do it once, copy it per test."""
    root = tmp_path_factory.mktemp("web-site")
    store = load_store(f"sqlite:///{root / 'callqa.db'}", root / "out")
    add_accounts(store)
    store.dispose()
    return root


@pytest.fixture
def site(template_site, tmp_path):
    shutil.copy(template_site / "callqa.db", tmp_path / "callqa.db")
    shutil.copytree(template_site / "out", tmp_path / "out")
    store = open_store(f"sqlite:///{tmp_path / 'callqa.db'}")
    yield store, tmp_path / "out"
    store.dispose()


def client_for(site, username: str | None = None, **options) -> TestClient:
    store, out = site
    client = TestClient(make_app(store, out, **options))
    if username:
        assert login(client, username).status_code == 303
    return client


def _log(store, **where):
    with store.session() as s:
        query = select(AccessLogRow).order_by(AccessLogRow.id)
        for key, value in where.items():
            query = query.where(getattr(AccessLogRow, key) == value)
        return list(s.scalars(query))


def _decisions(store, call_id="dev-001"):
    with store.session() as s:
        return list(s.scalars(select(DecisionRow).order_by(DecisionRow.id)))


# -------------------------------------------------------------------------------- accounts


def test_passwords_are_stored_as_argon2id_hashes(site):
    store, _ = site
    with store.session() as s:
        hashes = [u.password_hash for u in s.scalars(select(UserRow))]
    assert hashes and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)
    assert len(set(hashes)) == len(hashes)  # salted


def test_login_sets_a_hardened_session_cookie_and_logout_ends_it(site):
    client = client_for(site)
    response = login(client, "ann")
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "callqa_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # off for http://127.0.0.1 development by default
    assert client.get("/queue").status_code == 200
    token = csrf_token(client.get("/queue").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/queue", follow_redirects=False).headers["location"] == "/login"


def test_secure_cookies_option_marks_the_cookie_secure(site):
    client = client_for(site, session=SessionOptions(secure_cookies=True, same_site="strict"))
    cookie = login(client, "ann").headers["set-cookie"]
    assert "Secure" in cookie and "SameSite=strict" in cookie


def test_wrong_password_and_unknown_user_are_refused_alike(site):
    client = client_for(site)
    wrong = login(client, "ann", "not the password")
    unknown = login(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "callqa_session" not in wrong.headers.get("set-cookie", "")


def test_login_without_or_with_a_forged_csrf_token_is_refused(site):
    client = client_for(site)
    client.get("/login")
    for token in ("", "0" * 64):
        response = client.post("/login", data={"username": "ann", "password": PASSWORD, "csrf_token": token},
                               follow_redirects=False)
        assert response.status_code == 403


def test_login_rate_limit_holds_even_for_the_right_password(site):
    client = client_for(site, login=LoginOptions(max_failures=3, window_minutes=15))
    for _ in range(3):
        assert login(client, "ann", "wrong password!").status_code == 401
    limited = login(client, "ann")
    assert limited.status_code == 429 and "too many failed logins" in limited.text
    # The same address trying another account is limited too (counted per client address).
    assert login(client, "bob").status_code == 429


def test_rate_limit_is_counted_in_the_database_across_app_instances(site):
    options = {"login": LoginOptions(max_failures=2, window_minutes=15)}
    first, second = client_for(site, **options), client_for(site, **options)
    assert login(first, "ann", "wrong password!").status_code == 401
    assert login(second, "ann", "wrong password!").status_code == 401
    assert login(first, "ann").status_code == 429


def test_users_cli_reads_the_password_from_stdin_and_manages_roles(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "callqa.db")
    secret = "a long enough password"
    added = runner.invoke(cli_app, ["users", "add", "Carol", "--role", "assessor", "--database-url", db], input=secret + "\n")
    assert added.exit_code == 0, added.output
    short = runner.invoke(cli_app, ["users", "add", "dan", "--role", "assessor", "--database-url", db], input="short\n")
    assert short.exit_code == 3 and "at least 10 characters" in short.output
    agent = runner.invoke(cli_app, ["users", "add", "eve", "--role", "agent", "--database-url", db], input=secret + "\n")
    assert agent.exit_code == 3 and "--agent-id" in agent.output
    assert runner.invoke(cli_app, ["users", "role", "carol", "team_leader", "--database-url", db]).exit_code == 0
    listed = runner.invoke(cli_app, ["users", "list", "--database-url", db])
    assert "carol\tteam_leader" in listed.output and secret not in listed.output
    assert runner.invoke(cli_app, ["users", "remove", "carol", "--database-url", db]).exit_code == 0
    store = open_store(db)
    with store.session() as s:
        assert s.scalars(select(UserRow)).first() is None
    assert {e.action for e in _log(store)} >= {"user_add", "user_role", "user_remove"}
    store.dispose()


# -------------------------------------------------------------------------------- CSRF


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_decisions_without_the_sessions_csrf_token_are_refused_and_not_recorded(site, token):
    store, _ = site
    client = client_for(site, "ann")
    data = {} if token is None else {"csrf_token": token}
    response = client.post("/calls/dev-001/items/lass_apologise/confirm", data=data)
    assert response.status_code == 403
    assert client.post("/calls/dev-001/finalise", data=data).status_code == 403
    assert _decisions(store) == []


def test_another_sessions_csrf_token_does_not_work(site):
    store, _ = site
    bob = client_for(site, "bob")
    bobs_token = csrf_token(bob.get("/queue").text)
    ann = client_for(site, "ann")
    assert ann.post("/calls/dev-001/items/lass_apologise/confirm", data={"csrf_token": bobs_token}).status_code == 403
    assert _decisions(store) == []


# ----------------------------------------------------------------------------- role isolation


def _wav(out, call_id, seconds=3.0):
    path = out / call_id / "audio.redacted.wav"
    sf.write(path, np.zeros(int(16000 * seconds), dtype=np.int16), 16000, subtype="PCM_16")
    return path


def test_an_agent_cannot_open_another_agents_call_by_url_api_or_audio(site):
    store, out = site
    _wav(out, "dev-001")
    _wav(out, "dev-005")
    agent = client_for(site, "ag1")
    for path in ("/calls/dev-005", "/api/calls/dev-005", "/calls/dev-005/audio", "/agents/agent-02"):
        assert agent.get(path).status_code == 404, path
    token = csrf_token(agent.get("/queue").text)
    assert agent.post("/calls/dev-005/self-assess", data={"csrf_token": token, "mark-lass_listen": "yes"}
                      ).status_code == 404
    queue = agent.get("/queue?show=all&agent=agent-02").text
    assert "dev-005" not in queue and "dev-001" in queue and "<th>Score</th>" not in queue
    assert agent.get("/calls/dev-001").status_code == 200
    assert agent.get("/calls/dev-001/audio").status_code == 200
    denied = _log(store, action="denied", who="ag1")
    assert [d.call_id for d in denied if d.call_id] == ["dev-005"] * 4 and len(denied) == 5


def test_an_agent_cannot_decide_or_finalise(site):
    store, _ = site
    agent = client_for(site, "ag1")
    token = csrf_token(agent.get("/calls/dev-001").text)
    assert agent.post("/calls/dev-001/items/lass_apologise/confirm", data={"csrf_token": token}).status_code == 403
    assert agent.post("/calls/dev-001/finalise", data={"csrf_token": token}).status_code == 403
    assert _decisions(store) == []


def test_auditor_sees_the_redaction_audit_and_access_log_but_no_scorecards(site):
    assert client_for(site, "ann").get("/calls/dev-001").status_code == 200
    auditor = client_for(site, "aud")
    for path in ("/queue", "/calibration", "/agents/agent-01"):
        assert auditor.get(path).status_code == 403, path
    for path in ("/calls/dev-001", "/api/calls/dev-001"):
        assert auditor.get(path).status_code == 404, path
    assert auditor.get("/audit").status_code == 200
    log_page = auditor.get("/access-log?call=dev-001").text
    assert re.search(r"<td>ann</td><td>view</td>\s*<td>dev-001</td>", log_page)
    assert client_for(site, "ann").get("/access-log").status_code == 403
    assert client_for(site, "ann").get("/audit").status_code == 403


def test_team_leader_reads_cards_and_adds_actions_but_cannot_decide(site):
    store, _ = site
    leader = client_for(site, "tia")
    page = leader.get("/calls/dev-001")
    assert page.status_code == 200 and "/confirm" not in page.text
    token = csrf_token(page.text)
    assert leader.post("/calls/dev-001/items/lass_apologise/confirm", data={"csrf_token": token}).status_code == 403
    added = leader.post("/calls/dev-001/actions", data={
        "csrf_token": token, "description": "Summarise the agreed next steps before closing", "owner": "tia",
        "review_date": "2026-12-01"})
    assert added.status_code == 200 and "Summarise the agreed next steps" in added.text
    assert "Summarise the agreed next steps" in leader.get("/agents/agent-01").text


def test_unauthenticated_pages_redirect_to_login_and_the_api_answers_401(site):
    client = client_for(site)
    assert client.get("/calls/dev-001", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/calls/dev-001").status_code == 401
    assert client.get("/calls/dev-001/audio", follow_redirects=False).status_code == 303


# ----------------------------------------------------------------------------- review flow


def _items(client, call_id="dev-001"):
    return client.get(f"/api/calls/{call_id}").json()["card"]["items"]


def test_confirm_override_finalise_through_the_web_record_who_did_what(site):
    store, _ = site
    ann = client_for(site, "ann")
    token = csrf_token(ann.get("/calls/dev-001").text)
    refused = ann.post("/calls/dev-001/items/lass_apologise/override", data={
        "csrf_token": token, "value": "no", "reason": "  "})
    assert refused.status_code == 409 and "needs a reason" in refused.text
    early = ann.post("/calls/dev-001/finalise", data={"csrf_token": token})
    assert early.status_code == 409 and "still pending" in early.text
    for item in _items(ann):
        if item["suggestion"]:
            ann.post(f"/calls/dev-001/items/{item['id']}/confirm", data={"csrf_token": token})
        else:
            ann.post(f"/calls/dev-001/items/{item['id']}/override",
                     data={"csrf_token": token, "value": "yes", "reason": "heard on the recording"})
    done = ann.post("/calls/dev-001/finalise", data={"csrf_token": token})
    assert done.status_code == 200 and 'class="status finalised"' in done.text
    assert ann.get("/api/calls/dev-001").json()["summary"]["status"] == "finalised"
    actions = [(e.who, e.action) for e in _log(store, call_id="dev-001")]
    assert ("ann", "view") in actions and ("ann", "confirm") in actions and ("ann", "finalise") in actions
    assert all(d.who == "ann" for d in _decisions(store))


def test_agent_self_assesses_before_seeing_the_assessors_marks(site):
    ann = client_for(site, "ann")
    token = csrf_token(ann.get("/calls/dev-001").text)
    ann.post("/calls/dev-001/items/lass_apologise/override",
             data={"csrf_token": token, "value": "no", "reason": "the apology came late"})
    agent = client_for(site, "ag1")
    before = agent.get("/calls/dev-001").text
    assert 'id="self-assess"' in before and "the apology came late" not in before
    assert agent.get("/api/calls/dev-001").json()["history"] == {}
    submitted = agent.post("/calls/dev-001/self-assess",
                           data={"csrf_token": csrf_token(before), "mark-lass_apologise": "yes"})
    assert submitted.status_code == 200
    assert 'id="self-assess"' not in submitted.text and "the apology came late" in submitted.text


def test_user_text_is_escaped(site):
    ann = client_for(site, "ann")
    token = csrf_token(ann.get("/calls/dev-001").text)
    ann.post("/calls/dev-001/items/lass_apologise/override",
             data={"csrf_token": token, "value": "no", "reason": "<script>alert(1)</script>"})
    page = ann.get("/calls/dev-001")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_calibration_is_blind_until_the_session_closes_then_side_by_side_with_alpha(site):
    for name, value in (("ann", "yes"), ("bob", "no")):
        client = client_for(site, name)
        token = csrf_token(client.get("/calibration?calls=dev-001").text)
        assert client.post("/calls/dev-001/marks", data={"csrf_token": token, "mark-lass_apologise": value,
                                                         "mark-lass_listen": "yes"}).status_code == 200
    # ann has marked two items, not all: bob's marks and the agreement stay hidden from her.
    blind = client_for(site, "ann").get("/calibration?calls=dev-001").text
    assert 'id="blind"' in blind and "Raters: ann, bob" not in blind
    assert '<td class="mark">no</td>' not in blind and '<td class="mark">yes</td>' in blind
    tia = client_for(site, "tia")
    token = csrf_token(tia.get("/calibration?calls=dev-001").text)
    assert tia.post("/calibration/sessions", data={"csrf_token": token, "name": "round-1",
                                                   "calls": "dev-001"}).status_code == 200
    assert client_for(site, "ann").post("/calibration/sessions/round-1/close",
                                        data={"csrf_token": token}).status_code == 403  # assessors may not
    page = tia.post("/calibration/sessions/round-1/close", data={"csrf_token": token}).text
    assert "Raters: ann, bob" in page and "marks locked" in page
    row = re.search(r"<tr><td>[^<]*apolog[^<]*</td>\s*<td class=\"mark\">(\w+)</td><td class=\"mark\">(\w+)</td>",
                    page, re.I)
    assert row and row.groups() == ("yes", "no")
    assert "overall agreement <b>50%</b>" in page and "Krippendorff's alpha (ordinal)" in page
    bob = client_for(site, "bob")
    token = csrf_token(bob.get("/calibration?calls=dev-001").text)
    late = bob.post("/calls/dev-001/marks", data={"csrf_token": token, "mark-lass_apologise": "yes"})
    assert late.status_code >= 400 and "locked" in late.text


# ---------------------------------------------------------------------------------- audio


def test_audio_supports_range_requests_and_serves_only_the_redacted_file(site):
    _, out = site
    path = _wav(out, "dev-001")
    (out / "dev-001" / "audio.wav").write_bytes(b"original")
    ann = client_for(site, "ann")
    whole = ann.get("/calls/dev-001/audio")
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert whole.content == path.read_bytes()
    part = ann.get("/calls/dev-001/audio", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and len(part.content) == 1000
    assert part.headers["content-range"] == f"bytes 1000-1999/{path.stat().st_size}"
    assert part.content == path.read_bytes()[1000:2000]
    for bad in ("/calls/..%2Fdev-001/audio", "/calls/dev-005/audio", "/calls/dev-001%2Faudio.wav/audio"):
        assert ann.get(bad).status_code == 404, bad


# ----------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_login_sessions_and_rate_limit_on_postgresql(tmp_path):
    with store_url("postgresql", tmp_path) as url:
        store = load_store(url, tmp_path / "out")
        add_accounts(store)
        try:
            site = (store, tmp_path / "out")
            client = client_for(site, login=LoginOptions(max_failures=2, window_minutes=15))
            assert login(client, "ann").status_code == 303
            assert client.get("/calls/dev-001").status_code == 200
            other = client_for(site, login=LoginOptions(max_failures=2, window_minutes=15))
            for _ in range(2):
                assert login(other, "bob", "wrong password!").status_code == 401
            assert login(other, "bob").status_code == 429
        finally:
            store.dispose()


def test_feedback_notes_are_shown_to_the_agent_only_after_self_assessment(site):
    store, _ = site
    leader = client_for(site, "tia")
    token = csrf_token(leader.get("/calls/dev-001").text)
    assert leader.post("/calls/dev-001/notes", data={"csrf_token": token, "kind": "sideways", "text": "x"}
                       ).status_code == 409
    added = leader.post("/calls/dev-001/notes", data={
        "csrf_token": token, "kind": "development", "text": "Recap the repair date before closing the call"})
    assert added.status_code == 200 and "Recap the repair date before closing the call" in added.text
    agent = client_for(site, "ag1")
    before = agent.get("/calls/dev-001").text
    assert "Recap the repair date" not in before
    assert agent.post("/calls/dev-001/notes", data={"csrf_token": csrf_token(before), "kind": "strength",
                                                    "text": "I was great"}).status_code == 403
    after = agent.post("/calls/dev-001/self-assess", data={"csrf_token": csrf_token(before),
                                                           "mark-lass_apologise": "yes"}).text
    assert "Recap the repair date before closing the call" in after and "I was great" not in after
    assert [e.who for e in _log(store, action="note_add")] == ["tia"]


def test_the_queue_filters_on_the_pipelines_residual_pii_flag(tmp_path):
    from _score_support import scored_result, write_result

    store = load_store(f"sqlite:///{tmp_path / 'callqa.db'}", tmp_path / "out", calls=[])
    result = scored_result("dev-003", agent_id="agent-01").model_copy(update={"flags": ["residual_pii"]})
    store.save_result(None, result, write_result(result, tmp_path / "out"))
    add_user(store=store, actor="test", username="ann", password=PASSWORD, role="assessor")
    client = client_for((store, tmp_path / "out"), "ann")
    page = client.get("/queue?show=flagged&flag=residual_pii").text
    assert 'data-call="dev-003"' in page and '<span class="flag">residual_pii</span>' in page
    store.dispose()
