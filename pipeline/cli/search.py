"""`callqa search QUERY`: full-text search over the redacted transcripts in the results index.

The root CLI mounts `search_command` as a plain command. Services load inside the command, so
`callqa --help` pays for none of them. The search itself is `pipeline.store.search` (through
`pipeline.review.queue.search_calls`, which records the search in the access log, without its text).
"""

from __future__ import annotations

import datetime as dt
import json
from enum import Enum
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

__all__ = ["search_command", "search_bench_command"]


class Sentiment(str, Enum):
    """The customer's sentiment over the call (pipeline.store.call_filters.SENTIMENT_BAND)."""

    negative = "negative"
    neutral = "neutral"
    positive = "positive"


def search_command(
    query: Annotated[Optional[str], typer.Argument(
        help='Words (all must occur in one turn) and "quoted phrases"; other characters separate words.')] = None,
    agent: Annotated[Optional[str], typer.Option("--agent", help="Only this agent's calls.")] = None,
    team: Annotated[Optional[str], typer.Option("--team", help="Only this team's calls.")] = None,
    queue: Annotated[Optional[str], typer.Option("--queue", help="Only calls that came through this queue.")] = None,
    since: Annotated[Optional[dt.datetime], typer.Option(
        "--since", parser=parse_time, metavar="TIME", help="Calls started at or after (YYYY-MM-DD or ISO 8601, UTC).")] = None,
    until: Annotated[Optional[dt.datetime], typer.Option(
        "--until", parser=parse_time, metavar="TIME", help="Calls started before (YYYY-MM-DD or ISO 8601, UTC).")] = None,
    event: Annotated[Optional[str], typer.Option("--event", help="Only calls with an event of this kind (e.g. "
                                                                 "complaint.raised).")] = None,
    score_min: Annotated[Optional[float], typer.Option("--score-min", min=0, max=100, help="Card score at least.")] = None,
    score_max: Annotated[Optional[float], typer.Option("--score-max", min=0, max=100, help="Card score at most.")] = None,
    flag: Annotated[Optional[str], typer.Option("--flag", help="Only calls with this flag (e.g. critical_failed).")] = None,
    sentiment: Annotated[Optional[Sentiment], typer.Option(
        "--sentiment", help="Only calls whose customer sentiment is this (calls without sentiment never match).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Hits to show.")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Hits to skip (the next page).")] = 0,
    reindex: Annotated[bool, typer.Option(
        "--reindex", help="First fill the search index from every call's latest result.json (an index made before "
                          "revision 0007, or a rebuild).")] = False,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None,
    user: UserOpt = None, as_json: JsonOpt = False,
) -> None:
    """Search the redacted transcripts: matching turns, newest call first, with a redacted snippet each."""
    from pydantic import ValidationError

    from pipeline.review.queue import search_calls
    from pipeline.schema import EVENT_KINDS
    from pipeline.store.call_filters import CallFilters, Scope

    if not query and not reindex:
        raise fail("give a QUERY (or --reindex)")
    if event is not None and event not in EVENT_KINDS:
        raise fail(f"unknown event kind {event!r}; one of: {', '.join(EVENT_KINDS)}")
    try:
        filters = CallFilters(agent=agent, team=team, queue=queue, since=since, until=until, event_kind=event,
                              score_min=score_min, score_max=score_max, flag=flag,
                              sentiment=sentiment.value if sentiment else None)
    except ValidationError as e:
        raise fail("; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())) from None
    store = results_store(out, config, database_url)
    try:
        if reindex:
            from pipeline.store.search import reindex as fill

            typer.echo(f"indexed {fill(store)} call(s)", err=True)
        if not query:
            return
        found = search_calls(store=store, user=acting_user(user), query=query, filters=filters, scope=Scope(), limit=limit,
                             offset=offset)
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps({"hits": [h.model_dump(mode="json") for h in found.hits]}, indent=2))
        return
    for hit in found.hits:
        when = f"{hit.start_s:8.1f}s" if hit.start_s is not None else " " * 9
        typer.echo(f"{hit.call_id}\t#{hit.turn_index}\t{when}\t{hit.snippet}")
    more = f"; more with --offset {offset + limit}" if found.more else ""
    typer.echo(f"{len(found.hits)} hit(s){more}", err=True)


def search_bench_command(
    calls: Annotated[int, typer.Option("--calls", min=100, max=1_000_000, help="Synthetic calls to index.")] = 10_000,
    postgres_url: Annotated[Optional[str], typer.Option(
        "--postgres-url", help="PostgreSQL database for a scratch schema (created, then dropped: nothing else is "
                               "touched); without it, SQLite only.")] = None,
    repeats: Annotated[int, typer.Option("--repeats", min=5, max=1000, help="Timed runs per query class.")] = 40,
    as_json: JsonOpt = False,
) -> None:
    """Time full-text search on a scratch index of synthetic calls (SQLite, and PostgreSQL with --postgres-url):
    p50 / p95 per query class; the target is under 200 ms (docs/bench.md)."""
    from pipeline.lab.bench.search_bench import run_search_bench

    report = run_search_bench(calls=calls, postgres_url=postgres_url, repeats=repeats,
                              progress=lambda line: typer.echo(line, err=True))
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    for backend in report.backends:
        typer.echo(f"{backend.backend}: {backend.calls} calls, {backend.turns} turns, filled in {backend.fill_s} s")
        typer.echo(f"  {'query':<24}{'example':<34}{'hits':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        for q in backend.queries:
            typer.echo(f"  {q.name:<24}{q.example[:32]:<34}{q.mean_hits:>6.0f}{q.p50_ms:>9.1f}{q.p95_ms:>9.1f}"
                       f"{q.max_ms:>9.1f}")
        verdict = "within" if backend.worst_p95_ms < report.target_ms else "OVER"
        typer.echo(f"  worst p95 {backend.worst_p95_ms:.1f} ms: {verdict} the {report.target_ms:.0f} ms target")
