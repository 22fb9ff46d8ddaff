"""`callqa review ...` and `callqa calibrate ...`: thin typer wrappers over pipeline.review.

The lead's CLI mounts them:

    from pipeline.cli.review import calibrate_command, review_app
    app.add_typer(review_app, name="review")
    app.command("calibrate")(calibrate_command)

(`calibrate` is a plain command, not a sub-app: a mounted one-command typer becomes a group
and would read `callqa calibrate CALL...` as a sub-command name. `calibrate_app` runs it
standalone.)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline import review
from pipeline.errors import CallqaError
from pipeline.score.engine import format_mmss
from pipeline.store import DATABASE_URL_ENV, Store, open_store

__all__ = ["review_app", "calibrate_command", "calibrate_app", "DEFAULT_DB"]

DEFAULT_DB = "out/callqa.db"

review_app = typer.Typer(help="Review pre-filled scorecards: confirm, override, finalise, feedback, exports.",
                         no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option(
    "--db", envvar=DATABASE_URL_ENV, show_envvar=True,
    help=f"Results index: a SQLAlchemy URL or a SQLite file (default {DEFAULT_DB}).")]
AssessorOption = Annotated[str | None, typer.Option(
    "--assessor", help=f"Who is acting (default ${review.USER_ENV}, else the OS user).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _store(db: str | None) -> Store:
    target = db or DEFAULT_DB
    if "://" not in target and not Path(target).is_file():
        raise review.ReviewError(f"no results index at {target}; run `callqa run` first or pass --db",
                                 reason="no_index")
    store = open_store(target)
    store.upgrade()
    return store


def _fail(error: CallqaError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(code=1)


def _date(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("use YYYY-MM-DD or an ISO 8601 time", param_hint=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _echo_json(model) -> None:
    if isinstance(model, list):
        typer.echo(json.dumps([json.loads(m.model_dump_json()) for m in model], indent=2))
    else:
        typer.echo(model.model_dump_json(indent=2))


@review_app.command("list")
def list_command(
    pending: Annotated[bool, typer.Option("--pending", help="Only cards with pending items.")] = False,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's calls.")] = None,
    flagged: Annotated[bool, typer.Option(
        "--flagged", help="Only flagged calls (critical fail, low confidence, ...).")] = False,
    since: Annotated[str | None, typer.Option(help="Calls started at or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Calls started before (YYYY-MM-DD).")] = None,
    db: DbOption = None, assessor: AssessorOption = None, as_json: JsonOption = False,
) -> None:
    """The review queue."""
    try:
        cards = review.list_cards(store=_store(db), user=review.current_user(assessor), pending=pending, agent=agent,
                                  flagged=flagged, since=_date(since, "--since"), until=_date(until, "--until"))
    except CallqaError as e:
        raise _fail(e) from None
    if as_json:
        _echo_json(cards)
        return
    typer.echo(f"{'call':<24} {'agent':<14} {'channel':<13} {'status':<10} {'pending':>7} {'score':>6}  flags")
    for c in cards:
        shown = c.final_score if c.status == "finalised" else c.suggested_score
        score = "-" if shown is None else f"{shown:.1f}"
        flags = ",".join(c.flags)
        typer.echo(f"{c.call_id:<24} {(c.agent_id or '-'):<14} {c.channel_type:<13} {c.status:<10} {c.pending:>7} "
                   f"{score:>6}  {flags}")


@review_app.command("show")
def show_command(
    call: Annotated[str, typer.Argument(help="Call id.")],
    as_agent: Annotated[bool, typer.Option(
        "--as-agent", help="View as the agent (assessor marks hidden until self-assessed).")] = False,
    db: DbOption = None, assessor: AssessorOption = None, as_json: JsonOption = False,
) -> None:
    """A call's scorecard: items, suggestions, evidence with times, decisions."""
    try:
        view = review.show_card(store=_store(db), user=review.current_user(assessor), call_id=call, as_agent=as_agent)
    except CallqaError as e:
        raise _fail(e) from None
    if as_json:
        _echo_json(view)
        return
    s, card = view.summary, view.card
    typer.echo(f"{s.call_id}  agent {s.agent_id or '-'}  {s.channel_type}  {s.template}  {s.purpose}  {s.status}")
    score = "-" if card.score is None else f"{card.score:.1f}"
    suggested = "-" if card.suggested_score is None else f"{card.suggested_score:.1f}"
    typer.echo(f"score {score} (suggested {suggested}), {card.pending} pending"
               + ("  CRITICAL ITEM FAILED" if card.critical_failed else ""))
    if view.assessor_marks_hidden:
        typer.echo("(assessor marks hidden until you self-assess: callqa review self-assess)")
    section = None
    for item in card.items:
        if item.section != section:
            section = item.section
            typer.echo(f"\n[{section}]")
        suggestion = item.suggestion or ("observe" if item.needs_observation else "not evaluated")
        decided = f" -> {item.status} {item.assessor_value}" if item.status != "pending" else " (pending)"
        crit = " [critical]" if item.critical else ""
        typer.echo(f"  {item.id}{crit}: {suggestion} ({item.confidence:.2f}){decided}  {item.standard_ref or ''}")
        typer.echo(f"      {item.rule or ''}")
        for ev in item.evidence:
            typer.echo(f"      {format_mmss(ev.start_s)} {ev.kind}: {ev.quote}")
        for d in view.history.get(item.id, []):
            why = f": {d.reason}" if d.reason else ""
            typer.echo(f"      {d.at:%Y-%m-%d %H:%M} {d.who} {d.kind} {d.value or ''}{why}")
    if card.strengths:
        typer.echo("\nStrengths:")
        for line in card.strengths:
            typer.echo(f"  - {line}")
    if card.development_points:
        typer.echo("Development points:")
        for line in card.development_points:
            typer.echo(f"  - {line}")
    if view.self_assessment:
        typer.echo("Self-assessment: " + ", ".join(f"{k}={v}" for k, v in view.self_assessment.items()))


