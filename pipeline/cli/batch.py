"""`callqa batch SOURCE`: run the nightly Prefect flow from the command line.

With no PREFECT_API_URL set this runs against Prefect's temporary local API (no server, no
network); with one set, the run is recorded on that server. `--runner` picks where the calls run
(`flows.runners`): task threads (default), local worker processes, or a Dask cluster. Mount with
`app.command("batch")(batch_command)`; `app` runs it standalone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Optional

import typer

from pipeline.cli._common import (
    AuditLogOpt,
    CallqaTyper,
    ConfigOpt,
    DatabaseUrlOpt,
    DevKeyOpt,
    ExitCode,
    ForceOpt,
    JsonOpt,
    OutOpt,
    parse_time,
    run_paths,
)

__all__ = ["app", "batch_command"]

app = CallqaTyper(no_args_is_help=False)


@app.command("batch")
def batch_command(
    source: Annotated[str, typer.Argument(
        help="A directory, a glob ('calls/*.wav', quoted) or a manifest CSV with a path column.")],
    out: OutOpt = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    audit_log: AuditLogOpt = None,
    since: Annotated[Optional[datetime], typer.Option(
        "--since", parser=parse_time, metavar="TIME",
        help="Only files modified at or after this time (YYYY-MM-DD or ISO 8601; UTC unless it says).")] = None,
    workers: Annotated[int, typer.Option(
        "--workers", "-w", min=1,
        help="Calls processed at once: task threads (thread runner) or worker processes (process, dask).")] = 2,
    runner: Annotated[str, typer.Option(
        "--runner", metavar="thread|process|dask",
        help="Where the calls run: task threads in this process, local worker processes, or a Dask "
             "cluster (local worker processes, or --dask-address). Each process loads the models once.")] = "thread",
    dask_address: Annotated[Optional[str], typer.Option(
        "--dask-address", metavar="tcp://HOST:PORT",
        help="Join this Dask scheduler instead of starting a local cluster (needs --runner dask and a "
             "Prefect server: PREFECT_API_URL).")] = None,
    transcribe_slots: Annotated[Optional[int], typer.Option(
        "--transcribe-slots", min=1,
        help="Transcriptions at once per worker process (default: the configuration's transcribe.slots; "
             "auto: from the cores, 1 on a GPU).")] = None,
    force: ForceOpt = False,
    allow_dev_key: DevKeyOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the nightly batch flow over SOURCE; exit 1 when some inputs failed (see <out>/run-report.json
    and <out>/quarantine/)."""
    from flows.env import use_local_prefect
    from flows.runners import check_runner

    check_runner(runner, dask_address)  # a bad choice says so before Prefect starts

    # Resolved here too, only to name the report's file: the flow resolves the same way itself.
    where = run_paths(out, config=config, database_url=database_url, audit_log=audit_log)
    use_local_prefect()
    # Imported here: Prefect takes seconds to import, and `callqa --help` should not pay for it.
    from flows.nightly import run_nightly

    report = run_nightly(source, since=since, out=str(out) if out else None, config=str(config) if config else None,
                         workers=workers, runner=runner, dask_address=dask_address, transcribe_slots=transcribe_slots, force=force, dev_key=allow_dev_key,
                         database_url=database_url, audit_log=str(audit_log) if audit_log else None)
    c = report["counts"]
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        for failure in report["failures"]:
            typer.echo(f"FAILED {failure['file']}: {failure['reason']}: {failure['message']}", err=True)
        rtf = f", RTF {report['real_time_factor']}" if report["real_time_factor"] is not None else ""
        typer.echo(f"done {c['done']}, skipped {c['skipped']}, failed {c['failed']}, erased {c.get('erased', 0)}; "
                   f"{report['audio_s']:.1f} s of audio in {report['elapsed_s']:.1f} s{rtf}; "
                   f"report: {where.run_report}", err=True)
    raise typer.Exit(int(ExitCode.PARTIAL if c["failed"] else ExitCode.OK))
