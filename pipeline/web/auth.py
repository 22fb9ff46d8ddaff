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

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.errors import AuthError
from pipeline.store import Store, accounts
from pipeline.store.models import UserRow, utcnow

from .settings import LoginOptions

__all__ = ["SessionUser", "hash_password", "verify_password", "login", "open_session",
           "session_user", "close_session", "login_csrf", "check_login_csrf", "tokens_equal"]

# argon2id with argon2-cffi's default (RFC 9106 low-memory) parameters; stateless.
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so a miss costs the same time as a wrong password.
    return _HASHER.hash(secrets.token_urlsafe(16))


# Who is logged in, as the routes and authz see it: the store's record of a live session.
SessionUser = accounts.SessionAccount


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
            if accounts.failed_logins(s, key, since=since) >= options.max_failures:
                raise AuthError(f"too many failed logins; try again in {options.window_minutes:g} minutes",
                                reason="rate_limited")
        user = accounts.user_by_name(s, username.strip().lower())
        ok = verify_password(user.password_hash if user else _dummy_hash(), password) and user is not None
        # Attempts older than a day are of no more use to the limit.
        accounts.record_login(s, keys, at=now, success=ok, forget_before=now - dt.timedelta(days=1))
    if not ok:
        raise AuthError("wrong username or password", reason="bad_credentials")
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(store: Store, user: UserRow, *, lifetime_hours: float) -> tuple[str, str]:
    """A new session for the user; returns (cookie token, CSRF token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    accounts.add_session(store, token_hash=_token_hash(token), user_id=user.id, csrf_token=csrf,
                         lifetime=dt.timedelta(hours=lifetime_hours))
    return token, csrf


def session_user(store: Store, token: str | None) -> SessionUser | None:
    """The session's user, or None when the token is missing, unknown or expired."""
    if not token or len(token) > 128:
        return None
    return accounts.session_account(store, _token_hash(token))


def close_session(store: Store, token: str | None) -> None:
    if token:
        accounts.delete_session(store, _token_hash(token))


def login_csrf(secret: bytes, nonce: str) -> str:
    """The login form's CSRF token: an HMAC of the nonce in the login cookie."""
    return hmac.new(secret, f"login:{nonce}".encode(), hashlib.sha256).hexdigest()


def check_login_csrf(secret: bytes, nonce: str | None, token: str | None) -> bool:
    return bool(nonce and token) and tokens_equal(login_csrf(secret, nonce), token)


def tokens_equal(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(expected.encode(), given.encode())
