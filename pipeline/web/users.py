"""Web accounts: add, remove, change role or team, list (`callqa users ...`). Each change is access-logged.

A team leader's account names a team (the calls' team_id it may see); without one it sees no calls.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from pipeline.errors import UserError
from pipeline.review import log_access
from pipeline.store import Store, accounts

from .auth import hash_password
from .authz import ROLES

__all__ = ["UserView", "add_user", "remove_user", "set_role", "set_team", "list_users"]

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class UserView(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    role: str
    agent_id: str | None
    team_id: str | None = None


def _team(role: str, team_id: str | None) -> str | None:
    team = (team_id or "").strip() or None
    if team is not None and role != "team_leader":
        raise UserError("only a team leader's account has a team (--team)")
    if team is not None and len(team) > 128:
        raise UserError("a team id is at most 128 characters (the calls' team_id)")
    return team


def _check(username: str, role: str, agent_id: str | None) -> str:
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise UserError("a username is 2-64 characters: lower-case letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise UserError(f"unknown role; allowed: {', '.join(ROLES)}")
    if role == "agent" and not agent_id:
        raise UserError("an agent account needs --agent-id (the agent id on the calls it may see)")
    return name


def add_user(*, store: Store, actor: str, username: str, password: str, role: str, agent_id: str | None = None,
             min_password_length: int = 10, team_id: str | None = None) -> UserView:
    """Create an account with an argon2id password hash.

    Raises:
        UserError: bad username or role, an agent without agent id, a team on an account that is
            not a team leader's, a short password, or the username is taken.
    """
    name = _check(username, role, agent_id)
    team = _team(role, team_id)
    if len(password) < min_password_length:
        raise UserError(f"the password must be at least {min_password_length} characters")
    with store.session() as s:
        if accounts.user_by_name(s, name) is not None:
            raise UserError(f"user {name!r} exists; use `callqa users role` to change it")
        accounts.add_user(s, username=name, password_hash=hash_password(password), role=role,
                          agent_id=agent_id or None, team_id=team)
    log_access(store=store, user=actor, action="user_add", detail=f"{name} role={role}" + (f" team={team}" if team else ""))
    return UserView(username=name, role=role, agent_id=agent_id, team_id=team)


def remove_user(*, store: Store, actor: str, username: str) -> None:
    """Delete an account and end its sessions.

    Raises:
        UserError: no such user.
    """
    name = username.strip().lower()
    with store.session() as s:
        user = accounts.user_by_name(s, name)
        if user is None:
            raise UserError(f"no user {name!r}")
        accounts.delete_user(s, user)
    log_access(store=store, user=actor, action="user_remove", detail=name)


def set_role(*, store: Store, actor: str, username: str, role: str, agent_id: str | None = None,
             team_id: str | None = None) -> UserView:
    """Change an account's role (its sessions end, so the new role applies at the next login).

    A team leader keeps their team unless `team_id` gives another; any other role has none.

    Raises:
        UserError: no such user, unknown role, agent without agent id, or a team for a role other
            than team leader.
    """
    with store.session() as s:
        user = accounts.user_by_name(s, username.strip().lower())
        if user is None:
            raise UserError(f"no user {username.strip().lower()!r}")
        agent = agent_id or (user.agent_id if role == "agent" else None)
        _check(user.username, role, agent)
        team = _team(role, team_id or (user.team_id if role == "team_leader" else None))
        accounts.change_role(s, user, role=role, agent_id=agent, team_id=team)
        view = UserView(username=user.username, role=role, agent_id=agent, team_id=team)
    log_access(store=store, user=actor, action="user_role", detail=f"{view.username} role={role}")
    return view


def set_team(*, store: Store, actor: str, username: str, team_id: str) -> UserView:
    """Set a team leader's team (their sessions end, so it applies at the next login).

    Raises:
        UserError: no such user, the account is not a team leader's, or the team id is empty or too long.
    """
    with store.session() as s:
        user = accounts.user_by_name(s, username.strip().lower())
        if user is None:
            raise UserError(f"no user {username.strip().lower()!r}")
        if user.role != "team_leader":
            raise UserError(f"{user.username!r} is not a team leader; `callqa users role` changes the role")
        team = _team(user.role, team_id)
        if team is None:
            raise UserError("give a team id (the calls' team_id)")
        accounts.change_role(s, user, role=user.role, agent_id=user.agent_id, team_id=team)
        view = UserView(username=user.username, role=user.role, agent_id=user.agent_id, team_id=team)
    log_access(store=store, user=actor, action="user_team", detail=f"{view.username} team={team}")
    return view


def list_users(*, store: Store) -> list[UserView]:
    """Every account, by username."""
    return [UserView(username=u.username, role=u.role, agent_id=u.agent_id, team_id=u.team_id)
            for u in accounts.all_users(store)]
