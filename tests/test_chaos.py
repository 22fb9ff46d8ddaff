"""Chaos: `callqa run` killed at random moments and its database restarted mid-batch.

At least 20 `kill -9` of `callqa run` subprocesses (four at a time, on the quarters of one batch
of transcripts sharing one output folder, audit log and PostgreSQL index), each at a random
moment after the runs started writing; then the database is stopped and started while a
run is writing; then one last run. The final state must equal a clean run's: every call once in
out/, once in the audit log (its findings not doubled) and once in the index, `audit verify`
clean, nothing left half-written.

The database is a private throwaway PostgreSQL cluster (initdb + pg_ctl on a free port, run as
the `postgres` user when the tests run as root), never the shared server. Transcript inputs keep
it fast: no audio is decoded, most of the time is each run's start (model loading). About 2 min
on 4 idle cores; 8 min on a shared 2-core machine (20 kills, 1 restart, 24 calls).
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


def _start(files: list[Path], out: Path, url: str) -> subprocess.Popen:
    return subprocess.Popen([*CALLQA, "run", *map(str, files), "--out", str(out), "--database-url", url, "--json"],
                            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=Path(__file__).resolve().parents[1])


def _written(out: Path) -> tuple[int, int]:
    """What a run has written so far: the audit log's size and the number of entries in out/."""
    log = out / "audit" / "redaction.jsonl"
    return (log.stat().st_size if log.exists() else 0), (len(list(out.iterdir())) if out.exists() else 0)


def _wait_for_writing(procs: list[subprocess.Popen], out: Path, before: tuple[int, int], limit_s: float = 120) -> None:
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
    pg = PrivatePostgres(bin_dir)
    try:
        pg.start()
        # The clean run: its own output folder and (SQLite) index, nothing killed.
        clean = subprocess.run([*CALLQA, "run", str(tmp_path / "in"), "--out", str(tmp_path / "clean"), "--json"],
                               env=_env(), capture_output=True, timeout=600, cwd=Path(__file__).resolve().parents[1])
        assert clean.returncode == 0, clean.stderr[-2000:]
        out = tmp_path / "chaos"
        kills = restarts = rounds = 0
        while kills < MIN_KILLS:
            rounds += 1
            assert rounds <= 3 * MIN_KILLS, "the runs end before they can be killed: see a run's output"
            before = _written(out)
            procs = [_start(share, out, pg.url) for share in shares]
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
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    kills += 1
            for proc in procs:
                proc.wait(timeout=60)
        final = subprocess.run([*CALLQA, "run", str(tmp_path / "in"), "--out", str(out), "--database-url", pg.url,
                                "--json"], env=_env(), capture_output=True, timeout=600,
                               cwd=Path(__file__).resolve().parents[1])
        assert final.returncode == 0, final.stderr[-2000:]
        chaos = _final_state(out, pg.url, ids)
    finally:
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
