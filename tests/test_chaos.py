"""Chaos: `callqa run` killed at random moments and its database restarted mid-batch.

At least 20 `kill -9` of `callqa run` subprocesses (four at a time, on the quarters of one batch
of transcripts sharing one output folder, audit log and PostgreSQL index), each at a random
moment after the runs started writing; then the database is stopped and started while a
run is writing; then one last run. The final state must equal a clean run's: every call once in
out/, once in the audit log (its findings not doubled) and once in the index, `audit verify`
clean, nothing left half-written.

The database is a private throwaway PostgreSQL cluster (initdb + pg_ctl on a free port, run as
the `postgres` user when the tests run as root), never the shared server. Transcript inputs keep
it fast: no audio is decoded, most of the time is each run's start. The killed runs are forks of
one process that has already imported what `callqa run` imports (`_Forks`): each is its own
process running the `callqa run` command with its own arguments, killed with SIGKILL, but it
skips the ~7 s of imports a fresh interpreter spends before loading its models (that start, once
per killed run, was most of this test's time). The clean run and the last run are plain
`python -m pipeline.cli run` processes, and the clean run goes beside the chaos (its own folder
and SQLite index), on the core the killed runs leave idle. About 2.5 CPU-minutes (4 before the
fork server): 3.5 min on a shared, loaded 2-core machine (20 kills, 1 restart, 24 calls).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests._paths import SAMPLE_CALLS

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

KEY = "callqa-chaos-test-key-0123456789"
N_CALLS = 24
MIN_KILLS = 20
PARALLEL = 4  # runs at once, each on its share of the batch: 20 kills in about 5 rounds of starts
CALLQA = [sys.executable, "-m", "pipeline.cli"]


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """A throwaway cluster in a temporary folder, on its own port; as `postgres` when we are root."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="callqa-chaos-pg-"))
        self.data, self.sock = self.root / "data", self.root / "sock"
        self.sock.mkdir()
        self.port = _free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sock, "postgres")
            os.chmod(self.root, 0o755)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.root / "log"), "-o",
                  f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        # "immediate": the server goes as if it crashed, connections and all.
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "immediate", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


def _make_inputs(folder: Path) -> list[str]:
    """N_CALLS chat transcripts: the bundled one under new call ids, each with a phone number."""
    base = json.loads((SAMPLE_CALLS / "sample-005.transcript.json").read_text(encoding="utf-8"))
    folder.mkdir(parents=True)
    ids = []
    for i in range(N_CALLS):
        call_id = f"chaos-{i:02d}"
        turns = list(base["turns"]) + [{"speaker": "customer", "text": f"my number is 07700 900{i:03d}",
                                        "start_s": 400.0 + i, "end_s": 404.0 + i}]
        data = {**base, "call_id": call_id, "turns": turns}
        (folder / f"{call_id}.transcript.json").write_text(json.dumps(data), encoding="utf-8")
        ids.append(call_id)
    return ids


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLQA_")}
    env.update(CALLQA_REDACTION_KEY=KEY, PYTHONUNBUFFERED="1")
    return env


# The fork server: imports what `callqa run` imports, then forks one child per line of JSON
# arguments on stdin, and reports "started PID" and "exit PID CODE" (a signal as -N) on stdout.
# One thread (the children are reaped by polling) so that a fork never copies a held lock.
_FORK_SERVER = r"""
import json, os, select, sys
import pipeline.cli.app, pipeline.ingest, pipeline.run, pipeline.store
import alembic, ctranslate2, presidio_analyzer, sentence_transformers, sqlalchemy.dialects.postgresql
from pipeline.torch_compat import import_torchaudio
import_torchaudio()
from pipeline.cli.app import app

def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()

say("ready")
children, pending = set(), b""
while True:
    readable = select.select([0], [], [], 0.02)[0]
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            break
        children.discard(pid)
        say(f"exit {pid} {os.waitstatus_to_exitcode(status)}")
    if not readable:
        continue
    chunk = os.read(0, 65536)
    if not chunk:
        break
    pending += chunk
    while b"\n" in pending:
        line, pending = pending.split(b"\n", 1)
        argv = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the run: its output to /dev/null as before, then the CLI as `python -m pipeline.cli`
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            sys.argv = ["callqa", *argv]
            app(args=argv, prog_name="callqa")  # exits (SystemExit) through the interpreter's normal shutdown
            sys.exit(0)
        children.add(pid)
        say(f"started {pid}")
while children:
    pid, status = os.waitpid(-1, 0)
    children.discard(pid)
"""


