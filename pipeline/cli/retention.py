"""`callqa retention apply`: remove what is past its retention period (pipeline.retention).

The root CLI mounts `app` as `callqa retention`; the periods are the redaction policy's
`retention` section (configs/redaction.yaml, or the site's via --config).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pipeline.cli._common import (
    AuditLogOpt,
    CallqaTyper,
    ConfigOpt,
    DatabaseUrlOpt,
    DevKeyOpt,
    JsonOpt,
    OutOpt,
    load_site_settings,
    run_paths,
)

__all__ = ["app"]

app = CallqaTyper(help="Retention: remove results, redacted audio and index rows past their period.")


@app.command("apply")
def apply_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would go; remove nothing.")] = False,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, audit_log: AuditLogOpt = None,
    allow_dev_key: DevKeyOpt = False, as_json: JsonOpt = False,
) -> None:
    """Remove what is past its retention period and record it in the audit log (counts only)."""
    from pipeline.paths import open_index
    from pipeline.redact.keys import redaction_key
    from pipeline.retention import apply_retention

    settings = load_site_settings(config)
    where = run_paths(out, database_url=database_url, audit_log=audit_log, settings=settings)
    # Removed results get a tombstone (a keyed digest): without the key they would come back.
    key = None if dry_run else redaction_key(allow_dev=allow_dev_key)
    store = open_index(where) if where.sqlite_path is None or where.sqlite_path.is_file() else None
    try:
        report = apply_retention(settings.redact.retention, where.out_dir, where.audit_log, store, key=key,
                                 dry_run=dry_run)
    finally:
        if store is not None:
            store.dispose()
    if as_json:
        typer.echo(json.dumps(report.model_dump(), indent=2))
        return
    verb = "would remove" if dry_run else "removed"
    typer.echo(f"retention {verb}: {report.results} result folder(s), {report.redacted_audio} redacted audio file(s), "
               f"index rows of {report.index_calls} call(s); {report.originals}"
               + (f"; {report.audit_records} audit record(s)" if not dry_run else ""), err=True)
