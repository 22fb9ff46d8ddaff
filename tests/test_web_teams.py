"""Teams in the web app: a team leader sees only their team's calls (queue, search, call pages,
audio, JSON, agent history, calibration); the queue's paging, sorting and search box; hostile
query parameters answer 400; the `callqa users` team commands."""

from __future__ import annotations

import re
import shutil

import pytest
from _score_support import scored_result, write_result
from _web_support import PASSWORD, TEAM, add_accounts, load_store, login, make_app
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from pipeline.cli import app as cli_app
from pipeline.errors import UserError
from pipeline.store import open_store
from pipeline.store.models import AccessLogRow
from pipeline.web.users import add_user, list_users, set_role, set_team

OTHER_TEAM = "team-2"
OTHER_CALL = "dev-002"  # agent-03, OTHER_TEAM: the mobile bill with roaming charges


@pytest.fixture(scope="module")
def template_site(tmp_path_factory):
    """dev-001 (agent-01) and dev-005 (agent-02) in TEAM, dev-002 (agent-03) in OTHER_TEAM."""
    root = tmp_path_factory.mktemp("web-teams")
    store = load_store(f"sqlite:///{root / 'callqa.db'}", root / "out")
    result = scored_result(OTHER_CALL, agent_id="agent-03", started_at="2026-11-03T09:00:00Z")
    result = result.model_copy(update={"metadata": result.metadata.model_copy(update={"team_id": OTHER_TEAM})})
    store.save_result(None, result, write_result(result, root / "out"))
    (root / "out" / OTHER_CALL / "audio.redacted.wav").write_bytes(b"RIFF")
    add_accounts(store)  # tia: team leader of TEAM
    add_user(store=store, actor="test", username="tom", password=PASSWORD, role="team_leader", team_id=OTHER_TEAM)
    add_user(store=store, actor="test", username="tess", password=PASSWORD, role="team_leader")  # no team
    store.dispose()
    return root


@pytest.fixture
def site(template_site, tmp_path):
    shutil.copy(template_site / "callqa.db", tmp_path / "callqa.db")
    shutil.copytree(template_site / "out", tmp_path / "out")
    store = open_store(f"sqlite:///{tmp_path / 'callqa.db'}")
    yield store, tmp_path / "out"
    store.dispose()


def client_for(site, username: str) -> TestClient:
    store, out = site
    client = TestClient(make_app(store, out))
    assert login(client, username).status_code == 303
    return client


def queue_calls(html: str) -> list[str]:
    table = html.split('id="queue"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-call="([^"]+)"', table)


def hit_calls(html: str) -> set[str]:
    table = html.split('id="search-hits"', 1)[1].split("</table>", 1)[0]
    return set(re.findall(r'<tr data-call="([^"]+)"', table))


# ------------------------------------------------------------------------------- scoping


def test_each_team_leader_sees_only_their_teams_calls_in_the_queue(site):
    assert sorted(queue_calls(client_for(site, "ann").get("/queue?show=all").text)) == ["dev-001", "dev-002", "dev-005"]
    assert sorted(queue_calls(client_for(site, "tia").get("/queue?show=all").text)) == ["dev-001", "dev-005"]
    assert queue_calls(client_for(site, "tom").get("/queue?show=all").text) == [OTHER_CALL]
    # A filter cannot widen the scope: tia asking for the other team gets nothing.
    assert queue_calls(client_for(site, "tia").get(f"/queue?show=all&team={OTHER_TEAM}").text) == []
    assert queue_calls(client_for(site, "tess").get("/queue?show=all").text) == []  # no team: no calls


def test_a_team_leader_cannot_open_another_teams_call_by_url(site):
    store, _ = site
    tia = client_for(site, "tia")
    for path in (f"/calls/{OTHER_CALL}", f"/api/calls/{OTHER_CALL}", f"/calls/{OTHER_CALL}/audio",
                 f"/calibration?calls={OTHER_CALL}"):
        response = tia.get(path)
        assert response.status_code == 404 and "no such call" in response.text, path
    assert tia.get("/calls/dev-001").status_code == 200
    assert client_for(site, "tom").get(f"/calls/{OTHER_CALL}").status_code == 200
    assert client_for(site, "tess").get("/calls/dev-001").status_code == 404
    with store.session() as s:
        denied = list(s.scalars(select(AccessLogRow).where(AccessLogRow.who == "tia", AccessLogRow.action == "denied")))
    assert {d.call_id for d in denied} == {OTHER_CALL}


def test_a_team_leader_sees_the_history_of_their_teams_agents_only(site):
    tia = client_for(site, "tia")
    assert tia.get("/agents/agent-01").status_code == 200
    assert tia.get("/agents/agent-03").status_code == 404
    assert client_for(site, "tom").get("/agents/agent-03").status_code == 200


