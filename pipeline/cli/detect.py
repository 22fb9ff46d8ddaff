"""`callqa detect eval`: a thin typer wrapper over pipeline.lab.eval_detect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._common import CallqaTyper, JsonOpt, progress_hook

__all__ = ["app"]

app = CallqaTyper(help="Behaviour, LASS and SLA detection.")


@app.callback()
def _group() -> None:
    """Behaviour, LASS and SLA detection."""


@app.command("eval")
def eval_command(
    dataset: Annotated[Path, typer.Argument(exists=True, file_okay=False,
                                            help="Folder of labelled call scripts (tests/data/SCHEMA.md format).")],
    calls: Annotated[str, typer.Option(help="Comma-separated call ids to score (default: all).")] = "",
    detect_config: Annotated[Optional[Path], typer.Option(
        "--detect-config", exists=True, dir_okay=False, help="Site detect.yaml, deep-merged over the packaged one.")] = None,
    sla_config: Annotated[Optional[Path], typer.Option(
        "--sla-config", exists=True, dir_okay=False, help="Site SLA rules YAML over the packaged ones.")] = None,
    lexicons: Annotated[Optional[Path], typer.Option(
        "--lexicons", exists=True, file_okay=False, help="Folder of site lexicons extending the packaged ones.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Per-kind precision / recall / F1 (call and turn level), LASS accuracy and throughput."""
    from pipeline.lab.eval_detect import evaluate_dir

    with progress_hook() as progress:
        report = evaluate_dir(dataset, call_ids=[c for c in calls.split(",") if c] or None,
                              detect_file=detect_config, sla_file=sla_config, lexicon_dir=lexicons,
                              progress=progress)
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
        return
    e = report.events

    def fmt(v: float | None) -> str:
        return "  -  " if v is None else f"{v:.3f}"

    typer.echo(f"calls: {len(report.calls)}  call micro F1 {e.call_micro_f1:.3f}  turn micro F1 {e.turn_micro_f1:.3f}")
    for kind, score in e.call_level.items():
        turn = e.turn_level[kind]
        typer.echo(f"  {kind:26s} call F1 {fmt(score.f1)}  turn F1 {fmt(turn.f1)}  (tp {turn.tp} fp {turn.fp} fn {turn.fn})")
    typer.echo(f"LASS stage accuracy {report.lass.stage_accuracy:.3f}  in-order accuracy {report.lass.in_order_accuracy}")
    typer.echo(f"compliance: {json.dumps(report.compliance)}")
    typer.echo(f"throughput: {report.calls_per_second:.2f} calls/s ({report.seconds:.1f} s)")
