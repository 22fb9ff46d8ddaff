"""`callqa batch SOURCE`: run the nightly Prefect flow from the command line.

With no PREFECT_API_URL set this runs against Prefect's temporary in-process API (no server, no
network); with one set, the run is recorded on that server. Mount with
`app.command("batch")(batch_command)`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from flows.env import use_local_prefect

__all__ = ["app", "batch_command"]

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
log = logging.getLogger(__name__)


@app.command("batch")
def batch_command(
    source: Annotated[str, typer.Argument(help="A directory, a glob ('calls/*.wav', quoted) or a manifest CSV with a path column.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: out/<call_id>/, out/quarantine/, out/run-report.json.")] = Path("out"),
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Site YAML over the packaged defaults.")] = None,
    since: Annotated[Optional[datetime], typer.Option("--since", help="Only files modified at or after this time (UTC unless it says).")] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Calls processed at once (task threads).")] = 2,
    transcribe_slots: Annotated[int, typer.Option("--transcribe-slots", min=1, help="Transcriptions at once (1 per GPU).")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Ignore the cache: process every input again.")] = False,
    allow_dev_key: Annotated[bool, typer.Option(
        "--allow-dev-key", help="Without $CALLQA_REDACTION_KEY, use a public development key (never in production).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report on stdout.")] = False,
) -> None:
    """Run the nightly batch flow over SOURCE; exit 0 when every input was done or skipped,
    1 when some failed (see out/run-report.json and out/quarantine/), 2 on a configuration or model error."""
    use_local_prefect()
    # Imported here: Prefect takes seconds to import, and `callqa --help` should not pay for it.
    from flows.nightly import run_nightly
    from pipeline.errors import CallqaError

    try:
        report = run_nightly(source, since=since, out=str(out), config=str(config) if config else None,
                             workers=workers, transcribe_slots=transcribe_slots, force=force,
                             dev_key=allow_dev_key)
    except CallqaError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    c = report["counts"]
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        for failure in report["failures"]:
            typer.echo(f"FAILED {failure['file']}: {failure['reason']}: {failure['message']}", err=True)
        rtf = f", RTF {report['real_time_factor']}" if report["real_time_factor"] is not None else ""
        typer.echo(f"done {c['done']}, skipped {c['skipped']}, failed {c['failed']}; "
                   f"{report['audio_s']:.1f} s of audio in {report['elapsed_s']:.1f} s{rtf}; "
                   f"report: {out / 'run-report.json'}", err=True)
    raise typer.Exit(1 if c["failed"] else 0)