@review_app.command("confirm")
def confirm_command(call: str, item: str,
                    reason: Annotated[str | None, typer.Option(help="Optional note.")] = None,
                    db: DbOption = None, assessor: AssessorOption = None) -> None:
    """Accept an item's suggestion."""
    try:
        d = review.confirm_item(store=_store(db), user=review.current_user(assessor), call_id=call, item_id=item,
                                reason=reason)
    except CallqaError as e:
        raise _fail(e) from None
    typer.echo(f"{call} {item}: confirmed {d.value} by {d.who}")


@review_app.command("override")
def override_command(call: str, item: str,
                     value: Annotated[str, typer.Option("--value", help="yes | no | partial | n/a")],
                     reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
                     db: DbOption = None, assessor: AssessorOption = None) -> None:
    """Set another value for an item, with a reason."""
    try:
        d = review.override_item(store=_store(db), user=review.current_user(assessor), call_id=call, item_id=item,
                                 value=value, reason=reason)
    except CallqaError as e:
        raise _fail(e) from None
    typer.echo(f"{call} {item}: overridden to {d.value} by {d.who}")


@review_app.command("finalise")
def finalise_command(call: str, db: DbOption = None, assessor: AssessorOption = None) -> None:
    """Close a scorecard (refused while any item is pending)."""
    try:
        s = review.finalise(store=_store(db), user=review.current_user(assessor), call_id=call)
    except CallqaError as e:
        raise _fail(e) from None
    score = "-" if s.final_score is None else f"{s.final_score:.1f}"
    typer.echo(f"{call}: finalised, score {score}" + (", CRITICAL ITEM FAILED" if s.critical_failed else ""))


