"""Who is acting, for the CLI (the web app knows its user from the session)."""

from __future__ import annotations

import getpass
import os

from pipeline.errors import ReviewError

__all__ = ["USER_ENV", "current_user"]

USER_ENV = "CALLQA_USER"


def current_user(assessor: str | None = None) -> str:
    """Who is acting: the --user option, else $CALLQA_USER, else the OS user.

    Returns:
        The name, cut to the access log's 128 characters.

    Raises:
        ReviewError: none of the three gives a name (reason unknown_user).
    """
    user = (assessor or os.environ.get(USER_ENV) or getpass.getuser() or "").strip()
    if not user:
        raise ReviewError("cannot tell who you are; pass --user or set CALLQA_USER", reason="unknown_user")
    return user[:128]
