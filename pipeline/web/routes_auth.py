"""Login, logout and the home redirect."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from pipeline.errors import AuthError
from pipeline.review import log_access

from .auth import check_login_csrf, close_session, login, login_csrf, open_session
from .deps import LOGIN_COOKIE, SESSION_COOKIE, check_csrf, context, render, require_user, user_or_none

router = APIRouter()


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_page(request: Request, *, error: str | None = None, status_code: int = 200):
    ctx = context(request)
    nonce = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, status_code=status_code, error=error,
                      login_token=login_csrf(ctx.settings.secret, nonce))
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict", path="/login",
                        secure=ctx.settings.options.session.secure_cookies, max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request):
    if user_or_none(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _login_page(request)


@router.post("/login")
async def login_submit(request: Request):
    ctx = context(request)
    form = await request.form()
    username = str(form.get("username") or "")[:64]
    password = str(form.get("password") or "")[:1024]
    if not check_login_csrf(ctx.settings.secret, request.cookies.get(LOGIN_COOKIE), str(form.get("csrf_token") or "")):
        return _login_page(request, error="The form expired; please log in again.", status_code=403)
    try:
        user = login(ctx.store, username, password, client=_client(request), options=ctx.settings.options.login)
    except AuthError as e:
        return _login_page(request, error=str(e), status_code=429 if e.reason == "rate_limited" else 401)
    token, _csrf = open_session(ctx.store, user, lifetime_hours=ctx.settings.options.session.lifetime_hours)
    log_access(store=ctx.store, user=user.username, action="login")
    response = RedirectResponse("/", status_code=303)
    session = ctx.settings.options.session
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite=session.same_site, secure=session.secure_cookies,
                        path="/", max_age=int(session.lifetime_hours * 3600))
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request):
    user = require_user(request)
    await check_csrf(request, user)
    ctx = context(request)
    close_session(ctx.store, request.cookies.get(SESSION_COOKIE))
    log_access(store=ctx.store, user=user.username, action="logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request):
    user = require_user(request)
    if user.role == "auditor":
        return RedirectResponse("/audit", status_code=303)
    return RedirectResponse("/queue", status_code=303)
