"""`callqa review ...` and `callqa calibrate ...`: thin typer wrappers over pipeline.review.

The root CLI mounts them:

    app.add_typer(review_app, name="review")
    app.command("calibrate")(calibrate_command)

(`calibrate` is a plain command, not a sub-app: a mounted one-command typer becomes a group
and would read `callqa calibrate CALL...` as a sub-command name. `calibrate_app` runs it
standalone.)

Every command finds the results index as `callqa run` wrote it: --database-url, else
$CALLQA_DATABASE_URL, else the site config, else <out>/callqa.db (pipeline.paths).
"""

from __future__ import annotations

import datetime as dt
import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._common import (
    acting_user,
    results_store,
    CallqaTyper,
    ConfigOpt,
    DatabaseUrlOpt,
    JsonOpt,
    OutOpt,
    Period,
    UserOpt,
    fail,
    parse_date,
    parse_time,
)

__all__ = ["review_app", "calibrate_command", "calibrate_app"]

review_app = CallqaTyper(help="Review pre-filled scorecards: confirm, override, finalise, feedback, exports.")


class ItemValue(str, Enum):
    """An assessor's value for a scorecard item."""

    yes = "yes"
    no = "no"
    partial = "partial"
    na = "n/a"


CallArg = Annotated[str, typer.Argument(help="Call id.")]
ItemArg = Annotated[str, typer.Argument(help="Scorecard item id (as `callqa review show` lists them).")]
AgentOpt = Annotated[Optional[str], typer.Option("--agent", help="Only this agent's calls.")]
SinceOpt = Annotated[Optional[dt.datetime], typer.Option(
    "--since", parser=parse_time, metavar="TIME", help="Calls started at or after (YYYY-MM-DD or ISO 8601; UTC unless it says).")]
UntilOpt = Annotated[Optional[dt.datetime], typer.Option(
    "--until", parser=parse_time, metavar="TIME", help="Calls started before (YYYY-MM-DD or ISO 8601; UTC unless it says).")]
DevResultsOpt = Annotated[bool, typer.Option(
    "--allow-dev-key", help="Also export results made with the public development key (test data only: their "
                            "value digests are not secret).")]


def _echo_json(model) -> None:
    if isinstance(model, list):
        typer.echo(json.dumps([json.loads(m.model_dump_json()) for m in model], indent=2))
    else:
        typer.echo(model.model_dump_json(indent=2))


