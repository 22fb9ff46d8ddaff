"""The dashboard: KPIs over time per team and agent, the score distribution, calibration drift
and auto-vs-assessor agreement per item, as server-rendered SVG charts each with its table
(issue #18). No script: the charts are markup (pipeline.review.charts), so the CSP stays.

A team leader's figures cover their own team only (`visible_team_ids`); the scope comes from
the account, never from the URL.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Request
from markupsafe import Markup

from .authz import visible_team_ids
from .deps import context, render, require, require_user

router = APIRouter()

_PERIODS = ("day", "week", "month")
_GROUPS = ("team", "agent", "queue")


def _choice(value: str | None, name: str, allowed: tuple[str, ...], default: str) -> str:
    if not value:
        return default
    if value not in allowed:
        raise HTTPException(status_code=400, detail=f"{name} must be one of: {', '.join(allowed)}")
    return value


def _day(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
    except ValueError:
        raise HTTPException(status_code=400, detail=f"{name} must be a date (YYYY-MM-DD)") from None


def _shown(charts) -> list[dict]:
    # The SVG is built and escaped by pipeline.review.charts; the table cells are escaped by Jinja.
    return [{"title": c.title, "svg": Markup(c.svg), "headers": c.headers, "rows": c.rows, "note": c.note}
            for c in charts]


@router.get("/dashboard")
def dashboard(request: Request, period: str | None = None, by: str | None = None, since: str | None = None,
              until: str | None = None):
    user = require_user(request)
    require(user, "dashboard.view")
    from pipeline.review.charts import report_charts
    from pipeline.review.kpis import kpi_report

    step = _choice(period, "period", _PERIODS, "week")
    group = _choice(by, "by", _GROUPS, "team")
    start = _day(since, "since")
    end_day = _day(until, "until")
    end = end_day + dt.timedelta(days=1) if end_day else None  # until is inclusive: the whole day
    teams = visible_team_ids(user)
    store = context(request).store
    report = kpi_report(store=store, user=user.username, period=step, by=group, since=start, until=end, teams=teams)
    # Agents beside the chosen grouping: the same calls, the same figures, per agent.
    agents = None
    if group != "agent":
        agents = kpi_report(store=store, user=user.username, period=step, by="agent", since=start, until=end,
                            teams=teams, calibration=False)
    return render(request, "dashboard.html", user, report=report, charts=_shown(report_charts(report)),
                  agent_charts=_shown(report_charts(agents, overall=False)) if agents else [],
                  periods=_PERIODS, groups=_GROUPS, filters={"period": step, "by": group, "since": since or "",
                                                             "until": until or ""},
                  scope=sorted(teams) if teams is not None else None)
