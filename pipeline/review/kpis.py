"""KPIs a QA manager reads: handling time, first-contact resolution, CSAT, NPS, scorecard scores,
critical fails and auto-vs-assessor agreement per item, for a period, per group and per bucket
(issue #18).

The figures are pure functions over the typed records pipeline.store.kpis reads; `kpi_report`
is the one place that opens a session. Definitions:

- handling time (AHT) of a call = talk + hold + wrap-up. Talk is the connected time less hold;
  a call without times (a chat given without them) has no handling time; wrap-up not given
  counts as 0 s.
- a repeat contact is a call whose customer called before within `fcr.repeat_window_days`; the
  FCR rate is the share of calls that are not repeats. The customer is recognised by the keyed
  digest of `customer_ref` when both calls have one, else by a phone or account number digest
  the redaction found in both.
- NPS = % promoters (9-10) less % detractors (0-6) of the answers given.
- a card's score is its final score once finalised, else the suggested one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.config import configs_dir, deep_merge, read_yaml, validate_model
from pipeline.score.agreement import cohen_kappa
from pipeline.store import Store
from pipeline.store.access import record_access
from pipeline.store.kpis import CONTACT_TYPES, ItemOutcome, KpiCall, calibrated_calls, item_outcomes, kpi_calls

__all__ = ["KpiSettings", "KpiReport", "KpiBlock", "GroupKpis", "PeriodKpis", "CalibrationPoint", "Distribution",
           "load_kpi_config", "kpi_report", "summarise", "repeat_contacts", "period_key", "report_csv", "report_text",
           "PERIODS", "GROUPS"]

PERIODS = ("day", "week", "month", "all")
GROUPS = ("agent", "team", "queue")
NO_GROUP = "(none)"
UNDATED = "undated"
_MATCH_KEYS = ("customer_ref", *CONTACT_TYPES)


# ------------------------------------------------------------------------------------ settings


class _Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FcrOptions(_Options):
    repeat_window_days: int = Field(7, ge=1, le=366, description="A repeat within this many days is a repeat contact.")
    match_by: list[str] = Field(default_factory=lambda: list(_MATCH_KEYS), min_length=1)

    @field_validator("match_by")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in _MATCH_KEYS]
        if unknown:
            raise ValueError(f"unknown match key; allowed: {', '.join(_MATCH_KEYS)}")
        return value


class ScoreOptions(_Options):
    histogram_bin: int = Field(10, ge=1, le=50, description="Width of a score distribution bar (points).")


class KpiSettings(_Options):
    version: Literal[1] = 1
    fcr: FcrOptions = FcrOptions()
    scores: ScoreOptions = ScoreOptions()


def load_kpi_config(site_file: Path | None = None) -> KpiSettings:
    """configs/kpi.yaml, with a site file's keys over it.

    Raises:
        ConfigError: a file is unreadable, not YAML, or has an unknown key or a bad value.
    """
    base = configs_dir() / "kpi.yaml"
    data = read_yaml(base)
    if site_file is None:
        return validate_model(KpiSettings, data, file=str(base))
    return validate_model(KpiSettings, deep_merge(data, read_yaml(site_file)), file=str(site_file))


# ------------------------------------------------------------------------------------- records


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Distribution(_View):
    n: int
    mean: float | None
    median: float | None
    p90: float | None


class Aht(Distribution):
    talk_mean: float | None
    hold_mean: float | None
    wrap_up_mean: float | None


class Fcr(_View):
    contacts: int = Field(description="Calls in the block with a start time (those a repeat can be told for).")
    repeat_contacts: int
    rate: float | None = Field(description="Share of contacts that are not repeats.")
    repeats: list[str] = Field(description="Call ids of the repeat contacts.")


class Csat(_View):
    n: int
    mean: float | None
    distribution: dict[str, int] = Field(description="Answers per score, '1'..'5'.")


class Nps(_View):
    n: int
    score: float | None = Field(description="% promoters (9-10) less % detractors (0-6), -100..100.")
    promoters: int
    passives: int
    detractors: int


class Bin(_View):
    low: float
    high: float
    n: int


class Scores(_View):
    cards: int
    finalised: int
    mean: float | None
    median: float | None
    critical_fails: int
    histogram: list[Bin]


class ItemAgreementKpi(_View):
    item_id: str
    question: str
    n: int = Field(description="Items with both a suggestion and an assessor's review value.")
    agreed: int
    rate: float | None
    kappa: float | None


class KpiBlock(_View):
    calls: int
    aht_s: Aht
    fcr: Fcr
    csat: Csat
    nps: Nps
    score: Scores
    critical_fails: int
    dispositions: dict[str, int]
    agreement: list[ItemAgreementKpi]


class GroupKpis(KpiBlock):
    key: str


class PeriodKpis(KpiBlock):
    period: str
    groups: list[GroupKpis]


class CalibrationPoint(_View):
    """Agreement among assessors' independent marks on the calls of one period."""

    period: str
    calls: int
    raters: int
    agreement: float | None = Field(description="Share of agreeing rater pairs, 0-1.")
    kappa: float | None
    alpha: float | None = Field(None, description="Krippendorff's alpha, where the calibration report gives it.")
    auto_agreement: float | None = Field(description="Share of suggestions the final values agree with, 0-1.")


