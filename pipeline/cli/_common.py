"""What every command shares: option types, the exit-code table, the one error handler, progress bars.

Exit codes (README "Exit codes" says the same; every command uses this table):

    0  done
    1  finished, but not everything is good: some inputs failed, a check found a problem
    2  bad usage, configuration or input: fix the command line, the config or the file
    3  refused: a review, account or login rule said no (unknown call, card finalised, ...)
    4  a model or service is unavailable (missing model, database down)
    5  internal error: a bug; the message says where to look, never what the data was
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Optional, TypeVar

import typer
from rich.console import Console

from pipeline.errors import (
    AuthError,
    CallqaError,
    ConfigError,
    InputError,
    ModelUnavailableError,
    ReviewError,
    StageError,
    UserError,
)
from pipeline.progress import ProgressHook

__all__ = [
    "ExitCode", "err", "out", "fail", "handle_errors", "progress_hook",
    "OutOpt", "ConfigOpt", "DatabaseUrlOpt", "AuditLogOpt", "DevKeyOpt", "JsonOpt", "UserOpt",
]

log = logging.getLogger("callqa")

err = Console(stderr=True)
out = Console()


class ExitCode(IntEnum):
    OK = 0
    PARTIAL = 1
    USAGE = 2
    REFUSED = 3
    UNAVAILABLE = 4
    INTERNAL = 5


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code of an error, by the table above."""
    if isinstance(error, (ConfigError, InputError)):
        return ExitCode.USAGE
    if isinstance(error, (ReviewError, UserError, AuthError)):
        return ExitCode.REFUSED
    if isinstance(error, ModelUnavailableError):
        return ExitCode.UNAVAILABLE
    if isinstance(error, StageError):
        return ExitCode.INTERNAL
    if isinstance(error, CallqaError):
        return ExitCode.USAGE
    return ExitCode.INTERNAL


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> typer.Exit:
    """Print `error: message` on stderr and return the Exit to raise: `raise fail("...")`."""
    err.print(f"[red]error:[/] {message}", highlight=False)
    return typer.Exit(int(code))


F = TypeVar("F", bound=Callable)


def handle_errors(fn: F) -> F:
    """Turn callqa's errors into one line on stderr and the table's exit code.

    An unexpected exception prints its type only (a library's message may quote the data) and
    exits 5; with `callqa -v` the traceback goes to the log.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except CallqaError as e:
            raise fail(str(e), exit_code_for(e)) from None
        except Exception as e:  # noqa: BLE001 - the CLI's last line of defence
            log.debug("internal error", exc_info=True)
            raise fail(f"internal error ({type(e).__name__}); run with -v for where it happened",
                       ExitCode.INTERNAL) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def progress_hook(*, enabled: bool = True, label: str = "") -> Iterator[ProgressHook]:
    """A rich progress display fed by the one hook shape; one bar per step name.

    Disabled (a no-op hook) when stderr is not a terminal or `enabled` is False, so JSON on
    stdout and CI logs stay clean.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, disable=not enabled or not err.is_terminal, transient=False) as progress:
        tasks: dict[str, int] = {}

        def hook(step: str, completed: int, total: int | None) -> None:
            name = f"{label}{step}" if label else step
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=total)
            progress.update(tasks[name], completed=completed, total=total)

        yield hook


OutOpt = Annotated[Optional[Path], typer.Option(
    "--out", "-o", help="Output folder (default $CALLQA_OUT, else ./out): <out>/<call_id>/, audit/, callqa.db.")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="Site YAML over the packaged defaults.")]
DatabaseUrlOpt = Annotated[Optional[str], typer.Option(
    "--database-url", help="Results index URL or SQLite path (default $CALLQA_DATABASE_URL, then the site config, "
                           "then <out>/callqa.db).")]
AuditLogOpt = Annotated[Optional[Path], typer.Option(
    "--audit-log", help="Redaction audit log (default $CALLQA_AUDIT_LOG, then the site config, "
                        "then <out>/audit/redaction.jsonl).")]
DevKeyOpt = Annotated[bool, typer.Option(
    "--allow-dev-key", help="Without $CALLQA_REDACTION_KEY, use the public development key (tests only, never production).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout instead of a table.")]
UserOpt = Annotated[Optional[str], typer.Option(
    "--user", "-u", help="Who is acting (default $CALLQA_USER): recorded in the access log.")]