@review_app.command("self-assess")
def self_assess_command(call: str,
                        mark: Annotated[list[str], typer.Option("--mark", help="ITEM=VALUE, repeatable.")],
                        db: DbOption = None, assessor: AssessorOption = None) -> None:
    """Record the agent's own marks, before the assessor's are shown."""
    marks = {}
    for entry in mark:
        item, sep, value = entry.partition("=")
        if not sep:
            raise typer.BadParameter("use ITEM=VALUE", param_hint="--mark")
        marks[item.strip()] = value.strip()
    try:
        recorded = review.self_assess(store=_store(db), user=review.current_user(assessor), call_id=call, marks=marks)
    except CallqaError as e:
        raise _fail(e) from None
    typer.echo(f"{call}: {len(recorded)} self-assessment mark(s) recorded")


@review_app.command("action-add")
def action_add_command(call: str,
                       description: Annotated[str, typer.Option("--description", help="The agreed action.")],
                       owner: Annotated[str, typer.Option("--owner", help="Who does it.")],
                       review_date: Annotated[str, typer.Option("--review-date", help="YYYY-MM-DD.")],
                       db: DbOption = None, assessor: AssessorOption = None) -> None:
    """Record an agreed action with owner and review date."""
    try:
        when = dt.date.fromisoformat(review_date)
    except ValueError:
        raise typer.BadParameter("use YYYY-MM-DD", param_hint="--review-date") from None
    try:
        a = review.add_action(store=_store(db), user=review.current_user(assessor), call_id=call,
                              description=description, owner=owner, review_date=when)
    except CallqaError as e:
        raise _fail(e) from None
    typer.echo(f"action {a.id}: owner {a.owner}, review {a.review_date}")


@review_app.command("actions")
def actions_command(agent: Annotated[str | None, typer.Option("--agent")] = None,
                    all_: Annotated[bool, typer.Option("--all", help="Include done actions.")] = False,
                    db: DbOption = None, assessor: AssessorOption = None, as_json: JsonOption = False) -> None:
    """Agreed actions, soonest review first."""
    try:
        actions = review.list_actions(store=_store(db), user=review.current_user(assessor), agent=agent,
                                      open_only=not all_)
    except CallqaError as e:
        raise _fail(e) from None
    if as_json:
        _echo_json(actions)
        return
    for a in actions:
        typer.echo(f"{a.id:>4} {a.review_date} {a.status:<5} {a.agent_id or '-':<14} {a.owner:<14} {a.description}")


@review_app.command("action-done")
def action_done_command(action_id: int, db: DbOption = None, assessor: AssessorOption = None) -> None:
    """Mark an action done."""
    try:
        review.close_action(store=_store(db), user=review.current_user(assessor), action_id=action_id)
    except CallqaError as e:
        raise _fail(e) from None
    typer.echo(f"action {action_id}: done")


@review_app.command("summary")
def summary_command(agent: str,
                    since: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
                    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
                    period: Annotated[str, typer.Option(help="week | month")] = "month",
                    db: DbOption = None, assessor: AssessorOption = None, as_json: JsonOption = False) -> None:
    """An agent's strengths, development points and trend."""
    if period not in ("week", "month"):
        raise typer.BadParameter("week or month", param_hint="--period")
    try:
        s = review.agent_summary(store=_store(db), user=review.current_user(assessor), agent_id=agent,
                                 since=_date(since, "--since"), until=_date(until, "--until"), period=period)
    except CallqaError as e:
        raise _fail(e) from None
    if as_json:
        _echo_json(s)
        return
    mean = "-" if s.mean_score is None else f"{s.mean_score:.1f}"
    typer.echo(f"agent {s.agent_id}: {s.cards} cards ({s.finalised} finalised), mean {mean}, "
               f"{s.critical_fails} critical fail(s), trend {s.direction}")
    for t in s.trend:
        typer.echo(f"  {t['period']}: {t['cards']} card(s), mean {t['mean_score']:.1f}")
    typer.echo("Strengths:")
    for x in s.strengths:
        typer.echo(f"  {x['item_id']}: met {x['met']}/{x['of']}")
    typer.echo("Development points:")
    for x in s.development_points:
        typer.echo(f"  {x['item_id']}: missed {x['missed']}/{x['of']}")
    for a in s.open_actions:
        typer.echo(f"Action {a.id} (review {a.review_date}, owner {a.owner}): {a.description}")


