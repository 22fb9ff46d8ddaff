"""`callqa audit ...` and `callqa erase`: thin typer wrappers over the audit log and pipeline.compliance.

The root CLI mounts them: `app.add_typer(audit_app, name="audit")` and
`app.command("erase")(erase_command)`; `app` below bundles both for standalone use. The audit
log and the results index are found as `callqa run` wrote them (pipeline.paths).
"""

from __future__ import annotations

import datetime as dt
import json
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
def verify_command(out: OutOpt = None, config: ConfigOpt = None, audit_log: AuditLogOpt = None) -> None:
    """Check the hash chain; exit 1 naming the first changed, inserted, removed or reordered record."""
    from pipeline.redact import audit

    result = audit.verify_log(run_paths(out, config=config, audit_log=audit_log).audit_log)
    typer.echo(result.message)
    if not result.ok:
        raise typer.Exit(int(ExitCode.PARTIAL))


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
    value: Annotated[str, typer.Option("--value", help="The value to look for (spoken or written form).")],
    out: OutOpt = None, config: ConfigOpt = None, audit_log: AuditLogOpt = None,
    allow_dev_key: DevKeyOpt = False,
) -> None:
    """List the calls holding a value, by its HMAC (subject access, erasure). The value is not shown."""
    from pipeline.redact import audit
    from pipeline.redact.keys import redaction_key

    key = redaction_key(allow_dev=allow_dev_key)
    matches = audit.find_value(run_paths(out, config=config, audit_log=audit_log).audit_log, value, key)
    typer.echo(json.dumps([m.model_dump() for m in matches], indent=2))


def erase_command(
    call_id: Annotated[str, typer.Argument(help="The call to erase.")],
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, audit_log: AuditLogOpt = None,
) -> None:
    """Remove a call's artefacts and results-index rows, and record the erasure in the audit log (JSON)."""
    from pipeline.compliance import erase_call
    from pipeline.store import open_store

    where = run_paths(out, config=config, database_url=database_url, audit_log=audit_log)
    # A SQLite index that was never written holds nothing to erase; a server database always may.
    store = None
    if where.sqlite_path is None or where.sqlite_path.is_file():
        store = open_store(where.database_url)
        store.upgrade()
    try:
        result = erase_call(call_id, where.out_dir, where.audit_log, store)
    finally:
        if store is not None:
            store.dispose()
    typer.echo(json.dumps(result.model_dump()))


app.add_typer(audit_app, name="audit")
app.command("erase")(erase_command)
