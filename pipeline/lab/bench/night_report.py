"""A simulated night's report as a table, JSON and a PNG (RSS per worker over time, time per call)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rich.table import Table

from pipeline.lab.bench.night_results import NightReport

__all__ = ["night_json", "write_night_json", "night_table", "night_lines", "write_night_plot"]


def night_json(report: NightReport) -> dict:
    data = report.model_dump(mode="json")
    for leg, model in zip(data["legs"], report.legs):
        leg["integrity"].update(lost=model.integrity.lost, duplicated=model.integrity.duplicated)
        if model.overhead is not None:
            leg["overhead"]["within_target"] = model.overhead.within_target
    return data


def write_night_json(report: NightReport, path: Path) -> None:
    """Atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(night_json(report), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def night_table(report: NightReport) -> Table:
    n = report.night
    table = Table(title=f"night of {n['calls']} calls ({n['audio_hours']} h of audio; {n['by_kind']}; "
                        f"{n['min_minutes']:g}-{n['max_minutes']:g} min x {n['length_scale']:g})")
    for col in ("leg", "workers", "wall s", "audio h / wall h", "call p50 s", "call p95 s", "Prefect overhead p50 s",
                "overhead % of 5-min call", "peak RSS MiB / worker", "lost", "duplicated"):
        table.add_column(col, justify="left" if col == "leg" else "right")
    for leg in report.legs:
        over = leg.overhead
        table.add_row(leg.name, str(leg.workers), _f(leg.wall_s), _f(leg.audio_hours_per_wall_hour, 2),
                      _f(leg.per_call_s.p50), _f(leg.per_call_s.p95),
                      _f(over.per_call_s.p50, 2) if over else "-", _f(over.per_call_pct_of_5min_call, 2) if over else "-",
                      _f(max((m.peak_mb for m in leg.memory), default=None), 0),
                      str(leg.integrity.lost), str(leg.integrity.duplicated))
    return table


def night_lines(report: NightReport) -> list[str]:
    lines = [f"night: {report.wall_s:.0f} s in all (corpus {report.night['prepare_s']:.0f} s), "
             f"load average at end {report.environment['load_average_end']}"]
    for leg in report.legs:
        if leg.kill is not None:
            k = leg.kill
            lines.append(f"{leg.name}: killed {', '.join(k.killed_workers)} at {k.killed_at_s:.0f} s "
                         f"({k.done_before_kill} calls done), {k.crashed_flow_runs} flow runs marked Crashed, "
                         f"restarted at {k.restarted_at_s:.0f} s; first pass {k.first_pass}, second pass "
                         f"{k.second_pass}: lost {k.lost}, duplicated {k.duplicated}")
        if leg.note:
            lines.append(f"{leg.name}: {leg.note}")
        for m in leg.memory:
            lines.append(f"{leg.name} {m.name}: RSS {m.first_mb:.0f} -> peak {m.peak_mb:.0f} -> {m.last_mb:.0f} MiB, "
                         f"late slope {_f(m.slope_mb_per_min, 2)} MiB/min")
    return lines + report.notes


def write_night_plot(report: NightReport, path: Path) -> bool:
    """RSS per worker over time for each leg, and the time per call by leg. False without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    legs = report.legs
    fig, axes = plt.subplots(1, len(legs) + 1, figsize=(5 * (len(legs) + 1), 4.5), squeeze=False)
    for ax, leg in zip(axes[0], legs):
        for name in sorted({s[1] for s in leg.rss_samples}):
            rows = [(t, mb) for t, n, mb in leg.rss_samples if n == name]
            ax.plot([t / 60 for t, _ in rows], [mb for _, mb in rows], marker=".", ms=2, lw=1, label=name)
        if leg.kill is not None:
            ax.axvline(leg.kill.killed_at_s / 60, color="red", ls="--", lw=1, label="2 workers killed")
        ax.set(xlabel="minutes into the leg", ylabel="RSS (MiB)", title=f"{leg.name}: RSS per worker")
        ax.legend(fontsize=7)
    ax = axes[0][-1]
    ax.boxplot([list(leg.call_s.values()) or [0.0] for leg in legs], tick_labels=[leg.name for leg in legs],
               whis=(5, 95))
    ax.set(ylabel="seconds per call (process_one)", title="time per call")
    n = report.night
    fig.suptitle(f"callqa bench --night {n['calls']}: {n['audio_hours']} h of audio, {n['workers']} workers, "
                 f"{report.environment['cpu_count']} CPUs")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True

