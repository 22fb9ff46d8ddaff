"""Server-side SVG charts (line, bar, histogram), each with the table of its data, and the KPI
report as one self-contained HTML page (issue #18).

No script and no external library: the SVG is plain markup, drawn with presentation attributes
(no style attribute, so the web app's CSP holds), and every label, title and value is escaped
here, since group keys come from sidecars. A chart that cannot be drawn (no data) still has its
table, which says so.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from .kpis import KpiBlock, KpiReport

__all__ = ["Chart", "Series", "line_chart", "bar_chart", "histogram", "report_charts", "chart_html", "report_html"]

WIDTH = 640
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 28, 44
# Colour-blind-safe (Okabe-Ito), told apart by marker shape in the table and legend order too.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
_MAX_LABEL = 28
_MAX_SERIES = 8  # more lines than colours: the busiest groups are drawn, the table keeps all


class Series(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    values: list[float | None]


class Chart(BaseModel):
    """A chart's SVG (escaped markup) and the table of the data it draws."""

    model_config = ConfigDict(frozen=True)

    title: str
    svg: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _short(label: str) -> str:
    return label if len(label) <= _MAX_LABEL else label[: _MAX_LABEL - 1] + "…"


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _nice_range(values: Sequence[float], floor_zero: bool = True) -> tuple[float, float, float]:
    """(low, high, step) of a y axis with about five round ticks covering the values."""
    low = min(values) if values else 0.0
    high = max(values) if values else 1.0
    if floor_zero:
        low = min(0.0, low)
    if high <= low:
        high = low + 1.0
    raw = (high - low) / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _svg(title: str, height: int, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
            f'height="{height}" role="img" aria-label="{_e(title)}" font-family="sans-serif" font-size="11">'
            f"<title>{_e(title)}</title>" + "".join(body) + "</svg>")


def _y_axis(low: float, high: float, step: float, height: int, y_label: str) -> tuple[list[str], Callable[[float], float]]:
    plot_h = height - _TOP - _BOTTOM

    def y(v: float) -> float:
        return _TOP + plot_h * (1 - (v - low) / (high - low))

    parts = []
    ticks = int(round((high - low) / step))
    for i in range(ticks + 1):
        v = low + i * step
        parts.append(f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#444">{_e(_num(v))}</text>')
    if y_label:
        parts.append(f'<text x="12" y="{_TOP + plot_h / 2:.1f}" text-anchor="middle" fill="#444" '
                     f'transform="rotate(-90 12 {_TOP + plot_h / 2:.1f})">{_e(y_label)}</text>')
    return parts, y


def _empty(title: str) -> str:
    return _svg(title, 60, [f'<text x="{WIDTH / 2}" y="34" text-anchor="middle" fill="#777">no data</text>'])


def line_chart(title: str, x_labels: Sequence[str], series: Sequence[Series], *, y_label: str = "",
               floor_zero: bool = True) -> Chart:
    """Lines over time: one per series, broken where a value is missing."""
    headers = ["period", *(s.name for s in series)]
    rows = [[label, *(_num(s.values[i]) for s in series)] for i, label in enumerate(x_labels)]
    values = [v for s in series for v in s.values if v is not None]
    if not values or not x_labels:
        return Chart(title=title, svg=_empty(title), headers=headers, rows=rows)
    height = 260
    drawn = sorted(series, key=lambda s: -sum(v is not None for v in s.values))[:_MAX_SERIES]
    low, high, step = _nice_range(values, floor_zero)
    parts, y = _y_axis(low, high, step, height, y_label)
    inset = 36  # room for the first and last period's label
    plot_w = WIDTH - _LEFT - _RIGHT - 2 * inset
    n = len(x_labels)

    def x(i: int) -> float:
        return _LEFT + inset + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    label_every = max(1, math.ceil(n / 10))
    for i, label in enumerate(x_labels):
        if i % label_every == 0:
            parts.append(f'<text x="{x(i):.1f}" y="{height - _BOTTOM + 16}" text-anchor="middle" fill="#444">'
                         f"{_e(_short(label))}</text>")
    spacing = (WIDTH - _LEFT) // max(len(drawn), 1)
    room = max(4, (spacing - 20) // 7)  # characters of a legend entry (~7 px each at 11 px)
    for k, s in enumerate(drawn):
        colour = PALETTE[k % len(PALETTE)]
        run: list[str] = []
        for i, v in enumerate(s.values + [None]):
            if v is not None:
                run.append(f"{x(i):.1f},{y(v):.1f}")
                continue
            if len(run) > 1:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2"/>')
            run = []
        for i, v in enumerate(s.values):
            if v is not None:
                parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                             f"<title>{_e(s.name)} {_e(x_labels[i])}: {_e(_num(v))}</title></circle>")
        parts.append(f'<rect x="{_LEFT + spacing * k}" y="8" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{_LEFT + spacing * k + 14}" y="17" fill="#222">{_e(s.name[:room])}</text>')
    note = f"{len(series) - len(drawn)} more series in the table" if len(series) > len(drawn) else ""
    return Chart(title=title, svg=_svg(title, height, parts), headers=headers, rows=rows, note=note)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float | None], *, value_label: str = "",
              label_header: str = "", extra: Sequence[Sequence[str]] | None = None,
              extra_headers: Sequence[str] = ()) -> Chart:
    """Horizontal bars, one per label (long labels fit on the left)."""
    headers = [label_header, value_label or "value", *extra_headers]
    rows = [[label, _num(v), *(extra[i] if extra else [])] for i, (label, v) in enumerate(zip(labels, values))]
    known = [v for v in values if v is not None]
    if not known:
        return Chart(title=title, svg=_empty(title), headers=headers, rows=rows)
    left, bar_h = 180, 18
    height = _TOP + len(labels) * (bar_h + 6) + 30
    low, high, step = _nice_range(known)
    plot_w = WIDTH - left - _RIGHT - 40  # room for the value beside the longest bar

    def x(v: float) -> float:
        return left + plot_w * (v - low) / (high - low)

    parts = []
    ticks = int(round((high - low) / step))
    for i in range(ticks + 1):
        v = low + i * step
        parts.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{_TOP - 6}" y2="{height - 24}" stroke="#ddd"/>'
                     f'<text x="{x(v):.1f}" y="{height - 10}" text-anchor="middle" fill="#444">{_e(_num(v))}</text>')
    for i, (label, v) in enumerate(zip(labels, values)):
        top = _TOP + i * (bar_h + 6)
        parts.append(f'<text x="{left - 6}" y="{top + 13}" text-anchor="end" fill="#222">{_e(_short(label))}</text>')
        if v is not None:
            start, end = sorted((x(max(low, 0.0)), x(v)))
            parts.append(f'<rect x="{start:.1f}" y="{top}" width="{max(end - start, 1):.1f}" height="{bar_h}" '
                         f'fill="{PALETTE[0]}"><title>{_e(label)}: {_e(_num(v))}</title></rect>'
                         f'<text x="{end + 4:.1f}" y="{top + 13}" fill="#222">{_e(_num(v))}</text>')
    if value_label:
        parts.append(f'<text x="{left}" y="16" fill="#444">{_e(value_label)}</text>')
    return Chart(title=title, svg=_svg(title, height, parts), headers=headers, rows=rows)


