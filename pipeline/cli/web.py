"""`callqa serve` and `callqa users add|remove|role|team|list`: thin typer wrappers over the web package.

Passwords are read from a prompt (or one line of stdin when it is not a terminal), never argv.
The results index is found as `callqa run` wrote it (pipeline.paths).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from pipeline.cli._common import (
    AuditLogOpt,
    CallqaTyper,
    ConfigOpt,
    DatabaseUrlOpt,
    OutOpt,
    UserOpt,
    run_paths,
)
from pipeline.web.authz import ROLES

if TYPE_CHECKING:
    from pipeline.store import Store

__all__ = ["serve_command", "users_app"]

users_app = CallqaTyper(help="Web app accounts: add, remove, change role or team, list.")

# The roles of pipeline.web.authz, as a choice typer lists and checks.
Role = Enum("Role", {name: name for name in ROLES}, type=str)

UsernameArg = Annotated[str, typer.Argument(help="The account's login name (stored lower-case).")]
AgentIdOpt = Annotated[Optional[str], typer.Option("--agent-id", help="For agents: the agent id on their calls.")]
TeamOpt = Annotated[Optional[str], typer.Option(
    "--team", help="For team leaders: the team id on the calls they may see (without one they see none).")]


def _store(out: Path | None, config: Path | None, database_url: str | None) -> Store:
    from pipeline.paths import open_index

    return open_index(run_paths(out, config=config, database_url=database_url))


def _actor(user: str | None) -> str:
    from pipeline.review import current_user

    return current_user(user)


def _password() -> str:
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    out: OutOpt = None,
    config: ConfigOpt = None,
    database_url: DatabaseUrlOpt = None,
    audit_log: AuditLogOpt = None,
    web_config: Annotated[Optional[Path], typer.Option("--web-config", help="Site YAML over configs/web.yaml.")] = None,
    secure_cookies: Annotated[Optional[bool], typer.Option(
        "--secure-cookies/--no-secure-cookies",
        help="Send cookies over HTTPS only (default: configs/web.yaml).")] = None,
) -> None:
    """Serve the assessor review web app over the results of `callqa run` (docs/web.md)."""
    import uvicorn

    from pipeline.web.app import create_app
    from pipeline.web.settings import load_web_settings

    paths = run_paths(out, config=config, database_url=database_url, audit_log=audit_log)
    settings = load_web_settings(paths, options_path=web_config, secure_cookies=secure_cookies)
    app = create_app(settings)
    typer.echo(f"callqa review on http://{host}:{port}/ (results in {paths.out_dir})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


@users_app.command("add")
def add_command(
    username: UsernameArg,
    role: Annotated[Role, typer.Option("--role", help="What the account may do (docs/web.md).")],
    agent_id: AgentIdOpt = None,
    team: TeamOpt = None,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Add an account; the password is asked for (or read from stdin), never taken from the command line."""
    from pipeline.web.settings import load_web_options
    from pipeline.web.users import add_user

    options = load_web_options()
    view = add_user(store=_store(out, config, database_url), actor=_actor(user), username=username,
                    password=_password(), role=role.value, agent_id=agent_id,
                    min_password_length=options.login.min_password_length, team_id=team)
    typer.echo(f"added {view.username} ({view.role}{', team ' + view.team_id if view.team_id else ''})")
    _warn_no_team(view)


@users_app.command("remove")
def remove_command(
    username: UsernameArg,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Remove an account and end its sessions."""
    from pipeline.web.users import remove_user

    remove_user(store=_store(out, config, database_url), actor=_actor(user), username=username)
    typer.echo(f"removed {username.strip().lower()}")


@users_app.command("role")
def role_command(
    username: UsernameArg,
    role: Annotated[Role, typer.Argument(help="The new role.")],
    agent_id: AgentIdOpt = None,
    team: TeamOpt = None,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Change an account's role (its sessions end)."""
    from pipeline.web.users import set_role

    view = set_role(store=_store(out, config, database_url), actor=_actor(user), username=username,
                    role=role.value, agent_id=agent_id, team_id=team)
    typer.echo(f"{view.username} is now {view.role}")
    _warn_no_team(view)


@users_app.command("team")
def team_command(
    username: UsernameArg,
    team: Annotated[str, typer.Argument(help="The team id on the calls the team leader may see.")],
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Set a team leader's team (their sessions end)."""
    from pipeline.web.users import set_team

    view = set_team(store=_store(out, config, database_url), actor=_actor(user), username=username, team_id=team)
    typer.echo(f"{view.username} now sees team {view.team_id}")


def _warn_no_team(view) -> None:
    if view.role == "team_leader" and not view.team_id:
        typer.echo(f"{view.username} has no team and sees no calls: `callqa users team {view.username} TEAM`",
                   err=True)


@users_app.command("list")
def list_command(out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None) -> None:
    """List accounts (no password hashes)."""
    from pipeline.web.users import list_users

    for u in list_users(store=_store(out, config, database_url)):
        typer.echo(f"{u.username}\t{u.role}\t{u.agent_id or ''}\t{u.team_id or ''}")
