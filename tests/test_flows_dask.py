"""`callqa batch --runner dask|process`: a real local Dask cluster of worker processes, and a local
process pool, give the thread runner's results; a bad runner choice is refused before anything
starts."""

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


@pytest.fixture(scope="module")
def thread_run(tmp_path_factory):
    """A mixed folder (a stereo call, a chat transcript, a file that is not audio) through the
    thread runner: (working folder, inputs, the run)."""
    tmp_path = tmp_path_factory.mktemp("runners")
    inputs = tmp_path / "in"
    make_batch(inputs)
    return tmp_path, inputs, _batch(tmp_path, inputs, tmp_path / "out-thread", "--workers", "2")


def _assert_same_results(tmp_path: Path, thread: subprocess.CompletedProcess, other: subprocess.CompletedProcess,
                         out: str) -> None:
    # Exit 1: the corrupt file failed (quarantined) in both; the other calls were done.
    assert thread.returncode == 1, thread.stderr[-3000:]
    assert other.returncode == 1, other.stderr[-3000:]
    reports = [json.loads(run.stdout) for run in (thread, other)]
    for report in reports:
        assert report["counts"] == {"done": 2, "skipped": 0, "failed": 1, "erased": 0, "total": 3}
    outcomes = [{c["call_id"]: (c["status"], c["reason"]) for c in r["calls"]} for r in reports]
    assert outcomes[0] == outcomes[1]

    done = [[p.name for p in call_dirs(tmp_path / name)] for name in ("out-thread", out)]
    assert done[0] == done[1] == ["sample-004", "sample-005"]
    for name in done[0]:
        expected = _comparable(read_json(tmp_path / "out-thread" / name / "result.json"))
        assert _comparable(read_json(tmp_path / out / name / "result.json")) == expected, name
        assert ((tmp_path / out / name / "transcript.txt").read_text()
                == (tmp_path / "out-thread" / name / "transcript.txt").read_text())
    quarantined = [sorted(p.name for p in (tmp_path / name / "quarantine").iterdir()) for name in ("out-thread", out)]
    assert quarantined[0] == quarantined[1] and len(quarantined[0]) == 1
    assert quarantined[0][0].startswith(CORRUPT_NAME)


@pytest.mark.slow
def test_dask_runner_with_two_worker_processes_gives_the_thread_runners_results(thread_run):
    tmp_path, inputs, thread = thread_run
    dask = _batch(tmp_path, inputs, tmp_path / "out-dask", "--runner", "dask", "--workers", "2")
    # The calls ran on a local cluster of two worker processes (Dask's scheduler log).
    assert dask.stderr.count("Register worker") == 2, dask.stderr[-3000:]
    assert "Register worker" not in thread.stderr
    _assert_same_results(tmp_path, thread, dask, "out-dask")


@pytest.mark.slow
@pytest.mark.scale
def test_process_runner_gives_the_thread_runners_results(thread_run):
    tmp_path, inputs, thread = thread_run
    process = _batch(tmp_path, inputs, tmp_path / "out-process", "--runner", "process", "--workers", "2")
    _assert_same_results(tmp_path, thread, process, "out-process")


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
