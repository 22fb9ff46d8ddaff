"""Request-scoped helpers shared by the routes: the store, the logged-in user, CSRF, rendering."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request
from fastapi.templating import Jinja2Templates

from pipeline.errors import LoginRequired
from pipeline.review import log_access
from pipeline.review.access import call_owner
from pipeline.schema import DEV_KEY_FLAG, is_valid_call_id
from pipeline.store import Store

from .auth import SessionUser, session_user, tokens_equal
from .authz import allowed, may_see_call
from .settings import WebSettings

__all__ = ["SESSION_COOKIE", "LOGIN_COOKIE", "CSRF_FIELD", "CSRF_HEADER", "Context", "context", "user_or_none",
           "require_user", "require", "check_csrf", "check_call", "render"]

SESSION_COOKIE = "callqa_session"
LOGIN_COOKIE = "callqa_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Context:
    store: Store
    settings: WebSettings
    templates: Jinja2Templates


def context(request: Request) -> Context:
    return request.app.state.ctx


def user_or_none(request: Request) -> SessionUser | None:
    return session_user(context(request).store, request.cookies.get(SESSION_COOKIE))


def require_user(request: Request) -> SessionUser:
    user = user_or_none(request)
    if user is None:
        # The app turns it into a redirect to /login (pages) or 401 (API).
        raise LoginRequired()
    return user


def require(user: SessionUser, permission: str) -> None:
    if not allowed(user, permission):
        raise HTTPException(status_code=403, detail="your role may not do this")


async def check_csrf(request: Request, user: SessionUser) -> dict[str, str]:
    """The submitted form, after checking its CSRF token (or the X-CSRF-Token header) against the session's."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    given = request.headers.get(CSRF_HEADER) or fields.get(CSRF_FIELD)
    if not tokens_equal(user.csrf_token, given):
        raise HTTPException(status_code=403, detail="the form's security token is missing or wrong; reload the page")
    return fields


async def call_form(request: Request, call_id: str, permission: str) -> tuple[SessionUser, dict[str, str]]:
    """The signed-in user and the submitted form of a POST about one call, after every check.

    Order matters: sign-in, then the CSRF token, then the role, then whether this user may see the call.
    """
    user = require_user(request)
    form = await check_csrf(request, user)
    require(user, permission)
    check_call(request, user, call_id)
    return user, form


def check_call(request: Request, user: SessionUser, call_id: str) -> None:
    """404 unless the call id is well-formed, indexed and visible to this user.

    A refused look is logged too; it answers 404 like an unknown call, so it says nothing about
    which calls exist.
    """
    if not is_valid_call_id(call_id):
        raise HTTPException(status_code=404, detail="no such call")
    store = context(request).store
    exists, agent_id, team_id = call_owner(store=store, call_id=call_id)
    if not exists:
        raise HTTPException(status_code=404, detail="no such call")
    if not may_see_call(user, agent_id, team_id):
        log_access(store=store, user=user.username, action="denied", call_id=call_id, detail=request.url.path[:200])
        raise HTTPException(status_code=404, detail="no such call")
    if not context(request).settings.options.results.allow_dev_key and _dev_key_result(request, call_id):
        raise HTTPException(status_code=403, detail="this call was processed with the public development key: its "
                                                    "value digests are not secret, so it is not shown; process it "
                                                    "again with CALLQA_REDACTION_KEY set, or set results.allow_dev_key "
                                                    "in the web config for test data")


def _dev_key_result(request: Request, call_id: str) -> bool:
    """Whether the call's result was made with the public development key (issue #16)."""
    from pipeline.redact import is_dev_key_id

    from .media import load_result

    result = load_result(context(request).settings.out_dir, call_id)
    return result is not None and (DEV_KEY_FLAG in result.flags or is_dev_key_id(result.pipeline.redaction_key_id))


def render(request: Request, name: str, user: SessionUser | None, status_code: int = 200, **values):
    ctx = context(request)
    return ctx.templates.TemplateResponse(
        request, name, {"user": user, "csrf": user.csrf_token if user else None, "can": _can(user), **values},
        status_code=status_code)


def _can(user: SessionUser | None):
    return lambda permission: user is not None and allowed(user, permission)
