"""`callqa bench`: mount with `app.command("bench")(bench_command)`."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

__all__ = ["bench_command"]


def bench_command(
    quick: Annotated[bool, typer.Option("--quick", help="1-minute calls, a small batch, tiny.en: a few minutes.")] = False,
    full: Annotated[bool, typer.Option("--full", help="1, 5 and 15-minute calls, batches of 1 to 50.")] = False,
    model: Annotated[Optional[str], typer.Option(help="Whisper model name (over the profile and the config).")] = None,
    batch: Annotated[Optional[int], typer.Option("--batch", min=1, max=500, help="One batch of this many calls.")] = None,
    device: Annotated[Optional[str], typer.Option(help="auto, cpu or cuda (over the config).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the full report as JSON here.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write scaling plots as PNG here (needs matplotlib).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Site YAML over the pipeline defaults.")] = None,
    bench_config: Annotated[Optional[Path], typer.Option(help="Benchmark YAML instead of configs/bench.yaml.")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Corpus cache (default from the benchmark YAML).")] = None,
) -> None:
    """Time every stage (ingest, transcribe, diarise, redact, detect, score, store) on synthesised
    telephone calls, against plain faster-whisper and Presidio's defaults, per call and per batch."""
    from pipeline.lab.bench.options import load_bench_options, make_plan
    from pipeline.lab.bench.runner import run_bench
    from pipeline.lab.bench.report import plot_available, summary_lines, tables, write_json, write_plot
    from pipeline.errors import CallqaError
    from pipeline.settings import load_settings

    out, err = Console(), Console(stderr=True)
    if not out.is_terminal:  # a file or a pipe: wide enough that the tables do not wrap
        out = Console(width=160)
    if quick and full:
        err.print("[red]--quick and --full exclude each other[/]")
        raise typer.Exit(2)
    if plot is not None and not plot_available():
        err.print("[red]--plot needs matplotlib[/] (pip install matplotlib); nothing else was run")
        raise typer.Exit(2)
    try:
        options = load_bench_options(bench_config)
        plan = make_plan(options, "full" if full else "quick", model=model, batch=batch, device=device)
        settings = load_settings(config)
    except CallqaError as e:
        err.print(f"[red]config error:[/] {e}")
        raise typer.Exit(2) from None
    with err.status("bench", spinner="dots") as status:
        try:
            report = run_bench(plan, options, settings, cache_root=cache_dir,
                               hook=lambda msg: status.update(f"bench: {msg}"),
                               command=shlex.join(["callqa", "bench", *sys.argv[2:]]))
        except CallqaError as e:
            err.print(f"[red]error:[/] {e}")
            raise typer.Exit(2) from None
    for table in tables(report):
        out.print(table)
    for line in summary_lines(report):
        out.print(line)
    if json_path is not None:
        write_json(report, json_path)
        out.print(f"JSON: {json_path}")
    if plot is not None and write_plot(report, plot):
        out.print(f"plot: {plot}")