@review_app.command("list")
def list_command(
    pending: Annotated[bool, typer.Option("--pending", help="Only cards with pending items.")] = False,
    agent: AgentOpt = None,
    flagged: Annotated[bool, typer.Option(
        "--flagged", help="Only flagged calls (critical fail, low confidence, ...).")] = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None,
    user: UserOpt = None, as_json: JsonOpt = False,
) -> None:
    """The review queue."""
    from pipeline import review

    cards = review.list_cards(store=results_store(out, config, database_url), user=acting_user(user), pending=pending,
                              agent=agent, flagged=flagged, since=since, until=until)
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
    call: CallArg,
    as_agent: Annotated[bool, typer.Option(
        "--as-agent", help="View as the agent (assessor marks hidden until self-assessed).")] = False,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None,
    user: UserOpt = None, as_json: JsonOpt = False,
) -> None:
    """A call's scorecard: items, suggestions, evidence with times, decisions."""
    from pipeline import review
    from pipeline.score.engine import format_mmss

    view = review.show_card(store=results_store(out, config, database_url), user=acting_user(user), call_id=call,
                            as_agent=as_agent)
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
def confirm_command(
    call: CallArg, item: ItemArg,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Optional note.")] = None,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Accept an item's suggestion."""
    from pipeline import review

    d = review.confirm_item(store=results_store(out, config, database_url), user=acting_user(user), call_id=call, item_id=item,
                            reason=reason)
    typer.echo(f"{call} {item}: confirmed {d.value} by {d.who}")


@review_app.command("override")
def override_command(
    call: CallArg, item: ItemArg,
    value: Annotated[ItemValue, typer.Option("--value", help="The assessor's value.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Set another value for an item, with a reason."""
    from pipeline import review

    d = review.override_item(store=results_store(out, config, database_url), user=acting_user(user), call_id=call, item_id=item,
                             value=value.value, reason=reason)
    typer.echo(f"{call} {item}: overridden to {d.value} by {d.who}")


@review_app.command("finalise")
def finalise_command(
    call: CallArg,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Close a scorecard (refused while any item is pending)."""
    from pipeline import review

    s = review.finalise(store=results_store(out, config, database_url), user=acting_user(user), call_id=call)
    score = "-" if s.final_score is None else f"{s.final_score:.1f}"
    typer.echo(f"{call}: finalised, score {score}" + (", CRITICAL ITEM FAILED" if s.critical_failed else ""))


def _marks(entries: list[str]) -> dict[str, str]:
    marks = {}
    for entry in entries:
        item, sep, value = entry.partition("=")
        if not sep:
            raise typer.BadParameter("use ITEM=VALUE", param_hint="--mark")
        marks[item.strip()] = value.strip()
    return marks


@review_app.command("self-assess")
def self_assess_command(
    call: CallArg,
    mark: Annotated[list[str], typer.Option("--mark", metavar="ITEM=VALUE", help="An item and your value; repeatable.")],
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Record the agent's own marks, before the assessor's are shown."""
    from pipeline import review

    marks = _marks(mark)
    recorded = review.self_assess(store=results_store(out, config, database_url), user=acting_user(user), call_id=call,
                                  marks=marks)
    typer.echo(f"{call}: {len(recorded)} self-assessment mark(s) recorded")


@review_app.command("action-add")
def action_add_command(
    call: CallArg,
    description: Annotated[str, typer.Option("--description", help="The agreed action.")],
    owner: Annotated[str, typer.Option("--owner", help="Who does it.")],
    review_date: Annotated[dt.date, typer.Option(
        "--review-date", parser=parse_date, metavar="DATE", help="When to review it (YYYY-MM-DD).")],
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Record an agreed action with owner and review date."""
    from pipeline import review

    a = review.add_action(store=results_store(out, config, database_url), user=acting_user(user), call_id=call,
                          description=description, owner=owner, review_date=review_date)
    typer.echo(f"action {a.id}: owner {a.owner}, review {a.review_date}")


@review_app.command("actions")
def actions_command(
    agent: AgentOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Include done actions.")] = False,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None,
    user: UserOpt = None, as_json: JsonOpt = False,
) -> None:
    """Agreed actions, soonest review first."""
    from pipeline import review

    actions = review.list_actions(store=results_store(out, config, database_url), user=acting_user(user), agent=agent,
                                  open_only=not all_)
    if as_json:
        _echo_json(actions)
        return
    for a in actions:
        typer.echo(f"{a.id:>4} {a.review_date} {a.status:<5} {a.agent_id or '-':<14} {a.owner:<14} {a.description}")


@review_app.command("action-done")
def action_done_command(
    action_id: Annotated[int, typer.Argument(help="The action's number (as `callqa review actions` lists it).")],
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Mark an action done."""
    from pipeline import review

    review.close_action(store=results_store(out, config, database_url), user=acting_user(user), action_id=action_id)
    typer.echo(f"action {action_id}: done")


@review_app.command("summary")
def summary_command(
    agent: Annotated[str, typer.Argument(help="The agent id.")],
    since: SinceOpt = None,
    until: UntilOpt = None,
    period: Annotated[Period, typer.Option("--period", help="The step of the trend.")] = Period.month,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None,
    user: UserOpt = None, as_json: JsonOpt = False,
) -> None:
    """An agent's strengths, development points and trend."""
    from pipeline import review

    s = review.agent_summary(store=results_store(out, config, database_url), user=acting_user(user), agent_id=agent,
                             since=since, until=until, period=period.value)
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
def mark_command(
    call: CallArg, item: ItemArg,
    value: Annotated[ItemValue, typer.Option("--value", help="Your independent value.")],
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Record an independent calibration mark (does not change the card)."""
    from pipeline import review

    review.mark_item(store=results_store(out, config, database_url), user=acting_user(user), call_id=call, item_id=item,
                     value=value.value)
    typer.echo(f"{call} {item}: calibration mark recorded")


@review_app.command("export-html")
def export_html_command(
    call: CallArg,
    html: Annotated[Optional[Path], typer.Option(
        "--html", help="The HTML file to write (default ./<call>.scorecard.html).")] = None,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
    allow_dev_key: DevResultsOpt = False,
) -> None:
    """Write a call's scorecard.html (with decisions and who made them)."""
    from pipeline import review

    path = review.export_html(store=results_store(out, config, database_url), user=acting_user(user), call_id=call,
                              out_path=html or Path(f"{call}.scorecard.html"), allow_dev_key=allow_dev_key)
    typer.echo(str(path))


@review_app.command("export")
def export_command(
    csv_file: Annotated[Optional[Path], typer.Option("--csv", help="Write a CSV file here (a row per item).")] = None,
    json_file: Annotated[Optional[Path], typer.Option("--json-file", help="Write a JSON file here (a card per call).")] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    agent: AgentOpt = None,
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
    allow_dev_key: DevResultsOpt = False,
) -> None:
    """Export scorecards of a period as CSV (--csv FILE) or JSON (--json-file FILE)."""
    from pipeline import review

    if (csv_file is None) == (json_file is None):
        raise fail("give one of --csv FILE or --json-file FILE")
    fmt, target = ("csv", csv_file) if csv_file is not None else ("json", json_file)
    path = review.export_period(store=results_store(out, config, database_url), user=acting_user(user), since=since, until=until,
                                fmt=fmt, out_path=target, agent=agent, allow_dev_key=allow_dev_key)
    typer.echo(str(path))


def calibrate_command(
    calls: Annotated[list[str], typer.Argument(help="Call ids scored by several assessors.")],
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None,
    user: UserOpt = None, as_json: JsonOpt = False,
) -> None:
    """Agreement per item and overall (Krippendorff's alpha with its 95% interval, kappa, percent), and
    pre-fill vs final assessor values."""
    from pipeline import review

    report = review.calibrate(store=results_store(out, config, database_url), user=acting_user(user), call_ids=calls)
    if as_json:
        _echo_json(report)
        return

    def k(x):
        return "-" if x is None else f"{x:.2f}"

    def p(x):
        return "-" if x is None else f"{x:.1f}"

    typer.echo(f"{len(report.calls)} call(s), raters: {', '.join(report.raters) or 'none'}; kappa: {report.method}")
    def ci(x):
        return "-" if x is None else f"{x[0]:.2f}..{x[1]:.2f}"

    typer.echo(f"{'item':<22} {'n':>3} {'agree%':>7} {'kappa':>6} {'alpha':>6} {'alpha 95% CI':>13}   "
               f"{'auto n':>6} {'agree%':>7} {'kappa':>6}")
    for i in report.items:
        typer.echo(f"{i.item_id:<22} {i.subjects:>3} {p(i.percent_agreement):>7} {k(i.kappa):>6} {k(i.alpha):>6} "
                   f"{ci(i.alpha_ci):>13}   {i.auto_subjects:>6} {p(i.auto_percent_agreement):>7} {k(i.auto_kappa):>6}")
    typer.echo(f"{'overall':<22} {'':>3} {p(report.overall_percent_agreement):>7} {k(report.overall_kappa):>6} "
               f"{k(report.overall_alpha):>6} {ci(report.overall_alpha_ci):>13}   "
               f"{'':>6} {p(report.auto_percent_agreement):>7} {k(report.auto_kappa):>6}")


@review_app.command("session-open")
def session_open_command(
    name: Annotated[str, typer.Argument(help="A name for the session (letters, digits, '.', '_', '-').")],
    calls: Annotated[list[str], typer.Argument(help="The call ids every assessor marks blind.")],
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Open a calibration session: assessors mark its calls blind (`callqa review mark`)."""
    from pipeline import review

    session = review.open_session(store=results_store(out, config, database_url), user=acting_user(user), name=name,
                                  call_ids=calls)
    typer.echo(f"calibration session {session.name} open: {len(session.call_ids)} call(s)")


@review_app.command("session-close")
def session_close_command(
    name: Annotated[str, typer.Argument(help="The session to close.")],
    out: OutOpt = None, config: ConfigOpt = None, database_url: DatabaseUrlOpt = None, user: UserOpt = None,
) -> None:
    """Close a calibration session: the marks on its calls lock, and everyone's become visible."""
    from pipeline import review

    session = review.close_session(store=results_store(out, config, database_url), user=acting_user(user), name=name)
    typer.echo(f"calibration session {session.name} closed: marks on {len(session.call_ids)} call(s) locked")


calibrate_app = CallqaTyper(help="Agreement between assessors (and with the pre-fill) on the same calls.")
calibrate_app.command("calibrate")(calibrate_command)