def histogram(title: str, bins: Sequence[tuple[float, float, int]], *, x_label: str = "") -> Chart:
    """Adjacent vertical bars, one per [low, high) bin, the count on top."""
    headers = ["from", "to", "count"]
    rows = [[_num(low), _num(high), str(n)] for low, high, n in bins]
    if not bins or not any(n for _, _, n in bins):
        return Chart(title=title, svg=_empty(title), headers=headers, rows=rows)
    height = 240
    low, high, step = _nice_range([n for _, _, n in bins])
    parts, y = _y_axis(low, high, step, height, "calls")
    plot_w = WIDTH - _LEFT - _RIGHT
    width = plot_w / len(bins)
    for i, (lo, hi, n) in enumerate(bins):
        left = _LEFT + i * width
        if n:
            parts.append(f'<rect x="{left + 1:.1f}" y="{y(n):.1f}" width="{width - 2:.1f}" '
                         f'height="{y(0) - y(n):.1f}" fill="{PALETTE[2]}"><title>{_e(_num(lo))}–{_e(_num(hi))}: '
                         f"{n}</title></rect>")
        parts.append(f'<text x="{left:.1f}" y="{height - _BOTTOM + 16}" text-anchor="middle" fill="#444">'
                     f"{_e(_num(lo))}</text>")
    parts.append(f'<text x="{WIDTH - _RIGHT:.1f}" y="{height - _BOTTOM + 16}" text-anchor="end" fill="#444">'
                 f"{_e(_num(bins[-1][1]))}</text>")
    if x_label:
        parts.append(f'<text x="{_LEFT + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" fill="#444">'
                     f"{_e(x_label)}</text>")
    return Chart(title=title, svg=_svg(title, height, parts), headers=headers, rows=rows)


# ------------------------------------------------------------------------------- the KPI report


def _over_time(report: KpiReport, title: str, pick, y_label: str) -> Chart:
    periods = [p.period for p in report.periods]
    keys = sorted({g.key for p in report.periods for g in p.groups})
    series = [Series(name="all", values=[pick(p) for p in report.periods])]
    for key in keys:
        by_period = {p.period: next((g for g in p.groups if g.key == key), None) for p in report.periods}
        series.append(Series(name=key, values=[pick(by_period[p]) if by_period[p] else None for p in periods]))
    return line_chart(title, periods, series, y_label=y_label)