class KpiReport(KpiBlock):
    period_step: str
    by: str
    since: dt.datetime | None
    until: dt.datetime | None
    repeat_window_days: int
    teams: list[str] | None = Field(description="The teams the report covers (None: every call).")
    groups: list[GroupKpis]
    periods: list[PeriodKpis]
    calibration: list[CalibrationPoint]


# ----------------------------------------------------------------------------- pure functions


def _round(value: float | None, places: int = 3) -> float | None:
    return None if value is None else round(value, places)


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def handling_time(call: KpiCall) -> float | None:
    """Talk + hold + wrap-up in seconds; None when the call has no times."""
    if call.talk_s is None:
        return None
    return call.talk_s + (call.hold_s or 0.0) + (call.wrap_up_s or 0.0)


def _aht(calls: Sequence[KpiCall]) -> Aht:
    timed = [c for c in calls if c.talk_s is not None]
    values = [handling_time(c) for c in timed]
    return Aht(n=len(values), mean=_round(_mean(values)), median=_round(quantile(values, 0.5)),
               p90=_round(quantile(values, 0.9)), talk_mean=_round(_mean([c.talk_s for c in timed])),
               hold_mean=_round(_mean([c.hold_s or 0.0 for c in timed])),
               wrap_up_mean=_round(_mean([c.wrap_up_s or 0.0 for c in timed])))


def _same_customer(a: KpiCall, b: KpiCall, match_by: Collection[str]) -> bool:
    if a.customer_digest and b.customer_digest and "customer_ref" in match_by:
        return a.customer_digest == b.customer_digest
    contacts = {d for d in a.contact_digests if d.split(":", 1)[0] in match_by}
    return any(d in contacts for d in b.contact_digests)


def repeat_contacts(calls: Sequence[KpiCall], *, window_days: int, match_by: Collection[str]) -> set[str]:
    """Ids of the calls whose customer called before within `window_days` (calls without a start
    time are never repeats, nor what one repeats)."""
    dated = sorted((c for c in calls if c.started_at is not None), key=lambda c: (c.started_at, c.call_id))
    window = dt.timedelta(days=window_days)
    by_key: dict[str, list[KpiCall]] = defaultdict(list)  # digest -> earlier calls that carry it
    repeats: set[str] = set()
    for call in dated:
        keys = ([f"customer:{call.customer_digest}"] if call.customer_digest and "customer_ref" in match_by else [])
        keys += [d for d in call.contact_digests if d.split(":", 1)[0] in match_by]
        seen: set[str] = set()
        for key in keys:
            for earlier in by_key[key]:
                if earlier.call_id in seen:
                    continue
                seen.add(earlier.call_id)
                if call.started_at - earlier.started_at <= window and _same_customer(earlier, call, match_by):
                    repeats.add(call.call_id)
                    break
            if call.call_id in repeats:
                break
        for key in keys:
            by_key[key].append(call)
    return repeats


