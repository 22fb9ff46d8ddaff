"""The deployments as code: prefect.yaml registered with `prefect deploy --all` on a real Prefect
server on PostgreSQL, its schedules, a triggered nightly run completing on process workers started
as the README starts them (shards included), and a fatal error in a shard failing the parent.

The server test needs the PostgreSQL at 127.0.0.1:5432 (a scratch `prefect_test_<random>`
database, dropped afterwards); skipped without it unless CALLQA_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests._flows_support import (
    AUDIO_CALL,
    TRANSCRIPT_CALL,
    call_dirs,
    copy_manifest,
    free_port,
    make_batch,
    prefect_server,
    read_json,
    server_env,
    start_worker,
    stop,
)
from tests._paths import REPO

POOL = "callqa-process"
LIMIT = "callqa-transcribe"


def _prefect_yaml() -> dict:
    return yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))


def _readme_workers() -> list[tuple[str, ...]]:
    """The work queues of each `prefect worker start` command in the README."""
    commands = re.findall(r"^\s*(prefect worker start [^\n#]*)", (REPO / "README.md").read_text(encoding="utf-8"),
                          re.MULTILINE)
    workers = []
    for command in commands:
        words = shlex.split(command)
        assert words[words.index("--pool") + 1] == POOL, command
        workers.append(tuple(words[i + 1] for i, w in enumerate(words) if w in ("--work-queue", "-q")))
    return workers


def test_every_deployment_targets_a_queue_the_readme_starts_a_worker_on():
    workers = _readme_workers()
    assert len(workers) >= 2 and all(workers), workers  # a worker with no queue would poll every queue
    polled = {queue for queues in workers for queue in queues}
    deployments = {d["name"]: d for d in _prefect_yaml()["deployments"]}
    assert set(deployments) == {"nightly", "shard", "retention"}
    for name, deployment in deployments.items():
        assert deployment["work_pool"]["name"] == POOL, name
        assert deployment["work_pool"]["work_queue_name"] in polled, name
    # Shards spread over every host: each worker polls the shard queue.
    shard_queue = deployments["shard"]["work_pool"]["work_queue_name"]
    assert all(shard_queue in queues for queues in workers)


def _wait_final(client, flow_run_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/flow_runs/{flow_run_id}").json()
        if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return run
        time.sleep(2)
    raise AssertionError(f"flow run {flow_run_id} not finished in {timeout} s: {run['state']}")


def _trigger(client, deployment_id: str, parameters: dict) -> str:
    response = client.post(f"/deployments/{deployment_id}/create_flow_run", json={"parameters": parameters})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _cli(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", *args], env=env, capture_output=True,
                         text=True, timeout=timeout, cwd=REPO)
    assert run.returncode == 0, (args, run.stdout[-2000:], run.stderr[-2000:])
    return run


def _broken_model_site(tmp_path: Path) -> Path:
    """A site config whose manifest gives tiny.en a wrong sha256: loading Whisper fails (fatal)."""
    manifest = copy_manifest(tmp_path / "site-manifest.yaml")
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    entry = next(m for m in data["models"] if m["name"] == "tiny.en")
    entry["files"]["config.json"] = "0" * 64
    manifest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    site = tmp_path / "broken-site.yaml"
    site.write_text(f"models:\n  manifest: {manifest}\n", encoding="utf-8")
    return site


@pytest.mark.slow
@pytest.mark.postgres
def test_deploy_all_schedules_and_a_nightly_run_on_the_readmes_workers(tmp_path):
    import httpx

    inputs = tmp_path / "in"
    make_batch(inputs, corrupt=False)  # a stereo call and a chat transcript
    out = tmp_path / "out"
    port = free_port()
    env = {**server_env(tmp_path, f"http://127.0.0.1:{port}/api"), "CALLQA_HOME": str(REPO)}
    procs: list[subprocess.Popen] = []
    with prefect_server(tmp_path, env, port) as api:
        try:
            _cli(env, "work-pool", "create", POOL, "--type", "process")
            _cli(env, "gcl", "create", LIMIT, "--limit", "1")  # as the README says
            _cli(env, "deploy", "--all", timeout=300)
            with httpx.Client(base_url=api, timeout=30) as client:
                flows = {f["id"]: f["name"] for f in client.post("/flows/filter", json={}).json()}
                deployments = {f"{flows[d['flow_id']]}/{d['name']}": d
                               for d in client.post("/deployments/filter", json={}).json()}
                assert set(deployments) == {"callqa-nightly/nightly", "callqa-shard/shard",
                                            "callqa-retention/retention"}
                schedules = {name: [(s["schedule"].get("cron"), s["schedule"].get("timezone"), s["active"])
                                    for s in d["schedules"]] for name, d in deployments.items()}
                assert schedules == {"callqa-nightly/nightly": [("30 1 * * *", "Europe/London", True)],
                                     "callqa-shard/shard": [],
                                     "callqa-retention/retention": [("15 5 * * *", "Europe/London", True)]}
                assert deployments["callqa-shard/shard"]["work_queue_name"] == "default"

                for n, queues in enumerate(_readme_workers()):
                    procs.append(start_worker(POOL, f"worker-{n}", env, tmp_path / f"worker-{n}.log", queues=queues,
                                              limit=2))

                # The nightly deployment with the parameters an operator would give, spread over
                # two shards (the queue mismatch left shard runs waiting forever).
                nightly = deployments["callqa-nightly/nightly"]["id"]
                run_id = _trigger(client, nightly, {"source": str(inputs), "out": str(out),
                                                    "shard_deployment": "callqa-shard/shard", "shards": 2})
                run = _wait_final(client, run_id, timeout=480)
                assert run["state"]["type"] == "COMPLETED", (run["state"], _logs(tmp_path))
                shards = client.post("/flow_runs/filter", json={"flow_runs": {"parent_flow_run_id": {"any_": [run_id]}}}).json()
                shard_states = [s["state"]["type"] for s in shards if s.get("deployment_id")]
                assert shard_states == ["COMPLETED", "COMPLETED"], shard_states

                report = read_json(out / "run-report.json")
                assert report["counts"] == {"done": 2, "skipped": 0, "failed": 0, "erased": 0, "total": 2}
                assert [p.name for p in call_dirs(out)] == [AUDIO_CALL, TRANSCRIPT_CALL]

                # A shard that cannot load its models fails the parent run with the shard's reason.
                broken_out = tmp_path / "out-broken"
                run_id = _trigger(client, nightly, {"source": str(inputs / f"{AUDIO_CALL}.flac"), "out": str(broken_out),
                                                    "config": str(_broken_model_site(tmp_path)),
                                                    "shard_deployment": "callqa-shard/shard", "shards": 1})
                run = _wait_final(client, run_id, timeout=300)
        finally:
            for proc in reversed(procs):
                stop(proc)

    assert run["state"]["type"] == "FAILED", run["state"]
    message = run["state"]["message"]
    assert "ModelUnavailableError (model)" in message and "tiny.en" in message, message
    failed = read_json(broken_out / "run-report.json")["failures"]
    assert [(f["call_id"], f["reason"]) for f in failed] == [(AUDIO_CALL, "model")]


def _logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text()[-1500:] for p in sorted(tmp_path.glob("worker-*.log")))