class _Forks:
    """The fork server's side in the test: `start(args)` gives a run with Popen's poll, send_signal
    and wait (the server reaps the children; its reports are read by a thread here)."""

    def __init__(self, log: Path):
        self.log = log.open("w")
        self.server = subprocess.Popen([sys.executable, "-c", _FORK_SERVER], env=_env(), stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=self.log, cwd=Path(__file__).resolve().parents[1])
        self.exits: dict[int, int] = {}
        self.started: list[int] = []
        self.changed = threading.Condition()
        self.ready = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self._until(lambda: self.ready, 300, "the fork server did not start (see its log)")

    def _read(self) -> None:
        for raw in self.server.stdout:
            words = raw.decode().split()
            with self.changed:
                if words == ["ready"]:
                    self.ready = True
                elif words[0] == "started":
                    self.started.append(int(words[1]))
                elif words[0] == "exit":
                    self.exits[int(words[1])] = int(words[2])
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def _until(self, done, timeout: float, message: str) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: done() or self.server.poll() is not None, timeout) or not done():
                raise AssertionError(f"{message}: {self.log.name}")

    def start(self, args: list[str]) -> "_Run":
        n = len(self.started)
        self.server.stdin.write((json.dumps(args) + "\n").encode())
        self.server.stdin.flush()
        self._until(lambda: len(self.started) > n, 60, "the fork server did not start a run")
        return _Run(self, self.started[n])

    def close(self) -> None:
        if self.server.poll() is None:
            self.server.stdin.close()
            try:
                self.server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.log.close()


class _Run:
    """One `callqa run` forked by the fork server."""

    def __init__(self, forks: _Forks, pid: int):
        self.forks, self.pid = forks, pid

    def poll(self) -> int | None:
        return self.forks.exits.get(self.pid)

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # not reported reaped: the pid is still this run's
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:  # reaped since (its exit is on its way): it ended by itself
                pass

    def wait(self, timeout: float) -> int:
        self.forks._until(lambda: self.pid in self.forks.exits, timeout, f"run {self.pid} did not end")
        return self.forks.exits[self.pid]


def _start(forks: _Forks, files: list[Path], out: Path, url: str) -> _Run:
    return forks.start(["run", *map(str, files), "--out", str(out), "--database-url", url, "--json"])


def _written(out: Path) -> tuple[int, int]:
    """What a run has written so far: the audit log's size and the number of entries in out/."""
    log = out / "audit" / "redaction.jsonl"
    return (log.stat().st_size if log.exists() else 0), (len(list(out.iterdir())) if out.exists() else 0)