def _fcr(calls: Sequence[KpiCall], repeats: set[str]) -> Fcr:
    dated = [c for c in calls if c.started_at is not None]
    ids = [c.call_id for c in dated if c.call_id in repeats]
    return Fcr(contacts=len(dated), repeat_contacts=len(ids),
               rate=_round(1 - len(ids) / len(dated)) if dated else None, repeats=ids)


def _csat(calls: Sequence[KpiCall]) -> Csat:
    values = [c.csat for c in calls if c.csat is not None]
    counts = Counter(values)
    return Csat(n=len(values), mean=_round(_mean(values)), distribution={str(k): counts.get(k, 0) for k in range(1, 6)})


def _nps(calls: Sequence[KpiCall]) -> Nps:
    values = [c.nps for c in calls if c.nps is not None]
    promoters = sum(v >= 9 for v in values)
    detractors = sum(v <= 6 for v in values)
    return Nps(n=len(values), score=_round(100 * (promoters - detractors) / len(values), 1) if values else None,
               promoters=promoters, passives=len(values) - promoters - detractors, detractors=detractors)


def _scores(calls: Sequence[KpiCall], bin_width: int) -> Scores:
    carded = [c for c in calls if c.has_card]
    values = [c.score for c in carded if c.score is not None]
    edges = list(range(0, 100, bin_width))
    counts = Counter(min(int(v // bin_width), len(edges) - 1) for v in values)
    return Scores(cards=len(carded), finalised=sum(c.finalised for c in carded), mean=_round(_mean(values), 1),
                  median=_round(quantile(values, 0.5), 1), critical_fails=sum(bool(c.critical_failed) for c in carded),
                  histogram=[Bin(low=low, high=min(low + bin_width, 100), n=counts.get(i, 0))
                             for i, low in enumerate(edges)])


def _agreement(outcomes: Sequence[ItemOutcome]) -> list[ItemAgreementKpi]:
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    questions: dict[str, str] = {}
    for o in outcomes:
        questions.setdefault(o.item_id, o.question)
        if o.suggestion is not None and o.value is not None:
            pairs[o.item_id].append((o.suggestion, o.value))
    out = []
    for item_id, question in questions.items():
        p = pairs.get(item_id, [])
        agreed = sum(a == b for a, b in p)
        out.append(ItemAgreementKpi(item_id=item_id, question=question, n=len(p), agreed=agreed,
                                    rate=_round(agreed / len(p)) if p else None, kappa=_round(cohen_kappa(p))))
    return out


def summarise(calls: Sequence[KpiCall], outcomes: Sequence[ItemOutcome], repeats: set[str],
              settings: KpiSettings) -> dict:
    """The KPIs of a block of calls (the fields of KpiBlock)."""
    ids = {c.call_id for c in calls}
    scores = _scores(calls, settings.scores.histogram_bin)
    return {
        "calls": len(calls), "aht_s": _aht(calls), "fcr": _fcr(calls, repeats), "csat": _csat(calls),
        "nps": _nps(calls), "score": scores, "critical_fails": scores.critical_fails,
        "dispositions": dict(sorted(Counter(c.disposition for c in calls if c.disposition).items())),
        "agreement": _agreement([o for o in outcomes if o.call_id in ids]),
    }


def period_key(when: dt.datetime | None, step: str) -> str:
    """The bucket of a start time: 2026-11-02, 2026-W45 (ISO week), 2026-11, or all."""
    if step == "all":
        return "all"
    if when is None:
        return UNDATED
    when = when.astimezone(dt.UTC)
    if step == "day":
        return when.strftime("%Y-%m-%d")
    if step == "week":
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    return when.strftime("%Y-%m")


_GROUP_FIELD: dict[str, Callable[[KpiCall], str | None]] = {
    "agent": lambda c: c.agent_id, "team": lambda c: c.team_id, "queue": lambda c: c.queue}


def _groups(calls: Sequence[KpiCall], outcomes, repeats, settings, by: str) -> list[GroupKpis]:
    grouped: dict[str, list[KpiCall]] = defaultdict(list)
    for c in calls:
        grouped[_GROUP_FIELD[by](c) or NO_GROUP].append(c)
    return [GroupKpis(key=key, **summarise(members, outcomes, repeats, settings))
            for key, members in sorted(grouped.items())]


def build_report(calls: Sequence[KpiCall], history: Sequence[KpiCall], outcomes: Sequence[ItemOutcome],
                 settings: KpiSettings, *, period: str, by: str, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, teams: Collection[str] | None = None,
                 calibration: Sequence[CalibrationPoint] = ()) -> KpiReport:
    """The report over `calls` (the period's), with `history` (the period's calls and those of the
    repeat window before it) to find repeat contacts in."""
    if period not in PERIODS or by not in GROUPS:
        raise ValueError(f"period must be one of {PERIODS} and by one of {GROUPS}")
    repeats = repeat_contacts(history, window_days=settings.fcr.repeat_window_days,
                              match_by=settings.fcr.match_by)
    periods: list[PeriodKpis] = []
    if period != "all":
        bucketed: dict[str, list[KpiCall]] = defaultdict(list)
        for c in calls:
            bucketed[period_key(c.started_at, period)].append(c)
        for key in sorted(bucketed):
            members = bucketed[key]
            periods.append(PeriodKpis(period=key, groups=_groups(members, outcomes, repeats, settings, by),
                                      **summarise(members, outcomes, repeats, settings)))
    return KpiReport(period_step=period, by=by, since=since, until=until,
                     repeat_window_days=settings.fcr.repeat_window_days,
                     teams=sorted(teams) if teams is not None else None,
                     groups=_groups(calls, outcomes, repeats, settings, by), periods=periods,
                     calibration=list(calibration), **summarise(calls, outcomes, repeats, settings))


# --------------------------------------------------------------------------------- the service


def _share(percent: float | None) -> float | None:
    return None if percent is None else round(percent / 100, 3)


def _calibration_drift(store: Store, user: str, marked: Sequence[tuple[str, dt.datetime | None]],
                       period: str) -> list[CalibrationPoint]:
    """Assessors' agreement per period, from pipeline.review.calibration on that period's calls."""
    from .calibration import calibrate

    bucketed: dict[str, list[str]] = defaultdict(list)
    for call_id, started in marked:
        bucketed[period_key(started, "month" if period == "all" else period)].append(call_id)
    points = []
    for key in sorted(bucketed):
        report = calibrate(store=store, user=user, call_ids=bucketed[key])
        points.append(CalibrationPoint(period=key, calls=len(report.calls), raters=len(report.raters),
                                       agreement=_share(report.overall_percent_agreement),
                                       kappa=_round(report.overall_kappa),
                                       alpha=_round(getattr(report, "overall_alpha", None)),
                                       auto_agreement=_share(report.auto_percent_agreement)))
    return points


def kpi_report(*, store: Store, user: str, settings: KpiSettings | None = None, period: str = "all",
               by: str = "agent", since: dt.datetime | None = None, until: dt.datetime | None = None,
               teams: Collection[str] | None = None, calibration: bool = True) -> KpiReport:
    """KPIs of the calls started in [since, until), overall, per group and per period bucket.

    Args:
        period: day | week | month | all (all: no buckets).
        by: agent | team | queue.
        teams: only these teams' calls (a team leader's scope); None: every call.
        calibration: work out the calibration drift too (off for a second grouping of the same calls).

    Raises:
        ValueError: an unknown period or grouping.
    """
    settings = settings or load_kpi_config()
    window = dt.timedelta(days=settings.fcr.repeat_window_days)
    with store.session() as s:
        history = kpi_calls(s, since=since - window if since else None, until=until, teams=teams)
        calls = [c for c in history if since is None or (c.started_at is not None and c.started_at >= since)]
        outcomes = item_outcomes(s, [c.call_id for c in calls])
        marked = calibrated_calls(s, since=since, until=until, teams=teams) if calibration else []
        record_access(s, user, "kpi_report", detail=f"{len(calls)} calls; by={by}; period={period}")
    drift = _calibration_drift(store, user, marked, period)
    return build_report(calls, history, outcomes, settings, period=period, by=by, since=since, until=until,
                        teams=teams, calibration=drift)


# ------------------------------------------------------------------------------------- outputs

CSV_COLUMNS = ("period", "group", "calls", "aht_n", "aht_mean_s", "aht_median_s", "aht_p90_s", "talk_mean_s",
               "hold_mean_s", "wrap_up_mean_s", "fcr_rate", "repeat_contacts", "csat_n", "csat_mean", "nps_n",
               "nps", "cards", "score_mean", "critical_fails")


def _csv_cell(value: object) -> object:
    # A cell a spreadsheet would run as a formula: group keys come from sidecars.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _row(period: str, group: str, block: KpiBlock) -> dict:
    return {"period": period, "group": group, "calls": block.calls, "aht_n": block.aht_s.n,
            "aht_mean_s": block.aht_s.mean, "aht_median_s": block.aht_s.median, "aht_p90_s": block.aht_s.p90,
            "talk_mean_s": block.aht_s.talk_mean, "hold_mean_s": block.aht_s.hold_mean,
            "wrap_up_mean_s": block.aht_s.wrap_up_mean, "fcr_rate": block.fcr.rate,
            "repeat_contacts": block.fcr.repeat_contacts, "csat_n": block.csat.n, "csat_mean": block.csat.mean,
            "nps_n": block.nps.n, "nps": block.nps.score, "cards": block.score.cards, "score_mean": block.score.mean,
            "critical_fails": block.critical_fails}


def report_rows(report: KpiReport) -> list[dict]:
    """One row per (period, group): the whole period first ('all', 'all'), then its groups, then each
    bucket and its groups."""
    rows = [_row("all", "all", report)] + [_row("all", g.key, g) for g in report.groups]
    for p in report.periods:
        rows += [_row(p.period, "all", p)] + [_row(p.period, g.key, g) for g in p.groups]
    return rows


def report_csv(report: KpiReport) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in report_rows(report):
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return buffer.getvalue()


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def report_text(report: KpiReport) -> str:
    """A short plain-text summary for the terminal."""
    lines = [f"{report.calls} call(s); window for repeats {report.repeat_window_days} day(s)",
             f"AHT mean {_fmt(report.aht_s.mean, ' s')}, median {_fmt(report.aht_s.median, ' s')}, "
             f"p90 {_fmt(report.aht_s.p90, ' s')} (n={report.aht_s.n})",
             f"FCR {_fmt(report.fcr.rate)} ({report.fcr.repeat_contacts} repeat contact(s) of {report.fcr.contacts})",
             f"CSAT mean {_fmt(report.csat.mean)} (n={report.csat.n}); NPS {_fmt(report.nps.score)} (n={report.nps.n})",
             f"score mean {_fmt(report.score.mean)} over {report.score.cards} card(s); "
             f"{report.critical_fails} critical fail(s)", "", f"by {report.by}:"]
    for g in report.groups:
        lines.append(f"  {g.key}: {g.calls} call(s), AHT {_fmt(g.aht_s.mean, ' s')}, FCR {_fmt(g.fcr.rate)}, "
                     f"CSAT {_fmt(g.csat.mean)}, score {_fmt(g.score.mean)}")
    return "\n".join(lines)
