"""The call page, its redacted audio and JSON, and the decisions made on it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from pipeline import review

from .deps import call_form, check_call, context, render, require_user
from .media import REDACTED_AUDIO, call_file, load_result, timeline

router = APIRouter()


def _back(call_id: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/calls/{call_id}{anchor}", status_code=303)


@router.get("/calls/{call_id}")
def call_page(request: Request, call_id: str):
    user = require_user(request)
    check_call(request, user, call_id)
    ctx = context(request)
    view = review.show_card(store=ctx.store, user=user.username, call_id=call_id, as_agent=user.role == "agent")
    result = load_result(ctx.settings.out_dir, call_id)
    duration, spans = timeline(result) if result else (0.0, [])
    actions = review.list_actions(store=ctx.store, user=user.username, agent=view.summary.agent_id, open_only=False) \
        if view.summary.agent_id else []
    return render(request, "call.html", user, view=view, result=result, duration=duration, spans=spans,
                  has_audio=call_file(ctx.settings.out_dir, call_id, REDACTED_AUDIO) is not None,
                  actions=[a for a in actions if a.call_id == call_id], values=review.VALUES,
                  notes=[] if view.assessor_marks_hidden else review.list_notes(store=ctx.store, user=user.username,
                                                                                  call_id=call_id),
                  note_kinds=review.NOTE_KINDS)


@router.get("/calls/{call_id}/audio")
def call_audio(request: Request, call_id: str):
    """The redacted audio (Range requests supported, so the player can seek)."""
    user = require_user(request)
    check_call(request, user, call_id)
    ctx = context(request)
    path = call_file(ctx.settings.out_dir, call_id, REDACTED_AUDIO)
    if path is None:
        raise HTTPException(status_code=404, detail="this call has no redacted audio")
    if "range" not in request.headers or request.headers["range"].startswith("bytes=0-"):
        # A player fetches in ranges; log the first fetch, not every seek.
        review.log_access(store=ctx.store, user=user.username, action="audio", call_id=call_id)
    return FileResponse(path, media_type="audio/wav")


@router.get("/api/calls/{call_id}")
def call_json(request: Request, call_id: str):
    user = require_user(request)
    check_call(request, user, call_id)
    view = review.show_card(store=context(request).store, user=user.username, call_id=call_id,
                            as_agent=user.role == "agent")
    return JSONResponse(view.model_dump(mode="json", exclude={"result_path"}))


@router.post("/calls/{call_id}/items/{item_id}/confirm")
async def confirm(request: Request, call_id: str, item_id: str):
    user, _ = await call_form(request, call_id, "call.decide")
    review.confirm_item(store=context(request).store, user=user.username, call_id=call_id, item_id=item_id)
    return _back(call_id, f"#item-{item_id}")


@router.post("/calls/{call_id}/items/{item_id}/override")
async def override(request: Request, call_id: str, item_id: str):
    user, form = await call_form(request, call_id, "call.decide")
    review.override_item(store=context(request).store, user=user.username, call_id=call_id, item_id=item_id,
                         value=form.get("value", ""), reason=form.get("reason", "")[:2000])
    return _back(call_id, f"#item-{item_id}")


@router.post("/calls/{call_id}/finalise")
async def finalise(request: Request, call_id: str):
    user, _ = await call_form(request, call_id, "call.finalise")
    review.finalise(store=context(request).store, user=user.username, call_id=call_id)
    return _back(call_id)


@router.post("/calls/{call_id}/self-assess")
async def self_assess(request: Request, call_id: str):
    user, form = await call_form(request, call_id, "call.self_assess")
    marks = {k[len("mark-"):]: v for k, v in form.items() if k.startswith("mark-") and v}
    review.self_assess(store=context(request).store, user=user.username, call_id=call_id, marks=marks)
    return _back(call_id)


@router.post("/calls/{call_id}/marks")
async def calibration_marks(request: Request, call_id: str):
    user, form = await call_form(request, call_id, "call.mark")
    store = context(request).store
    for key, value in form.items():
        if key.startswith("mark-") and value:
            review.mark_item(store=store, user=user.username, call_id=call_id, item_id=key[len("mark-"):],
                             value=value)
    return RedirectResponse(f"/calibration?calls={call_id}", status_code=303)