def _wait_for_writing(procs: list[_Run], out: Path, before: tuple[int, int], limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and all(p.poll() is None for p in procs):
        if _written(out) != before:
            return
        time.sleep(0.05)


def _strip(result: dict) -> dict:
    """A result without what differs between two runs of the same input (times)."""
    result = json.loads(json.dumps(result))
    result["pipeline"].pop("timings_s", None)
    return result


def _final_state(out: Path, url: str, ids: list[str]) -> dict:
    from pipeline.redact.audit import read_log, verify_log
    from pipeline.redact.keys import audit_key
    from pipeline.store import open_store

    log = out / "audit" / "redaction.jsonl"
    records = list(read_log(log))
    store = open_store(url)
    try:
        from sqlalchemy import text

        with store.session() as s:
            rows = Counter(r[0] for r in s.execute(text("SELECT call_id FROM results")))
        os.environ["CALLQA_REDACTION_KEY"], saved = KEY, os.environ.get("CALLQA_REDACTION_KEY")
        try:
            verify = verify_log(log, audit_key(), store=store)
        finally:
            os.environ["CALLQA_REDACTION_KEY"] = saved or ""
    finally:
        store.dispose()
    return {
        "results": {i: _strip(json.loads((out / i / "result.json").read_text())) for i in ids
                    if (out / i / "result.json").is_file()},
        "call_records": Counter(r.call_id for r in records if r.kind == "call"),
        "findings": Counter(r.call_id for r in records if r.kind == "finding"),
        "index_rows": rows,
        "verify": verify,
        "hidden": sorted(p.name for p in out.iterdir() if p.name.startswith(".") and p.is_dir() and p.name != ".callqa"),
    }


def test_kill_9_and_a_database_restart_leave_the_state_of_a_clean_run(tmp_path):
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    started = time.perf_counter()
    rng = random.Random(16)
    ids = _make_inputs(tmp_path / "in")
    files = sorted((tmp_path / "in").glob("*.json"))
    shares = [files[i::PARALLEL] for i in range(PARALLEL)]
    repo = Path(__file__).resolve().parents[1]
    # The clean run: its own output folder and (SQLite) index, nothing killed; beside the chaos.
    clean_log = (tmp_path / "clean.log").open("w+")
    clean = subprocess.Popen([*CALLQA, "run", str(tmp_path / "in"), "--out", str(tmp_path / "clean"), "--json"],
                             env=_env(), stdout=subprocess.DEVNULL, stderr=clean_log, cwd=repo)
    pg = PrivatePostgres(bin_dir)
    forks = None
    try:
        pg.start()
        forks = _Forks(tmp_path / "fork-server.log")
        out = tmp_path / "chaos"
        kills = restarts = rounds = 0
        while kills < MIN_KILLS:
            rounds += 1
            assert rounds <= 3 * MIN_KILLS, "the runs end before they can be killed: see a run's output"
            before = _written(out)
            procs = [_start(forks, share, out, pg.url) for share in shares]
            _wait_for_writing(procs, out, before)
            if rounds == 2 and not restarts:
                # The database goes away under the writing runs, and comes back.
                time.sleep(rng.uniform(0.0, 0.8))
                pg.stop()
                time.sleep(1.5)
                pg.start()
                restarts += 1
            for proc in procs:  # each at its own random moment
                time.sleep(rng.uniform(0.1, 2.5))
                proc.send_signal(signal.SIGKILL)
            # A kill counts when the run died of it (not when it had ended by itself just before).
            kills += sum(proc.wait(timeout=60) == -signal.SIGKILL for proc in procs)
        forks.close()
        final = subprocess.run([*CALLQA, "run", str(tmp_path / "in"), "--out", str(out), "--database-url", pg.url,
                                "--json"], env=_env(), capture_output=True, timeout=600, cwd=repo)
        assert final.returncode == 0, final.stderr[-2000:]
        chaos = _final_state(out, pg.url, ids)
        if clean.wait(timeout=600) != 0:
            clean_log.seek(0)
            raise AssertionError(clean_log.read()[-2000:])
    finally:
        if forks is not None:
            forks.close()
        if clean.poll() is None:
            clean.kill()
            clean.wait()
        clean_log.close()
        pg.destroy()
    reference = _final_state_sqlite(tmp_path / "clean", ids)
    duplicates = sum(n - 1 for c in (chaos["call_records"], chaos["index_rows"]) for n in c.values() if n > 1)
    missing = sum(1 for i in ids if i not in chaos["results"] or not chaos["call_records"][i] or not chaos["index_rows"][i])
    print(f"\nchaos: {kills} kills, {restarts} database restart(s), {rounds} rounds, {len(ids)} calls, "
          f"duplicates {duplicates}, missing {missing}, {time.perf_counter() - started:.0f} s")
    assert kills >= MIN_KILLS and restarts == 1
    assert duplicates == 0 and missing == 0
    assert chaos["verify"].ok, chaos["verify"]
    assert chaos["hidden"] == []  # no temporary or replaced folder left
    # The same results as the clean run, and the same findings per call in the audit log (none doubled).
    assert chaos["results"] == reference["results"]
    assert chaos["findings"] == reference["findings"] and sum(chaos["findings"].values()) >= len(ids)
    assert set(chaos["call_records"]) == set(ids) and set(chaos["index_rows"]) == set(ids)


def _final_state_sqlite(out: Path, ids: list[str]) -> dict:
    from pipeline.redact.audit import read_log

    records = list(read_log(out / "audit" / "redaction.jsonl"))
    return {
        "results": {i: _strip(json.loads((out / i / "result.json").read_text())) for i in ids},
        "findings": Counter(r.call_id for r in records if r.kind == "finding"),
    }
