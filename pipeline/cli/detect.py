"""`callqa detect eval | train | learning-curve`: thin typer wrappers over pipeline.lab.eval_detect
and pipeline.lab.train_detect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._common import CallqaTyper, JsonOpt, progress_hook

__all__ = ["app"]

app = CallqaTyper(help="Behaviour, LASS and SLA detection.")

_Folder = typer.Argument(exists=True, file_okay=False, help="Folders of labelled call scripts (tests/data/SCHEMA.md format).")
DetectConfigOpt = Annotated[Optional[Path], typer.Option(
    "--detect-config", exists=True, dir_okay=False, help="Site detect.yaml, deep-merged over the packaged one.")]
LexiconsOpt = Annotated[Optional[Path], typer.Option(
    "--lexicons", exists=True, file_okay=False, help="Folder of site lexicons extending the packaged ones.")]
DevOpt = Annotated[Optional[Path], typer.Option(
    "--dev", exists=True, file_okay=False,
    help="Folder of labelled scripts the thresholds are chosen on (default: cross-validation on the training calls).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the cross-validation folds (same seed and calls: same file).")]


@app.callback()
def _group() -> None:
    """Behaviour, LASS and SLA detection."""


def _fmt(v: float | None) -> str:
    return "  -  " if v is None else f"{v:.3f}"


@app.command("eval")
def eval_command(
    dataset: Annotated[Path, typer.Argument(exists=True, file_okay=False,
                                            help="Folder of labelled call scripts (tests/data/SCHEMA.md format).")],
    calls: Annotated[str, typer.Option(help="Comma-separated call ids to score (default: all).")] = "",
    detect_config: DetectConfigOpt = None,
    sla_config: Annotated[Optional[Path], typer.Option(
        "--sla-config", exists=True, dir_okay=False, help="Site SLA rules YAML over the packaged ones.")] = None,
    lexicons: LexiconsOpt = None,
    plots: Annotated[Optional[Path], typer.Option(
        "--plots", file_okay=False, help="Write the reliability diagram (detection_reliability.png) into this folder.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Per-kind precision / recall / F1 (call and turn level), LASS accuracy, calibration and throughput."""
    from pipeline.lab.eval_detect import evaluate_dir, plot_reliability

    with progress_hook() as progress:
        report = evaluate_dir(dataset, call_ids=[c for c in calls.split(",") if c] or None,
                              detect_file=detect_config, sla_file=sla_config, lexicon_dir=lexicons,
                              progress=progress)
    if plots is not None and report.calibration is not None:
        plot_reliability(report.calibration, plots / "detection_reliability.png")
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
        return
    e = report.events
    typer.echo(f"calls: {len(report.calls)}  call micro F1 {e.call_micro_f1:.3f}  turn micro F1 {e.turn_micro_f1:.3f}")
    typer.echo(f"  {'kind':26s} {'call P':>6s} {'call R':>6s} {'call F1':>7s}   {'turn P':>6s} {'turn R':>6s} {'turn F1':>7s}")
    for kind, score in e.call_level.items():
        turn = e.turn_level[kind]
        typer.echo(f"  {kind:26s} {_fmt(score.precision):>6s} {_fmt(score.recall):>6s} {_fmt(score.f1):>7s}   "
                   f"{_fmt(turn.precision):>6s} {_fmt(turn.recall):>6s} {_fmt(turn.f1):>7s}  (turns tp {turn.tp} fp {turn.fp} fn {turn.fn})")
    typer.echo(f"LASS stage accuracy {report.lass.stage_accuracy:.3f}  in-order accuracy {_fmt(report.lass.in_order_accuracy)}")
    if report.calibration is not None:
        c = report.calibration
        typer.echo(f"calibration: ECE {c.ece:.4f} over {c.pairs} (turn, kind) pairs, 10 bins; "
                   f"ECE {c.ece_confident:.4f} over the {c.confident_pairs} with probability >= 0.1")
    else:
        typer.echo("calibration: none (the lexicon rules decide; no probabilities)")
    typer.echo(f"compliance: {json.dumps(report.compliance)}")
    typer.echo(f"throughput: {report.calls_per_second:.2f} calls/s ({report.seconds:.1f} s)")


@app.command("train")
def train_command(
    folders: Annotated[list[Path], _Folder],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="The model file to write (JSON).")],
    dev: DevOpt = None,
    seed: SeedOpt = 0,
    complaint_precision: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Call-level precision complaint.raised must reach on the threshold set.")] = 0.95,
    detect_config: DetectConfigOpt = None,
    lexicons: LexiconsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Train the per-kind classifiers on labelled scripts into a model file (reproducible: seeded)."""
    from dataclasses import asdict

    from pipeline.lab.train_detect import train_to_file

    with progress_hook() as progress:
        report, sha256 = train_to_file(folders, out, dev=dev, seed=seed, complaint_precision=complaint_precision,
                                       detect_file=detect_config, lexicon_dir=lexicons, progress=progress)
    if as_json:
        typer.echo(json.dumps({**asdict(report), "file": str(out), "sha256": sha256}, indent=2))
        return
    typer.echo(f"wrote {out}  sha256 {sha256}")
    typer.echo(f"trained on {report.train_calls} calls; thresholds on {report.dev_calls or 'out-of-fold training'} calls")
    typer.echo(f"cross-validated call micro F1 {report.cv_call_micro_f1:.3f}"
               + (f"  dev call micro F1 {report.dev_call_micro_f1:.3f}" if report.dev_call_micro_f1 is not None else ""))
    for kind, f1 in report.cv_call_f1.items():
        typer.echo(f"  {kind:26s} cv call F1 {f1:.3f}  (C {report.regularisation[kind]})")
    typer.echo("use it: set models.detector_file and models.detector_sha256 in a site detect.yaml")


@app.command("learning-curve")
def learning_curve_command(
    folders: Annotated[list[Path], _Folder],
    dev: Annotated[Path, typer.Option("--dev", exists=True, file_okay=False,
                                      help="Folder of labelled scripts scored at every size.")],
    plot: Annotated[Path, typer.Option("--plot", dir_okay=False, help="The PNG to write.")],
    fractions: Annotated[str, typer.Option(help="Comma-separated shares of the training calls.")] = "0.1,0.25,0.5,0.75,1.0",
    seed: SeedOpt = 0,
    detect_config: DetectConfigOpt = None,
    lexicons: LexiconsOpt = None,
) -> None:
    """Dev call-level micro F1 against the number of training calls (a PNG and a table)."""
    from pipeline.detect.options import load_detect_options
    from pipeline.lab.train_detect import learning_curve, load_labelled, plot_learning_curve

    try:
        shares = [float(f) for f in fractions.split(",") if f]
    except ValueError:
        raise typer.BadParameter("fractions must be numbers like 0.25,0.5,1.0") from None
    if not shares or not all(0 < f <= 1 for f in shares):
        raise typer.BadParameter("fractions must lie in (0, 1]")
    options = load_detect_options(detect_config, None, lexicons)
    with progress_hook() as progress:
        train = load_labelled(folders, options=options, progress=progress)
        dev_calls = load_labelled([dev], options=options, progress=progress)
        points = learning_curve(train, dev_calls, fractions=shares, seed=seed, progress=progress)
    plot_learning_curve(points, plot)
    for size, f1 in points:
        typer.echo(f"  {size:4d} training calls  dev call micro F1 {f1:.3f}")
    typer.echo(f"wrote {plot}")
