"""`callqa detect ...`: a thin typer wrapper over the detect evaluation (the lead mounts `app`)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pipeline.lab.eval_detect import DetectEvaluation, evaluate_transcripts
from pipeline.detect.models import load_detect_models
from pipeline.detect.options import load_detect_options

__all__ = ["app", "run_eval"]

app = typer.Typer(help="Behaviour, LASS and SLA detection.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Behaviour, LASS and SLA detection."""


def run_eval(
    *,
    dataset: Path,
    call_ids: list[str] | None = None,
    detect_file: Path | None = None,
    sla_file: Path | None = None,
    lexicon_dir: Path | None = None,
) -> DetectEvaluation:
    """Score the detectors on labelled scripts as transcript input.

    Args:
        dataset: a folder of labelled call scripts (or one holding dev_calls/).
        call_ids: only these calls (a held-out subset); default all.
        detect_file / sla_file / lexicon_dir: site configuration over the packaged defaults.

    Returns:
        The evaluation report.

    Raises:
        ConfigError, ModelUnavailableError, InputError: bad configuration, missing models, bad scripts.
    """
    options = load_detect_options(detect_file, sla_file, lexicon_dir)
    return evaluate_transcripts(dataset, options=options, models=load_detect_models(options), call_ids=call_ids)


@app.command("eval")
def eval_command(
    dataset: Path = typer.Argument(..., exists=True, file_okay=False, help="Folder of labelled call scripts."),
    calls: str = typer.Option("", help="Comma-separated call ids to score (default: all)."),
    detect_config: Path | None = typer.Option(None, "--detect-config", exists=True, dir_okay=False),
    sla_config: Path | None = typer.Option(None, "--sla-config", exists=True, dir_okay=False),
    lexicons: Path | None = typer.Option(None, "--lexicons", exists=True, file_okay=False),
    as_json: bool = typer.Option(False, "--json", help="Print the whole report as JSON."),
) -> None:
    """Per-kind precision / recall / F1 (call and turn level), LASS accuracy and throughput."""
    report = run_eval(
        dataset=dataset,
        call_ids=[c for c in calls.split(",") if c] or None,
        detect_file=detect_config,
        sla_file=sla_config,
        lexicon_dir=lexicons,
    )
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
        return
    e = report.events
    typer.echo(f"calls: {len(report.calls)}  call micro F1 {e.call_micro_f1:.3f}  turn micro F1 {e.turn_micro_f1:.3f}")
    for kind, score in e.call_level.items():
        turn = e.turn_level[kind]
        fmt = lambda v: "  -  " if v is None else f"{v:.3f}"  # noqa: E731
        typer.echo(f"  {kind:26s} call F1 {fmt(score.f1)}  turn F1 {fmt(turn.f1)}  (tp {turn.tp} fp {turn.fp} fn {turn.fn})")
    typer.echo(f"LASS stage accuracy {report.lass.stage_accuracy:.3f}  in-order accuracy {report.lass.in_order_accuracy}")
    typer.echo(f"compliance: {json.dumps(report.compliance)}")
    typer.echo(f"throughput: {report.calls_per_second:.2f} calls/s ({report.seconds:.1f} s)")
