"""The review web app in a real browser: Playwright driving Debian's chromium (/usr/bin/chromium).

The site is the real pipeline's output for the bundled sample-001 (audio, redacted audio,
result.json, audit log, results index) plus copies of its result for two agents (the
isolation checks, each in its own team) and a team leader of the first team; the app runs
under uvicorn on a free port. Screenshots go to
$CALLQA_TEST_ARTIFACTS/web (default test-artifacts/web, git-ignored) for CI to keep.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from _web_support import SECRET_ENV
from typer.testing import CliRunner

from pipeline.cli import app as cli_app
from pipeline.ingest import discover_inputs
from pipeline.run import run_batch
from pipeline.schema import CallResult
from pipeline.settings import load_settings
from pipeline.store import open_store
from pipeline.web.app import create_app
from pipeline.web.settings import load_web_settings
from pipeline.web.users import add_user
from tests._paths import REPO, SAMPLE_CALLS as SAMPLES

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CALLQA_TEST_ARTIFACTS", REPO / "test-artifacts")) / "web"
NEW_USER, NEW_PASSWORD = "new.assessor", "a fresh password 42"
AGENT_PASSWORD = "agent password 42"
OWN_CALL, OTHER_CALL = "call-agent-01", "call-agent-02"
TEAM, OTHER_TEAM = "team-north", "team-south"  # OWN_CALL's and OTHER_CALL's; sample-001 has none
LEADER, LEADER_PASSWORD = "lead.north", "leader password 42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Run the pipeline on sample-001, add a call for each of two agents and accounts, serve the app."""
    import uvicorn

    root = tmp_path_factory.mktemp("web-browser")
    inputs, out = root / "inputs", root / "out"
    inputs.mkdir()
    for name in ("sample-001.flac", "sample-001.json"):
        shutil.copy(SAMPLES / name, inputs / name)
    summary = run_batch(discover_inputs([inputs]), out, load_settings())
    assert [o.status for o in summary.outcomes] == ["done"], summary.to_json()
    assert (out / "sample-001" / "audio.redacted.wav").is_file()
    store = open_store(str(out / "callqa.db"))
    # Two more calls, one per agent, for the isolation checks: copies of the sample's redacted
    # result under other ids (so no page ever shows unredacted text, not even in a test).
    sample = CallResult.model_validate_json((out / "sample-001" / "result.json").read_text(encoding="utf-8"))
    for call_id, agent, team in ((OWN_CALL, "agent-01", TEAM), (OTHER_CALL, "agent-02", OTHER_TEAM)):
        result = sample.model_copy(update={
            "call_id": call_id, "metadata": sample.metadata.model_copy(update={"call_id": call_id, "agent_id": agent,
                                                                               "team_id": team})})
        (out / call_id).mkdir()
        (out / call_id / "result.json").write_text(result.model_dump_json(), encoding="utf-8")
        shutil.copy(out / "sample-001" / "audio.redacted.wav", out / call_id / "audio.redacted.wav")
        store.save_result(None, result, out / call_id / "result.json")
    # The new assessor is added the way a site adds one: `callqa users add`, password on stdin.
    added = CliRunner().invoke(cli_app, ["users", "add", NEW_USER, "--role", "assessor", "--out", str(out)],
                               input=NEW_PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    add_user(store=store, actor="test", username="agent.one", password=AGENT_PASSWORD, role="agent",
             agent_id="agent-01")
    add_user(store=store, actor="test", username=LEADER, password=LEADER_PASSWORD, role="team_leader", team_id=TEAM)
    app = create_app(load_web_settings(out_dir=out, environ=SECRET_ENV), store=store)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store
    server.should_exit = True
    thread.join(timeout=10)
    store.dispose()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), "install Debian's chromium (.ci/setup does: apt-get install chromium)"
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"), full_page=True)
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page, base: str, username: str, password: str):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")


def test_a_new_user_logs_in_and_finalises_the_sample_scorecard(site, page):
    base, _ = site
    log_in(page, base, NEW_USER, "not the password")
    assert page.locator("#login-error").inner_text() == "wrong username or password"
    shot(page, "login-refused")
    log_in(page, base, NEW_USER, NEW_PASSWORD)
    assert page.url == f"{base}/queue"
    shot(page, "queue")
    with page.expect_navigation():
        page.click("#queue a[href='/calls/sample-001']")
    assert page.locator("#card-status").inner_text() == "open"
    assert page.locator("#transcript .turn").count() >= 10
    assert "<PERSON>" in page.locator("#transcript").inner_text()  # the redacted transcript
    shot(page, "call-open")

    # Override one item: the browser will not send the form without a reason.
    item = page.locator("#item-lass_listen")
    item.locator("select[name=value]").select_option("partial")
    item.locator("form.override button").click()
    assert page.locator("#item-lass_listen .item-status").inner_text() == "pending"
    item.locator("input[name=reason]").fill("asked one question, then moved on")
    with page.expect_navigation():
        item.locator("form.override button").click()
    assert page.locator("#item-lass_listen .item-status").inner_text() == "overridden"
    assert "asked one question, then moved on" in page.locator("#item-lass_listen .history").inner_text()

    pending = page.locator("article.item.pending button.confirm")
    while pending.count():
        with page.expect_navigation():
            pending.first.click()
    assert page.locator("article.item.pending").count() == 0
    with page.expect_navigation():
        page.click("#finalise button")
    assert page.locator("#card-status").inner_text() == "finalised"
    assert page.locator("#finalise").count() == 0 and page.locator("button.confirm").count() == 0
    shot(page, "call-finalised")


