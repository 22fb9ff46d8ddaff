"""Helpers for the flow tests: an offline Prefect environment, small batches of bundled calls, and a
real Prefect server on a scratch PostgreSQL database with process workers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.env import OFFLINE_SETTINGS
from tests._paths import SAMPLE_CALLS as SAMPLES

# The shortest stereo call (no pyannote needed) and the chat transcript keep a flow run short.
AUDIO_CALL = "sample-004"
TRANSCRIPT_CALL = "sample-005"
CORRUPT_NAME = "broken-001.wav"
TEST_REDACTION_KEY = "callqa-flow-tests-key-0123456789"


def offline_env(prefect_home: Path) -> dict[str, str]:
    """Environment for a test session: no Prefect server or network, a private PREFECT_HOME."""
    env = dict(OFFLINE_SETTINGS)
    env["PREFECT_HOME"] = str(prefect_home)
    env["CALLQA_REDACTION_KEY"] = TEST_REDACTION_KEY
    env["PREFECT_LOGGING_LEVEL"] = "WARNING"
    return env


def make_batch(folder: Path, *, audio: bool = True, transcript: bool = True, corrupt: bool = True) -> dict[str, Path]:
    """Copy bundled calls (and a corrupt file) into `folder`; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    if audio:
        for suffix in (".flac", ".json"):
            shutil.copy2(SAMPLES / f"{AUDIO_CALL}{suffix}", folder / f"{AUDIO_CALL}{suffix}")
        made[AUDIO_CALL] = folder / f"{AUDIO_CALL}.flac"
    if transcript:
        shutil.copy2(SAMPLES / f"{TRANSCRIPT_CALL}.transcript.json", folder / f"{TRANSCRIPT_CALL}.transcript.json")
        made[TRANSCRIPT_CALL] = folder / f"{TRANSCRIPT_CALL}.transcript.json"
    if corrupt:
        bad = folder / CORRUPT_NAME
        # Text where audio should be: the content decides the format, so ingest says not_audio.
        bad.write_bytes(b"SECRET-CONTENT-NOT-AUDIO " * 40)
        made["corrupt"] = bad
    return made


def make_silent_stereo(folder: Path, call_id: str = "fp-stereo", *, agent_id: str = "A-001") -> tuple[Path, Path]:
    """A 2 s silent stereo WAV and its sidecar: the cheapest audio input with a sidecar (silence
    is not decoded, and stereo needs no diarisation model). Returns (audio, sidecar)."""
    import numpy as np
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    audio = folder / f"{call_id}.wav"
    sf.write(audio, np.zeros((32000, 2), dtype=np.float32), 16000, subtype="PCM_16")
    sidecar = folder / f"{call_id}.json"
    write_sidecar(sidecar, call_id, agent_id=agent_id)
    return audio, sidecar


def write_sidecar(sidecar: Path, call_id: str, *, agent_id: str) -> None:
    sidecar.write_text(json.dumps({"call_id": call_id, "channel_type": "telephone", "agent_id": agent_id}),
                       encoding="utf-8")


def copy_manifest(target: Path) -> Path:
    """A copy of the packaged model manifest, for a site config to point at (never edit the real one)."""
    import importlib.resources

    shutil.copy2(Path(str(importlib.resources.files("pipeline._models"))) / "manifest.yaml", target)
    return target


def touch_manifest(manifest: Path) -> None:
    """Change the manifest as loaded (a licence line of a model no test runs), not just its bytes."""
    import yaml

    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    entry = next(m for m in data["models"] if m["name"] == "large-v3-turbo")
    entry["licence"] = entry["licence"] + " (site copy)"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# Folders under out/ that are not calls: the quarantine records and the redaction audit log.
NOT_CALLS = frozenset({"quarantine", "audit"})


def call_dirs(out: Path) -> list[Path]:
    """Visible call folders under out/ (not quarantine/ or audit/, not hidden temporary ones)."""
    return sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in NOT_CALLS)


# --- a real Prefect server on PostgreSQL, and process workers (the server tests) ---------------

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def prefect_database() -> Iterator[str]:
    """A scratch PostgreSQL database for a Prefect server (`prefect_test_<random>`), dropped afterwards;
    no other database is touched. Skips (fails under CALLQA_REQUIRE_POSTGRES=1) without PostgreSQL."""
    from tests._score_support import pg_admin

    admin = pg_admin()
    name = f"prefect_test_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            info = admin.info
            yield f"postgresql+asyncpg://{info.user}@{info.host}:{info.port}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(tmp_path: Path, api: str) -> dict[str, str]:
    """The environment of every process that talks to the test server (CLI, workers, flows)."""
    return {**os.environ, **offline_env(tmp_path / "prefect-home"), "PREFECT_API_URL": api,
            "PREFECT_WORKER_QUERY_SECONDS": "2", "PREFECT_LOGGING_LEVEL": "INFO"}


@contextmanager
def prefect_server(tmp_path: Path, env: dict[str, str], port: int, *, timeout: float = 180) -> Iterator[str]:
    """`prefect server start` on a scratch PostgreSQL database, healthy; yields its API URL.
    Its log is tmp_path/server.log; it is stopped and its database dropped afterwards."""
    api = f"http://127.0.0.1:{port}/api"
    with prefect_database() as db_url:
        env = {**env, "PREFECT_SERVER_DATABASE_CONNECTION_URL": db_url, "PREFECT_SERVER_UI_ENABLED": "false"}
        env.pop("PREFECT_API_URL", None)
        log = (tmp_path / "server.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            _wait_healthy(api, server, timeout)
            yield api
        finally:
            stop(server)
            log.close()


def _wait_healthy(api: str, proc: subprocess.Popen, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "prefect server exited"
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError("prefect server did not become healthy")


def start_worker(pool: str, name: str, env: dict[str, str], log: Path, *, queues: tuple[str, ...] = (),
                 limit: int | None = None, cwd: Path | None = None) -> subprocess.Popen:
    """`prefect worker start --pool POOL [--work-queue Q ...] [--limit N]`; its output goes to `log`."""
    cmd = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--name", name]
    for queue in queues:
        cmd += ["--work-queue", queue]
    if limit is not None:
        cmd += ["--limit", str(limit)]
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=cwd or log.parent)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
