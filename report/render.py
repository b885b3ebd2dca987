"""Render a run (results.json, schema 2) as one self-contained HTML page a release manager can read and sign.

The page comes from Jinja2 templates (report/templates, autoescape on); this module only shapes the records into
what the templates show: rows, tiles and the geometry of each window's plot. CSS and script are inlined and the plots
are inline SVG, so the page needs nothing but itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from record.model import Budget, Run, Sample, Scenario, Window
from report.history import History, Tolerance, regressions, trends
from report.load import as_run

__all__ = ["Panel", "render", "window_panel"]

_OUTCOME_ORDER = {"failed": 0, "not_applicable": 1, "skipped": 2, "passed": 3}
_REASONS_SHOWN = 6
_NOT_RUN_SHOWN = 4
# The window metrics a budget can state, in the order the report lists them, with the window's own limit field.
_WINDOW_METRICS = (
    ("availability_pct", "availability (share of requests)", "%", ">=", "min_availability_pct"),
    ("availability_time_pct", "availability (over time)", "%", ">=", None),
    ("longest_outage_s", "longest outage", "s", "<=", "max_outage_s"),
    ("p50_latency_s", "p50 latency", "s", "<=", None),
    ("p95_latency_s", "p95 latency", "s", "<=", "max_p95_latency_s"),
    ("max_latency_s", "slowest request", "s", "<=", "max_latency_allowed_s"),
    ("max_gap_s", "longest gap in traffic", "s", "<=", "max_gap_allowed_s"),
)


def _num(value: Any, unit: str = "", digits: int = 2) -> str:
    """A number for a cell (trailing zeros dropped), or an en dash when missing."""
    if value is None or value == "":
        return "\u2013"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    elif isinstance(value, int):
        text = str(value)
    else:
        return str(value)
    sep = "" if unit in ("%", "") else " "
    return f"{text}{sep}{unit}"


def _when(stamp: str) -> str:
    """An ISO UTC timestamp shortened for the banner (2025-11-29 00:31 UTC)."""
    return stamp[:16].replace("T", " ") + " UTC" if len(stamp) >= 16 else stamp or "?"


def _took(start: str, end: str) -> str:
    """'7 min 3 s' between two ISO timestamps, or '' when unreadable."""
    try:
        secs = int((dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds())
    except ValueError:
        return ""
    return f"{secs // 60} min {secs % 60} s" if secs >= 60 else f"{secs} s"


# -- the window plot ----------------------------------------------------------------------------------------------
@dataclass
class Span:
    """A horizontal stretch of the plot, in pixels."""

    x: float
    w: float
    label: str = ""


@dataclass
class Tick:
    """An axis tick."""

    x: float
    label: str


@dataclass
class Panel:
    """The geometry of one window's plot: run-clock axis, fault and settle shading, requests by outcome."""

    width: int
    height: int
    left: int
    right: int
    top: int
    ok_y: float
    failed_y: float
    lane_h: float
    axis_y: float
    fault: Span
    settle: Span | None
    fault_x: float
    recovered_x: float | None
    ok: list[Span] = field(default_factory=list)
    failed: list[Span] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    samples: int = 0


def _tick_step(span: float) -> float:
    """A round tick step giving at most 7 ticks over span seconds."""
    for step in (0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1800):
        if span / step <= 7:
            return float(step)
    return span / 6