def test_search_from_the_queue_finds_calls_by_a_phrase_within_the_viewers_scope(site):
    ann = client_for(site, "ann")
    page = ann.get("/queue", params={"q": '"roaming charges"'})
    assert page.status_code == 200 and hit_calls(page.text) == {OTHER_CALL}
    assert "roaming charges" in page.text.split('id="search-hits"', 1)[1]
    assert f'href="/calls/{OTHER_CALL}#turn-1"' in page.text
    assert hit_calls(client_for(site, "tia").get("/queue", params={"q": '"roaming charges"'}).text) == set()
    assert hit_calls(client_for(site, "tom").get("/queue", params={"q": "roaming"}).text) == {OTHER_CALL}
    kettle = client_for(site, "tia").get("/queue", params={"q": "kettle", "agent": "agent-02"})
    assert hit_calls(kettle.text) == {"dev-005"}
    assert hit_calls(ann.get("/queue", params={"q": "kettle", "agent": "agent-01"}).text) == set()


def test_an_agent_searches_their_own_calls_only(site):
    agent = client_for(site, "ag1")
    assert hit_calls(agent.get("/queue", params={"q": "kettle"}).text) == set()  # agent-02's call
    assert hit_calls(agent.get("/queue", params={"q": "bill"}).text) == {"dev-001"}


# ---------------------------------------------------------------------------- paging, sorting


def test_the_queue_pages_and_sorts(site):
    ann = client_for(site, "ann")
    assert queue_calls(ann.get("/queue?show=all").text) == ["dev-005", "dev-002", "dev-001"]  # newest first
    assert queue_calls(ann.get("/queue?show=all&sort=agent&dir=asc").text) == ["dev-001", "dev-005", "dev-002"]
    first = ann.get("/queue?show=all&per=2").text
    assert queue_calls(first) == ["dev-005", "dev-002"] and 'id="queue-total">3<' in first
    link = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert link
    second = ann.get(link.group(1).replace("&amp;", "&")).text
    assert queue_calls(second) == ["dev-001"] and 'rel="next"' not in second and 'rel="prev"' in second


@pytest.mark.parametrize("query", [
    "sort=evil", "sort=date;DROP", "dir=sideways", "show=everything", "page=0", "page=-1", "page=abc",
    "page=1e9", "per=0", "per=100000", "since=yesterday", "until=2026-13-01", "score_min=nan", "score_min=101",
    "score_min=80&score_max=20", "since=2026-11-05&until=2026-11-01", "flag=a%22b", "flag=CRITICAL",
    "event=no.such.kind", "sentiment=angry", "channel=carrier-pigeon", "agent=" + "a" * 200, "q=" + "w" * 600,
    "page=1&page=2",
])
def test_hostile_queue_parameters_answer_400(site, query):
    response = client_for(site, "ann").get(f"/queue?{query}")
    assert response.status_code == 400, query


@pytest.mark.parametrize("q", ['"', "NEAR(", "a:b", "*", "'; DROP TABLE calls; --", "%", "(", "\\"])
def test_hostile_search_text_answers_200(site, q):
    response = client_for(site, "ann").get("/queue", params={"q": q})
    assert response.status_code == 200 and 'id="search-hits"' in response.text


# ---------------------------------------------------------------------------------- accounts


def test_team_accounts_rules(site):
    store, _ = site
    with pytest.raises(UserError, match="only a team leader"):
        add_user(store=store, actor="test", username="amy", password=PASSWORD, role="assessor", team_id="x")
    with pytest.raises(UserError, match="not a team leader"):
        set_team(store=store, actor="test", username="ann", team_id="x")
    assert set_team(store=store, actor="test", username="tess", team_id=TEAM).team_id == TEAM
    assert set_role(store=store, actor="test", username="tess", role="assessor").team_id is None
    assert {u.username: u.team_id for u in list_users(store=store)}["tom"] == OTHER_TEAM


def test_users_cli_sets_and_lists_teams(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "callqa.db")
    secret = "a long enough password"
    added = runner.invoke(cli_app, ["users", "add", "lead", "--role", "team_leader", "--team", "north",
                                    "--database-url", db], input=secret + "\n")
    assert added.exit_code == 0 and "team north" in added.output, added.output
    bare = runner.invoke(cli_app, ["users", "add", "lead2", "--role", "team_leader", "--database-url", db],
                         input=secret + "\n")
    assert bare.exit_code == 0 and "sees no calls" in bare.output
    assert runner.invoke(cli_app, ["users", "team", "lead2", "south", "--database-url", db]).exit_code == 0
    refused = runner.invoke(cli_app, ["users", "add", "amy", "--role", "assessor", "--team", "north",
                                      "--database-url", db], input=secret + "\n")
    assert refused.exit_code != 0 and "team leader" in refused.output
    listed = runner.invoke(cli_app, ["users", "list", "--database-url", db]).output
    assert "lead\tteam_leader\t\tnorth" in listed and "lead2\tteam_leader\t\tsouth" in listed
