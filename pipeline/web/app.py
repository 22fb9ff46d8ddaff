"""The app factory: routes, templates, static files, error pages and security headers.

No module-level state: everything a request needs hangs off `app.state.ctx`, built from the
WebSettings given to `create_app`.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.errors import LoginRequired, ReviewError
from pipeline.store import Store, open_store

from . import routes_auth, routes_call, routes_dashboard, routes_feedback, routes_oversight, routes_queue
from .deps import Context, render, user_or_none
from .settings import WebSettings

__all__ = ["create_app", "from_environment", "OUT_ENV", "CONFIG_ENV"]

OUT_ENV = "CALLQA_WEB_OUT"
CONFIG_ENV = "CALLQA_WEB_CONFIG"

HERE = Path(__file__).resolve().parent

# Scripts and styles come from /static only; media from this origin; no framing.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")

_REVIEW_STATUS = {"unknown_call": 404, "unknown_item": 404, "unknown_action": 404}


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["mmss"] = lambda s: "" if s is None else f"{int(s) // 60:02d}:{int(s) % 60:02d}"
    return Jinja2Templates(env=env)


def create_app(settings: WebSettings, *, store: Store | None = None) -> FastAPI:
    """The web app over one results store (migrated to head here).

    Args:
        settings: store URL, output folder, secret and options.
        store: an open store to use instead of opening settings.database_url (tests).
    """
    store = store or open_store(settings.database_url)
    store.upgrade()
    app = FastAPI(title="callqa review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = Context(store=store, settings=settings, templates=_templates())
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (routes_auth, routes_queue, routes_call, routes_feedback, routes_oversight, routes_dashboard):
        app.include_router(module.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired):
        if _api(request) or request.method != "GET":
            return JSONResponse({"detail": "log in first"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if _api(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return render(request, "error.html", user_or_none(request), status_code=exc.status_code,
                      status=exc.status_code, message=str(exc.detail))

    @app.exception_handler(ReviewError)
    async def review_error(request: Request, exc: ReviewError):
        status = _REVIEW_STATUS.get(exc.reason, 409)
        if _api(request):
            return JSONResponse({"detail": str(exc), "reason": exc.reason}, status_code=status)
        return render(request, "error.html", user_or_none(request), status_code=status, status=status,
                      message=str(exc), back=f"/calls/{exc.call_id}" if exc.call_id and status != 404 else None)

    return app


def from_environment() -> FastAPI:
    """An app from the environment, for several workers:

        CALLQA_WEB_OUT=out uvicorn --factory pipeline.web.app:from_environment --workers 4

    $CALLQA_WEB_OUT (default $CALLQA_OUT, else ./out), $CALLQA_DATABASE_URL, $CALLQA_WEB_CONFIG and
    $CALLQA_WEB_SECRET (or <out>/.web-secret) as `callqa serve` reads them.
    """
    import os

    from .settings import load_web_settings

    config = os.environ.get(CONFIG_ENV)
    return create_app(load_web_settings(out_dir=os.environ.get(OUT_ENV) or None,
                                        options_path=Path(config) if config else None))
