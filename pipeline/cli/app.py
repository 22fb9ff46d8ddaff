"""`callqa`: the command line. Thin: parse, call a plain function, print, set the exit code."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.config import PipelineConfig, load_config
from pipeline.errors import CallqaError

app = typer.Typer(help="callqa: transcribe, diarise, redact and score recorded customer-service calls.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
models_app = typer.Typer(help="List and fetch the models in models/manifest.yaml.", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _mount_review() -> None:
    from pipeline.cli.review import calibrate_command, review_app

    app.add_typer(review_app, name="review", help="Assessor workflow: list, show, confirm, override, finalise.")
    # A plain command: as a one-command sub-app typer would read the first call id as a sub-command.
    app.command("calibrate")(calibrate_command)


def _mount_flows() -> None:
    # flows imports Prefect only when the command runs.
    from pipeline.cli.batch import batch_command

    app.command("batch")(batch_command)


def _mount_stage_tools() -> None:
    from pipeline.cli.detect import app as detect_app
    from pipeline.cli.compliance import audit_app, erase_command

    app.add_typer(audit_app, name="audit", help="Redaction audit: verify the log, report, find a value by HMAC.")
    app.command("erase")(erase_command)
    app.add_typer(detect_app, name="detect", help="Detection tools: evaluate the detectors on labelled scripts.")


def _mount_web() -> None:
    from pipeline.cli.web import serve_command, users_app

    app.command("serve")(serve_command)
    app.add_typer(users_app, name="users", help="Web app accounts: add, remove, role, list.")


def _mount_lab() -> None:
    from pipeline.cli.bench import bench_command
    from pipeline.cli.lab import eval_command, synth_command

    app.command("bench")(bench_command)
    app.command("synth")(synth_command)
    app.command("eval")(eval_command)


_mount_review()
_mount_stage_tools()
_mount_web()
_mount_lab()
_mount_flows()

err = Console(stderr=True)
out = Console()

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="Site YAML over the packaged defaults.")]


def _config(path: Path | None) -> PipelineConfig:
    try:
        return load_config(path)
    except CallqaError as e:
        err.print(f"[red]config error:[/] {e}")
        raise typer.Exit(2) from None


def _settings(path: Path | None):
    from pipeline.settings import load_settings

    try:
        return load_settings(path)
    except CallqaError as e:
        err.print(f"[red]config error:[/] {e}")
        raise typer.Exit(2) from None


DevKeyOpt = Annotated[bool, typer.Option(
    "--allow-dev-key", help="Without $CALLQA_REDACTION_KEY, use a public development key (never in production).")]


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def run(
    paths: Annotated[list[Path], typer.Argument(help="Recordings, transcript .json files or directories.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder: out/<call_id>/...")] = Path("out"),
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Re-process calls already done with the same bytes and config.")] = False,
    allow_dev_key: DevKeyOpt = False,
) -> None:
    """Process recordings and transcripts into out/<call_id>/ (result.json, transcript.txt, audio.redacted.wav, scorecard.html)."""
    from pipeline.ingest import discover_inputs
    from pipeline.run import run_batch

    cfg = _settings(config)
    missing = [p for p in paths if not p.exists()]
    if missing:
        err.print(f"[red]not found:[/] {', '.join(map(str, missing))}")
        raise typer.Exit(2)
    items = discover_inputs(paths)
    if not items:
        err.print("[yellow]no inputs found[/] (audio: .wav .flac .mp3 .ogg .opus .m4a; transcripts: .json)")
        raise typer.Exit(1)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, disable=as_json or not err.is_terminal) as progress:
        task = progress.add_task("calls", total=len(items))

        def hook(event: str, info: dict) -> None:
            if event == "start":
                progress.update(task, description=Path(info["path"]).name)
            else:
                progress.advance(task)
                if not as_json:
                    _print_outcome(info)

        try:
            summary = run_batch(items, out_dir, cfg, force=force, allow_dev_key=allow_dev_key, hook=hook)
        except CallqaError as e:
            err.print(f"[red]error:[/] {e}")
            raise typer.Exit(2) from None
    if as_json:
        out.print_json(json.dumps(summary.to_json()))
    else:
        _print_summary(summary)
    raise typer.Exit(1 if summary.failed else 0)


def _print_outcome(info: dict) -> None:
    name = Path(info["path"]).name
    if info["status"] == "failed":
        err.print(f"[red]FAILED[/] {name}: {info['reason']}: {info['message']}")
    else:
        rtf = f" RTF {info['elapsed_s'] / info['audio_s']:.3f}" if info.get("audio_s") and info["elapsed_s"] else ""
        err.print(f"{info['status']:7} {name} -> {info['call_id']}{rtf}")


def _print_summary(summary) -> None:
    table = Table(title=f"callqa run -> {summary.out_dir}")
    for col in ("input", "call_id", "status", "audio s", "words", "RTF", "reason"):
        table.add_column(col)
    for o in summary.outcomes:
        rtf = f"{o.elapsed_s / o.audio_s:.3f}" if o.audio_s and o.status == "done" else ""
        audio = f"{o.audio_s:.1f}" if o.audio_s else ""
        table.add_row(Path(o.path).name, o.call_id or "", o.status, audio, str(o.words or ""), rtf, o.reason or "")
    err.print(table)
    data = summary.to_json()
    counts = data["counts"]
    rtf = f", RTF {data['real_time_factor']}" if data["real_time_factor"] else ""
    err.print(f"done {counts['done']}, skipped {counts['skipped']}, failed {counts['failed']}; "
              f"{data['audio_s']:.1f} s of audio in {data['elapsed_s']:.1f} s{rtf}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of result.json (CallResult)."""
    from pipeline.schema import call_result_json_schema

    sys.stdout.write(json.dumps(call_result_json_schema(), indent=2) + "\n")


@models_app.command("list")
def models_list(config: ConfigOpt = None) -> None:
    """Each model in the manifest: where it is and whether its hashes verify."""
    from pipeline.models import model_status

    cfg = _config(config)
    table = Table()
    for col in ("name", "kind", "licence", "status", "where"):
        table.add_column(col)
    try:
        rows = model_status(cfg.models)
    except CallqaError as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
    for row in rows:
        style = {"verified": "green", "unavailable": "yellow"}.get(row["status"], "")
        table.add_row(row["name"], row["kind"], row["licence"], f"[{style}]{row['status']}[/]" if style else row["status"], row["where"])
    out.print(table)


@models_app.command("pull")
def models_pull(name: str, config: ConfigOpt = None) -> None:
    """Download a hub model into the model store (needs internet; never run by default)."""
    from pipeline.models import pull

    cfg = _config(config)
    try:
        resolved = pull(name, cfg.models)
    except CallqaError as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
    out.print(f"{name}: {resolved.path}")


if __name__ == "__main__":  # pragma: no cover
    app()
