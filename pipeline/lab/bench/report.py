"""The benchmark report as readable tables, JSON, and (when matplotlib is installed) a PNG."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rich.table import Table

from pipeline.lab.bench.results import BenchReport

__all__ = ["to_json", "write_json", "tables", "summary_lines", "plot_available", "write_plot"]


def to_json(report: BenchReport) -> dict:
    return report.model_dump(mode="json")


def write_json(report: BenchReport, path: Path) -> None:
    """Write the report atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(to_json(report), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# Short names for the table; the JSON keeps the full ones.
_RUN_NAMES = {"pipeline": "callqa transcribe stage", "faster_whisper_vad_filter": "plain, vad_filter=True",
              "faster_whisper_no_vad": "plain, no VAD", "faster_whisper_batched": "batched pipeline"}


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def tables(report: BenchReport) -> list[Table]:
    """One table per part of the report: stages per call, model loads, baselines, batches."""
    out = []
    gpu = any(s.peak_gpu_mb is not None for c in report.calls for s in c.stages.values())
    env = report.environment
    stage_table = Table(title=f"per call, per stage ({env['model']}, {env['device']}/{env['compute_type']}, "
                              f"{env['cpu_threads']} thread(s))")
    for col in ["call", "stage", "wall s", "RTF", "x real time", "words/s", "peak RSS MiB"] + (["peak GPU MiB"] if gpu else []):
        stage_table.add_column(col, justify="left" if col in ("call", "stage") else "right")
    for call in report.calls:
        label = f"{call.minutes:g} min {call.layout}"
        for name, s in list(call.stages.items()) + [("total", call.total)]:
            row = [label if name == "ingest" else "", name, _f(s.wall_s, 2), _f(s.rtf, 4), _f(s.x_realtime, 1),
                   _f(s.words_per_s, 0), _f(s.peak_rss_mb, 0)] + ([_f(s.peak_gpu_mb, 0)] if gpu else [])
            stage_table.add_row(*row, style="bold" if name == "total" else None)
    out.append(stage_table)

    loads = Table(title="model load (once per worker process)")
    loads.add_column("model")
    loads.add_column("seconds", justify="right")
    for name, seconds in report.model_load_s.items():
        loads.add_row(name, _f(seconds, 2))
    loads.add_row("RSS after loading, MiB", _f(report.rss_after_load_mb, 0))
    if report.warmup_s is not None:
        loads.add_row("warm-up call (unmeasured)", _f(report.warmup_s, 2))
    out.append(loads)

    if report.transcription_baselines:
        base = Table(title="transcription: the pipeline's stage vs plain faster-whisper (same model, settings, audio)")
        for col in ("call", "run", "wall s", "CPU s", "RTF (CPU)", "words", "overhead", "overhead (wall)"):
            base.add_column(col, justify="left" if col in ("call", "run") else "right")
        for b in report.transcription_baselines:
            label = f"{b.minutes:g} min {b.layout}"
            for i, r in enumerate(b.comparison.runs):
                over, over_wall = b.overhead.get(r.name), b.overhead_wall.get(r.name)
                base.add_row(label if i == 0 else "", _RUN_NAMES.get(r.name, r.name), _f(r.seconds, 2), _f(r.cpu_s, 2),
                             _f(r.cpu_s / b.comparison.audio_s, 4), str(r.words),
                             "" if over is None else f"{over:+.1%}", "" if over_wall is None else f"{over_wall:+.1%}")
        out.append(base)

    if report.redaction_baseline is not None:
        r = report.redaction_baseline
        red = Table(title="redaction vs Presidio's default recognisers (same text, CPU time)")
        for col in ("", "words", "CPU s", "words/s"):
            red.add_column(col, justify="right" if col else "left")
        c = r.comparison
        red.add_row("callqa redact_text", str(c.words), _f(c.pipeline_cpu_s, 2), _f(r.pipeline_words_per_s, 0))
        red.add_row("Presidio defaults", str(c.words), _f(c.presidio_cpu_s, 2), _f(r.presidio_defaults_words_per_s, 0))
        red.add_row("cost ratio", "", "", _f(r.cost_ratio, 2))
        out.append(red)

    if report.batches:
        bt = Table(title="batches (the nightly flow's concurrency)")
        for col in ("calls", "workers", "audio s", "wall s", "x real time", "peak RSS MiB", "RSS slope MiB/call",
                    "memory flat", "load avg"):
            bt.add_column(col, justify="right")
        for b in report.batches:
            bt.add_row(f"{b.size} x {b.minutes:g} min {b.layout}", str(b.workers), _f(b.audio_s, 0), _f(b.wall_s, 1),
                       _f(b.x_realtime, 2), _f(b.peak_rss_mb, 0), _f(b.slope_mb_per_call, 2),
                       {True: "yes", False: "NO", None: "-"}[b.memory_flat],
                       " ".join(f"{x:.1f}" for x in b.load_average_end))
        out.append(bt)
    return out


def summary_lines(report: BenchReport) -> list[str]:
    env = report.environment
    lines = [f"bench {report.plan.profile}: {report.wall_s:.0f} s in all (corpus {report.corpus['prepare_s']:.0f} s); "
             f"load average {' '.join(map(str, env['load_average_start']))} at start, "
             f"{' '.join(map(str, env['load_average_end']))} at end, {env['cpu_count']} CPUs"]
    for b in report.transcription_baselines:
        head = b.headline_overhead
        if head:
            basis = "CPU" if b.comparison.basis == "cpu_s" else "wall"
            lines.append(f"transcription overhead ({basis} time) over plain faster-whisper ({_RUN_NAMES[head['against']]}), "
                         f"{b.minutes:g} min {b.layout}: {head['overhead']:+.1%}")
    lines += report.notes
    return lines


def plot_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_plot(report: BenchReport, path: Path) -> bool:
    """Scaling plots to a PNG: RTF and peak RSS by call length, RSS across each batch.

    Returns:
        False when matplotlib is not installed (nothing written).
    """
    if not plot_available():
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for layout in sorted({c.layout for c in report.calls}):
        calls = sorted((c for c in report.calls if c.layout == layout), key=lambda c: c.minutes)
        minutes = [c.minutes for c in calls]
        axes[0].plot(minutes, [c.total.rtf for c in calls], marker="o", label=f"{layout} pipeline")
        axes[0].plot(minutes, [c.stages["transcribe"].rtf for c in calls], marker="x", ls="--",
                     label=f"{layout} transcribe")
        axes[1].plot(minutes, [c.total.peak_rss_mb for c in calls], marker="o", label=layout)
    axes[0].set(xlabel="call length (min)", ylabel="RTF (s processing / s audio)", title="time by call length")
    axes[1].set(xlabel="call length (min)", ylabel="peak RSS (MiB)", title="memory by call length")
    for b in report.batches:
        axes[2].plot(range(1, len(b.rss_after_call_mb) + 1), b.rss_after_call_mb, marker=".", label=f"{b.size} calls")
    axes[2].set(xlabel="calls finished", ylabel="RSS (MiB)", title="memory across a batch")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(f"callqa bench {report.plan.profile}: {report.environment['model']} on "
                 f"{report.environment['device']}, load average {report.environment['load_average_start']}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
