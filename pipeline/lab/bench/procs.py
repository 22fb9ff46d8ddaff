"""Processes of a simulated night: a Prefect server on a scratch PostgreSQL database, process
workers, killing a worker with everything it started, and RSS sampled per worker over time.

Every process is started with an argument list (never a shell) and stopped by its own id.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ConfigError

__all__ = ["scratch_database", "PrefectServer", "start_worker", "stop", "kill_tree", "RssSampler"]

_MB = 1024 * 1024


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL database `callqa_night_<random>` for the Prefect server, dropped afterwards
    (no other database is touched); yields its asyncpg URL.

    Raises:
        ConfigError: PostgreSQL is not reachable at `admin_url`.
    """
    import psycopg

    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError:
        raise ConfigError("PostgreSQL for the Prefect server is not reachable; start it or pass --prefect-postgres",
                          file="<command line>", key="--prefect-postgres") from None
    name = f"callqa_night_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            info = admin.info
            yield f"postgresql+asyncpg://{info.user}@{info.host}:{info.port}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PrefectServer:
    """`prefect server start` on loopback; `env` is what every client process needs to reach it."""

    proc: subprocess.Popen
    api: str
    env: dict[str, str]

    @classmethod
    @contextmanager
    def run(cls, db_url: str, base_env: dict[str, str], log: Path, *, timeout: float = 240) -> Iterator["PrefectServer"]:
        import httpx

        port = _free_port()
        api = f"http://127.0.0.1:{port}/api"
        env = {**base_env, "PREFECT_SERVER_DATABASE_CONNECTION_URL": db_url, "PREFECT_SERVER_UI_ENABLED": "false"}
        env.pop("PREFECT_API_URL", None)
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                     "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                    cwd=log.parent)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise ConfigError(f"the Prefect server exited with code {proc.returncode}; see its log",
                                      file=str(log))
                try:
                    if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise ConfigError(f"the Prefect server was not healthy after {timeout:.0f} s", file=str(log))
                time.sleep(1)
            yield cls(proc, api, {**base_env, "PREFECT_API_URL": api})
        finally:
            stop(proc)


def start_worker(pool: str, name: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """A process worker that runs one flow run at a time (`--limit 1`): a shard per worker."""
    with log.open("a") as out:
        return subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--name", name,
                                 "--limit", "1"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent,
                                start_new_session=True)


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            proc.wait()


def kill_tree(pid: int) -> list[int]:
    """SIGKILL `pid` and every process it started, as a host losing power would; returns the ids."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    for p in procs:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)
    return [p.pid for p in procs]


def tree_rss_mb(pid: int) -> float | None:
    """RSS of `pid` and its descendants, MiB (None once it is gone)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / _MB


@dataclass
class RssSampler:
    """A daemon thread sampling the RSS of named process trees every `interval_s`.

    `watch(name, pid)` adds (or, after a restart, replaces) a tree; `samples` holds
    (seconds since start, name, MiB) rows.
    """

    interval_s: float = 2.0
    samples: list[tuple[float, str, float]] = field(default_factory=list)
    _pids: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _started: float = field(default_factory=time.monotonic)

    def watch(self, name: str, pid: int) -> None:
        with self._lock:
            self._pids[name] = pid

    def forget(self, name: str) -> None:
        with self._lock:
            self._pids.pop(name, None)

    def now(self) -> float:
        return round(time.monotonic() - self._started, 1)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                pids = dict(self._pids)
            t = self.now()
            for name, pid in pids.items():
                rss = tree_rss_mb(pid)
                if rss is not None:
                    with self._lock:
                        self.samples.append((t, name, round(rss, 1)))

    def __enter__(self) -> "RssSampler":
        self._thread = threading.Thread(target=self._run, name="night-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
