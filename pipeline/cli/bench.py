"""`callqa bench`: mount with `app.command("bench")(bench_command)`."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._common import ConfigOpt, Device, JsonOpt, fail, load_site_settings, out, progress_hook

__all__ = ["bench_command"]


def bench_command(
    full: Annotated[bool, typer.Option(
        "--full/--quick", help="--full: 1, 5 and 15-minute calls, batches of 1 to 50; --quick (the default): "
                               "1-minute calls, a small batch, tiny.en, a few minutes.")] = False,
    model: Annotated[Optional[str], typer.Option(help="Whisper model name (over the profile and the config).")] = None,
    batch: Annotated[Optional[int], typer.Option("--batch", min=1, max=500, help="One batch of this many calls.")] = None,
    device: Annotated[Optional[Device], typer.Option(help="Where to transcribe (over the config).")] = None,
    as_json: JsonOpt = False,
    json_file: Annotated[Optional[Path], typer.Option(
        "--json-file", dir_okay=False, help="Also write the full report as JSON to this file.")] = None,
    plot: Annotated[Optional[Path], typer.Option(
        "--plot", dir_okay=False, help="Write scaling plots as PNG here (needs matplotlib).")] = None,
    config: ConfigOpt = None,
    bench_config: Annotated[Optional[Path], typer.Option(
        help="Benchmark YAML instead of configs/bench.yaml.")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Corpus cache (default from the benchmark YAML).")] = None,
    night: Annotated[Optional[int], typer.Option(
        "--night", min=1, max=5000, metavar="N",
        help="A simulated night of N calls through `callqa run`, a Prefect server with process workers "
             "(two killed mid-night and restarted) and Dask (docs/bench.md).")] = None,
    length_scale: Annotated[float, typer.Option(
        "--length-scale", min=0.01, max=10.0, help="--night: multiply the 1-8 minute call lengths by this.")] = 1.0,
    mix: Annotated[str, typer.Option(help="--night: call kinds and weights.")] = "stereo:2,mono:1,chat:1",
    workers: Annotated[int, typer.Option(
        "--workers", min=1, max=64, help="--night: Prefect process workers and Dask worker processes.")] = 3,
    kill_workers: Annotated[int, typer.Option(
        "--kill-workers", min=0, max=64, help="--night: workers killed mid-night and started again.")] = 2,
    legs: Annotated[str, typer.Option(help="--night: which of run, prefect, dask to run.")] = "run,prefect,dask",
    work_dir: Annotated[Optional[Path], typer.Option(
        "--work-dir", file_okay=False, help="--night: keep inputs, outputs and logs here (default: removed).")] = None,
    sizing: Annotated[bool, typer.Option(
        "--sizing", help="CPU sizing: one fixed batch under 1 and 2 transcription slots x 1 and 2 threads, "
                         "in the same run (--batch calls, default 4).")] = False,
    prefect_postgres: Annotated[str, typer.Option(
        "--prefect-postgres", help="--night: PostgreSQL admin URL; a scratch database for the Prefect server "
                                   "is created there and dropped.")] = "postgresql://postgres@127.0.0.1:5432/test",
) -> None:
    """Time every stage on synthesised telephone calls, per call and per batch; or a whole night (--night N).

    Stages: ingest, transcribe, diarise, redact, detect, score, store; baselines: plain faster-whisper and Presidio's defaults (docs/bench.md).
    """
    from pipeline.lab.bench.options import load_bench_options, make_plan
    from pipeline.lab.bench.report import plot_available

    if plot is not None and not plot_available():
        raise fail("--plot needs matplotlib (pip install matplotlib); nothing else was run")
    options = load_bench_options(bench_config)
    command = shlex.join(["callqa", "bench", *sys.argv[2:]])
    if night is not None:
        from pipeline.lab.bench.night import NightPlan
        from pipeline.lab.bench.night_corpus import parse_mix

        night_plan = NightPlan(calls=night, mix=parse_mix(mix), length_scale=length_scale, workers=workers,
                               kill_workers=kill_workers, legs=tuple(x.strip() for x in legs.split(",") if x.strip()),
                               postgres_admin_url=prefect_postgres, config=str(config) if config else None)
        return _night(night_plan, options, cache_dir, work_dir, command, as_json, json_file, plot)
    if sizing:
        return _sizing(options, config, cache_dir, batch or 4, as_json, json_file)
    models = [model]
    if device is not None and device.value == "cuda":
        from pipeline.lab.bench.gpu import GPU_COMMAND, cuda_missing, gpu_models

        missing = cuda_missing()
        if missing:
            raise fail(f"--device cuda needs a CUDA GPU: {missing}. Nothing was run. On a GPU host: {GPU_COMMAND}")
        settings = load_site_settings(config)
        models = [model] if model else gpu_models("tiny.en", settings.core.models)
    plans = [make_plan(options, "full" if full else "quick", model=m, batch=batch,
                       device=device.value if device is not None else None) for m in models]
    for i, plan in enumerate(plans):
        name = None if len(plans) == 1 else plan.model
        _bench_one(plan, options, config, cache_dir, command, as_json,
                   _suffixed(json_file, name), _suffixed(plot, name))


def _suffixed(path: Optional[Path], name: str | None) -> Optional[Path]:
    """One file per model when several are measured in one run: bench.json -> bench-base.json."""
    return path if path is None or name is None else path.with_name(f"{path.stem}-{name}{path.suffix}")


def _bench_one(plan, options, config: Optional[Path], cache_dir: Optional[Path], command: str, as_json: bool,
               json_file: Optional[Path], plot: Optional[Path]) -> None:
    from pipeline.lab.bench.report import summary_lines, tables, to_json, write_json, write_plot
    from pipeline.lab.bench.runner import run_bench

    settings = load_site_settings(config)
    with progress_hook() as progress:
        report = run_bench(plan, options, settings, cache_root=cache_dir, progress=progress, command=command)
    if json_file is not None:
        write_json(report, json_file)
    if as_json:
        out.print_json(json.dumps(to_json(report)))
        if plot is not None:
            write_plot(report, plot)
        return
    from rich.console import Console

    # A file or a pipe: wide enough that the tables do not wrap.
    console = out if out.is_terminal else Console(width=160)
    for table in tables(report):
        console.print(table)
    for line in summary_lines(report):
        console.print(line)
    if json_file is not None:
        console.print(f"JSON: {json_file}")
    if plot is not None and write_plot(report, plot):
        console.print(f"plot: {plot}")


def _night(plan, options, cache_dir: Optional[Path], work_dir: Optional[Path], command: str, as_json: bool,
           json_file: Optional[Path], plot: Optional[Path]) -> None:
    from pipeline.lab.bench.night import run_night
    from pipeline.lab.bench.night_report import night_json, night_lines, night_table, write_night_json, write_night_plot

    with progress_hook() as progress:
        report = run_night(plan, options.corpus, cache_root=cache_dir or Path(options.corpus.cache_dir),
                           work_dir=work_dir, progress=progress, command=command,
                           on_leg=(lambda so_far: write_night_json(so_far, json_file)) if json_file else None)
    if json_file is not None:
        write_night_json(report, json_file)
    if plot is not None:
        write_night_plot(report, plot)
    if as_json:
        out.print_json(json.dumps(night_json(report)))
        return
    from rich.console import Console

    console = out if out.is_terminal else Console(width=200)
    console.print(night_table(report))
    for line in night_lines(report):
        console.print(line)
    if json_file is not None:
        console.print(f"JSON: {json_file}")
    if plot is not None:
        console.print(f"plot: {plot}")


def _sizing(options, config: Optional[Path], cache_dir: Optional[Path], calls: int, as_json: bool,
            json_file: Optional[Path]) -> None:
    from pipeline.lab.bench.sizing import run_sizing

    settings = load_site_settings(config)
    with progress_hook() as progress:
        report = run_sizing(options, settings, cache_root=cache_dir or Path(options.corpus.cache_dir), calls=calls,
                            progress=progress)
    data = report.model_dump(mode="json")
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if as_json:
        out.print_json(json.dumps(data))
        return
    from rich.table import Table

    table = Table(title=f"CPU sizing: {report.calls} x {report.minutes:g} min {report.layout}, {report.model}, "
                        f"{report.cpu_count} CPUs (auto here: {report.auto['slots']} slots x "
                        f"{report.auto['cpu_threads']} thread)")
    for col in ("slots", "threads", "calls at once", "wall s (best)", "wall s (rounds)", "CPU s (rounds)",
                "audio h / wall h", "transcribe queue s", "peak RSS MiB"):
        table.add_column(col, justify="right")
    for c in report.cells:
        table.add_row(str(c.slots), str(c.cpu_threads), str(c.workers), f"{c.best.wall_s:.1f}",
                      " ".join(f"{w:.1f}" for w in c.rounds_wall_s), " ".join(f"{w:.1f}" for w in c.rounds_cpu_s),
                      f"{c.best.x_realtime:.2f}",
                      f"{c.best.transcribe_queue_s:.1f}", f"{c.best.peak_rss_mb:.0f}")
    out.print(table)
    out.print(f"load average {report.load_average_start} at start, {report.load_average_end} at end")
