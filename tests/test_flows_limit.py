"""The `transcribe_limit` global concurrency limit: at most its number of transcriptions at once,
however many slots and task threads a worker has; a limit that does not exist stops the batch.

One subprocess (its own temporary Prefect API) runs three batches of three 2 s calls with three
task threads and three transcription slots, recording when each real transcription starts and
ends: without a limit (the positive control: they overlap), under a limit of 1 (they never do),
and naming a limit that was never created.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests._flows_support import make_silent_stereo, offline_env

SCRIPT = r"""
import json, sys, time
from pathlib import Path

import pipeline.run

spans = {"none": [], "limited": [], "missing": []}
current = ["none"]
real = pipeline.run.transcribe

def recording(*args, **kwargs):
    start = time.monotonic()
    try:
        result = real(*args, **kwargs)
        # Silence decodes in milliseconds: holding the slot a little longer makes an overlap
        # certain when nothing stops it (the control), and changes nothing a limit must prevent.
        time.sleep(1.5)
        return result
    finally:
        spans[current[0]].append((start, time.monotonic()))

pipeline.run.transcribe = recording

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from flows.nightly import run_nightly

inputs, tmp = sys.argv[1], Path(sys.argv[2])
with get_client(sync_client=True) as client:
    client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="test-transcribe", limit=1))
counts = {}
for name, limit in (("none", None), ("limited", "test-transcribe"), ("missing", "never-created")):
    current[0] = name
    try:
        report = run_nightly(inputs, out=str(tmp / f"out-{name}"), workers=3, transcribe_slots=3, transcribe_limit=limit)
        counts[name] = report["counts"]
    except Exception as e:
        counts[name] = {"raised": f"{type(e).__name__}: {e}"}
print("RESULT=" + json.dumps({"spans": spans, "counts": counts}))
"""


def _most_at_once(spans: list[list[float]]) -> int:
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = now = 0
    for _, step in events:  # an end sorts before a start at the same instant
        now += step
        most = max(most, now)
    return most


@pytest.mark.slow
def test_transcribe_limit_allows_one_transcription_at_once_across_slots_and_threads(tmp_path):
    inputs = tmp_path / "in"
    for n in range(3):
        make_silent_stereo(inputs, f"limit-{n}")
    env = {**{k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}, **offline_env(tmp_path / "prefect-home")}
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(inputs), str(tmp_path)], env=env, capture_output=True,
                         text=True, timeout=900, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.split("RESULT=", 1)[1])
    spans, counts = result["spans"], result["counts"]

    # Every call was transcribed in both runs (what happens after transcription is not at issue).
    assert counts["none"]["total"] == counts["limited"]["total"] == 3, counts
    assert len(spans["none"]) == len(spans["limited"]) == 3
    assert _most_at_once(spans["none"]) >= 2  # the control: slots and threads alone let them overlap
    assert _most_at_once(spans["limited"]) == 1
    # Prefect ignores a limit that does not exist; the batch refuses to run without it.
    assert spans["missing"] == []
    assert "never-created" in counts["missing"]["raised"] and "prefect gcl create" in counts["missing"]["raised"]
