"""`callqa report`: KPIs over the results index (pipeline.review.kpis) as text, JSON, CSV or an HTML page.

The root CLI mounts `report_command` as a plain command. Services load inside the command, so
`callqa --help` pays for none of them.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._common import (
    ConfigOpt,
    DatabaseUrlOpt,
    JsonOpt,
    OutOpt,
    UserOpt,
    acting_user,
    fail,
    parse_time,
    results_store,
)

__all__ = ["report_command"]


class ReportPeriod(str, Enum):
    """The step of the report's buckets (all: one bucket)."""

    day = "day"
    week = "week"
    month = "month"
    all = "all"


class GroupBy(str, Enum):
    """What the report's groups are."""

    agent = "agent"
    team = "team"
    queue = "queue"


def report_command(
    period: Annotated[ReportPeriod, typer.Option("--period", help="Bucket the KPIs by day, week or month; all: one bucket.")]
    = ReportPeriod.all,
    by: Annotated[GroupBy, typer.Option("--by", help="Group the KPIs by agent, team or queue.")] = GroupBy.agent,
    since: Annotated[Optional[dt.datetime], typer.Option(
        "--since", parser=parse_time, metavar="TIME", help="Calls started at or after (YYYY-MM-DD or ISO 8601, UTC).")] = None,
    until: Annotated[Optional[dt.datetime], typer.Option(
        "--until", parser=parse_time, metavar="TIME", help="Calls started before (YYYY-MM-DD or ISO 8601, UTC).")] = None,
    csv_file: Annotated[Optional[Path], typer.Option("--csv", metavar="FILE", help="Write one row per group and period to FILE.")] = None,
    html_file: Annotated[Optional[Path], typer.Option(
        "--html", metavar="FILE", help="Write a self-contained HTML page with charts to FILE (no script: it can be mailed).")] = None,
    kpi_config: Annotated[Optional[Path], typer.Option(
        "--kpi-config", metavar="FILE", help="Site kpi.yaml over configs/kpi.yaml (repeat window, how customers match).")]
    = None,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None,
    user: UserOpt = None, as_json: JsonOpt = False,
) -> None:
    """KPIs for a period: handling time (talk + hold + wrap-up), first-contact resolution, CSAT, NPS,
    scorecard scores, critical fails and auto-vs-assessor agreement, overall and per group."""
    from pipeline.review.kpis import kpi_report, load_kpi_config

    if sum((csv_file is not None, html_file is not None, as_json)) > 1:
        raise fail("choose one of --json, --csv and --html")
    settings = load_kpi_config(kpi_config)
    store = results_store(out, config, database_url)
    try:
        report = kpi_report(store=store, user=acting_user(user), settings=settings, period=period.value, by=by.value,
                            since=since, until=until)
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
    elif csv_file is not None:
        from pipeline.review.kpis import report_csv

        csv_file.write_text(report_csv(report), encoding="utf-8")
        typer.echo(f"wrote {csv_file}", err=True)
    elif html_file is not None:
        from pipeline.review.charts import report_html

        html_file.write_text(report_html(report), encoding="utf-8")
        typer.echo(f"wrote {html_file}", err=True)
    else:
        from pipeline.review.kpis import report_text

        typer.echo(report_text(report))
