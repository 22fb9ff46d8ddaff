"""The run report of a batch: counts, failures with reasons, time per stage, hours of audio, RTF.

Plain functions over the per-call outcomes (`pipeline.run.CallOutcome` dumps); the flow turns
the report into a Prefect artifact (`report_markdown`, `report_table`) and out/run-report.json.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["build_report", "report_markdown", "report_table", "write_report"]


def build_report(outcomes: Iterable[dict[str, Any]], *, elapsed_s: float, out_dir: str, source: str,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Summarise one batch.

    Args:
        outcomes: one dict per input with the fields of `CallOutcome` (status done | skipped | failed |
            erased: the call or recording was erased, and the outcome names neither).
        elapsed_s: wall time of the whole batch.
        out_dir: the batch's output folder.
        source: what the batch was asked to process.
        extra: more top-level keys (flow run id, workers, ...).

    Returns:
        A JSON-ready dict. `real_time_factor` is processing time over audio time for the calls
        processed in this run (skipped calls cost nothing and count no audio); `wall_real_time_factor`
        divides the batch's wall time instead, so it shows what parallel workers bought.
    """
    calls = [dict(o) for o in outcomes]
    done = [c for c in calls if c["status"] == "done"]
    counts = {s: sum(c["status"] == s for c in calls) for s in ("done", "skipped", "failed", "erased")}
    counts["total"] = len(calls)
    stage_s: dict[str, float] = {}
    for c in done:
        for stage, seconds in (c.get("timings_s") or {}).items():
            stage_s[stage] = stage_s.get(stage, 0.0) + float(seconds)
    audio_s = sum(c.get("audio_s") or 0.0 for c in done)
    audio_processing_s = sum(c.get("elapsed_s") or 0.0 for c in done if c.get("audio_s"))
    report: dict[str, Any] = {
        "source": source,
        "out_dir": out_dir,
        "counts": counts,
        "elapsed_s": round(elapsed_s, 3),
        "processing_s": round(sum(c.get("elapsed_s") or 0.0 for c in done), 3),
        "stage_s": {k: round(v, 3) for k, v in sorted(stage_s.items())},
        "audio_s": round(audio_s, 3),
        "audio_hours": round(audio_s / 3600, 4),
        "real_time_factor": round(audio_processing_s / audio_s, 4) if audio_s else None,
        "wall_real_time_factor": round(elapsed_s / audio_s, 4) if audio_s else None,
        "failures": [
            {"file": Path(c["path"]).name, "path": c["path"], "call_id": c.get("call_id"), "reason": c.get("reason"),
             "message": c.get("message")}
            for c in calls if c["status"] == "failed"
        ],
        "calls": calls,
    }
    if extra:
        report.update(extra)
    return report


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def report_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown for a Prefect artifact: summary, failures, time per stage."""
    c = report["counts"]
    rtf = report["real_time_factor"]
    lines = [
        "# callqa nightly batch",
        "",
        "| done | skipped | failed | erased | total | audio (h) | RTF | wall (s) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {c['done']} | {c['skipped']} | {c['failed']} | {c.get('erased', 0)} | {c['total']} | {report['audio_hours']:.3f} "
        f"| {rtf if rtf is not None else '-'} | {report['elapsed_s']:.1f} |",
        "",
        "## Failures",
        "",
    ]
    if report["failures"]:
        # Call ids, not file names: Prefect keeps artifacts, and a telephony export names files by
        # caller number (the run report under out/ names the files, for the operator).
        lines += ["| call | reason | message |", "| --- | --- | --- |"]
        lines += [f"| {_cell(f.get('call_id') or '-')} | {_cell(f['reason'])} | {_cell(f['message'])} |"
                  for f in report["failures"]]
    else:
        lines.append("None.")
    lines += ["", "## Time per stage (s, calls processed in this run)", ""]
    if report["stage_s"]:
        lines += ["| stage | seconds |", "| --- | ---: |"]
        lines += [f"| {stage} | {seconds:.2f} |" for stage, seconds in report["stage_s"].items()]
    else:
        lines.append("No call was processed in this run.")
    return "\n".join(lines) + "\n"


def report_table(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per input for a Prefect table artifact (no transcript content, no file names)."""
    return [
        {"call_id": c.get("call_id"), "status": c["status"], "reason": c.get("reason"),
         "audio_s": c.get("audio_s"), "elapsed_s": round(c.get("elapsed_s") or 0.0, 3)}
        for c in report["calls"]
    ]


def write_json_atomic(data: Any, target: Path) -> Path:
    """Write JSON to `target` through a temporary file and a rename (readers never see half a file)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_report(report: dict[str, Any], target: Path) -> Path:
    """Write the run report atomically to `target` (`RunPaths.run_report`) and return its path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_json_atomic(report, target)
