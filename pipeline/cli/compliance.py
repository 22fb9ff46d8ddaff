"""`callqa audit ...` and `callqa erase`: thin typer wrappers over pipeline.redact.audit.

The lead's CLI mounts them: `app.add_typer(audit_app, name="audit")` and
`app.command("erase")(erase_command)`; `app` below bundles both for standalone use.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from pipeline.compliance import erase_call
from pipeline.errors import CallqaError
from pipeline.redact import audit
from pipeline.redact.keys import redaction_key
from pipeline.redact.options import load_redact_options

__all__ = ["app", "audit_app", "erase_command", "DEFAULT_LOG", "DEFAULT_OUT"]

DEFAULT_LOG = Path("out/audit/redaction.jsonl")
DEFAULT_OUT = Path("out")

audit_app = typer.Typer(help="Check and query the redaction audit log (no personal data is shown).",
                        no_args_is_help=True)
app = typer.Typer(help="Redaction audit and erasure.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _fail(e: Exception) -> None:
    typer.echo(f"error: {e}", err=True)
    raise typer.Exit(2)


@audit_app.command("verify")
def verify_command(log: Path = typer.Option(DEFAULT_LOG, "--log", help="The audit log (JSON lines).")) -> None:
    """Check the hash chain; exit 1 naming the first changed, inserted, removed or reordered record."""
    result = audit.verify_log(log)
    typer.echo(result.message)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("report")
def report_command(
    log: Path = typer.Option(DEFAULT_LOG, "--log"),
    since: Optional[str] = typer.Option(None, "--since", help="Only records from this date (YYYY-MM-DD)."),
    low_score: Optional[float] = typer.Option(
        None, "--low-score", help="List findings scoring below this (default: low_score_review of the policy)."
    ),
) -> None:
    """Counts by entity type, recogniser and call; low-score findings; flagged and erased calls (JSON)."""
    try:
        threshold = low_score if low_score is not None else load_redact_options().low_score_review
        result = audit.report(log, since=since, low_score=threshold)
    except CallqaError as e:
        _fail(e)
        return
    except ValueError:
        _fail(ValueError("--since must be a date YYYY-MM-DD"))
        return
    typer.echo(json.dumps(result.model_dump(), indent=2))


@audit_app.command("find")
def find_command(
    value: str = typer.Option(..., "--value", help="The value to look for (spoken or written form)."),
    log: Path = typer.Option(DEFAULT_LOG, "--log"),
    dev_key: bool = typer.Option(False, "--dev-key", help="Use the public development key (tests only)."),
) -> None:
    """List the calls holding a value, by its HMAC (subject access, erasure). The value is not shown."""
    try:
        matches = audit.find_value(log, value, redaction_key(allow_dev=dev_key))
    except CallqaError as e:
        _fail(e)
        return
    typer.echo(json.dumps([m.model_dump() for m in matches], indent=2))


def _erase_store(database_url: str | None, out: Path):
    """The results index the run wrote: --database-url, else $CALLQA_DATABASE_URL, else the
    configured URL, else <out>/callqa.db when it exists (None: there is no index to erase from)."""
    import os

    from pipeline.settings import load_settings
    from pipeline.store import DATABASE_URL_ENV, open_store

    url = database_url or os.environ.get(DATABASE_URL_ENV) or load_settings().core.output.database_url
    if url is None and not (out / "callqa.db").is_file():
        return None
    store = open_store(url, sqlite_path=out / "callqa.db")
    store.upgrade()
    return store


def erase_command(
    call_id: str = typer.Argument(..., help="The call to erase."),
    out: Path = typer.Option(DEFAULT_OUT, "--out", help="Output folder holding <call_id>/."),
    log: Path = typer.Option(DEFAULT_LOG, "--log"),
    database_url: Optional[str] = typer.Option(
        None, "--database-url", help="The results index (default: as the run: $CALLQA_DATABASE_URL, config, <out>/callqa.db)."
    ),
) -> None:
    """Remove a call's artefacts and results-index rows, and record the erasure in the audit log."""
    store = None
    try:
        store = _erase_store(database_url, out)
        result = erase_call(call_id, out, log, store)
    except CallqaError as e:
        _fail(e)
        return
    finally:
        if store is not None:
            store.dispose()
    typer.echo(json.dumps(result.model_dump()))


app.command("erase")(erase_command)
