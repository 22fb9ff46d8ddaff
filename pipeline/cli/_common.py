"""What every command shares: the exit-code table, the one error handler, option types, paths, progress bars.

Exit codes (README "Exit codes" says the same; every command uses this table):

    0  done
    1  finished, but not everything is good: some inputs failed, a check found a problem
    2  bad usage, configuration or input: fix the command line, the config or the file
    3  refused: a review, account or login rule said no (unknown call, card finalised, ...)
    4  a model or service is unavailable (missing model, database down)
    5  internal error: a bug; the message says where to look, never what the data was

Every command reaches this table the same way: command groups are `CallqaTyper`s, whose
`command()` wraps each callback in `handle_errors` as it is registered, so a command mounted on
`callqa` or run from its own sub-app exits the same way. Nothing here imports a service or a
stage at module level: `callqa --help` must not pay for them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from enum import Enum, IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console
from typer.exceptions import TyperException

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

if TYPE_CHECKING:
    from pipeline.paths import RunPaths
    from pipeline.store import Store

__all__ = [
    "ExitCode", "exit_code_for", "err", "out", "fail", "handle_errors", "CallqaTyper", "progress_hook",
    "run_paths", "results_store", "acting_user", "load_site_settings", "parse_time", "parse_date",
    "Layout", "Device", "Period",
    "OutOpt", "ConfigOpt", "DatabaseUrlOpt", "AuditLogOpt", "DevKeyOpt", "JsonOpt", "UserOpt", "ForceOpt",
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
    if isinstance(error, ModelUnavailableError) or _is_database_down(error):
        return ExitCode.UNAVAILABLE
    if isinstance(error, StageError):
        return ExitCode.INTERNAL
    if isinstance(error, CallqaError):
        return ExitCode.USAGE
    return ExitCode.INTERNAL


def _is_database_down(error: BaseException) -> bool:
    # SQLAlchemy's OperationalError is how a refused connection or a missing server arrives; the
    # class is looked up by name so that this module does not import SQLAlchemy.
    return any(c.__name__ == "OperationalError" and c.__module__ == "sqlalchemy.exc" for c in type(error).__mro__)


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> typer.Exit:
    """Print `error: message` on stderr and return the Exit to raise: `raise fail("...")`."""
    err.print(f"[red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(int(code))


F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Turn callqa's errors into one line on stderr and the table's exit code.

    A callqa error prints its message (messages never hold personal data). A database that
    cannot be reached exits 4 naming only the error type. Any other exception prints its type
    only (a library's message may quote the data) and exits 5; with `callqa -v` the traceback
    goes to the log. Click's own usage errors and `typer.Exit` pass through unchanged.
    Wrapping twice is harmless: the second wrapper is not added.
    """
    if getattr(fn, "__callqa_handled__", False):
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, TyperException, KeyboardInterrupt):
            raise  # exits and usage errors (BadParameter, ...) keep typer's own handling
        except CallqaError as e:
            log.debug("callqa error", exc_info=True)
            raise fail(_escape(str(e)), exit_code_for(e)) from None
        except Exception as e:  # noqa: BLE001 - the CLI's last line of defence
            log.debug("error", exc_info=True)
            code = exit_code_for(e)
            if code is ExitCode.UNAVAILABLE:
                raise fail(f"the results database cannot be reached ({type(e).__name__}); check --database-url "
                           "or $CALLQA_DATABASE_URL and that the server is up", code) from None
            raise fail(f"internal error ({type(e).__name__}); run with -v for where it happened", code) from None

    wrapper.__callqa_handled__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _escape(text: str) -> str:
    # A message names files and keys; rich would read "[...]" in it as markup.
    from rich.markup import escape

    return escape(text)


