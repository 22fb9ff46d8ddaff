"""Web accounts: add, remove, change role, list (`callqa users ...`). Each change is access-logged."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from pipeline.errors import UserError
from pipeline.review import log_access
from pipeline.store import Store, accounts

from .auth import hash_password
from .authz import ROLES

__all__ = ["UserView", "add_user", "remove_user", "set_role", "list_users"]

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class UserView(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    role: str
    agent_id: str | None


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
             min_password_length: int = 10) -> UserView:
    """Create an account with an argon2id password hash.

    Raises:
        UserError: bad username or role, an agent without agent id, a short password, or the
            username is taken.
    """
    name = _check(username, role, agent_id)
    if len(password) < min_password_length:
        raise UserError(f"the password must be at least {min_password_length} characters")
    with store.session() as s:
        if accounts.user_by_name(s, name) is not None:
            raise UserError(f"user {name!r} exists; use `callqa users role` to change it")
        accounts.add_user(s, username=name, password_hash=hash_password(password), role=role,
                          agent_id=agent_id or None)
    log_access(store=store, user=actor, action="user_add", detail=f"{name} role={role}")
    return UserView(username=name, role=role, agent_id=agent_id)


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


def set_role(*, store: Store, actor: str, username: str, role: str, agent_id: str | None = None) -> UserView:
    """Change an account's role (its sessions end, so the new role applies at the next login).

    Raises:
        UserError: no such user, unknown role, or agent without agent id.
    """
    with store.session() as s:
        user = accounts.user_by_name(s, username.strip().lower())
        if user is None:
            raise UserError(f"no user {username.strip().lower()!r}")
        agent = agent_id or (user.agent_id if role == "agent" else None)
        _check(user.username, role, agent)
        accounts.change_role(s, user, role=role, agent_id=agent)
        view = UserView(username=user.username, role=role, agent_id=agent)
    log_access(store=store, user=actor, action="user_role", detail=f"{view.username} role={role}")
    return view


def list_users(*, store: Store) -> list[UserView]:
    """Every account, by username."""
    return [UserView(username=u.username, role=u.role, agent_id=u.agent_id) for u in accounts.all_users(store)]
