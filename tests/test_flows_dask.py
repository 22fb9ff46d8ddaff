"""`callqa batch --runner dask`: a real local Dask cluster of worker processes gives the thread
runner's results, and a bad runner choice is refused before anything starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._flows_support import CORRUPT_NAME, call_dirs, make_batch, offline_env, read_json

pytestmark = pytest.mark.filterwarnings("ignore")


def _batch(tmp_path: Path, inputs: Path, out: Path, *flags: str, env: dict[str, str] | None = None,
           timeout: float = 600) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pipeline.cli", "batch", str(inputs), "--out", str(out), "--json", *flags]
    base = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env = {**base, **offline_env(tmp_path / "prefect-home"), **(env or {})}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


def _comparable(result: dict) -> dict:
    """A result.json without what differs between any two runs: the seconds each stage took."""
    result = json.loads(json.dumps(result))
    result["pipeline"].pop("timings_s")
    return result


@pytest.mark.slow
def test_dask_runner_with_two_worker_processes_gives_the_thread_runners_results(tmp_path):
    inputs = tmp_path / "in"
    make_batch(inputs)  # a stereo call, a chat transcript and a file that is not audio
    thread = _batch(tmp_path, inputs, tmp_path / "out-thread", "--workers", "2")
    dask = _batch(tmp_path, inputs, tmp_path / "out-dask", "--runner", "dask", "--workers", "2")
    # Exit 1: the corrupt file failed (quarantined) in both; the other calls were done.
    assert thread.returncode == 1, thread.stderr[-3000:]
    assert dask.returncode == 1, dask.stderr[-3000:]
    # The calls ran on a local cluster of two worker processes (Dask's scheduler log).
    assert dask.stderr.count("Register worker") == 2, dask.stderr[-3000:]
    assert "Register worker" not in thread.stderr

    reports = [json.loads(run.stdout) for run in (thread, dask)]
    for report in reports:
        assert report["counts"] == {"done": 2, "skipped": 0, "failed": 1, "erased": 0, "total": 3}
    outcomes = [{c["call_id"]: (c["status"], c["reason"]) for c in r["calls"]} for r in reports]
    assert outcomes[0] == outcomes[1]

    done = [[p.name for p in call_dirs(tmp_path / out)] for out in ("out-thread", "out-dask")]
    assert done[0] == done[1] == ["sample-004", "sample-005"]
    for name in done[0]:
        expected = _comparable(read_json(tmp_path / "out-thread" / name / "result.json"))
        assert _comparable(read_json(tmp_path / "out-dask" / name / "result.json")) == expected, name
        assert ((tmp_path / "out-dask" / name / "transcript.txt").read_text()
                == (tmp_path / "out-thread" / name / "transcript.txt").read_text())
    quarantined = [sorted(p.name for p in (tmp_path / out / "quarantine").iterdir()) for out in ("out-thread", "out-dask")]
    assert quarantined[0] == quarantined[1] and len(quarantined[0]) == 1
    assert quarantined[0][0].startswith(CORRUPT_NAME)


@pytest.mark.parametrize("flags, message", [
    (["--runner", "bogus"], "unknown task runner 'bogus'"),
    (["--dask-address", "tcp://127.0.0.1:8786"], "needs the dask runner"),
    # Its workers could not reach a temporary API on this host: a Prefect server is required.
    (["--runner", "dask", "--dask-address", "tcp://127.0.0.1:8786"], "set PREFECT_API_URL"),
])
def test_batch_refuses_a_runner_it_cannot_use(tmp_path, flags, message):
    inputs = tmp_path / "in"
    make_batch(inputs, audio=False, corrupt=False)
    run = _batch(tmp_path, inputs, tmp_path / "out", *flags, timeout=180)
    assert run.returncode == 2, run.stderr[-2000:]
    assert message in run.stderr
    assert not (tmp_path / "out" / "sample-005").exists()
