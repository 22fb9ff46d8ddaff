"""Calibration (assessors side by side), the access log and the redaction audit."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from pipeline import review
from pipeline.redact import audit
from pipeline.schema import is_valid_call_id

from .deps import check_call, check_csrf, context, render, require, require_user

router = APIRouter()


@router.get("/calibration")
def calibration(request: Request):
    user = require_user(request)
    require(user, "calibration.view")
    store = context(request).store
    # ?calls=a,b or ?calls=a&calls=b (the queue's tick boxes).
    given = ",".join(request.query_params.getlist("calls")).replace(" ", ",").split(",")
    call_ids = [c for c in dict.fromkeys(x.strip() for x in given) if c][:50]
    for call_id in call_ids:
        check_call(request, user, call_id)
    rows = []
    for call_id in call_ids:
        view = review.show_card(store=store, user=user.username, call_id=call_id)
        seen = review.calibration_marks(store=store, user=user.username, call_id=call_id)
        rows.append({"call_id": call_id, "items": view.card.items, "marks": seen.marks, "revealed": seen.revealed,
                     "locked": seen.locked})
    # Blind marking: agreement figures would give the others' marks away, so they wait too.
    revealed = bool(rows) and all(row["revealed"] for row in rows)
    report = review.calibrate(store=store, user=user.username, call_ids=call_ids) if revealed else None
    return render(request, "calibration.html", user, calls=",".join(call_ids), rows=rows, report=report,
                  values=review.VALUES, sessions=review.list_sessions(store=store))


@router.post("/calibration/sessions")
async def open_calibration_session(request: Request):
    user = require_user(request)
    form = await check_csrf(request, user)
    require(user, "calibration.manage")
    call_ids = [c for c in dict.fromkeys(x.strip() for x in form.get("calls", "").replace(" ", ",").split(",")) if c]
    for call_id in call_ids[:50]:
        check_call(request, user, call_id)
    session = review.open_session(store=context(request).store, user=user.username, name=form.get("name", ""),
                                  call_ids=call_ids[:50])
    return RedirectResponse(f"/calibration?calls={','.join(session.call_ids)}", status_code=303)


@router.post("/calibration/sessions/{name}/close")
async def close_calibration_session(request: Request, name: str):
    user = require_user(request)
    await check_csrf(request, user)
    require(user, "calibration.manage")
    session = review.close_session(store=context(request).store, user=user.username, name=name)
    return RedirectResponse(f"/calibration?calls={','.join(session.call_ids)}", status_code=303)


@router.get("/access-log")
def access_log(request: Request, call: str | None = None, who: str | None = None):
    user = require_user(request)
    require(user, "access_log.view")
    entries = review.access_log(store=context(request).store, user=user.username,
                                call_id=call if call and is_valid_call_id(call) else None, who=who or None)
    return render(request, "access_log.html", user, entries=entries, call=call or "", who=who or "")


def _verify(ctx, path):
    """The keyed chain checked against the head the results index anchors; without a key, not checked."""
    from pipeline.errors import ConfigError
    from pipeline.redact.keys import audit_key

    try:
        key = audit_key(allow_dev=ctx.settings.options.results.allow_dev_key)
    except ConfigError:
        return audit.VerifyReport(ok=False, records=0, message="not checked: the web app has no audit key "
                                  "(set CALLQA_REDACTION_KEY or CALLQA_AUDIT_KEY where it runs)")
    return audit.verify_log(path, key, store=ctx.store)


@router.get("/audit")
def redaction_audit(request: Request, since: str | None = None):
    user = require_user(request)
    require(user, "audit.view")
    ctx = context(request)
    path = ctx.settings.audit_log
    verified = _verify(ctx, path)
    try:
        report = audit.report(path, since=since or None)
    except ValueError:
        report = audit.report(path)
    review.log_access(store=ctx.store, user=user.username, action="audit_view")
    return render(request, "audit.html", user, verified=verified, report=report, present=path.is_file())
