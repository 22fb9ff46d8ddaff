"""Queries on the web app's accounts: users, logged-in sessions and login attempts.

Functions that take a Session leave the transaction to the caller (a login counts failures,
checks the password and records the attempt in one); those that take a Store are one
transaction each. Passwords arrive hashed, session tokens as their SHA-256: nothing here
sees a secret in clear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .db import Store
from .models import LoginAttemptRow, UserRow, WebSessionRow, as_utc, utcnow

__all__ = ["SessionAccount", "failed_logins", "record_login", "user_by_name", "add_user", "delete_user",
           "change_role", "all_users", "add_session", "session_account", "delete_session"]


@dataclass(frozen=True)
class SessionAccount:
    """The account behind a live session, and the session's CSRF token."""

    username: str
    role: str
    agent_id: str | None
    csrf_token: str
    team_id: str | None = None  # a team leader's team (revision 0007)


# ----------------------------------------------------------------------------- login attempts


def failed_logins(s: Session, key: str, *, since: dt.datetime) -> int:
    """Failed attempts under one key (a hashed username or address) at or after `since`."""
    return s.scalar(select(func.count()).select_from(LoginAttemptRow).where(
        LoginAttemptRow.key == key, LoginAttemptRow.at >= since, LoginAttemptRow.success.is_(False)))


def record_login(s: Session, keys: Sequence[str], *, at: dt.datetime, success: bool,
                 forget_before: dt.datetime) -> None:
    """Record one attempt under each key, and delete attempts older than `forget_before`."""
    for key in keys:
        s.add(LoginAttemptRow(key=key, at=at, success=success))
    s.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < forget_before))


# -------------------------------------------------------------------------------------- users


def user_by_name(s: Session, username: str) -> UserRow | None:
    """The account with this (normalised) username, or None."""
    return s.scalars(select(UserRow).where(UserRow.username == username)).first()


def add_user(s: Session, *, username: str, password_hash: str, role: str, agent_id: str | None,
             team_id: str | None = None) -> None:
    """Create an account (the caller has checked that the name is free)."""
    s.add(UserRow(username=username, password_hash=password_hash, role=role, agent_id=agent_id, team_id=team_id,
                  created_at=utcnow()))


def delete_user(s: Session, user: UserRow) -> None:
    """Delete an account and its sessions."""
    s.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user.id))
    s.delete(user)


def change_role(s: Session, user: UserRow, *, role: str, agent_id: str | None, team_id: str | None = None) -> None:
    """Set an account's role, agent id and team and end its sessions, so the change applies at the next login."""
    user.role = role
    user.agent_id = agent_id
    user.team_id = team_id
    s.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user.id))


def all_users(store: Store) -> list[UserRow]:
    """Every account, by username."""
    with store.session() as s:
        return list(s.scalars(select(UserRow).order_by(UserRow.username)))


# ----------------------------------------------------------------------------------- sessions


def add_session(store: Store, *, token_hash: str, user_id: int, csrf_token: str, lifetime: dt.timedelta) -> None:
    """Record a new session that lasts `lifetime` from now, and delete the sessions that have expired."""
    now = utcnow()
    with store.session() as s:
        s.add(WebSessionRow(token_hash=token_hash, user_id=user_id, csrf_token=csrf_token, created_at=now,
                            expires_at=now + lifetime))
        s.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))


def session_account(store: Store, token_hash: str) -> SessionAccount | None:
    """The account of a live session; None when the session is unknown or expired (an expired one is deleted)."""
    with store.session() as s:
        row = s.get(WebSessionRow, token_hash)
        if row is None:
            return None
        if as_utc(row.expires_at) < utcnow():
            s.delete(row)
            return None
        user = s.get(UserRow, row.user_id)
        if user is None:
            return None
        return SessionAccount(username=user.username, role=user.role, agent_id=user.agent_id,
                              csrf_token=row.csrf_token, team_id=user.team_id)


def delete_session(store: Store, token_hash: str) -> None:
    """End one session (nothing happens when it is unknown)."""
    with store.session() as s:
        s.execute(delete(WebSessionRow).where(WebSessionRow.token_hash == token_hash))
