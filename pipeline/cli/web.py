"""`callqa serve` and `callqa users add|remove|role|list`: thin typer wrappers over the web package.

Passwords are read from a prompt (or one line of stdin when it is not a terminal), never argv.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.errors import CallqaError
from pipeline.review import current_user
from pipeline.store import DATABASE_URL_ENV, Store, open_store

from pipeline.web.authz import ROLES

__all__ = ["serve_command", "users_app"]

users_app = typer.Typer(help="Web app accounts: add, remove, change role, list.", no_args_is_help=True)

OutOption = Annotated[Path, typer.Option("--out", help="The output folder of `callqa run` (results and audio).")]
DbOption = Annotated[str | None, typer.Option(
    "--db", envvar=DATABASE_URL_ENV, show_envvar=True,
    help="Results index: a SQLAlchemy URL or a SQLite file (default <out>/callqa.db).")]


def _fail(error: CallqaError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(code=1)


def _store(db: str | None, out: Path) -> Store:
    store = open_store(db, sqlite_path=out / "callqa.db")
    store.upgrade()
    return store


def _password() -> str:
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    out: OutOption = Path("out"),
    db: DbOption = None,
    web_config: Annotated[Path | None, typer.Option("--web-config", help="Site YAML over configs/web.yaml.")] = None,
    secure_cookies: Annotated[bool | None, typer.Option(
        "--secure-cookies/--no-secure-cookies",
        help="Send cookies over HTTPS only (default: configs/web.yaml).")] = None,
) -> None:
    """Serve the assessor review web app over the results of `callqa run` (docs/web.md)."""
    import uvicorn

    from pipeline.web.app import create_app
    from pipeline.web.settings import load_web_settings

    try:
        settings = load_web_settings(out_dir=out, database_url=db, options_path=web_config,
                                     secure_cookies=secure_cookies)
        app = create_app(settings)
    except CallqaError as e:
        raise _fail(e) from None
    typer.echo(f"callqa review on http://{host}:{port}/ (results in {out})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


@users_app.command("add")
def add_command(
    username: str,
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    agent_id: Annotated[str | None, typer.Option("--agent-id", help="For agents: the agent id on their calls.")] = None,
    out: OutOption = Path("out"),
    db: DbOption = None,
) -> None:
    """Add an account; the password is asked for (or read from stdin), never taken from the command line."""
    from pipeline.web.settings import load_web_options
    from pipeline.web.users import add_user

    try:
        options = load_web_options()
        view = add_user(store=_store(db, out), actor=current_user(), username=username, password=_password(),
                        role=role, agent_id=agent_id, min_password_length=options.login.min_password_length)
    except CallqaError as e:
        raise _fail(e) from None
    typer.echo(f"added {view.username} ({view.role})")


@users_app.command("remove")
def remove_command(username: str, out: OutOption = Path("out"), db: DbOption = None) -> None:
    """Remove an account and end its sessions."""
    from pipeline.web.users import remove_user

    try:
        remove_user(store=_store(db, out), actor=current_user(), username=username)
    except CallqaError as e:
        raise _fail(e) from None
    typer.echo(f"removed {username.strip().lower()}")


@users_app.command("role")
def role_command(
    username: str,
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.")],
    agent_id: Annotated[str | None, typer.Option("--agent-id")] = None,
    out: OutOption = Path("out"),
    db: DbOption = None,
) -> None:
    """Change an account's role (its sessions end)."""
    from pipeline.web.users import set_role

    try:
        view = set_role(store=_store(db, out), actor=current_user(), username=username, role=role, agent_id=agent_id)
    except CallqaError as e:
        raise _fail(e) from None
    typer.echo(f"{view.username} is now {view.role}")


@users_app.command("list")
def list_command(out: OutOption = Path("out"), db: DbOption = None) -> None:
    """List accounts (no password hashes)."""
    from pipeline.web.users import list_users

    for u in list_users(store=_store(db, out)):
        typer.echo(f"{u.username}\t{u.role}\t{u.agent_id or ''}")
