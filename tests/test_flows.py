"""The nightly Prefect flow on real bundled calls: results, quarantine, report, re-runs, retries.

Prefect runs under `prefect_test_harness` (a temporary SQLite API server), started once for the
session; its settings are switched offline before Prefect is first imported.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests._flows_support import (
    AUDIO_CALL,
    CORRUPT_NAME,
    TRANSCRIPT_CALL,
    call_dirs,
    copy_manifest,
    make_batch,
    make_silent_stereo,
    offline_env,
    read_json,
    touch_manifest,
    write_sidecar,
)

HARNESS_START_S: dict[str, float] = {}


@pytest.fixture(scope="session")
def flows_env(tmp_path_factory):
    """Offline Prefect settings in the environment, set before Prefect is imported."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in offline_env(tmp_path_factory.mktemp("prefect-home")).items():
            mp.setenv(key, value)
        mp.delenv("PREFECT_API_URL", raising=False)
        yield


@pytest.fixture(scope="session")
def nightly(flows_env):
    import flows.nightly

    return flows.nightly


@pytest.fixture(scope="session")
def harness(nightly):
    from prefect.testing.utilities import prefect_test_harness

    started = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=120):
        HARNESS_START_S["seconds"] = time.perf_counter() - started
        yield


# --- retry classification (no server needed) -------------------------------------------------

