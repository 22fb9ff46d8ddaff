"""The records of a simulated night and the pure figures taken from them: throughput, time per
call, Prefect's overhead per call, memory per worker over time, and the exactly-once checks.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pipeline.lab.bench.measure import linear_slope

__all__ = ["Quantiles", "quantiles", "Overhead", "overhead", "WorkerMemory", "worker_memory", "Integrity",
           "integrity", "audit_blocks", "KillOutcome", "Leg", "NightReport", "REFERENCE_CALL_S"]

# The yardstick: Prefect's cost per call against a 5-minute call's processing.
REFERENCE_CALL_S = 300.0


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Quantiles(_Record):
    n: int
    p50: float | None
    p95: float | None
    mean: float | None
    max: float | None


def quantiles(values: list[float]) -> Quantiles:
    """p50, p95 (linear interpolation), mean and max, rounded to ms (pure)."""
    if not values:
        return Quantiles(n=0, p50=None, p95=None, mean=None, max=None)
    import numpy as np

    a = np.asarray(values, dtype=float)
    return Quantiles(n=len(values), p50=round(float(np.percentile(a, 50)), 3), p95=round(float(np.percentile(a, 95)), 3),
                     mean=round(float(a.mean()), 3), max=round(float(a.max()), 3))


class Overhead(_Record):
    """What Prefect adds per call: each `process_call` task run's wall time less the time
    `process_one` (every stage, the write and the index) spent inside it; and each shard flow run's
    start-up (process start, imports, settings) before its first task, spread over its calls."""

    per_call_s: Quantiles
    per_call_pct_of_5min_call: float | None = Field(description="Mean per-call overhead / a 5-minute call's "
                                                                "processing time on this run, in %.")
    per_call_pct_of_own_time: float | None = Field(description="Sum of overheads / sum of process_one time, in %.")
    shard_startup_s: Quantiles
    shard_startup_per_call_s: float | None
    target_pct: float = 5.0

    @property
    def within_target(self) -> bool | None:
        return None if self.per_call_pct_of_5min_call is None else self.per_call_pct_of_5min_call <= self.target_pct


def overhead(task_wall: dict[str, float], elapsed: dict[str, float], shard_startup: list[float], n_calls: int,
             seconds_per_audio_s: float | None) -> Overhead:
    """Overhead figures (pure).

    Args:
        task_wall: call id -> its completed task run's wall seconds.
        elapsed: call id -> process_one's seconds for that call (the call's outcome).
        shard_startup: seconds from each shard flow run's start to its first task run's start.
        n_calls: the night's calls (the start-ups are spread over them).
        seconds_per_audio_s: this run's processing seconds per second of audio, which sizes a
            5-minute call here (None: no audio calls).
    """
    both = sorted(set(task_wall) & set(elapsed))
    diffs = [max(0.0, task_wall[c] - elapsed[c]) for c in both]
    own = sum(elapsed[c] for c in both)
    five_min = seconds_per_audio_s * REFERENCE_CALL_S if seconds_per_audio_s else None
    mean = sum(diffs) / len(diffs) if diffs else None
    return Overhead(
        per_call_s=quantiles(diffs),
        per_call_pct_of_5min_call=round(100 * mean / five_min, 2) if mean is not None and five_min else None,
        per_call_pct_of_own_time=round(100 * sum(diffs) / own, 2) if own > 0 else None,
        shard_startup_s=quantiles(shard_startup),
        shard_startup_per_call_s=round(sum(shard_startup) / n_calls, 3) if shard_startup and n_calls else None,
    )


class WorkerMemory(_Record):
    name: str
    samples: int
    first_mb: float
    peak_mb: float
    last_mb: float
    slope_mb_per_min: float | None = Field(description="Least-squares slope over the second half of the samples "
                                                       "(the first half holds model loading).")


def worker_memory(samples: list[tuple[float, str, float]]) -> list[WorkerMemory]:
    """Per named process tree: first, peak and last RSS and its late slope (pure)."""
    out = []
    for name in sorted({s[1] for s in samples}):
        rows = [(t, mb) for t, n, mb in samples if n == name]
        late = rows[len(rows) // 2:]
        slope = linear_slope([t for t, _ in late], [mb for _, mb in late]) if len(late) >= 3 else None
        out.append(WorkerMemory(name=name, samples=len(rows), first_mb=rows[0][1], peak_mb=max(mb for _, mb in rows),
                                last_mb=rows[-1][1], slope_mb_per_min=None if slope is None else round(slope * 60, 2)))
    return out


def audit_blocks(path: Path) -> Counter:
    """call id -> how many separate runs of consecutive entries it has in the audit log. A call's
    redaction is appended as one block, so 2 or more means it was logged twice."""
    blocks: Counter = Counter()
    if not path.is_file():
        return blocks
    previous = None
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            call_id = json.loads(line).get("call_id")
        except (ValueError, AttributeError):
            continue
        if call_id and call_id != previous:
            blocks[call_id] += 1
        previous = call_id or previous
    return blocks


class Integrity(_Record):
    """Exactly once, checked where it shows: out/<call_id>/result.json, the index's rows and the
    audit log's blocks, against the night's call ids (and the reference run's audit log)."""

    expected: int
    results: int
    missing_results: list[str]
    index_calls: int
    missing_index: list[str]
    duplicated_index: list[str] = Field(description="Call ids with more than one results row.")
    missing_audit: list[str] = Field(description="Calls with audit entries in the reference run but none here.")
    duplicated_audit: list[str] = Field(description="Calls logged in more than one block.")
    completed_more_than_once: list[str] = Field(default_factory=list,
                                                description="Calls with more than one completed, uncached "
                                                            "process_call task run (work done twice).")

    @property
    def lost(self) -> int:
        return len(set(self.missing_results) | set(self.missing_index) | set(self.missing_audit))

    @property
    def duplicated(self) -> int:
        return len(set(self.duplicated_index) | set(self.duplicated_audit))


def _index_rows(database: Path) -> tuple[set[str], Counter]:
    if not database.is_file():
        return set(), Counter()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        calls = {r[0] for r in db.execute("SELECT call_id FROM calls")}
        rows = Counter(r[0] for r in db.execute("SELECT call_id FROM results"))
    return calls, rows


def integrity(out: Path, call_ids: list[str], reference_audit: Counter | None,
              completed: Counter | None = None) -> Integrity:
    """Check one leg's out/ folder (its SQLite index out/callqa.db and out/audit/redaction.jsonl)."""
    present = {c for c in call_ids if (out / c / "result.json").is_file()}
    calls, rows = _index_rows(out / "callqa.db")
    blocks = audit_blocks(out / "audit" / "redaction.jsonl")
    wanted_audit = [c for c in call_ids if reference_audit is None or reference_audit.get(c, 0) > 0]
    return Integrity(
        expected=len(call_ids), results=len(present), missing_results=sorted(set(call_ids) - present),
        index_calls=len(calls & set(call_ids)), missing_index=sorted(set(call_ids) - calls),
        duplicated_index=sorted(c for c, n in rows.items() if n > 1),
        missing_audit=sorted(c for c in wanted_audit if blocks.get(c, 0) == 0),
        duplicated_audit=sorted(c for c, n in blocks.items() if n > 1),
        completed_more_than_once=sorted(c for c, n in (completed or Counter()).items() if n > 1),
    )


class KillOutcome(_Record):
    """Two workers killed mid-night (SIGKILL, with the flow runs they had started) and started again."""

    killed_at_s: float
    done_before_kill: int
    killed_workers: list[str]
    crashed_flow_runs: int = Field(description="Shard flow runs left Running by the kill, marked Crashed.")
    restarted_at_s: float
    first_pass: dict[str, int]
    second_pass: dict[str, int] = Field(description="The night run again, as an operator would: redoes what was lost.")
    lost: int
    duplicated: int


class Leg(_Record):
    name: str
    workers: int
    wall_s: float
    audio_s: float
    calls: int
    chats: int
    done: int
    failed: int
    audio_hours_per_wall_hour: float | None
    per_call_s: Quantiles = Field(description="process_one wall seconds per processed call.")
    per_call_s_by_kind: dict[str, Quantiles]
    call_s: dict[str, float] = Field(description="call id -> process_one wall seconds, per processed call.")
    task_wall_s: Quantiles | None = None
    overhead: Overhead | None = None
    memory: list[WorkerMemory]
    rss_samples: list[tuple[float, str, float]]
    integrity: Integrity
    kill: KillOutcome | None = None
    note: str | None = None


class NightReport(_Record):
    version: int = 1
    started_at: str
    wall_s: float
    command: str
    environment: dict
    night: dict = Field(description="N, mix, lengths, length scale, seed, audio hours, corpus preparation.")
    legs: list[Leg]
    notes: list[str] = Field(default_factory=list)