def _merge(intervals: Iterable[tuple[float, float]], join: float) -> list[tuple[float, float]]:
    """Union of intervals, joining those closer than `join` (keeps the SVG small; gaps wider than that stay)."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + join:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def window_panel(w: Window, samples: Sequence[Sample], width: int = 560, height: int = 150) -> Panel:
    """Plot geometry for one window: the x axis is the run's clock around the window, shaded from fault to end."""
    left, right, top, bottom = 52, 12, 20, 30
    pw = width - left - right
    starts = [w.start_s, w.end_s] + [s.t for s in samples]
    ends = [w.end_s] + [s.t + (s.latency_s or 0.0) for s in samples]
    for extra in (w.traffic_start_s, w.traffic_end_s, w.recovered_s):
        if extra is not None:
            starts.append(extra)
            ends.append(extra)
    lo, hi = min(starts), max(ends)
    pad = max((hi - lo) * 0.03, 0.5)
    lo, hi = lo - pad, hi + pad
    scale = pw / max(hi - lo, 1e-6)

    def x(t: float) -> float:
        """Run-clock seconds to an x pixel."""
        return round(left + (t - lo) * scale, 1)

    def span(a: float, b: float, label: str = "") -> Span:
        """A stretch from a to b seconds, at least 1.5 px wide so a short request stays visible."""
        return Span(x(a), max(round((b - a) * scale, 1), 1.5), label)

    lane_h = 26.0
    ok_y, failed_y = top + 12.0, top + 12.0 + lane_h + 14.0
    fault_end = w.recovered_s if w.recovered_s is not None else w.end_s
    join = 1.5 / scale  # requests closer than 1.5 px merge: the eye could not tell them apart anyway
    ok = _merge(((s.t, s.t + (s.latency_s or 0.0)) for s in samples if s.ok), join)
    bad = _merge(((s.t, s.t + (s.latency_s or 0.0)) for s in samples if not s.ok), join)
    step = _tick_step(hi - lo)
    first = (lo // step + 1) * step
    ticks: list[Tick] = []
    t = first
    while t < hi and len(ticks) < 12:
        ticks.append(Tick(x(t), f"{t:g} s"))
        t += step
    return Panel(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        ok_y=ok_y,
        failed_y=failed_y,
        lane_h=lane_h,
        axis_y=float(height - bottom),
        fault=span(w.start_s, fault_end, f"fault {w.fault}: {w.start_s:g} s to {fault_end:g} s"),
        settle=(
            span(w.recovered_s, w.end_s, f"settle: {w.recovered_s:g} s to {w.end_s:g} s")
            if w.recovered_s is not None and w.end_s > w.recovered_s
            else None
        ),
        fault_x=x(w.start_s),
        recovered_x=x(w.recovered_s) if w.recovered_s is not None else None,
        ok=[span(a, b, f"{a:.2f} s to {b:.2f} s: succeeded") for a, b in ok],
        failed=[span(a, b, f"{a:.2f} s to {b:.2f} s: failed") for a, b in bad],
        ticks=ticks,
        samples=len(samples),
    )


# -- rows the templates show --------------------------------------------------------------------------------------
@dataclass
class MetricRow:
    """One number of a window with the budget stated for it and the result."""

    label: str
    measured: str
    budget: str
    result: str  # "passed", "failed" or "none" (no budget stated)


@dataclass
class WindowView:
    """One availability window as the report shows it."""

    index: int
    window: Window
    metrics: list[MetricRow]
    result: str  # passed, failed, none
    panel: Panel


def _op_text(op: str) -> str:
    """A comparison as a reader writes it."""
    return "\u2264" if op == "<=" else "\u2265"


def _window_budgets(w: Window, budgets: Sequence[Budget]) -> dict[str, list[Budget]]:
    """The budgets recorded for this window's numbers (same scenario, subject = the window's fault)."""
    out: dict[str, list[Budget]] = {}
    for b in budgets:
        if b.scenario == w.scenario and b.subject == w.fault:
            out.setdefault(b.metric, []).append(b)
    return out


def _window_view(index: int, w: Window, samples: Sequence[Sample], budgets: Sequence[Budget]) -> WindowView:
    """Each number with its budget(s): recorded budgets first, else the limit the window itself carries."""
    mine = _window_budgets(w, budgets)
    rows = []
    for metric, label, unit, op, limit_field in _WINDOW_METRICS:
        measured = getattr(w, metric)
        stated = mine.get(metric, [])
        # check_window stores a time-based availability budget in min_availability_pct too: it is not a count budget.
        own_limit = getattr(w, limit_field) if limit_field else None
        if metric == "availability_pct" and "availability_time_pct" in mine:
            own_limit = None
        if stated:
            budget = ", ".join(f"{_op_text(b.op)} {_num(b.limit, unit)}" for b in stated)
            result = "passed" if all(b.passed for b in stated) else "failed"
        elif own_limit is not None:
            limit = float(own_limit)
            budget = f"{_op_text(op)} {_num(limit, unit)}"
            ok = measured is not None and (measured <= limit if op == "<=" else measured >= limit)
            result = "passed" if ok else "failed"
        elif measured is None:
            continue  # neither measured nor budgeted: nothing to show
        else:
            budget, result = "no budget stated", "none"
        rows.append(MetricRow(label, "not measured" if measured is None else _num(measured, unit, 3), budget, result))
    if not w.covered or w.passed is False or any(r.result == "failed" for r in rows):
        result = "failed"
    elif w.passed or any(r.result == "passed" for r in rows):
        result = "passed"
    else:
        result = "none"
    return WindowView(index, w, rows, result, window_panel(w, samples))


@dataclass
class Tile:
    """A summary tile."""

    cls: str
    key: str
    value: str
    sub: str


def _tiles(run: Run, windows: Sequence[WindowView]) -> list[Tile]:
    """Scope, scenarios, budgets, recovery, availability, ledger, checks."""
    s, sc = run.summary, run.scope
    tiles = [
        Tile(
            "ok" if sc.complete else "partial",
            "Scope",
            "complete" if sc.complete else "PARTIAL",
            f"{sc.ran} of {sc.catalogue} ran ({sc.mode} mode)",
        )
    ]
    product_failed = any(x.outcome == "failed" and x.failure_class != "infrastructure" for x in run.scenarios)
    tiles.append(
        Tile(
            "bad" if product_failed else ("warn" if s.failed or not s.passed else "ok"),
            "Scenarios",
            f"{s.passed} passed",
            f"{s.failed} failed, {s.skipped} skipped, {s.not_applicable} not applicable",
        )
    )
    missed = sum(1 for b in run.budgets if not b.passed)
    tiles.append(
        Tile(
            ("bad" if missed else "ok") if run.budgets else "",
            "Budgets",
            f"{len(run.budgets) - missed} of {len(run.budgets)} met" if run.budgets else "\u2013",
            "from the features' text" if run.budgets else "no budget was exercised",
        )
    )
    p95 = [r.p95 for r in run.recovery_summary if r.p95 is not None]
    over = sum(1 for r in run.recovery if not r.passed)
    tiles.append(
        Tile(
            ("bad" if over else "ok") if run.recovery else "",
            "Recovery",
            f"{len(run.recovery) - over} of {len(run.recovery)} in budget" if run.recovery else "\u2013",
            f"worst p95 {_num(max(p95), 's')}" if p95 else "nothing measured",
        )
    )
    avail = [v.window.availability_pct for v in windows if v.window.availability_pct is not None]
    bad_windows = sum(1 for v in windows if v.result == "failed")
    tiles.append(
        Tile(
            ("bad" if bad_windows else "ok") if windows else "",
            "Worst availability",
            f"{min(avail):.2f}%" if avail else "\u2013",
            f"{len(windows)} window(s), {bad_windows} failed" if windows else "no window recorded",
        )
    )
    t = run.ledger.totals
    problems = t.lost + t.phantom + t.duplicate + t.lost_updates + t.resurrected
    tiles.append(
        Tile(
            ("bad" if problems else "ok") if t.entries else "",
            "Acknowledged operations",
            f"{t.ok + t.updates_acknowledged + t.deletes_acknowledged}" if t.entries else "\u2013",
            f"{problems} lost, phantom, duplicate or resurrected" if t.entries else "no ledger ran",
        )
    )
    failed_checks = sum(1 for c in run.checks if c.outcome == "failed")
    tiles.append(
        Tile(
            ("bad" if failed_checks else "ok") if run.checks else "",
            "Checks",
            f"{len(run.checks) - failed_checks} of {len(run.checks)} passed" if run.checks else "\u2013",
            "smoke, self-check, teardown" if run.checks else "none recorded",
        )
    )
    return tiles


@dataclass
class FeatureView:
    """A feature and its scenarios, worst first."""

    name: str
    scenarios: list[Scenario]
    counts: dict[str, int]


def _features(scenarios: Sequence[Scenario]) -> list[FeatureView]:
    """Features, then scenarios, failed first at both levels (stable within an outcome)."""
    by: dict[str, list[Scenario]] = {}
    for s in scenarios:
        by.setdefault(s.feature, []).append(s)
    views = []
    for name, items in by.items():
        items = sorted(items, key=lambda x: _OUTCOME_ORDER.get(x.outcome, 9))
        counts = {k: sum(1 for x in items if x.outcome == k) for k in _OUTCOME_ORDER}
        views.append(FeatureView(name, items, counts))
    return sorted(views, key=lambda f: _OUTCOME_ORDER.get(f.scenarios[0].outcome, 9))


def _flatten(prefix: str, value: Any) -> Iterable[tuple[str, str]]:
    """Nested environment entries as dotted keys."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flatten(f"{prefix}.{k}" if prefix else str(k), v)
    elif isinstance(value, list):
        yield prefix, ", ".join(map(str, value))
    else:
        yield prefix, "" if value is None else str(value)


@dataclass
class TrendView:
    """The history section: runs' labels, one row per figure, the warnings and the tolerance."""

    labels: list[str]
    rows: list[Any]
    warnings: list[str]
    skipped: list[str]
    source: str
    tolerance: str


def _trend_view(history: History | None, run: Run, tolerance: Tolerance) -> TrendView | None:
    """What the report shows of the history, or None when none was given."""
    if history is None:
        return None
    return TrendView(
        labels=[_when(r.started_at)[5:16] for r in history.runs],
        rows=trends(history.runs, run, tolerance),
        warnings=regressions(history.runs, run, tolerance),
        skipped=history.skipped,
        source=history.source,
        tolerance=tolerance.describe(),
    )


# -- templates ----------------------------------------------------------------------------------------------------
@cache
def _environment() -> jinja2.Environment:
    """The template environment: autoescape on, undefined names are errors, the number filter."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _num
    env.filters["op"] = _op_text
    env.filters["first_line"] = lambda text: (str(text or "").splitlines() or [""])[0]
    return env


def _asset(name: str) -> Markup:
    """A file of report/templates inlined verbatim (trusted: it is ours, and contains no closing tag)."""
    text = resources.files("report").joinpath("templates", name).read_text(encoding="utf-8")
    if "</" in text:
        raise ValueError(f"report/templates/{name} must not contain '</' (it is inlined into the page)")
    return Markup(text)


_VERDICT_CLASS = {"ACCEPTED": "ok", "REJECTED": "bad", "INCONCLUSIVE": "warn", "PARTIAL": "partial"}
_VERDICT_LINE = {
    "ACCEPTED": "The full catalogue ran and passed. What the run showed:",
    "REJECTED": "The release does not meet its acceptance criteria. Reasons, most important first:",
    "INCONCLUSIVE": "No product verdict: the run could not judge the application. Reasons:",
    "PARTIAL": "A scoped run: what ran is reported, but only a complete run can be accepted. Reasons:",
}


def render(
    run: Run | Mapping[str, Any],
    history: History | None = None,
    tolerance: Tolerance | None = None,
) -> str:
    """One self-contained HTML page for a run (a Run, or a results.json document of schema 2)."""
    r = as_run(run)
    tol = tolerance or Tolerance()
    by_window: dict[int, list[Sample]] = {}
    for s in r.availability.samples:
        if s.window is not None:
            by_window.setdefault(s.window, []).append(s)
    windows = [_window_view(i, w, by_window.get(i, []), r.budgets) for i, w in enumerate(r.availability.windows)]
    trend = _trend_view(history, r, tol)
    ledger_titles = [
        (e.scenario, kind, titles)
        for e in r.ledger.entries
        for kind, titles in e.titles.items()
        if titles and kind in ("lost", "phantom", "duplicate", "lost_updates", "resurrected")
    ]
    template = _environment().get_template("report.html.j2")
    return template.render(
        run=r,
        verdict_class=_VERDICT_CLASS.get(r.verdict, "warn"),
        verdict_line=_VERDICT_LINE.get(r.verdict, ""),
        reasons_shown=_REASONS_SHOWN,
        not_run_shown=_NOT_RUN_SHOWN,
        started=_when(r.started_at),
        took=_took(r.started_at, r.finished_at),
        commit=str(r.environment.get("suite_commit") or "")[:12],
        seed=r.environment.get("seed"),
        tiles=_tiles(r, windows),
        features=_features(r.scenarios),
        budgets=sorted(r.budgets, key=lambda b: b.passed),
        windows=windows,
        ledger_titles=ledger_titles,
        checks=sorted(r.checks, key=lambda c: ({"failed": 0, "skipped": 1}.get(c.outcome, 2), c.kind)),
        environment=list(_flatten("", r.environment)),
        files=[n for n in r.files if n != "report.html"],
        trend=trend,
        has_evidence=any(s.evidence for s in r.scenarios),
        css=_asset("report.css"),
        script=_asset("report.js"),
    )