def _errors():
    from sqlalchemy import exc as sa_exc

    from pipeline.errors import ConfigError, InputError, ModelUnavailableError, StageError

    def chained(outer: BaseException, cause: BaseException) -> BaseException:
        outer.__cause__ = cause
        return outer

    return [
        ("disk read error", OSError(5, "Input/output error"), True),
        ("connection reset", ConnectionResetError(), True),
        ("timeout", TimeoutError(), True),
        ("db connection lost", sa_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")), True),
        ("db interface error", sa_exc.InterfaceError("SELECT 1", {}, Exception("connection closed")), True),
        ("stage error from I/O", chained(StageError("write failed", stage="store"), OSError(28, "No space")), True),
        # Near misses: failures a retry cannot fix.
        ("bad input", InputError("not audio", path="x.wav", reason="not_audio"), False),
        ("bad input from OSError", chained(InputError("unreadable", path="x.wav", reason="unreadable"), OSError()), False),
        ("config", ConfigError("bad key", file="site.yaml", key="x"), False),
        ("model", ModelUnavailableError("missing", model="tiny.en"), False),
        ("stage bug", StageError("index out of range", stage="detect"), False),
        ("db integrity", sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        ("plain bug", ValueError("boom"), False),
    ]


@pytest.mark.parametrize("index", range(13))
def test_retry_classification(nightly, index):
    from prefect.states import Failed

    name, exc, transient = _errors()[index]
    assert nightly.is_transient(exc) is transient, name
    # The same answer through the task's own retry_condition_fn, on a Failed state as Prefect builds it.
    assert nightly.process_call.retry_condition_fn(nightly.process_call, None, Failed(data=exc)) is transient, name


def test_flow_progress_is_logged_at_a_coarse_rate():
    import logging

    from flows.progress import log_progress

    now = [0.0]
    logger = logging.getLogger("callqa.test.progress")
    with pytest.MonkeyPatch.context() as mp:
        lines: list[str] = []
        mp.setattr(logger, "info", lambda fmt, *args: lines.append(fmt % args))
        hook = log_progress(logger, every_s=30.0, clock=lambda: now[0])
        for second in range(0, 3601, 5):  # a one-hour call reported every 5 s of audio
            now[0] = second / 10  # decoded at 10x real time: 360 s of wall time
            hook("transcribe", second, 3600)
        for done in range(3):  # two calls finish within seconds: only the end is worth a line
            hook("calls", done, 2)
    transcribe = [line for line in lines if line.startswith("transcribe")]
    # Movement about every 30 s of wall time, and the end: not one line per report (721 reports).
    assert 11 <= len(transcribe) <= 13 and transcribe[-1] == "transcribe 3600/3600"
    assert transcribe[0] == "transcribe 300/3600"
    assert [line for line in lines if line.startswith("calls")] == ["calls 2/2"]


def _worklist(out, key, path, kind, sidecar=None) -> str:
    from flows.worklist import write_worklist
    from pipeline.ingest import InputItem

    return str(write_worklist(out / ".callqa" / "work", [(key, InputItem(path, kind, sidecar))]))


def test_process_call_is_declared_with_retries_and_backoff(nightly):
    task = nightly.process_call
    assert task.retries == 3
    assert task.retry_delay_seconds == [2, 4, 8]
    assert task.cache_key_fn is not None and task.persist_result


def test_cache_key_changes_with_bytes_sidecar_and_settings(nightly, tmp_path):
    made = make_batch(tmp_path, transcript=False, corrupt=False)
    audio, sidecar = made[AUDIO_CALL], made[AUDIO_CALL].with_suffix(".json")
    key = nightly.call_cache_key(str(audio), str(sidecar), "f" * 64)
    assert key == nightly.call_cache_key(str(audio), str(sidecar), "f" * 64)
    assert key != nightly.call_cache_key(str(audio), str(sidecar), "e" * 64)
    assert key != nightly.call_cache_key(str(audio), None, "f" * 64)
    sidecar.write_text(sidecar.read_text().replace("telephone", "face_to_face"))
    assert key != nightly.call_cache_key(str(audio), str(sidecar), "f" * 64)
    assert nightly.call_cache_key(str(tmp_path / "missing.wav"), None, "f" * 64) is None


def test_settings_fingerprint_follows_detection_config(nightly, tmp_path):
    _, default = nightly.load_run_settings(None)
    (tmp_path / "detect-site.yaml").write_text("max_evidence_chars: 200\n")
    (tmp_path / "site.yaml").write_text("stages:\n  detect_file: detect-site.yaml\n")
    _, changed = nightly.load_run_settings(str(tmp_path / "site.yaml"))
    assert changed != default
    assert nightly.load_run_settings(None)[1] == default


def test_process_call_reruns_a_call_whose_sidecar_or_model_manifest_changed(nightly, tmp_path, monkeypatch):
    """The flow's cache key and its task agree with `callqa run` on what "already done" means."""
    import pipeline.run

    for name in ("CALLQA_DATABASE_URL", "CALLQA_AUDIT_LOG"):
        monkeypatch.delenv(name, raising=False)
    audio, sidecar = make_silent_stereo(tmp_path / "in")
    manifest = copy_manifest(tmp_path / "manifest.yaml")
    site = tmp_path / "site.yaml"
    site.write_text(f"models:\n  manifest: {manifest}\n")
    out = tmp_path / "out"
    transcriptions = []  # a spy on the real function: processed from the start, or not
    real = pipeline.run.transcribe
    monkeypatch.setattr(pipeline.run, "transcribe", lambda *a, **k: transcriptions.append(1) or real(*a, **k))

    def run() -> tuple[str | None, tuple[str, str | None]]:
        _, fingerprint = nightly.load_run_settings(str(site))
        key = nightly.call_cache_key(str(audio), str(sidecar), fingerprint)
        outcome = nightly.process_call.fn("fp-stereo", _worklist(out, "fp-stereo", audio, "audio", sidecar), str(out),
                                          fingerprint, str(site))
        return key, (outcome["status"], outcome["reason"])

    first_key, outcome = run()
    assert first_key is not None and outcome == ("done", None) and len(transcriptions) == 1
    assert run() == (first_key, ("skipped", "already_done")) and len(transcriptions) == 1
    write_sidecar(sidecar, "fp-stereo", agent_id="A-002")
    sidecar_key, outcome = run()
    assert sidecar_key != first_key and outcome == ("done", None) and len(transcriptions) == 2
    assert read_json(out / "fp-stereo" / "result.json")["metadata"]["agent_id"] == "A-002"
    touch_manifest(manifest)
    manifest_key, outcome = run()
    assert manifest_key not in (first_key, sidecar_key) and outcome == ("done", None) and len(transcriptions) == 3


def test_process_call_fn_quarantines_bad_input_without_its_content(nightly, tmp_path):
    from flows.failures import TaskFailure

    bad = make_batch(tmp_path / "in", audio=False, transcript=False)["corrupt"]
    out = tmp_path / "out"
    _, fingerprint = nightly.load_run_settings(None)
    with pytest.raises(TaskFailure) as caught:
        nightly.process_call.fn("input-0000", _worklist(out, "input-0000", bad, "audio"), str(out), fingerprint)
    # What leaves the task (and Prefect stores): the kind and reason, no file name, no chained cause.
    assert caught.value.kind == "InputError" and caught.value.reason == "not_audio"
    assert CORRUPT_NAME not in str(caught.value) and caught.value.__cause__ is None
    assert not nightly.is_transient(caught.value)
    records = list((out / "quarantine").glob("*.json"))
    assert len(records) == 1
    record = read_json(records[0])
    assert record["file"] == CORRUPT_NAME and record["reason"] == "not_audio"
    assert "SECRET-CONTENT" not in records[0].read_text()
    assert call_dirs(out) == []


def test_process_call_fn_runs_a_transcript_to_an_atomic_result(nightly, tmp_path):
    transcript = make_batch(tmp_path / "in", audio=False, corrupt=False)[TRANSCRIPT_CALL]
    out = tmp_path / "out"
    _, fingerprint = nightly.load_run_settings(None)
    outcome = nightly.process_call.fn(TRANSCRIPT_CALL, _worklist(out, TRANSCRIPT_CALL, transcript, "transcript"),
                                      str(out), fingerprint)
    assert outcome["status"] == "done" and outcome["call_id"] == TRANSCRIPT_CALL
    assert outcome["path"] == TRANSCRIPT_CALL  # what the cache record keeps: the key, not the file's path
    result = read_json(out / TRANSCRIPT_CALL / "result.json")
    assert result["call_id"] == TRANSCRIPT_CALL and result["turns"]
    assert set(outcome["timings_s"]) >= {"ingest", "redact", "detect"}
    assert not [p for p in out.iterdir() if p.name.startswith(f".{TRANSCRIPT_CALL}.")]  # no temporary left


# --- the flow under the test harness -----------------------------------------------------------

def _counts(report: dict) -> tuple[int, int, int]:
    c = report["counts"]
    return c["done"], c["skipped"], c["failed"]


@pytest.mark.slow
def test_nightly_batch_processes_quarantines_reports_and_skips_on_rerun(nightly, harness, tmp_path):
    inputs = tmp_path / "in"
    make_batch(inputs)
    out = tmp_path / "out"

    report = nightly.run_nightly(str(inputs), out=str(out), workers=2)

    assert _counts(report) == (2, 0, 1)
    assert [p.name for p in call_dirs(out)] == [AUDIO_CALL, TRANSCRIPT_CALL]
    audio_result = read_json(out / AUDIO_CALL / "result.json")
    assert audio_result["source"]["format"] == "flac" and audio_result["turns"]
    assert "transcribe" in audio_result["pipeline"]["timings_s"]
    # The bad file: quarantined with its reason, the batch went on.
    [failure] = report["failures"]
    assert failure["file"] == CORRUPT_NAME and failure["reason"] == "not_audio"
    [record] = list((out / "quarantine").glob("*.json"))
    assert read_json(record)["reason"] == "not_audio"
    # The report file matches what the flow returned, with time per stage and audio hours.
    on_disk = read_json(out / "run-report.json")
    assert on_disk["counts"] == report["counts"] == {"done": 2, "skipped": 0, "failed": 1, "erased": 0, "total": 3}
    assert on_disk["stage_s"]["transcribe"] > 0
    assert on_disk["audio_s"] == pytest.approx(audio_result["source"]["duration_s"], abs=1e-3)
    assert on_disk["audio_hours"] == pytest.approx(on_disk["audio_s"] / 3600, abs=1e-4)
    assert 0 < on_disk["real_time_factor"] < 5
    assert "SECRET-CONTENT" not in (out / "run-report.json").read_text()

    # The report is also a Prefect artifact.
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["callqa-nightly-report"])))
    assert artifacts and "| 2 | 0 | 1 | 0 | 3 |" in artifacts[-1].data

    # A second run skips every finished call and leaves its result untouched.
    before = {p.name: (p / "result.json").stat().st_mtime_ns for p in call_dirs(out)}
    again = nightly.run_nightly(str(inputs), out=str(out), workers=2)
    assert _counts(again) == (0, 2, 1)
    assert {p.name: (p / "result.json").stat().st_mtime_ns for p in call_dirs(out)} == before
    assert again["audio_s"] == 0 and again["stage_s"] == {}


