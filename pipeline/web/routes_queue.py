"""The review queue: pending and flagged cards, filtered by agent, date, channel and flag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from fastapi import APIRouter, HTTPException, Request

from pipeline.review import CardSummary, list_cards

from .deps import context, render, require, require_user

router = APIRouter()

CHANNELS = ("telephone", "face_to_face", "digital")


def _day(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
    except ValueError:
        raise HTTPException(status_code=400, detail=f"{name} must be a date (YYYY-MM-DD)") from None


def select_cards(cards: Sequence[CardSummary], *, channel: str | None, flag: str | None) -> list[CardSummary]:
    """The queue's presentation filters that the review service does not take."""
    out = []
    for card in cards:
        if channel and card.channel_type != channel:
            continue
        if flag and flag not in card.flags and not (flag == "critical_failed" and card.critical_failed):
            continue
        out.append(card)
    return out


@router.get("/queue")
def queue(request: Request, agent: str | None = None, since: str | None = None, until: str | None = None,
          channel: str | None = None, flag: str | None = None, show: str = "pending"):
    user = require_user(request)
    require(user, "queue")
    ctx = context(request)
    if user.role == "agent":
        # An agent's queue is their own calls, whatever the URL says.
        agent = user.agent_id
    until_day = _day(until, "until")
    if user.role == "agent" and not agent:
        cards = []  # an agent account without an agent id owns no calls (never "all calls")
    else:
        cards = list_cards(store=ctx.store, user=user.username, agent=agent or None, pending=show == "pending",
                           flagged=show == "flagged", since=_day(since, "since"),
                           until=until_day + dt.timedelta(days=1) if until_day else None)
    shown = select_cards(cards, channel=channel if channel in CHANNELS else None, flag=flag or None)
    flags = sorted({f for c in cards for f in c.flags} | {"critical_failed"})
    return render(request, "queue.html", user, cards=shown[:ctx.settings.options.queue.page_size], total=len(shown),
                  filters={"agent": agent or "", "since": since or "", "until": until or "", "channel": channel or "",
                           "flag": flag or "", "show": show},
                  channels=CHANNELS, flags=flags)
