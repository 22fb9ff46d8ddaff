"""Feedback: notes and agreed actions on a call, and an agent's history for development plans."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from pipeline import review

from .authz import visible_team_ids
from .deps import call_form, check_csrf, context, render, require, require_user

router = APIRouter()


@router.post("/calls/{call_id}/actions")
async def add_action(request: Request, call_id: str):
    user, form = await call_form(request, call_id, "feedback.actions")
    try:
        review_date = dt.date.fromisoformat(form.get("review_date", ""))
    except ValueError:
        raise HTTPException(status_code=400, detail="the review date must be a date (YYYY-MM-DD)") from None
    review.add_action(store=context(request).store, user=user.username, call_id=call_id,
                      description=form.get("description", "")[:2000], owner=form.get("owner", ""),
                      review_date=review_date)
    return RedirectResponse(f"/calls/{call_id}#feedback", status_code=303)


@router.post("/calls/{call_id}/notes")
async def add_note(request: Request, call_id: str):
    user, form = await call_form(request, call_id, "feedback.notes")
    review.add_note(store=context(request).store, user=user.username, call_id=call_id, kind=form.get("kind", ""),
                    text=form.get("text", "")[:2000])
    return RedirectResponse(f"/calls/{call_id}#feedback", status_code=303)


@router.post("/actions/{action_id}/close")
async def close_action(request: Request, action_id: int):
    user = require_user(request)
    form = await check_csrf(request, user)
    require(user, "feedback.actions")
    action = review.close_action(store=context(request).store, user=user.username, action_id=action_id)
    back = form.get("back")
    if back == "call" and action.call_id:
        return RedirectResponse(f"/calls/{action.call_id}#feedback", status_code=303)
    return RedirectResponse(f"/agents/{action.agent_id}" if action.agent_id else "/queue", status_code=303)


@router.get("/agents/{agent_id}")
def agent_history(request: Request, agent_id: str, period: str = "month"):
    user = require_user(request)
    require(user, "agent.history")
    if user.role == "agent" and agent_id != user.agent_id:
        review.log_access(store=context(request).store, user=user.username, action="denied",
                          detail=f"agent history {agent_id[:64]}")
        raise HTTPException(status_code=404, detail="no such agent")
    store = context(request).store
    teams = visible_team_ids(user)
    cards = review.list_cards(store=store, user=user.username, agent=agent_id, teams=teams)
    if teams is not None and not cards:
        # A team leader sees the history of their team's agents only; as for a call, 404 says nothing.
        review.log_access(store=store, user=user.username, action="denied", detail=f"agent history {agent_id[:64]}")
        raise HTTPException(status_code=404, detail="no such agent")
    summary = review.agent_summary(store=store, user=user.username, agent_id=agent_id,
                                   period="week" if period == "week" else "month", teams=teams)
    actions = review.list_actions(store=store, user=user.username, agent=agent_id, open_only=False)
    return render(request, "agent.html", user, summary=summary, cards=cards, actions=actions)