def report_charts(report: KpiReport, *, overall: bool = True) -> list[Chart]:
    """The charts of a report: KPIs over time per group (when bucketed), per group, and with
    `overall` the score distribution, auto-vs-assessor agreement per item and calibration drift."""
    by = report.by
    charts: list[Chart] = []
    if report.periods:
        charts += [
            _over_time(report, f"Mean scorecard score over time, per {by}", lambda b: b.score.mean, "score"),
            _over_time(report, f"Mean handling time over time, per {by}", lambda b: b.aht_s.mean, "seconds"),
            _over_time(report, f"Mean CSAT over time, per {by}", lambda b: b.csat.mean, "CSAT (1-5)"),
            _over_time(report, f"First-contact resolution over time, per {by}", lambda b: b.fcr.rate, "rate"),
        ]
    groups: Sequence[KpiBlock] = report.groups
    labels = [g.key for g in report.groups]

    def per_group(title: str, values, value_label: str, extra, extra_headers) -> Chart:
        return bar_chart(f"{title} per {by}", labels, [values(g) for g in groups], value_label=value_label,
                         label_header=by, extra=[extra(g) for g in groups], extra_headers=extra_headers)

    charts += [
        per_group("Mean handling time", lambda g: g.aht_s.mean, "seconds",
                  lambda g: [_num(g.aht_s.median), _num(g.aht_s.p90), str(g.calls)], ("median", "p90", "calls")),
        per_group("Mean scorecard score", lambda g: g.score.mean, "score",
                  lambda g: [str(g.score.cards), str(g.critical_fails)], ("cards", "critical fails")),
        per_group("Mean CSAT", lambda g: g.csat.mean, "CSAT (1-5)",
                  lambda g: [str(g.csat.n), _num(g.nps.score), str(g.nps.n)], ("answers", "NPS", "NPS answers")),
        per_group("First-contact resolution", lambda g: g.fcr.rate, "rate",
                  lambda g: [str(g.fcr.repeat_contacts), str(g.fcr.contacts)], ("repeat contacts", "contacts")),
    ]
    if not overall:
        return charts
    charts += [
        histogram("Scorecard score distribution", [(b.low, b.high, b.n) for b in report.score.histogram],
                  x_label="score"),
        bar_chart("Auto-vs-assessor agreement per item", [a.item_id for a in report.agreement],
                  [a.rate for a in report.agreement], value_label="share agreed", label_header="item",
                  extra=[[str(a.agreed), str(a.n), _num(a.kappa)] for a in report.agreement],
                  extra_headers=("agreed", "decided", "kappa")),
    ]
    if report.calibration:
        points = report.calibration
        charts.append(line_chart(
            "Calibration drift: assessors' agreement over time", [p.period for p in points],
            [Series(name="between assessors", values=[p.agreement for p in points]),
             Series(name="kappa", values=[p.kappa for p in points]),
             Series(name="alpha", values=[p.alpha for p in points]),
             Series(name="auto vs final", values=[p.auto_agreement for p in points])],
            y_label="agreement", floor_zero=True))
    return charts


def chart_html(chart: Chart) -> str:
    """A chart and its table as an HTML fragment (the table is the data, for screen readers too)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in chart.headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in chart.rows)
    note = f'<p class="note">{_e(chart.note)}</p>' if chart.note else ""
    return (f'<figure class="chart"><figcaption>{_e(chart.title)}</figcaption>{chart.svg}{note}'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></figure>")


_PAGE_STYLE = ("body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#1d1d1f}"
               "table{border-collapse:collapse;margin:.4em 0 1.6em}th,td{border-bottom:1px solid #ddd;"
               "padding:.25em .6em;text-align:left}figure{margin:1.2em 0}figcaption{font-weight:600;"
               "margin-bottom:.3em}.note{color:#555;font-style:italic}dl{display:grid;"
               "grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}")


def _when(value: dt.datetime | None) -> str:
    return value.isoformat() if value else "–"


def report_html(report: KpiReport, *, title: str = "callqa KPI report") -> str:
    """The report as one HTML page with inline SVG and no script: it can be mailed as it is."""
    summary = [
        ("Calls", str(report.calls)), ("Period", f"{_when(report.since)} to {_when(report.until)}"),
        ("Handling time (talk + hold + wrap-up)", f"mean {_num(report.aht_s.mean)} s, median "
         f"{_num(report.aht_s.median)} s, p90 {_num(report.aht_s.p90)} s (n={report.aht_s.n})"),
        ("First-contact resolution", f"{_num(report.fcr.rate)} ({report.fcr.repeat_contacts} repeat contact(s) "
         f"within {report.repeat_window_days} day(s), of {report.fcr.contacts})"),
        ("CSAT", f"mean {_num(report.csat.mean)} (n={report.csat.n})"),
        ("NPS", f"{_num(report.nps.score)} (n={report.nps.n})"),
        ("Scorecard score", f"mean {_num(report.score.mean)} over {report.score.cards} card(s); "
         f"{report.critical_fails} critical fail(s)"),
    ]
    facts = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in summary)
    charts = "".join(chart_html(c) for c in report_charts(report))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{_PAGE_STYLE}</style></head><body><h1>{_e(title)}</h1><dl>{facts}</dl>{charts}"
            f'<p class="note">Grouped by {_e(report.by)}; buckets: {_e(report.period_step)}. Made by callqa.</p>'
            "</body></html>")