@pytest.mark.slow
def test_an_erased_call_does_not_come_back_with_the_next_nightly_run(nightly, harness, tmp_path):
    """Erase a call, run the nightly flow over the same folder: the call is reported as erased, is
    not processed, and no file under out/ names it; Prefect's records of it are gone too."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName
    from typer.testing import CliRunner

    from pipeline.cli.app import app

    inputs, out, log = tmp_path / "in", tmp_path / "out", tmp_path / "audit" / "redaction.jsonl"
    make_batch(inputs, audio=False, corrupt=False)
    # A second call, kept.
    other = read_json(inputs / f"{TRANSCRIPT_CALL}.transcript.json")
    (inputs / "kept-001.transcript.json").write_text(json.dumps({**other, "call_id": "kept-001"}))
    report = nightly.run_nightly(str(inputs), out=str(out), workers=2, audit_log=str(log))
    assert report["counts"]["done"] == 2 and (out / TRANSCRIPT_CALL).is_dir()

    def task_runs(call_id: str) -> list[str]:
        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=call_id)))
        return [r.name for r in runs]

    # Named by call id, never by file name (other tests of this session may have run the same call).
    names = task_runs(TRANSCRIPT_CALL)
    assert names and set(names) == {f"process_call-{TRANSCRIPT_CALL}"} and task_runs(".transcript.json") == []
    erased = CliRunner().invoke(app, ["erase", TRANSCRIPT_CALL, "--out", str(out), "--audit-log", str(log),
                                      "--prefect"])
    assert erased.exit_code == 0, erased.output
    done = json.loads(erased.output)
    assert done["tombstones"] == 2 and done["artefacts_removed"]["cache_records"] >= 1
    assert done["prefect"]["task_runs"] == len(names) and task_runs(TRANSCRIPT_CALL) == []

    # The same recording exported again under a caller-number name: the tombstone holds by content too.
    shutil.copy2(inputs / f"{TRANSCRIPT_CALL}.transcript.json", inputs / "07700900123.transcript.json")
    again = nightly.run_nightly(str(inputs), out=str(out), workers=2, audit_log=str(log))
    assert again["counts"] == {"done": 0, "skipped": 1, "failed": 0, "erased": 2, "total": 3}
    assert "07700900123" not in (out / "run-report.json").read_text()
    assert not (out / TRANSCRIPT_CALL).exists() and task_runs(TRANSCRIPT_CALL) == []
    # No file under out/ (results, run report, cache and shard records, the SQLite index) names it.
    naming = [str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and TRANSCRIPT_CALL.encode() in p.read_bytes()]
    assert naming == []
    assert (out / "kept-001" / "result.json").is_file()  # the other call is untouched


@pytest.mark.slow
def test_nightly_batch_reruns_calls_after_a_sidecar_or_model_manifest_change(nightly, harness, tmp_path):
    inputs = tmp_path / "in"
    make_batch(inputs, audio=False, corrupt=False)  # the chat transcript
    _, sidecar = make_silent_stereo(inputs)
    manifest = copy_manifest(tmp_path / "manifest.yaml")
    site = tmp_path / "site.yaml"
    site.write_text(f"models:\n  manifest: {manifest}\n")
    out = tmp_path / "out"

    def statuses() -> dict[str, str]:
        report = nightly.run_nightly(str(inputs), out=str(out), config=str(site), workers=1)
        return {c["call_id"]: c["status"] for c in report["calls"]}

    assert statuses() == {"fp-stereo": "done", TRANSCRIPT_CALL: "done"}
    assert statuses() == {"fp-stereo": "skipped", TRANSCRIPT_CALL: "skipped"}
    write_sidecar(sidecar, "fp-stereo", agent_id="A-002")
    assert statuses() == {"fp-stereo": "done", TRANSCRIPT_CALL: "skipped"}
    touch_manifest(manifest)
    assert statuses() == {"fp-stereo": "done", TRANSCRIPT_CALL: "done"}
    assert read_json(out / "fp-stereo" / "result.json")["metadata"]["agent_id"] == "A-002"


@pytest.mark.slow
def test_detection_change_reruns_detection_but_not_transcription(nightly, harness, tmp_path, monkeypatch):
    import pipeline.run

    # Count real transcriptions (the spy calls the real function).
    calls = []
    real = pipeline.run.transcribe

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline.run, "transcribe", counting)
    inputs = tmp_path / "in"
    make_batch(inputs, transcript=False, corrupt=False)
    out = tmp_path / "out"
    first = nightly.run_nightly(str(inputs), out=str(out), workers=1)
    assert _counts(first) == (1, 0, 0)
    assert calls == [1]  # the positive control: the spy sees the flow's transcription
    calls.clear()

    (tmp_path / "detect-site.yaml").write_text("max_evidence_chars: 200\n")
    (tmp_path / "site.yaml").write_text("stages:\n  detect_file: detect-site.yaml\n")
    second = nightly.run_nightly(str(inputs), out=str(out), config=str(tmp_path / "site.yaml"), workers=1)
    assert _counts(second) == (1, 0, 0)  # new detection config: the call is processed again
    assert "detect" in second["calls"][0]["timings_s"]
    assert calls == []  # ... from the cached transcript


@pytest.mark.slow
def test_cli_batch_killed_part_way_then_rerun_completes_without_duplicates(flows_env, tmp_path):
    import signal
    import subprocess
    import sys

    inputs = tmp_path / "in"
    make_batch(inputs, corrupt=False)
    for suffix in (".flac", ".json"):  # a second stereo call so the kill lands mid-batch
        src = Path(__file__).resolve().parents[1] / "pipeline" / "samples" / "calls" / f"sample-003{suffix}"
        (inputs / src.name).write_bytes(src.read_bytes())
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from pipeline.cli.batch import app; app()", str(inputs), "--out", str(out),
           "--workers", "1", "--json"]
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home")}

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        # Wait for one call to be finished and recorded in the task cache, then kill mid-batch.
        if out.is_dir() and call_dirs(out) and any((out / ".callqa" / "cache").glob("*")):
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the batch finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(call_dirs(out)) < 3

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    report = json.loads(rerun.stdout)
    done, skipped, failed = _counts(report)
    assert failed == 0 and done + skipped == 3 and skipped >= 1
    dirs = call_dirs(out)
    assert [p.name for p in dirs] == ["sample-003", AUDIO_CALL, TRANSCRIPT_CALL]
    for folder in dirs:  # every visible result is whole
        assert read_json(folder / "result.json")["call_id"] == folder.name
        assert (folder / "transcript.txt").is_file()