@review_app.command("mark")
def mark_command(call: str, item: str,
                 value: Annotated[str, typer.Option("--value", help="yes | no | partial | n/a")],
                 db: DbOption = None, assessor: AssessorOption = None) -> None:
    """Record an independent calibration mark (does not change the card)."""
    try:
        review.mark_item(store=_store(db), user=review.current_user(assessor), call_id=call, item_id=item,
                         value=value)
    except CallqaError as e:
        raise _fail(e) from None
    typer.echo(f"{call} {item}: calibration mark recorded")


@review_app.command("export-html")
def export_html_command(call: str,
                        out: Annotated[Path | None, typer.Option(
                            "--out", help="Default: ./<call>.scorecard.html")] = None,
                        db: DbOption = None, assessor: AssessorOption = None) -> None:
    """Write a call's scorecard.html (with decisions and who made them)."""
    try:
        path = review.export_html(store=_store(db), user=review.current_user(assessor), call_id=call,
                                  out_path=out or Path(f"{call}.scorecard.html"))
    except CallqaError as e:
        raise _fail(e) from None
    typer.echo(str(path))


@review_app.command("export")
def export_command(out: Annotated[Path, typer.Option("--out", help="File to write.")],
                   fmt: Annotated[str, typer.Option("--format", help="csv | json")] = "csv",
                   since: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
                   until: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
                   agent: Annotated[str | None, typer.Option("--agent")] = None,
                   db: DbOption = None, assessor: AssessorOption = None) -> None:
    """Export scorecards of a period as CSV (a row per item) or JSON."""
    if fmt not in ("csv", "json"):
        raise typer.BadParameter("csv or json", param_hint="--format")
    try:
        path = review.export_period(store=_store(db), user=review.current_user(assessor),
                                    since=_date(since, "--since"), until=_date(until, "--until"), fmt=fmt,
                                    out_path=out, agent=agent)
    except CallqaError as e:
        raise _fail(e) from None
    typer.echo(str(path))


def calibrate_command(calls: Annotated[list[str], typer.Argument(help="Call ids scored by several assessors.")],
                      db: DbOption = None, assessor: AssessorOption = None, as_json: JsonOption = False) -> None:
    """Agreement per item and overall (kappa, percent), and pre-fill vs final assessor values."""
    try:
        report = review.calibrate(store=_store(db), user=review.current_user(assessor), call_ids=calls)
    except CallqaError as e:
        raise _fail(e) from None
    if as_json:
        _echo_json(report)
        return

    def k(x):
        return "-" if x is None else f"{x:.2f}"

    def p(x):
        return "-" if x is None else f"{x:.1f}"

    typer.echo(f"{len(report.calls)} call(s), raters: {', '.join(report.raters) or 'none'}; kappa: {report.method}")
    typer.echo(f"{'item':<22} {'n':>3} {'agree%':>7} {'kappa':>6}   {'auto n':>6} {'agree%':>7} {'kappa':>6}")
    for i in report.items:
        typer.echo(f"{i.item_id:<22} {i.subjects:>3} {p(i.percent_agreement):>7} {k(i.kappa):>6}   "
                   f"{i.auto_subjects:>6} {p(i.auto_percent_agreement):>7} {k(i.auto_kappa):>6}")
    typer.echo(f"{'overall':<22} {'':>3} {p(report.overall_percent_agreement):>7} {k(report.overall_kappa):>6}   "
               f"{'':>6} {p(report.auto_percent_agreement):>7} {k(report.auto_kappa):>6}")


calibrate_app = typer.Typer(help="Agreement between assessors (and with the pre-fill) on the same calls.")
calibrate_app.command("calibrate")(calibrate_command)
