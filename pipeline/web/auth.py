"""Passwords, sessions, CSRF tokens and the login rate limit, over the results store.

- Passwords: argon2id (argon2-cffi's defaults), never stored or logged in clear.
- Sessions: a random token in an HttpOnly cookie; the table keeps its SHA-256, the user and the
  session's CSRF token, so a leaked table row is not a live login.
- CSRF: every form carries the session's token (synchronizer token); the login form, which has
  no session yet, carries an HMAC of a random nonce that sits in its own cookie.
- Rate limit: failed logins per username and per client address within a window, counted in
  the database so that every worker sees them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select

from pipeline.errors import CallqaError
from pipeline.store import Store
from pipeline.store.models import LoginAttemptRow, UserRow, WebSessionRow, utcnow

from .settings import LoginOptions

__all__ = ["AuthError", "SessionUser", "hash_password", "verify_password", "login", "open_session",
           "session_user", "close_session", "login_csrf", "check_login_csrf", "tokens_equal"]

# argon2id with argon2-cffi's default (RFC 9106 low-memory) parameters; stateless.
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so a miss costs the same time as a wrong password.
    return _HASHER.hash(secrets.token_urlsafe(16))


class AuthError(CallqaError):
    """A login was refused. reason: bad_credentials | rate_limited."""

    def __init__(self, message: str, *, reason: str):
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class SessionUser:
    """Who is logged in, as the routes and authz see it."""

    username: str
    role: str
    agent_id: str | None
    csrf_token: str


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _key(kind: str, value: str) -> str:
    # Hashed: the attempts table holds no usernames or addresses.
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def login(store: Store, username: str, password: str, *, client: str, options: LoginOptions) -> UserRow:
    """Check a username and password under the rate limit; record the attempt.

    Raises:
        AuthError: rate_limited (too many failures for this username or address in the window;
            the password is not even checked) or bad_credentials.
    """
    now = utcnow()
    keys = [_key("user", username.strip().lower()), _key("client", client)]
    since = now - dt.timedelta(minutes=options.window_minutes)
    with store.session() as s:
        for key in keys:
            failures = s.scalar(select(func.count()).select_from(LoginAttemptRow).where(
                LoginAttemptRow.key == key, LoginAttemptRow.at >= since, LoginAttemptRow.success.is_(False)))
            if failures >= options.max_failures:
                raise AuthError(f"too many failed logins; try again in {options.window_minutes:g} minutes",
                                reason="rate_limited")
        user = s.scalars(select(UserRow).where(UserRow.username == username.strip().lower())).first()
        ok = verify_password(user.password_hash if user else _dummy_hash(), password) and user is not None
        for key in keys:
            s.add(LoginAttemptRow(key=key, at=now, success=ok))
        # Old attempts are of no more use to the limit.
        s.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < now - dt.timedelta(days=1)))
    if not ok:
        raise AuthError("wrong username or password", reason="bad_credentials")
    return user


def open_session(store: Store, user: UserRow, *, lifetime_hours: float) -> tuple[str, str]:
    """A new session for the user; returns (cookie token, CSRF token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    with store.session() as s:
        s.add(WebSessionRow(token_hash=hashlib.sha256(token.encode()).hexdigest(), user_id=user.id,
                            csrf_token=csrf, created_at=now, expires_at=now + dt.timedelta(hours=lifetime_hours)))
        s.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
    return token, csrf


def session_user(store: Store, token: str | None) -> SessionUser | None:
    """The session's user, or None when the token is missing, unknown or expired."""
    if not token or len(token) > 128:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    with store.session() as s:
        row = s.get(WebSessionRow, digest)
        if row is None:
            return None
        if _aware(row.expires_at) < utcnow():
            s.delete(row)
            return None
        user = s.get(UserRow, row.user_id)
        if user is None:
            return None
        return SessionUser(username=user.username, role=user.role, agent_id=user.agent_id, csrf_token=row.csrf_token)


def close_session(store: Store, token: str | None) -> None:
    if token:
        with store.session() as s:
            s.execute(delete(WebSessionRow).where(
                WebSessionRow.token_hash == hashlib.sha256(token.encode()).hexdigest()))


def login_csrf(secret: bytes, nonce: str) -> str:
    """The login form's CSRF token: an HMAC of the nonce in the login cookie."""
    return hmac.new(secret, f"login:{nonce}".encode(), hashlib.sha256).hexdigest()


def check_login_csrf(secret: bytes, nonce: str | None, token: str | None) -> bool:
    return bool(nonce and token) and tokens_equal(login_csrf(secret, nonce), token)


def tokens_equal(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(expected.encode(), given.encode())