def test_clicking_evidence_seeks_the_redacted_audio_and_highlights_the_turn(site, page):
    base, _ = site
    log_in(page, base, NEW_USER, NEW_PASSWORD)
    page.goto(f"{base}/calls/sample-001")
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    evidence = page.locator("#item-lass_apologise button.evidence-seek").first
    target = float(evidence.get_attribute("data-seek"))
    assert target > 30  # well into the call: a seek, not the start
    evidence.click()
    page.wait_for_function(
        "t => { const a = document.getElementById('player');"
        " return !a.seeking && Math.abs(a.currentTime - t) < 0.05; }",
        arg=target)
    # Seekable to the end: the server answered the player's Range requests.
    seekable_end = page.evaluate("document.getElementById('player').seekable.end(0)")
    assert seekable_end > target
    current = page.locator("#transcript .turn.current")
    assert current.count() == 1
    start = float(current.get_attribute("data-start"))
    following = page.locator("#transcript .turn.current + .turn")
    assert start <= target + 0.001
    if following.count():
        assert float(following.get_attribute("data-start")) > target
    assert current.is_visible()
    shot(page, "evidence-seek")


def test_an_agent_cannot_open_another_agents_call_by_url_or_api(site, page):
    base, _ = site
    log_in(page, base, "agent.one", AGENT_PASSWORD)
    queue = page.locator("#queue").inner_text()
    assert OWN_CALL in queue and OTHER_CALL not in queue and "sample-001" not in queue
    for call_id in (OTHER_CALL, "sample-001"):
        response = page.goto(f"{base}/calls/{call_id}")
        assert response.status == 404 and page.locator("#error-message").inner_text() == "no such call"
        assert page.request.get(f"{base}/api/calls/{call_id}").status == 404
        assert page.request.get(f"{base}/calls/{call_id}/audio").status == 404
    shot(page, "agent-refused")
    own = page.goto(f"{base}/calls/{OWN_CALL}")
    assert own.status == 200 and page.locator("#self-assess").count() == 1


def test_a_form_with_a_forged_csrf_token_is_rejected(site, page):
    base, store = site
    log_in(page, base, NEW_USER, NEW_PASSWORD)
    page.goto(f"{base}/calls/{OWN_CALL}")
    form = page.locator("#item-lass_apologise form").first
    form.locator("input[name=csrf_token]").evaluate("el => el.value = 'forged-token'")
    with page.expect_navigation() as nav:
        form.locator("button").click()
    assert nav.value.status == 403
    assert "security token" in page.locator("#error-message").inner_text()
    shot(page, "csrf-rejected")
    page.goto(f"{base}/calls/{OWN_CALL}")
    assert page.locator("#item-lass_apologise .item-status").inner_text() == "pending"


def _phrase(store) -> str:
    """Three plain words in a row from the sample's redacted transcript (as the real run wrote it)."""
    from sqlalchemy import select

    from pipeline.store.models import SearchTurnRow

    with store.session() as s:
        texts = s.scalars(select(SearchTurnRow.text).where(SearchTurnRow.call_id == OWN_CALL)
                          .order_by(SearchTurnRow.turn_index)).all()
    for text in texts:
        tokens = text.split()
        for i in range(len(tokens) - 2):
            run = tokens[i:i + 3]
            if all(t.isalpha() and len(t) >= 3 for t in run):
                return " ".join(run)
    raise AssertionError("the sample's transcript has no three plain words in a row")


def test_a_team_leader_sees_only_their_team_on_the_dashboard_and_queue_and_finds_a_call_by_a_phrase(site, page):
    base, store = site
    log_in(page, base, LEADER, LEADER_PASSWORD)
    page.goto(f"{base}/queue?show=all")
    rows = page.locator("#queue tbody tr[data-call]")
    assert [rows.nth(i).get_attribute("data-call") for i in range(rows.count())] == [OWN_CALL]
    shot(page, "team-leader-queue")

    with page.expect_navigation():
        page.click("header nav a[href='/dashboard']")
    assert page.locator("#dashboard-scope").inner_text() == f"Team: {TEAM}."
    assert page.locator("#by-group figure.chart svg").count() >= 1  # the team's charts, server-rendered SVG
    calls = page.locator("#kpi-summary dt:text('Calls') + dd").inner_text()
    assert calls == "1"  # OWN_CALL only: not the other team's call, not sample-001 (no team)
    dashboard = page.locator("main").inner_text()
    assert TEAM in dashboard and OTHER_TEAM not in dashboard
    assert "agent-01" in dashboard and "agent-02" not in dashboard
    shot(page, "team-leader-dashboard")

    # A search from the queue: a phrase of the transcript finds the team's call, and only it.
    phrase = _phrase(store)
    page.goto(f"{base}/queue")
    page.fill("#search-q", f'"{phrase}"')
    with page.expect_navigation():
        page.click("#search button[type=submit]")
    hits = page.locator("#search-hits tbody tr[data-call]")
    assert hits.count() >= 1
    assert {hits.nth(i).get_attribute("data-call") for i in range(hits.count())} == {OWN_CALL}
    assert phrase.split()[0].lower() in hits.first.locator(".snippet").inner_text().lower()
    shot(page, "team-leader-search")
    with page.expect_navigation():
        hits.first.locator("a").click()
    assert page.url.startswith(f"{base}/calls/{OWN_CALL}#turn-")
    assert page.locator("#transcript .turn").count() >= 10

    # Nor can a URL open the other team's call.
    for call_id in (OTHER_CALL, "sample-001"):
        response = page.goto(f"{base}/calls/{call_id}")
        assert response.status == 404 and page.locator("#error-message").inner_text() == "no such call"