class CallqaTyper(typer.Typer):
    """A Typer whose every command goes through `handle_errors`, and whose defaults are callqa's.

    `app.command(...)(fn)` registers the wrapped function and returns `fn` unchanged, so the
    plain function stays callable from Python.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("add_completion", False)
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:  # type: ignore[override]
        register = super().command(*args, **kwargs)

        def decorator(fn: F) -> F:
            register(handle_errors(fn))
            return fn

        return decorator

    def add_typer(self, typer_instance: typer.Typer, **kwargs: Any) -> None:
        # A group mounted here answers by the same table even when it was built as a plain Typer.
        _handle_all(typer_instance)
        super().add_typer(typer_instance, **kwargs)


def _handle_all(app: typer.Typer) -> None:
    """Wrap every command and group callback of `app`, and of the groups under it, in handle_errors."""
    if app.registered_callback is not None and app.registered_callback.callback is not None:
        app.registered_callback.callback = handle_errors(app.registered_callback.callback)
    for info in app.registered_commands:
        if info.callback is not None:
            info.callback = handle_errors(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            _handle_all(group.typer_instance)


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


def load_site_settings(config: Path | None):
    """Every stage's settings: the packaged defaults with the --config site file over them.

    Raises:
        ConfigError: naming the file and key of the first problem.
    """
    from pipeline.settings import load_settings

    return load_settings(config)


def run_paths(
    out_dir: Path | None,
    *,
    config: Path | None = None,
    database_url: str | None = None,
    audit_log: Path | None = None,
    settings: Any = None,
) -> RunPaths:
    """Where the results index, audit log and call folders are, by the one precedence order.

    flag > environment > site config (`output` section of --config) > default under --out; see
    pipeline.paths.resolve_paths.

    Args:
        out_dir, database_url, audit_log: the --out, --database-url and --audit-log flags.
        config: the --config site file (read for its `output` section) when `settings` is None.
        settings: already loaded Settings (a command that loaded them for its own use).

    Raises:
        ConfigError: the site file is invalid.
    """
    from pipeline.paths import resolve_paths

    if settings is not None:
        output = settings.core.output
    elif config is not None:
        output = load_site_settings(config).core.output  # its relative paths made relative to the file
    else:
        # The packaged defaults' output section, without loading every stage's configuration:
        # `callqa review list` and friends should not pay for lexicons they never use.
        from pipeline.config import load_config

        output = load_config(None).output
    return resolve_paths(out_dir, database_url=database_url, audit_log=audit_log, output=output)


def parse_time(value: str) -> datetime:
    """An option's time: YYYY-MM-DD or ISO 8601, in UTC unless it names a zone (a typer parser)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a time: use YYYY-MM-DD or ISO 8601 (2026-12-01T09:30)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_date(value: str) -> date:
    """An option's date: YYYY-MM-DD (a typer parser)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD") from None


# Choices are Enums, so typer lists them in --help and refuses anything else with exit 2.


class Layout(str, Enum):
    """How synthesised audio puts the parties: one per channel, or both in one."""

    stereo = "stereo"
    mono = "mono"


class Device(str, Enum):
    """Where the models run."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Period(str, Enum):
    """The step of a trend."""

    week = "week"
    month = "month"


# The same option means the same thing under the same name in every command.

OutOpt = Annotated[Optional[Path], typer.Option(
    "--out", "-o", help="Output folder (default $CALLQA_OUT, else ./out): <out>/<call_id>/, audit/, callqa.db.")]
ConfigOpt = Annotated[Optional[Path], typer.Option(
    "--config", "-c", help="Site YAML over the packaged defaults (its output section names the index and log).")]
DatabaseUrlOpt = Annotated[Optional[str], typer.Option(
    "--database-url", help="Results index URL or SQLite path (default $CALLQA_DATABASE_URL, then the site config, "
                           "then <out>/callqa.db).")]
AuditLogOpt = Annotated[Optional[Path], typer.Option(
    "--audit-log", help="Redaction audit log (default $CALLQA_AUDIT_LOG, then the site config, "
                        "then <out>/audit/redaction.jsonl).")]
DevKeyOpt = Annotated[bool, typer.Option(
    "--allow-dev-key", help="Without $CALLQA_REDACTION_KEY, use the public development key (tests only, never production).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout instead of text.")]
UserOpt = Annotated[Optional[str], typer.Option(
    "--user", "-u", help="Who is acting (default $CALLQA_USER, else the OS user): recorded in the access log.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Process every input again, even those already done.")]


def results_store(out: Path | None, config: Path | None, database_url: str | None) -> "Store":
    """The results index `callqa run` wrote, upgraded to the current schema (review, report, search).

    Raises:
        InputError: a SQLite index that does not exist (nothing was run into that folder).
    """
    from pipeline.paths import open_index

    where = run_paths(out, config=config, database_url=database_url)
    sqlite = where.sqlite_path
    # Opening would create an empty index: say where the results were expected instead.
    if sqlite is not None and not sqlite.is_file():
        raise InputError("no results index here; run `callqa run --out DIR` first, or pass --out or --database-url",
                         path=str(sqlite), reason="no_index")
    return open_index(where)


def acting_user(user: str | None) -> str:
    """Who is acting: --user, else the environment's user (pipeline.review.current_user)."""
    from pipeline.review import current_user

    return current_user(user)
