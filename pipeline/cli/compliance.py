"""`callqa audit ...` and `callqa erase`: thin typer wrappers over the audit log and pipeline.compliance.

The root CLI mounts them: `app.add_typer(audit_app, name="audit")` and
`app.command("erase")(erase_command)`; `app` below bundles both for standalone use. The audit
log and the results index are found as `callqa run` wrote them (pipeline.paths).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Optional

import typer

from pipeline.cli._common import (
    AuditLogOpt,
    CallqaTyper,
    ConfigOpt,
    DatabaseUrlOpt,
    DevKeyOpt,
    ExitCode,
    OutOpt,
    parse_date,
    run_paths,
)

__all__ = ["app", "audit_app", "erase_command"]

audit_app = CallqaTyper(help="Check and query the redaction audit log (no personal data is shown).")
app = CallqaTyper(help="Redaction audit and erasure.")


@audit_app.command("verify")
def verify_command(
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, audit_log: AuditLogOpt = None,
    allow_dev_key: DevKeyOpt = False,
) -> None:
    """Check the log's keyed chain and the head the results index anchors; exit 1 naming each problem.

    Named: changed, inserted, removed, reordered, truncated (cut tail), rewritten, wrong_key,
    unkeyed, torn (run `callqa audit repair`), missing_log (deleted or emptied while the index
    holds calls), not_anchored, unaudited_calls (results with no audit records).
    """
    from pipeline.redact import audit
    from pipeline.redact.keys import audit_key
    from pipeline.schema import is_valid_call_id

    where = run_paths(out, config=config, database_url=database_url, audit_log=audit_log)
    key = audit_key(allow_dev=allow_dev_key)
    # Results on disk must have audit records too, whether or not an index is there to say so.
    on_disk = ({p.parent.name for p in where.out_dir.glob("*/result.json") if is_valid_call_id(p.parent.name)}
               if where.out_dir.is_dir() else set())
    with _existing_index(where) as store:
        result = audit.verify_log(where.audit_log, key, store=store, expected_calls=on_disk)
    if result.ok:
        typer.echo(result.message)
    for problem in result.problems:
        typer.echo(f"FAIL {problem.code}: {problem.message}")
    for note in result.notes:
        typer.echo(f"note: {note}")
    if store is None:
        typer.echo("note: no results index found: the log's head was checked against its head file only")
    if not result.ok:
        raise typer.Exit(int(ExitCode.PARTIAL))


@audit_app.command("repair")
def repair_command(
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, audit_log: AuditLogOpt = None,
    allow_dev_key: DevKeyOpt = False,
    accept_loss: Annotated[bool, typer.Option(
        "--accept-loss", help="The log holds fewer records than the results index anchors (restored from an older "
                              "backup, say) and the loss is known: record it in the chain and re-anchor.")] = False,
) -> None:
    """Move half-written lines out of the log (to <log>.torn-<time>, 0600), record the repair in the
    chain and anchor the head in the results index. A chain broken otherwise is refused (JSON)."""
    from pipeline.redact import audit
    from pipeline.redact.keys import audit_key

    where = run_paths(out, config=config, database_url=database_url, audit_log=audit_log)
    key = audit_key(allow_dev=allow_dev_key)
    with _existing_index(where) as store:
        result = audit.repair_log(where.audit_log, key, store=store, accept_loss=accept_loss)
    typer.echo(json.dumps(result.model_dump()))


@contextmanager
def _existing_index(where) -> Iterator:
    """The run's results index, migrated, or None where a SQLite index was never written;
    disposed of afterwards."""
    from pipeline.paths import open_index

    if where.sqlite_path is not None and not where.sqlite_path.is_file():
        yield None
        return
    store = open_index(where)
    try:
        yield store
    finally:
        store.dispose()


@audit_app.command("report")
def report_command(
    since: Annotated[Optional[dt.date], typer.Option(
        "--since", parser=parse_date, metavar="DATE", help="Only records from this date (YYYY-MM-DD).")] = None,
    low_score: Annotated[Optional[float], typer.Option(
        "--low-score", help="List findings scoring below this (default: low_score_review of the redaction policy, "
                            "the site config's when --config is given).")] = None,
    out: OutOpt = None, config: ConfigOpt = None, audit_log: AuditLogOpt = None,
) -> None:
    """Counts by entity type, recogniser and call; low-score findings; flagged and erased calls (JSON)."""
    from pipeline.cli._common import load_site_settings
    from pipeline.redact import audit

    settings = load_site_settings(config)
    threshold = low_score if low_score is not None else settings.redact.low_score_review
    where = run_paths(out, audit_log=audit_log, settings=settings)
    result = audit.report(where.audit_log, since=since, low_score=threshold)
    typer.echo(json.dumps(result.model_dump(), indent=2))


@audit_app.command("find")
def find_command(
    from_stdin: Annotated[bool, typer.Option(
        "--stdin", help="Read the value from standard input instead of a hidden prompt.")] = False,
    value: Annotated[Optional[str], typer.Option(
        "--value", hidden=True, help="Refused: a value on the command line stays in shell history and `ps`.")] = None,
    out: OutOpt = None, config: ConfigOpt = None, audit_log: AuditLogOpt = None,
    allow_dev_key: DevKeyOpt = False,
) -> None:
    """List the calls holding a value, by its HMAC (subject access, erasure). The value is read from
    a hidden prompt or --stdin, never the command line (shell history, `ps`), and is not shown."""
    import sys

    from pipeline.redact import audit
    from pipeline.redact.keys import redaction_key

    if value is not None:
        # Refused, not used: on the command line it is already in the shell's history and `ps`.
        raise typer.BadParameter("the value is not taken from the command line (it would stay in shell history "
                                 "and show in `ps`): omit --value and type it at the prompt, or pipe it with --stdin",
                                 param_hint="--value")
    key = redaction_key(allow_dev=allow_dev_key)
    wanted = sys.stdin.readline() if from_stdin else typer.prompt("Value to look for", hide_input=True)
    wanted = wanted.strip()
    if not wanted:
        raise typer.BadParameter("no value given", param_hint="--stdin" if from_stdin else "prompt")
    matches = audit.find_value(run_paths(out, config=config, audit_log=audit_log).audit_log, wanted, key)
    typer.echo(json.dumps([m.model_dump() for m in matches], indent=2))


def erase_command(
    call_id: Annotated[str, typer.Argument(help="The call to erase.")],
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, audit_log: AuditLogOpt = None,
    allow_dev_key: DevKeyOpt = False,
    prefect: Annotated[Optional[bool], typer.Option(
        "--prefect/--no-prefect", help="Also delete Prefect's task runs, shard runs and artifacts naming the call "
                                       "(default: when PREFECT_API_URL is set or the local Prefect database exists).")] = None,
) -> None:
    """Erase a call for good: a tombstone so no later run brings it back, its artefacts under the
    output folder, its results-index rows and Prefect's records of it; the erasure is recorded in
    the audit log (JSON)."""
    from flows.forget import forget_call, prefect_configured
    from pipeline.compliance import erase_call
    from pipeline.redact.keys import redaction_key
    from pipeline.store import open_store

    where = run_paths(out, config=config, database_url=database_url, audit_log=audit_log)
    key = redaction_key(allow_dev=allow_dev_key)  # the tombstone's keyed digest: no key, no lasting erasure
    # Opened (and created) even when no run wrote it yet: the tombstone must be there for the next run.
    store = open_store(where.database_url)
    store.upgrade()
    try:
        result = erase_call(call_id, where.out_dir, where.audit_log, store, key=key)
    finally:
        store.dispose()
    data = result.model_dump()
    if prefect if prefect is not None else prefect_configured():
        data["prefect"] = forget_call(call_id).model_dump()
    typer.echo(json.dumps(data))


app.add_typer(audit_app, name="audit")
app.command("erase")(erase_command)
