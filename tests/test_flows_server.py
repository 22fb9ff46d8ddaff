"""At scale: a real Prefect server on PostgreSQL, two process workers, one batch split between them.

Every call must be processed exactly once (one completed, uncached `process_call` task run per
input across both workers) and each worker must have run a share. Needs the PostgreSQL at
127.0.0.1:5432 (trust auth, as the store tests use); skipped without it unless
CALLQA_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from tests._flows_support import (
    AUDIO_CALL,
    SAMPLES,
    TRANSCRIPT_CALL,
    call_dirs,
    free_port,
    make_batch,
    prefect_server,
    read_json,
    server_env,
    start_worker,
    stop,
)
from tests._paths import REPO

pytestmark = pytest.mark.postgres
POOL = "callqa-test-pool"


@pytest.mark.slow
def test_two_workers_on_a_postgres_backed_server_process_each_call_exactly_once(tmp_path):
    inputs = tmp_path / "in"
    make_batch(inputs, corrupt=False)
    for suffix in (".flac", ".json"):
        (inputs / f"sample-003{suffix}").write_bytes((SAMPLES / f"sample-003{suffix}").read_bytes())
    out = tmp_path / "out"
    port = free_port()
    env = server_env(tmp_path, f"http://127.0.0.1:{port}/api")
    procs: list[subprocess.Popen] = []
    logs = {name: tmp_path / f"{name}.log" for name in ("worker-a", "worker-b")}
    with prefect_server(tmp_path, env, port) as api:
        try:
            deploy = ("from flows.nightly import process_shard\n"
                      f"process_shard.from_source(source={str(REPO)!r}, entrypoint='flows/nightly.py:process_shard')"
                      f".deploy(name='shard', work_pool_name={POOL!r}, print_next_steps=False)\n")
            subprocess.run([sys.executable, "-m", "prefect", "work-pool", "create", POOL, "--type", "process"],
                           env=env, check=True, capture_output=True, timeout=120)
            subprocess.run([sys.executable, "-c", deploy], env=env, check=True, capture_output=True, timeout=180,
                           cwd=REPO)
            for name in ("worker-a", "worker-b"):
                procs.append(start_worker(POOL, name, env, logs[name], limit=1))

            parent = ("import json\nfrom flows.nightly import nightly_batch\n"
                      f"r = nightly_batch(source={str(inputs)!r}, out={str(out)!r}, "
                      "shard_deployment='callqa-shard/shard', shards=2)\n"
                      "print('REPORT=' + json.dumps(r))\n")
            run = subprocess.run([sys.executable, "-c", parent], env=env, capture_output=True, text=True,
                                 timeout=480, cwd=tmp_path)
            assert run.returncode == 0, run.stderr[-3000:]
            report = json.loads(run.stdout.split("REPORT=", 1)[1])

            with httpx.Client(base_url=api, timeout=30) as client:
                task_runs = client.post("/task_runs/filter", json={"limit": 200}).json()
                flow_runs = client.post("/flow_runs/filter", json={"limit": 200}).json()
        finally:
            for proc in reversed(procs):
                stop(proc)

    assert report["counts"] == {"done": 3, "skipped": 0, "failed": 0, "erased": 0, "total": 3}
    assert [p.name for p in call_dirs(out)] == ["sample-003", AUDIO_CALL, TRANSCRIPT_CALL]
    for folder in call_dirs(out):
        assert read_json(folder / "result.json")["call_id"] == folder.name
    # Exactly once: one completed, uncached process_call run per input, over the whole server.
    processed = [t["name"] for t in task_runs
                 if t["name"].startswith("process_call-") and t["state"]["type"] == "COMPLETED"
                 and t["state"]["name"] != "Cached"]
    # Named by call id, never by file name (a telephony export names files by caller number).
    assert sorted(processed) == sorted(f"process_call-{n}" for n in ("sample-003", AUDIO_CALL, TRANSCRIPT_CALL))
    # Each worker ran one shard. (Both may try to claim the same run; the server aborts the
    # second claim, which is why a run's log line "View at .../flow-run/<id>" is what counts.)
    shard_ids = {f["id"] for f in flow_runs if f.get("deployment_id") and f["state"]["type"] == "COMPLETED"}
    assert len(shard_ids) == 2
    ran = {name: {i for i in shard_ids if f"flow-run/{i}" in logs[name].read_text()} for name in ("worker-a", "worker-b")}
    assert len(ran["worker-a"]) == 1 and len(ran["worker-b"]) == 1 and ran["worker-a"] | ran["worker-b"] == shard_ids
