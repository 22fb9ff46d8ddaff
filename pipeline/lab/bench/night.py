"""`callqa bench --night N`: a simulated night on real engines, measured.

The same N synthesised calls (`night_corpus`) go, in one invocation, through:

    callqa run       one process, one call at a time (the reference for throughput and for the
                     audit log's contents)
    prefect          a Prefect server on a scratch PostgreSQL database, K process workers
                     (`prefect worker start --limit 1`), the `process_shard` deployment, and the
                     `nightly_batch` flow splitting the calls over 2K shard runs; mid-night two busy
                     workers are killed (SIGKILL, with their flow runs) and started again, their
                     runs are marked Crashed, and the night is run again as an operator would
    dask             `callqa batch --runner dask --workers K` reporting to the same server

Every leg is a child process started from an argument list, with its own out/ folder, SQLite
index and audit log; RSS is sampled per worker process tree every two seconds. Prefect settings
for an offline machine are the ones `flows.env` applies (repeated here: this layer does not
import the flows).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import ConfigError
from pipeline.lab.bench.night_corpus import Kind, NightCall, materialise_night, plan_night
from pipeline.lab.bench.night_prefect import (all_flow_runs, all_task_runs, completed_calls, crash_orphans,
                                              shard_startups, task_wall)
from pipeline.lab.bench.night_results import (Integrity, KillOutcome, Leg, NightReport, audit_blocks, integrity,
                                              overhead, quantiles, worker_memory)
from pipeline.lab.bench.options import CorpusOptions
from pipeline.lab.bench.procs import PrefectServer, RssSampler, kill_tree, scratch_database, start_worker, stop
from pipeline.progress import ProgressHook

__all__ = ["NightPlan", "run_night", "LEGS"]

LEGS = ("run", "prefect", "dask")
POOL = "callqa-night"
DEPLOYMENT = "callqa-shard/night"
# As flows.env.OFFLINE_SETTINGS: no analytics, telemetry or events to the internet.
_OFFLINE = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
            "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}
# Where a site's settings would send a leg's results elsewhere: every leg writes under its out/.
_SITE_VARS = ("CALLQA_DATABASE_URL", "CALLQA_AUDIT_LOG", "CALLQA_OUT", "PREFECT_API_URL")


class NightPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    calls: int = Field(ge=1, le=5000)
    mix: dict[Kind, float]
    min_minutes: float = 1.0
    max_minutes: float = 8.0
    length_scale: float = 1.0
    seed: int = 19
    workers: int = Field(3, ge=1, le=64, description="Prefect process workers, and Dask worker processes.")
    kill_workers: int = Field(2, ge=0, le=64)
    kill_after: float = Field(0.3, gt=0.0, lt=1.0, description="Kill once this share of the calls is done.")
    transcribe_slots: int = Field(1, ge=1, le=64)
    legs: tuple[str, ...] = LEGS
    postgres_admin_url: str = "postgresql://postgres@127.0.0.1:5432/test"
    config: str | None = None

    def check(self) -> None:
        unknown = set(self.legs) - set(LEGS)
        if unknown or not self.legs:
            raise ConfigError(f"--legs takes {', '.join(LEGS)}", file="<command line>", key="--legs")
        if self.kill_workers > self.workers:
            raise ConfigError("--kill-workers cannot exceed --workers", file="<command line>", key="--kill-workers")


def _repo_root() -> Path:
    import pipeline

    return Path(pipeline.__file__).resolve().parents[1]


def _base_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SITE_VARS}
    env.update(_OFFLINE)
    env.update(PREFECT_HOME=str(work / "prefect-home"), PREFECT_WORKER_QUERY_SECONDS="2",
               PREFECT_LOGGING_LEVEL="WARNING")
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", *args]


def _config_args(plan: NightPlan) -> list[str]:
    return ["--config", plan.config] if plan.config else []


def _last_json(text: str) -> dict:
    """The JSON object a command printed last (its report), whatever it logged before."""
    start = text.find("{")
    if start < 0:
        raise ConfigError("a night leg printed no JSON report", file="<stdout>")
    return json.loads(text[start:])


def _outcomes(report: dict) -> dict[str, dict]:
    return {c["call_id"]: c for c in report.get("calls", []) if c.get("call_id")}


def _leg(name: str, workers: int, wall: float, calls: list[NightCall], audio: dict[str, float],
         done: dict[str, dict], failed: int, sampler: RssSampler, checked: Integrity, **extra) -> Leg:
    elapsed = {c: float(o.get("elapsed_s") or 0.0) for c, o in done.items()}
    audio_s = sum(audio[c] for c in done)
    kinds = {c.call_id: c.kind for c in calls}
    by_kind = {k: quantiles([s for c, s in elapsed.items() if kinds.get(c) == k])
               for k in sorted({c.kind for c in calls})}
    return Leg(name=name, workers=workers, wall_s=round(wall, 1), audio_s=round(audio_s, 1), calls=len(calls),
               chats=sum(c.kind == "chat" for c in calls), done=len(done), failed=failed,
               audio_hours_per_wall_hour=round(audio_s / wall, 2) if wall > 0 else None,
               per_call_s=quantiles(list(elapsed.values())), per_call_s_by_kind=by_kind,
               call_s={c: round(s, 3) for c, s in sorted(elapsed.items())},
               memory=worker_memory(sampler.samples), rss_samples=list(sampler.samples), integrity=checked, **extra)


def _audio_cost(done: dict[str, dict], audio: dict[str, float]) -> tuple[float, float]:
    """(processing seconds, audio seconds) over the audio calls done: what sizes a 5-minute call."""
    calls = [c for c in done if audio.get(c, 0.0) > 0]
    return sum(float(done[c].get("elapsed_s") or 0) for c in calls), sum(audio[c] for c in calls)


def _run_leg(plan: NightPlan, calls: list[NightCall], audio: dict[str, float], inputs: Path, work: Path,
             env: dict[str, str], tick: ProgressHook) -> tuple[Leg, Counter]:
    """`callqa run` over the night: one process, the calls one after another."""
    out = work / "out-run"
    tick("leg run", 0, 1)
    with RssSampler() as sampler:
        started = time.perf_counter()
        proc = subprocess.Popen(_cli("run", str(inputs), "--out", str(out), "--allow-dev-key", "--json",
                                     *_config_args(plan)), env=env, stdout=subprocess.PIPE,
                                stderr=(work / "run.log").open("w"), text=True, cwd=work)
        sampler.watch("callqa run", proc.pid)
        stdout, _ = proc.communicate()
        wall = time.perf_counter() - started
    report = _last_json(stdout)
    outcomes = _outcomes(report)
    done = {c: o for c, o in outcomes.items() if o["status"] == "done"}
    reference = audit_blocks(out / "audit" / "redaction.jsonl")
    ids = [c.call_id for c in calls]
    tick("leg run", 1, 1)
    return _leg("callqa run", 1, wall, calls, audio, done, sum(o["status"] == "failed" for o in outcomes.values()),
                sampler, integrity(out, ids, None)), reference


def _parent_script(inputs: Path, out: Path, shards: int, plan: NightPlan) -> str:
    return ("import json\nfrom flows.nightly import nightly_batch\n"
            f"r = nightly_batch(source={str(inputs)!r}, out={str(out)!r}, config={plan.config!r}, "
            f"shard_deployment={DEPLOYMENT!r}, shards={shards}, transcribe_slots={plan.transcribe_slots}, "
            "dev_key=True)\nprint('REPORT=' + json.dumps(r))\n")


def _parent(inputs: Path, out: Path, shards: int, plan: NightPlan, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _parent_script(inputs, out, shards, plan)], env=env,
                            stdout=subprocess.PIPE, stderr=log.open("a"), text=True, cwd=log.parent)


def _report_of(stdout: str, log: Path) -> dict:
    if "REPORT=" not in stdout:
        raise ConfigError("the nightly flow printed no report; see its log", file=str(log))
    return json.loads(stdout.split("REPORT=", 1)[1].splitlines()[0])


def _done_count(out: Path, ids: list[str]) -> int:
    return sum((out / c / "result.json").is_file() for c in ids)


def _busy(workers: dict[str, subprocess.Popen]) -> list[str]:
    """Workers running a flow run now (a child process), busiest first by name order."""
    import psutil

    busy = []
    for name, proc in workers.items():
        try:
            if psutil.Process(proc.pid).children():
                busy.append(name)
        except psutil.NoSuchProcess:
            continue
    return busy


def _prefect_leg(plan: NightPlan, calls: list[NightCall], audio: dict[str, float], inputs: Path, work: Path,
                 server: PrefectServer, reference: Counter | None, tick: ProgressHook) -> tuple[Leg, set[str]]:
    env = server.env
    out = work / "out-prefect"
    ids = [c.call_id for c in calls]
    shards = 2 * plan.workers
    logs = work / "logs"
    subprocess.run([sys.executable, "-m", "prefect", "work-pool", "create", POOL, "--type", "process"], env=env,
                   check=True, capture_output=True, timeout=180)
    deploy = ("from flows.nightly import process_shard\n"
              f"process_shard.from_source(source={str(_repo_root())!r}, entrypoint='flows/nightly.py:process_shard')"
              f".deploy(name='night', work_pool_name={POOL!r}, print_next_steps=False)\n")
    subprocess.run([sys.executable, "-c", deploy], env=env, check=True, capture_output=True, timeout=300,
                   cwd=_repo_root())
    names = [f"worker-{i + 1}" for i in range(plan.workers)]
    workers: dict[str, subprocess.Popen] = {}
    kill: dict | None = None
    with RssSampler() as sampler:
        try:
            for name in names:
                workers[name] = start_worker(POOL, name, env, logs / f"{name}.log")
                sampler.watch(name, workers[name].pid)
            tick("leg prefect", 0, len(ids))
            started = time.perf_counter()
            parent = _parent(inputs, out, shards, plan, env, logs / "nightly.log")
            stdout: list[str] = []
            reader = threading.Thread(target=lambda: stdout.append(parent.stdout.read()), daemon=True)
            reader.start()
            threshold = max(1, int(plan.kill_after * len(ids)))
            while parent.poll() is None:
                time.sleep(2)
                done = _done_count(out, ids)
                tick("leg prefect", done, len(ids))
                if kill is None and plan.kill_workers and done >= threshold and done < len(ids):
                    kill = _kill_and_restart(plan, workers, names, env, logs, server.api, sampler, done, started)
            reader.join()
            first = _report_of("".join(stdout), logs / "nightly.log")
            second = None
            if first["counts"]["failed"] or kill is not None:
                # What an operator does after losing workers: run the night again; done calls are skipped.
                again = _parent(inputs, out, shards, plan, env, logs / "nightly.log")
                second = _report_of(again.communicate()[0], logs / "nightly.log")
            wall = time.perf_counter() - started
        finally:
            for proc in workers.values():
                stop(proc)
    task_runs, flow_runs = all_task_runs(server.api), all_flow_runs(server.api)
    checked = integrity(out, ids, reference, completed_calls(task_runs))
    outcomes = _outcomes(first)
    if second is not None:
        outcomes.update({c: o for c, o in _outcomes(second).items() if o["status"] == "done"})
    done = {c: o for c, o in outcomes.items() if o["status"] == "done"}
    spent, audio_done = _audio_cost(done, audio)
    walls = task_wall(task_runs)
    outcome = None
    if kill is not None:
        outcome = KillOutcome(**kill, first_pass=first["counts"], second_pass=second["counts"] if second else {},
                              lost=checked.lost, duplicated=checked.duplicated)
    note = None if kill is not None else ("no worker was killed: the night ended before the kill point"
                                          if plan.kill_workers else "kill-and-restart not asked for")
    return _leg("prefect", plan.workers, wall, calls, audio, done,
                sum(o["status"] == "failed" for o in _outcomes(second or first).values()), sampler, checked,
                task_wall_s=quantiles([walls[c] for c in done if c in walls]),
                overhead=overhead(walls, {c: float(o["elapsed_s"]) for c, o in done.items()},
                                  shard_startups(flow_runs, task_runs), len(ids),
                                  spent / audio_done if audio_done else None),
                kill=outcome, note=note), {r["id"] for r in task_runs}


def _kill_and_restart(plan: NightPlan, workers: dict[str, subprocess.Popen], names: list[str], env: dict[str, str],
                      logs: Path, api: str, sampler: RssSampler, done: int, started: float) -> dict:
    busy = _busy(workers)
    victims = (busy + [n for n in names if n not in busy])[:plan.kill_workers]
    killed_at = time.perf_counter() - started
    pids: set[int] = set()
    for name in victims:
        sampler.forget(name)
        pids |= set(kill_tree(workers[name].pid))
    time.sleep(3)
    crashed = crash_orphans(api, pids)
    for name in victims:
        workers[name] = start_worker(POOL, name, env, logs / f"{name}.log")
        sampler.watch(name, workers[name].pid)
    restarted = time.perf_counter() - started
    # A run the server had not yet seen start when its worker died is caught on a second look.
    time.sleep(5)
    crashed += crash_orphans(api, pids)
    return dict(killed_at_s=round(killed_at, 1), done_before_kill=done, killed_workers=victims,
                crashed_flow_runs=crashed, restarted_at_s=round(restarted, 1))


def _dask_leg(plan: NightPlan, calls: list[NightCall], audio: dict[str, float], inputs: Path, work: Path,
              server: PrefectServer, reference: Counter | None, seen: set[str], tick: ProgressHook) -> Leg:
    """`callqa batch --runner dask`: a local Dask cluster of worker processes, reporting to the server."""
    import psutil

    out = work / "out-dask"
    ids = [c.call_id for c in calls]
    tick("leg dask", 0, 1)
    with RssSampler() as sampler:
        started = time.perf_counter()
        proc = subprocess.Popen(_cli("batch", str(inputs), "--out", str(out), "--runner", "dask", "--workers",
                                     str(plan.workers), "--transcribe-slots", str(plan.transcribe_slots),
                                     "--allow-dev-key", "--json", *_config_args(plan)),
                                env=server.env, stdout=subprocess.PIPE,
                                stderr=(work / "logs" / "dask.log").open("w"), text=True, cwd=work)
        sampler.watch("batch process", proc.pid)
        stdout: list[str] = []
        reader = threading.Thread(target=lambda: stdout.append(proc.stdout.read()), daemon=True)
        reader.start()
        while proc.poll() is None:
            # The cluster's worker processes appear after start-up: each is watched on its own.
            try:
                for child in psutil.Process(proc.pid).children():
                    if "python" in (child.name() or "") and child.memory_info().rss > 200 * 1024 * 1024:
                        sampler.watch(f"dask worker {child.pid}", child.pid)
            except psutil.NoSuchProcess:
                pass
            time.sleep(2)
        reader.join()
        wall = time.perf_counter() - started
    text = "".join(stdout)
    if proc.returncode not in (0, 1) or "{" not in text:
        raise ConfigError(f"callqa batch --runner dask exited with code {proc.returncode}; see its log",
                          file=str(work / "logs" / "dask.log"))
    report = _last_json(text)
    outcomes = _outcomes(report)
    done = {c: o for c, o in outcomes.items() if o["status"] == "done"}
    task_runs = [r for r in all_task_runs(server.api) if r["id"] not in seen]
    walls = task_wall(task_runs)
    spent, audio_done = _audio_cost(done, audio)
    # The batch process itself holds no models: only its worker processes are reported.
    sampler.samples[:] = [s for s in sampler.samples if s[1] != "batch process"]
    tick("leg dask", 1, 1)
    return _leg("dask", plan.workers, wall, calls, audio, done,
                sum(o["status"] == "failed" for o in outcomes.values()), sampler,
                integrity(out, ids, reference, completed_calls(task_runs)),
                task_wall_s=quantiles([walls[c] for c in done if c in walls]),
                overhead=overhead(walls, {c: float(o["elapsed_s"]) for c, o in done.items()}, [], len(ids),
                                  spent / audio_done if audio_done else None))


def run_night(plan: NightPlan, corpus: CorpusOptions, *, cache_root: Path, work_dir: Path | None = None,
              progress: ProgressHook | None = None, command: str = "callqa bench --night",
              on_leg: Callable[[NightReport], None] | None = None) -> NightReport:
    """Synthesise (or reuse) the night's calls and run them through every leg of `plan.legs`.

    Args:
        plan: the night (calls, mix, lengths, workers, the kill) and the legs to run.
        corpus: the benchmark corpus options (configs/bench.yaml).
        cache_root: the synthesised-call cache (kept between runs).
        work_dir: where inputs, outputs and logs go (kept); None: a temporary folder, removed.
        progress: the one progress hook: "night corpus", "leg run", "leg prefect" (calls done),
            "leg dask".
        on_leg: called with the report so far after each leg (a long night keeps what it measured
            when a later leg fails or is stopped).

    Raises:
        ConfigError: a bad plan, PostgreSQL or the Prefect server unreachable, a leg that failed.
    """
    import shutil

    plan.check()
    tick = progress or (lambda _s, _d, _t: None)
    began = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    work = work_dir or Path(tempfile.mkdtemp(prefix="callqa-night-"))
    (work / "logs").mkdir(parents=True, exist_ok=True)
    try:
        calls = plan_night(plan.calls, mix=plan.mix, min_minutes=plan.min_minutes, max_minutes=plan.max_minutes,
                           length_scale=plan.length_scale, seed=plan.seed)
        t = time.perf_counter()
        inputs = work / "inputs"
        audio = materialise_night(calls, inputs, corpus, cache_root=cache_root, progress=progress)
        prepare_s = time.perf_counter() - t
        env = _base_env(work)
        legs: list[Leg] = []
        night = _night_record(plan, calls, audio, prepare_s, cache_root)

        def done(leg: Leg) -> None:
            legs.append(leg)
            if on_leg is not None:
                on_leg(_report(plan, started_at, began, command, night, legs))

        reference = None
        if "run" in plan.legs:
            leg, reference = _run_leg(plan, calls, audio, inputs, work, env, tick)
            done(leg)
        if {"prefect", "dask"} & set(plan.legs):
            with scratch_database(plan.postgres_admin_url) as db_url, \
                    PrefectServer.run(db_url, env, work / "logs" / "server.log") as server:
                seen: set[str] = set()
                if "prefect" in plan.legs:
                    leg, seen = _prefect_leg(plan, calls, audio, inputs, work, server, reference, tick)
                    done(leg)
                if "dask" in plan.legs:
                    done(_dask_leg(plan, calls, audio, inputs, work, server, reference, seen, tick))
    finally:
        if work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return _report(plan, started_at, began, command, night, legs)


def _night_record(plan: NightPlan, calls: list[NightCall], audio: dict[str, float], prepare_s: float,
                  cache_root: Path) -> dict:
    return {"calls": plan.calls, "mix": plan.mix, "min_minutes": plan.min_minutes, "max_minutes": plan.max_minutes,
            "length_scale": plan.length_scale, "seed": plan.seed, "workers": plan.workers,
            "kill_workers": plan.kill_workers, "transcribe_slots": plan.transcribe_slots,
            "by_kind": dict(Counter(c.kind for c in calls)), "audio_hours": round(sum(audio.values()) / 3600, 3),
            "prepare_s": round(prepare_s, 1), "cache_dir": str(cache_root)}


def _report(plan: NightPlan, started_at: str, began: float, command: str, night: dict, legs: list[Leg]) -> NightReport:
    environment = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                   "load_average_end": [round(x, 2) for x in os.getloadavg()]}
    return NightReport(started_at=started_at, wall_s=round(time.perf_counter() - began, 1), command=command,
                       environment=environment, night=night, legs=list(legs),
                       notes=[] if len(legs) == len(plan.legs) else [f"legs done so far: {len(legs)} of {len(plan.legs)}"])
