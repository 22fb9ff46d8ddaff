"""The review queue: a page of cards, filtered and sorted in the database, and a full-text search
over the redacted transcripts of the same calls (`?q=`).

Every parameter is checked here and a bad one answers 400 (never a query that fails later):
dates are YYYY-MM-DD, the page a number from 1, the page size at most the configured
`queue.page_size`, sort and show from fixed lists, flags and event kinds codes. The viewer's
scope (an agent's own calls, a team leader's team) comes from the account, never the URL.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError

from pipeline.review.queue import queue_page, search_calls
from pipeline.schema import EVENT_KINDS
from pipeline.store.call_filters import SENTIMENTS, CallFilters, Scope
from pipeline.store.queue_page import SHOWS, SORTS
from pipeline.store.search import MAX_QUERY_CHARS

from .authz import visible_team_ids
from .deps import context, render, require, require_user

router = APIRouter()

CHANNELS = ("telephone", "face_to_face", "digital")
DEFAULT_PAGE_SIZE = 50
_MAX_PAGE = 100_000
# The flags the filter lists (pipeline.store.db.result_flags and the run's own); any other code is accepted too.
_FLAGS = ("critical_failed", "low_confidence", "not_evaluated", "warnings", "residual_pii", "redaction_review",
          "roles_unclear", "dev_key")
# The query parameters the queue keeps from one page to the next.
_KEPT = ("q", "show", "agent", "team", "queue", "since", "until", "channel", "flag", "event", "score_min",
         "score_max", "sentiment", "sort", "dir", "per")


def _bad(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


def _day(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
    except ValueError:
        raise _bad(f"{name} must be a date (YYYY-MM-DD)") from None


def _number(value: str | None, name: str, *, low: float, high: float, integer: bool = False) -> float | int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        raise _bad(f"{name} must be a {'whole ' if integer else ''}number") from None
    if not low <= number <= high:  # also refuses nan
        raise _bad(f"{name} must be between {low:g} and {high:g}")
    return number


def _choice(value: str | None, name: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
    if value is None or value == "":
        return default
    if value not in allowed:
        raise _bad(f"{name} must be one of: {', '.join(allowed)}")
    return value


def _text(value: str | None, name: str, limit: int = 128) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > limit:
        raise _bad(f"{name} is at most {limit} characters")
    return value.strip()


@router.get("/queue")
def queue(request: Request):
    user = require_user(request)
    require(user, "queue")
    ctx = context(request)
    params = request.query_params
    for name in params:
        if len(params.getlist(name)) > 1 and (name in _KEPT or name == "page"):
            raise _bad(f"give {name} once")
    agent_view = user.role == "agent"
    cap = ctx.settings.options.queue.page_size
    until_day = _day(params.get("until"), "until")
    try:
        filters = CallFilters(
            agent=None if agent_view else _text(params.get("agent"), "agent"),
            team=_text(params.get("team"), "team"), queue=_text(params.get("queue"), "queue"),
            channel=_choice(params.get("channel"), "channel", CHANNELS),
            since=_day(params.get("since"), "since"),
            until=until_day + dt.timedelta(days=1) if until_day else None,
            flag=_text(params.get("flag"), "flag", 64),
            event_kind=_choice(params.get("event"), "event", EVENT_KINDS),
            # An agent sees no scores in the queue: no sorting or filtering by them either.
            score_min=None if agent_view else _number(params.get("score_min"), "score_min", low=0, high=100),
            score_max=None if agent_view else _number(params.get("score_max"), "score_max", low=0, high=100),
            sentiment=_choice(params.get("sentiment"), "sentiment", SENTIMENTS))
    except ValidationError as e:
        raise _bad("; ".join(err["msg"].removeprefix("Value error, ") for err in e.errors())) from None
    show = _choice(params.get("show"), "show", SHOWS, "pending")
    sort = _choice(params.get("sort"), "sort", SORTS, "date")
    if agent_view and sort == "score":
        sort = "date"
    descending = _choice(params.get("dir"), "dir", ("asc", "desc"), "desc") == "desc"
    page = _number(params.get("page"), "page", low=1, high=_MAX_PAGE, integer=True) or 1
    per = _number(params.get("per"), "per", low=1, high=cap, integer=True) or min(DEFAULT_PAGE_SIZE, cap)
    query = _text(params.get("q"), "q", MAX_QUERY_CHARS)
    teams = visible_team_ids(user)
    scope = Scope(teams=frozenset(teams) if teams is not None else None,
                  agent=(user.agent_id or "") if agent_view else None)  # no agent id: no calls, never all

    kept = {k: params[k] for k in _KEPT if params.get(k)}

    def page_url(number: int) -> str:
        return "/queue?" + urlencode({**kept, "page": number})

    values = {"filters": {k: params.get(k, "") for k in _KEPT}, "channels": CHANNELS, "flags": _FLAGS,
              "event_kinds": EVENT_KINDS, "sentiments": SENTIMENTS, "shows": SHOWS, "sorts": SORTS,
              "query": query or "", "page": page, "per": per, "cap": cap}
    if query:
        found = search_calls(store=ctx.store, user=user.username, query=query, filters=filters, scope=scope,
                             limit=per, offset=(page - 1) * per)
        return render(request, "queue.html", user, hits=found.hits, cards=None, total=None, **values,
                      prev_url=page_url(page - 1) if page > 1 else None,
                      next_url=page_url(page + 1) if found.more else None)
    result = queue_page(store=ctx.store, user=user.username, filters=filters, scope=scope, show=show, sort=sort,
                        descending=descending, page=page, page_size=per)
    return render(request, "queue.html", user, hits=None, cards=result.cards, total=result.total, pages=result.pages,
                  **values, prev_url=page_url(page - 1) if page > 1 else None,
                  next_url=page_url(page + 1) if page < result.pages else None)
