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
) -> None:
    """Time every stage on synthesised telephone calls, per call and per batch.

    Stages: ingest, transcribe, diarise, redact, detect, score, store; baselines: plain faster-whisper and Presidio's defaults (docs/bench.md).
    """
    from pipeline.lab.bench.options import load_bench_options, make_plan
    from pipeline.lab.bench.report import plot_available, summary_lines, tables, to_json, write_json, write_plot
    from pipeline.lab.bench.runner import run_bench

    if plot is not None and not plot_available():
        raise fail("--plot needs matplotlib (pip install matplotlib); nothing else was run")
    options = load_bench_options(bench_config)
    plan = make_plan(options, "full" if full else "quick", model=model, batch=batch,
                     device=device.value if device is not None else None)
    settings = load_site_settings(config)
    with progress_hook() as progress:
        report = run_bench(plan, options, settings, cache_root=cache_dir, progress=progress,
                           command=shlex.join(["callqa", "bench", *sys.argv[2:]]))
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
