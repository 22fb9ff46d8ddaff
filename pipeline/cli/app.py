"""`callqa`: the command line. Thin: parse, call a plain function, print, set the exit code.

The root mounts one module per command group. Each module imports its services inside its
commands, so `callqa --help` loads no model library (tests/test_cli_startup.py checks it), and
every command answers by the one exit-code table in pipeline/cli/_common.py.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape

from pipeline.cli._common import (
    CallqaTyper,
    ConfigOpt,
    DatabaseUrlOpt,
    AuditLogOpt,
    DevKeyOpt,
    ExitCode,
    ForceOpt,
    JsonOpt,
    OutOpt,
    err,
    fail,
    load_site_settings,
    out,
    progress_hook,
    run_paths,
)

if TYPE_CHECKING:
    from pipeline.run import CallOutcome, RunSummary

__all__ = ["app"]

app = CallqaTyper(help="callqa: transcribe, diarise, redact and score recorded customer-service calls.")
models_app = CallqaTyper(help="List and fetch the models in models/manifest.yaml.")


def _version(value: bool) -> None:
    if value:
        from pipeline import __version__

        typer.echo(f"callqa {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging (tracebacks of internal errors).")] = False,
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print callqa's version and exit.")] = None,
) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def run(
    paths: Annotated[list[Path], typer.Argument(help="Recordings, transcript .json files or directories.")],
    out_dir: OutOpt = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    audit_log: AuditLogOpt = None,
    as_json: JsonOpt = False,
    force: ForceOpt = False,
    allow_dev_key: DevKeyOpt = False,
) -> None:
    """Process recordings and transcripts into <out>/<call_id>/ (result.json, transcript.txt,
    audio.redacted.wav, scorecard.html); exit 1 when some inputs failed."""
    from pipeline.ingest import discover_inputs
    from pipeline.run import run_batch

    settings = load_site_settings(config)
    where = run_paths(out_dir, database_url=database_url, audit_log=audit_log, settings=settings)
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise fail(f"not found: {', '.join(map(str, missing))}")
    items = discover_inputs(paths)
    if not items:
        raise fail("no inputs found (audio: .wav .flac .mp3 .ogg .opus .m4a; transcripts: .json)", ExitCode.PARTIAL)
    # Bars on a terminal only, never over JSON on stdout: calls, and each call's long stages inside.
    with progress_hook(enabled=not as_json) as progress:
        summary = run_batch(items, where, settings, force=force, allow_dev_key=allow_dev_key, progress=progress,
                            on_outcome=None if as_json else _print_outcome)
    if as_json:
        out.print_json(json.dumps(summary.to_json()))
    else:
        _print_summary(summary)
    raise typer.Exit(int(ExitCode.PARTIAL if summary.failed else ExitCode.OK))


def _print_outcome(outcome: CallOutcome) -> None:
    name = Path(outcome.path).name
    if outcome.status == "failed":
        err.print(f"[red]FAILED[/] {escape(name)}: {outcome.reason}: {escape(outcome.message or '')}", highlight=False)
    else:
        rtf = f" RTF {outcome.elapsed_s / outcome.audio_s:.3f}" if outcome.audio_s and outcome.elapsed_s else ""
        err.print(f"{outcome.status:7} {escape(name)} -> {outcome.call_id}{rtf}", highlight=False)


def _print_summary(summary: RunSummary) -> None:
    from rich.table import Table

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
    err.print(f"done {counts['done']}, skipped {counts['skipped']}, failed {counts['failed']}, "
              f"erased {counts['erased']}; "
              f"{data['audio_s']:.1f} s of audio in {data['elapsed_s']:.1f} s{rtf}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of result.json (CallResult)."""
    from pipeline.schema import call_result_json_schema

    sys.stdout.write(json.dumps(call_result_json_schema(), indent=2) + "\n")


@models_app.command("list")
def models_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Each model in the manifest: where it is and whether its hashes verify."""
    from rich.table import Table

    from pipeline.config import load_config
    from pipeline.models import model_status

    rows = model_status(load_config(config).models)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table()
    for col in ("name", "kind", "licence", "status", "where"):
        table.add_column(col)
    for row in rows:
        style = {"verified": "green", "unavailable": "yellow"}.get(row["status"], "")
        table.add_row(row["name"], row["kind"], row["licence"], f"[{style}]{row['status']}[/]" if style else row["status"], row["where"])
    out.print(table)


@models_app.command("pull")
def models_pull(
    name: Annotated[str, typer.Argument(help="A model name from models/manifest.yaml (one with a hub source).")],
    config: ConfigOpt = None,
) -> None:
    """Download a hub model into the model store (needs internet; never run by default)."""
    from pipeline.config import load_config
    from pipeline.models import pull

    resolved = pull(name, load_config(config).models)
    out.print(f"{name}: {resolved.path}", highlight=False)


def _mount() -> None:
    # Each module imports only typer and _common at the top: mounting costs no service imports.
    from pipeline.cli.batch import batch_command
    from pipeline.cli.bench import bench_command
    from pipeline.cli.challenge import app as challenge_app
    from pipeline.cli.compliance import audit_app, erase_command
    from pipeline.cli.detect import app as detect_app
    from pipeline.cli import sentiment as _sentiment  # noqa: F401  adds detect train-sentiment / eval-sentiment
    from pipeline.cli.lab import eval_command, samples_command, synth_command
    from pipeline.cli.redact import app as redact_app
    from pipeline.cli.report import report_command
    from pipeline.cli.retention import app as retention_app
    from pipeline.cli.review import calibrate_command, review_app
    from pipeline.cli.search import search_bench_command, search_command
    from pipeline.cli.web import serve_command, users_app

    app.add_typer(models_app, name="models")
    app.add_typer(review_app, name="review", help="Assessor workflow: list, show, confirm, override, finalise.")
    # A plain command: as a one-command sub-app typer would read the first call id as a sub-command.
    app.command("calibrate")(calibrate_command)
    app.add_typer(audit_app, name="audit", help="Redaction audit: verify the log, report, find a value by HMAC.")
    app.command("erase")(erase_command)
    app.command("search")(search_command)
    app.command("search-bench")(search_bench_command)
    app.add_typer(retention_app, name="retention", help="Retention: remove what is past its period (--dry-run first).")
    app.command("serve")(serve_command)
    app.add_typer(users_app, name="users", help="Web app accounts: add, remove, role, team, list.")
    app.command("batch")(batch_command)
    app.add_typer(detect_app, name="detect", help="Detection tools: evaluate the detectors on labelled scripts.")
    app.command("synth")(synth_command)
    app.command("eval")(eval_command)
    app.command("bench")(bench_command)
    app.command("report")(report_command)
    app.add_typer(redact_app, name="redact", help="Redaction tools: PII recall and over-redaction on labelled scripts.")
    # A maintainer's tool (pipeline/samples/README.md), kept out of the everyday help.
    app.command("make-samples", hidden=True)(samples_command)
    app.add_typer(challenge_app, name="challenge", hidden=True)


_mount()
