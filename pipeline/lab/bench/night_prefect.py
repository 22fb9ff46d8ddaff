"""Reading a Prefect server's record of a night over its REST API, and marking the flow runs of
killed workers Crashed (what Prefect's zombie detection does on a server that has it enabled)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pipeline.recording import process_alive

__all__ = ["all_task_runs", "all_flow_runs", "seconds", "completed_calls", "task_wall", "shard_startups",
           "crash_orphans"]

PAGE = 200


def _page(api: str, what: str, body: dict | None = None) -> list[dict]:
    import httpx

    rows: list[dict] = []
    with httpx.Client(base_url=api, timeout=60) as client:
        while True:
            got = client.post(f"/{what}/filter", json={**(body or {}), "limit": PAGE, "offset": len(rows)})
            got.raise_for_status()
            page = got.json()
            rows += page
            if len(page) < PAGE:
                return rows


def all_task_runs(api: str) -> list[dict]:
    return _page(api, "task_runs")


def all_flow_runs(api: str) -> list[dict]:
    return _page(api, "flow_runs")


def seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _processed(run: dict) -> str | None:
    """The call id of a completed, uncached process_call task run (None for any other run)."""
    name = run.get("name") or ""
    state = run.get("state") or {}
    if name.startswith("process_call-") and state.get("type") == "COMPLETED" and state.get("name") != "Cached":
        return name.removeprefix("process_call-")
    return None


def completed_calls(task_runs: list[dict]) -> Counter:
    """call id -> completed, uncached process_call task runs (2 or more: the work was done twice)."""
    return Counter(c for c in map(_processed, task_runs) if c)


def task_wall(task_runs: list[dict]) -> dict[str, float]:
    """call id -> wall seconds of its (last) completed, uncached process_call task run."""
    out = {}
    for run in sorted(task_runs, key=lambda r: r.get("start_time") or ""):
        call = _processed(run)
        wall = seconds(run.get("start_time"), run.get("end_time"))
        if call and wall is not None:
            out[call] = wall
    return out


def shard_startups(flow_runs: list[dict], task_runs: list[dict]) -> list[float]:
    """Per shard flow run (one started from a deployment): seconds from its start to its first task."""
    first: dict[str, str] = {}
    for run in task_runs:
        fid, start = run.get("flow_run_id"), run.get("start_time")
        if fid and start and (fid not in first or start < first[fid]):
            first[fid] = start
    out = []
    for run in flow_runs:
        if run.get("deployment_id") and run["id"] in first:
            wait = seconds(run.get("start_time"), first[run["id"]])
            if wait is not None:
                out.append(wait)
    return out


def crash_orphans(api: str, killed_pids: set[int]) -> int:
    """Mark Crashed every Pending or Running flow run whose process is gone (or was killed): a
    killed worker cannot report its runs' end, and a parent waits for every shard to end.

    Returns:
        How many flow runs were marked.
    """
    import httpx

    marked = 0
    body = {"flow_runs": {"state": {"type": {"any_": ["PENDING", "RUNNING"]}}}}
    with httpx.Client(base_url=api, timeout=60) as client:
        for run in _page(api, "flow_runs", body):
            where = run.get("infrastructure_pid") or ""
            pid_text = where.rsplit(":", 1)[-1]
            if not run.get("deployment_id") or not pid_text.isdigit():
                continue
            pid = int(pid_text)
            if pid in killed_pids or not process_alive(pid):
                state = {"type": "CRASHED", "name": "Crashed", "message": "its worker was killed (callqa bench --night)"}
                client.post(f"/flow_runs/{run['id']}/set_state", json={"state": state, "force": True}).raise_for_status()
                marked += 1
    return marked
