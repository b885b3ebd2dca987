"""Render results.json (schema 1) as one self-contained HTML page a release manager can read and sign."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["render"]

_OUTCOME_ORDER = {"failed": 0, "skipped": 1, "passed": 2}
_VERDICT_CLASS = {"ACCEPTED": "ok", "REJECTED": "bad", "INCONCLUSIVE": "warn"}
_VERDICT_LINE = {
    "ACCEPTED": "Every scenario passed, every budget was met and no acknowledged write was lost.",
    "REJECTED": "The release does not meet its acceptance criteria. Reasons, most important first:",
    "INCONCLUSIVE": "No product verdict: the run could not judge the application. Reasons:",
}
_REASONS_SHOWN = 6


def _e(value: Any) -> str:
    """HTML-escape any value as text."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any, unit: str = "", digits: int = 2) -> str:
    """A number formatted for a table cell, or an en dash when missing."""
    if value is None or value == "":
        return "&ndash;"
    if isinstance(value, bool):
        return _e(value)
    if isinstance(value, int | float):
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
        return _e(f"{text}{unit}")
    return _e(value)


def _badge(outcome: str) -> str:
    """A coloured outcome badge."""
    return f'<span class="badge b-{_e(outcome)}">{_e(outcome)}</span>'


def _pass_badge(passed: bool | None) -> str:
    """A pass/fail badge for a budget check."""
    if passed is None:
        return '<span class="badge b-skipped">n/a</span>'
    return _badge("passed" if passed else "failed")


_CSS = """
:root{--ok:#1b7f3b;--bad:#b3261e;--warn:#9a6700;--ink:#1f2328;--mute:#59636e;--line:#d1d9e0;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--ink);background:var(--bg)}
.wrap{max-width:1200px;margin:0 auto;padding:0 20px 40px}
#verdict{color:#fff;margin:0 0 14px}
#verdict .in{max-width:1200px;margin:0 auto;padding:18px 20px 16px;display:flex;gap:28px;
align-items:flex-start}
#verdict.ok{background:linear-gradient(135deg,#1b7f3b,#2da44e)}
#verdict.bad{background:linear-gradient(135deg,#8e1d17,#cf222e)}
#verdict.warn{background:linear-gradient(135deg,#7a5200,#bf8700)}
#verdict .kicker{text-transform:uppercase;letter-spacing:.12em;font-size:12px;opacity:.85}
#verdict h1{margin:2px 0 4px;font-size:44px;line-height:1.05;letter-spacing:.02em}
#verdict .meta{font-size:12.5px;opacity:.92;line-height:1.6}
#verdict .meta b{font-weight:600;font-family:ui-monospace,"DejaVu Sans Mono",monospace}
#verdict .head{flex:0 0 300px}
#verdict .why{flex:1;min-width:0}
#verdict .why p{margin:4px 0 6px;font-weight:600}
#verdict ol{margin:0;padding-left:22px}
#verdict li{margin:2px 0;overflow-wrap:anywhere}
#verdict li:first-child{font-weight:600}
#verdict details summary{cursor:pointer;opacity:.9;margin-top:4px}
.tiles{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin:0 0 18px}
.tile{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.tile .k{font-size:12px;color:var(--mute);text-transform:uppercase;letter-spacing:.06em}
.tile .v{font-size:20px;font-weight:650;margin-top:2px}
.tile .s{font-size:12.5px;color:var(--mute);margin-top:1px}
.tile.bad{border-left:5px solid var(--bad)} .tile.ok{border-left:5px solid var(--ok)}
.tile.warn{border-left:5px solid var(--warn)}
nav.toc{font-size:13px;margin:0 0 16px;color:var(--mute)}
nav.toc a{color:#0b57d0;margin-right:14px;text-decoration:none}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:0 0 18px}
h2{font-size:18px;margin:0 0 10px}
h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--bg);font-weight:600;color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;min-width:58px;text-align:center;border-radius:10px;padding:0 8px;font-size:12px;
font-weight:600;color:#fff}
.b-passed{background:var(--ok)} .b-failed{background:var(--bad)} .b-skipped{background:#8c959f}
.scenario{border:1px solid var(--line);border-radius:6px;margin:8px 0}
.scenario>summary{padding:7px 10px;cursor:pointer;display:flex;gap:10px;align-items:center}
.scenario>summary .name{flex:1;font-weight:600}
.scenario>summary .dur{color:var(--mute);font-variant-numeric:tabular-nums}
.scenario.failed{border-color:var(--bad);box-shadow:inset 4px 0 0 var(--bad)}
.scenario .body{padding:0 10px 10px 14px}
tr.step-failed td{background:#fff1f0}
.err{color:var(--bad);font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px;
white-space:pre-wrap;margin:4px 0}
details.evidence{margin:6px 0;border:1px solid var(--line);border-radius:6px;background:var(--bg)}
details.evidence>summary{cursor:pointer;padding:5px 10px;font-weight:600;color:#0b57d0}
details.evidence pre{margin:0;padding:8px 10px;max-height:420px;overflow:auto;background:#0d1117;
color:#e6edf3;font-size:12px;border-radius:0 0 6px 6px;white-space:pre-wrap;overflow-wrap:anywhere}
.mute{color:var(--mute)} td.alarm{color:var(--bad);font-weight:700}
.cls{font-size:12px;color:var(--warn);font-weight:600}
svg text{font-size:11px;fill:var(--mute);font-family:system-ui,sans-serif}
dl.env{display:grid;grid-template-columns:260px 1fr;gap:2px 14px;margin:0;font-size:13px}
dl.env dt{color:var(--mute)} dl.env dd{margin:0;font-family:ui-monospace,"DejaVu Sans Mono",monospace;
overflow-wrap:anywhere}
footer{color:var(--mute);font-size:12px;text-align:center}
button.tgl{font:inherit;font-size:12px;padding:2px 10px;border:1px solid var(--line);border-radius:6px;
background:#fff;cursor:pointer;float:right}
"""

# Opens the first failed step's evidence when the address ends in #expand-first (used by the browser test and
# handy in a link), and lets a reader open or close all evidence at once.
_JS = """
(function(){
  function all(open){document.querySelectorAll('details.evidence').forEach(function(d){d.open=open;});}
  var b=document.getElementById('toggle-evidence');
  if(b){b.addEventListener('click',function(){var o=b.getAttribute('data-open')!=='1';all(o);
    b.setAttribute('data-open',o?'1':'0');b.textContent=o?'Collapse all evidence':'Expand all evidence';});}
  if(location.hash==='#expand-first'){var d=document.querySelector('details.evidence');
    if(d){d.open=true;d.scrollIntoView();}}
})();
"""


def _when(stamp: Any) -> str:
    """An ISO UTC timestamp shortened for the banner (2025-11-29 00:31 UTC)."""
    text = str(stamp or "")
    return _e(text[:16].replace("T", " ") + " UTC") if len(text) >= 16 else _e(text or "?")


def _duration(start: Any, end: Any) -> str:
    """' &middot; took 7 min 3 s' from two ISO timestamps, or '' when unreadable."""
    try:
        secs = int((dt.datetime.fromisoformat(str(end)) - dt.datetime.fromisoformat(str(start))).total_seconds())
    except ValueError:
        return ""
    return f" &middot; took {secs // 60} min {secs % 60} s" if secs >= 60 else f" &middot; took {secs} s"


def _banner(data: Mapping[str, Any]) -> str:
    """The verdict banner: verdict, run identity and the reasons, first things first."""
    verdict = str(data.get("verdict", "INCONCLUSIVE"))
    reasons = [str(r) for r in data.get("reasons", [])]
    env = data.get("environment", {})
    commit = str(env.get("suite_commit") or "")[:12]
    took = _duration(data.get("started_at"), data.get("finished_at"))
    lines = [f"Run <b>{_e(data.get('run_id'))}</b>", f"{_when(data.get('started_at'))}{took}"]
    ident = []
    if commit:
        ident.append(f"commit <b>{_e(commit)}</b>")
    if env.get("seed") is not None:
        ident.append(f"seed <b>{_e(env.get('seed'))}</b>")
    if ident:
        lines.append(" &middot; ".join(ident))
    meta = "".join(f"<div>{line}</div>" for line in lines)
    shown = "".join(f"<li>{_e(r)}</li>" for r in reasons[:_REASONS_SHOWN])
    more = ""
    if len(reasons) > _REASONS_SHOWN:
        rest = "".join(f"<li>{_e(r)}</li>" for r in reasons[_REASONS_SHOWN:])
        more = (
            f"<details><summary>{len(reasons) - _REASONS_SHOWN} more reason(s)</summary>"
            f'<ol start="{_REASONS_SHOWN + 1}">{rest}</ol></details>'
        )
    return (
        f'<header id="verdict" class="{_VERDICT_CLASS.get(verdict, "warn")}" data-verdict="{_e(verdict)}">'
        '<div class="in"><div class="head"><div class="kicker">Acceptance verdict</div>'
        f'<h1>{_e(verdict)}</h1><div class="meta">{meta}</div></div>'
        f'<div class="why"><p>{_e(_VERDICT_LINE.get(verdict, ""))}</p><ol>{shown}</ol>{more}</div>'
        "</div></header>"
    )


def _tiles(data: Mapping[str, Any]) -> str:
    """Five summary tiles: scenarios, recovery budgets, availability, ledger, duration."""
    s = data.get("summary", {})
    rec = data.get("recovery_summary", [])
    met = sum(1 for r in rec if r.get("passed"))
    windows = data.get("availability", {}).get("windows", [])
    avail = [w["availability_pct"] for w in windows if isinstance(w.get("availability_pct"), int | float)]
    t = data.get("ledger", {}).get("totals", {})
    problems = sum(int(t.get(k, 0)) for k in ("lost", "phantom", "duplicate"))
    product_failed = any(
        x.get("outcome") == "failed" and x.get("failure_class") != "infrastructure" for x in data.get("scenarios", [])
    )
    scen_cls = "bad" if product_failed else ("warn" if s.get("failed") or not s.get("passed") else "ok")
    has_ledger = bool(data.get("ledger", {}).get("entries"))
    total_s = sum(float(x.get("duration_s", 0)) for x in data.get("scenarios", []))
    tiles = [
        (
            scen_cls,
            "Scenarios",
            f"{s.get('passed', 0)} passed",
            f"{s.get('failed', 0)} failed, {s.get('skipped', 0)} skipped",
        ),
        (
            ("bad" if met < len(rec) else "ok") if rec else "",
            "Recovery budgets",
            f"{met} of {len(rec)} met",
            "max vs budget per fault" if rec else "nothing measured",
        ),
        (
            ("ok" if min(avail) >= 99.0 else "warn") if avail else "",
            "Worst availability",
            f"{min(avail):.2f}%" if avail else "&ndash;",
            f"over {len(windows)} fault window(s)",
        ),
        (
            ("bad" if problems else "ok") if has_ledger else "",
            "Acknowledged writes",
            f"{t.get('ok', 0)} ok" if has_ledger else "&ndash;",
            f"{problems} lost, phantom or duplicate" if has_ledger else "no ledger recorded",
        ),
        ("", "Scenario time", f"{total_s:.0f} s", f"over {s.get('total', 0)} scenario(s)"),
    ]
    cells = "".join(
        f'<div class="tile {c}"><div class="k">{_e(k)}</div><div class="v">{v}</div>'
        f'<div class="s">{_e(sub)}</div></div>'
        for c, k, v, sub in tiles
    )
    return f'<div class="tiles">{cells}</div>'


def _evidence(evidence: Mapping[str, str]) -> str:
    """Each evidence item in its own collapsed <details>, escaped."""
    return "".join(
        f'<details class="evidence"><summary>Evidence: {_e(name)} '
        f'<span class="mute">({len(text.splitlines())} lines)</span></summary><pre>{_e(text)}</pre></details>'
        for name, text in evidence.items()
    )


def _scenario(s: Mapping[str, Any]) -> str:
    """One scenario: header with outcome and duration, steps in run order, errors and evidence inline."""
    outcome = str(s.get("outcome"))
    steps = list(s.get("steps", []))
    rows = []
    evidence_done = False
    for st in steps:
        failed = st.get("outcome") == "failed"
        rows.append(
            f'<tr class="step-{_e(st.get("outcome"))}"><td>{_badge(str(st.get("outcome")))}</td>'
            f'<td>{_e(st.get("name"))}</td><td class="n">{_num(st.get("duration_s"), " s")}</td></tr>'
        )
        if failed:
            extra = f'<div class="err">{_e(st.get("error"))}</div>' if st.get("error") else ""
            if not evidence_done:
                extra += _evidence(s.get("evidence", {}))
                evidence_done = True
            rows.append(f'<tr class="step-detail"><td></td><td colspan="2">{extra}</td></tr>')
    tail = ""
    if not evidence_done and s.get("evidence"):
        tail = _evidence(s.get("evidence", {}))  # failed outside a step (setup/teardown): evidence still shown
    cls = s.get("failure_class")
    cls_text = f'<span class="cls">{_e(cls)} failure</span>' if cls else ""
    table = (
        '<table><thead><tr><th style="width:80px">Outcome</th><th>Step</th><th class="n" style="width:90px">'
        f"Duration</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="mute">No steps recorded.</p>'
    )
    opened = " open" if outcome == "failed" else ""
    return (
        f'<details class="scenario {_e(outcome)}"{opened}><summary>{_badge(outcome)}'
        f'<span class="name">{_e(s.get("scenario"))}</span>{cls_text}'
        f'<span class="dur">{_num(s.get("duration_s"), " s")}</span></summary>'
        f'<div class="body">{table}{tail}</div></details>'
    )


def _features(data: Mapping[str, Any]) -> str:
    """Features, then scenarios, failed first at both levels."""
    by_feature: dict[str, list[Mapping[str, Any]]] = {}
    for s in data.get("scenarios", []):
        by_feature.setdefault(str(s.get("feature")), []).append(s)
    if not by_feature:
        return '<p class="mute">No scenario ran.</p>'

    def worst(items: Iterable[Mapping[str, Any]]) -> int:
        """Sort key: the worst outcome in a list of scenarios."""
        return min(_OUTCOME_ORDER.get(str(x.get("outcome")), 3) for x in items)

    out = []
    for feature, items in sorted(by_feature.items(), key=lambda kv: worst(kv[1])):
        items = sorted(items, key=lambda x: _OUTCOME_ORDER.get(str(x.get("outcome")), 3))
        counts = {k: sum(1 for x in items if x.get("outcome") == k) for k in ("passed", "failed", "skipped")}
        out.append(
            f'<h3>{_e(feature)} <span class="mute">&middot; {counts["passed"]} passed, '
            f"{counts['failed']} failed, {counts['skipped']} skipped</span></h3>" + "".join(_scenario(s) for s in items)
        )
    return "".join(out)


def _recovery(data: Mapping[str, Any]) -> str:
    """Recovery time per fault against its budget."""
    rows = sorted(data.get("recovery_summary", []), key=lambda r: (bool(r.get("passed")), str(r.get("fault"))))
    if not rows:
        return '<p class="mute">No recovery was measured.</p>'
    body = "".join(
        f"<tr><td>{_e(r.get('fault'))}</td><td>{_e(r.get('tier'))}</td><td class='n'>{_num(r.get('n'))}</td>"
        f"<td class='n'>{_num(r.get('p50'), ' s')}</td><td class='n'>{_num(r.get('p95'), ' s')}</td>"
        f"<td class='n'>{_num(r.get('max'), ' s')}</td><td class='n'>{_num(r.get('budget_s'), ' s')}</td>"
        f"<td>{_pass_badge(r.get('passed'))}</td></tr>"
        for r in rows
    )
    return (
        "<table><thead><tr><th>Fault</th><th>Tier</th><th class='n'>n</th><th class='n'>p50</th>"
        "<th class='n'>p95</th><th class='n'>max</th><th class='n'>Budget</th><th>Result</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def window_bounds(w: Mapping[str, Any]) -> tuple[float, float] | None:
    """A fault window's start and end on the samples' clock, whichever key names the traffic module uses."""
    for a, b in (("start", "end"), ("started", "ended"), ("started_at", "ended_at"), ("t0", "t1")):
        if isinstance(w.get(a), int | float) and isinstance(w.get(b), int | float):
            return float(w[a]), float(w[b])
    return None


def _window_passed(w: Mapping[str, Any]) -> bool | None:
    """A window's budget result (computed by support.results when it states budgets), None without one."""
    passed = w.get("passed")
    return passed if isinstance(passed, bool) else None


def _availability(data: Mapping[str, Any]) -> str:
    """Availability per fault window, then the plot over time."""
    av = data.get("availability", {})
    windows = list(av.get("windows", []))
    if not windows:
        table = '<p class="mute">No availability window was recorded.</p>'
    else:
        body = "".join(
            f"<tr><td>{_e(w.get('fault'))}</td><td class='n'>{_num(w.get('n', w.get('requests')))}</td>"
            f"<td class='n'>{_num(w.get('ok'))}</td><td class='n'>{_num(w.get('failed'))}</td>"
            f"<td class='n'>{_num(w.get('availability_pct'), '%', 3)}</td>"
            f"<td class='n'>{_num(w.get('longest_outage_s'), ' s')}</td>"
            f"<td class='n'>{_num(w.get('p95_latency_s', w.get('latency_p95_s')), ' s', 3)}</td>"
            f"<td class='n'>{_budget_text(w)}</td><td>{_pass_badge(_window_passed(w))}</td></tr>"
            for w in windows
        )
        table = (
            "<table><thead><tr><th>Fault window</th><th class='n'>Requests</th><th class='n'>ok</th>"
            "<th class='n'>failed</th><th class='n'>Availability</th><th class='n'>Longest outage</th>"
            "<th class='n'>p95 latency</th><th class='n'>Budget</th><th>Result</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    return table + _plot(list(av.get("samples", [])), windows)


def _budget_text(w: Mapping[str, Any]) -> str:
    """The budgets a window states, as text."""
    parts = []
    if w.get("min_availability_pct") is not None:
        parts.append(f"&ge; {_num(w.get('min_availability_pct'), '%', 3)}")
    if w.get("max_outage_s") is not None:
        parts.append(f"outage &le; {_num(w.get('max_outage_s'), ' s')}")
    return ", ".join(parts) or "&ndash;"


def _plot(samples: list[Mapping[str, Any]], windows: list[Mapping[str, Any]]) -> str:
    """An inline SVG of availability (share of ok samples per time bucket) with fault windows shaded."""
    pts = sorted((float(s["t"]), bool(s.get("ok"))) for s in samples if isinstance(s.get("t"), int | float))
    if len(pts) < 2:
        return '<p class="mute">No raw availability samples to plot.</p>'
    t0, t1 = pts[0][0], pts[-1][0]
    spans = [b for b in (window_bounds(w) for w in windows) if b]
    for a, b in spans:
        t0, t1 = min(t0, a), max(t1, b)
    span = max(t1 - t0, 1e-6)
    width, height, left, right, top, bottom = 1120, 230, 46, 28, 12, 34
    pw, ph = width - left - right, height - top - bottom
    buckets = min(160, max(10, len(pts) // 3))
    ok_n = [0] * buckets
    all_n = [0] * buckets
    for t, ok in pts:
        i = min(buckets - 1, int((t - t0) / span * buckets))
        all_n[i] += 1
        ok_n[i] += int(ok)

    def x(t: float) -> float:
        """Time to x pixel."""
        return left + (t - t0) / span * pw

    def y(pct: float) -> float:
        """Availability percent to y pixel."""
        return top + (1 - pct / 100.0) * ph

    parts = [
        f'<svg id="availability-plot" viewBox="0 0 {width} {height}" width="100%" role="img" '
        'aria-label="Availability over time with fault windows shaded">'
    ]
    for i, (a, b) in enumerate(spans):
        label = str(windows[i].get("fault", "")) if i < len(windows) else ""
        parts.append(
            f'<rect x="{x(a):.1f}" y="{top}" width="{max(x(b) - x(a), 1.5):.1f}" height="{ph}" '
            f'fill="#fbe3c4" opacity="0.8"><title>{_e(label)}</title></rect>'
            f'<text x="{x(a) + 3:.1f}" y="{top + 12}" style="fill:#9a6700">{_e(label[:28])}</text>'
        )
    for pct in (0, 50, 90, 100):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(pct):.1f}" y2="{y(pct):.1f}" stroke="#d1d9e0" '
            f'stroke-dasharray="{"" if pct in (0, 100) else "3 3"}"/>'
            f'<text x="{left - 6}" y="{y(pct) + 4:.1f}" text-anchor="end">{pct}%</text>'
        )
    line = []
    for i in range(buckets):
        if all_n[i]:
            tm = t0 + (i + 0.5) / buckets * span
            line.append(f"{x(tm):.1f},{y(100.0 * ok_n[i] / all_n[i]):.1f}")
    parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#0b57d0" stroke-width="2"/>')
    for t, ok in pts:
        if not ok:
            parts.append(
                f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{y(0) - 7:.1f}" y2="{y(0):.1f}" stroke="#cf222e"/>'
            )
    for k in range(6):
        tm = t0 + k * span / 5
        parts.append(f'<text x="{x(tm):.1f}" y="{height - 14}" text-anchor="middle">{tm - t0:.0f} s</text>')
    parts.append(
        f'<text x="{left}" y="{height - 1}">time since the first sample &middot; '
        "blue: share of successful reads; red ticks: failed reads; shaded: fault windows</text></svg>"
    )
    return "".join(parts)


def _ledger(data: Mapping[str, Any]) -> str:
    """The acknowledged-write ledger totals and any offending titles."""
    led = data.get("ledger", {})
    t = led.get("totals", {})
    if not led.get("entries"):
        return '<p class="mute">No ledger was recorded.</p>'
    cells = "".join(
        f"<td class='n'>{_num(t.get(k, 0))}</td>"
        for k in ("attempted", "ok", "failed", "unknown", "unknown_present", "unknown_absent")
    )
    bad = "".join(
        f"<td class='n{' alarm' if t.get(k) else ''}'>{_num(t.get(k, 0))}</td>"
        for k in ("lost", "phantom", "duplicate")
    )
    titles = []
    for entry in led.get("entries", []):
        for kind, items in (entry.get("verdict", {}).get("titles") or {}).items():
            if kind in ("lost", "phantom", "duplicate") and items:
                titles.append(f"<li><b>{_e(kind)}</b>: {_e(', '.join(map(str, items[:50])))}</li>")
    raws = [e.get("raw") for e in led.get("entries", []) if e.get("raw")]
    raw = "".join(f' <a href="{_e(r)}">{_e(r)}</a>' for r in raws)
    return (
        "<table><thead><tr><th class='n'>Attempted</th><th class='n'>ok</th><th class='n'>failed</th>"
        "<th class='n'>unknown</th><th class='n'>unknown, present</th><th class='n'>unknown, absent</th>"
        "<th class='n'>lost</th><th class='n'>phantom</th><th class='n'>duplicate</th></tr></thead>"
        f"<tbody><tr>{cells}{bad}</tr></tbody></table>"
        + (f"<ul>{''.join(titles)}</ul>" if titles else "")
        + (f'<p class="mute">Raw ledger:{raw}</p>' if raw else "")
    )


def _flatten(prefix: str, value: Any) -> Iterable[tuple[str, Any]]:
    """Nested environment entries as dotted keys."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flatten(f"{prefix}.{k}" if prefix else str(k), v)
    elif isinstance(value, list):
        yield prefix, ", ".join(map(str, value))
    else:
        yield prefix, value


def _environment(data: Mapping[str, Any]) -> str:
    """The environment fingerprint as a definition list."""
    items = list(_flatten("", data.get("environment", {})))
    if not items:
        return '<p class="mute">No environment was recorded.</p>'
    return '<dl class="env">' + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def _infra(data: Mapping[str, Any]) -> str:
    """Failures outside any scenario, if there were some."""
    rows = data.get("infrastructure_failures", [])
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{_e(f.get('phase'))}</td><td>{_e(f.get('type'))}</td>"
        f"<td><div class='err'>{_e(f.get('message'))}</div></td></tr>"
        for f in rows
    )
    return (
        '<section id="infrastructure"><h2>Infrastructure failures</h2>'
        "<table><thead><tr><th>Phase</th><th>Type</th><th>Message</th></tr></thead>"
        f"<tbody>{body}</tbody></table></section>"
    )


def _files(data: Mapping[str, Any]) -> str:
    """Links to the other files of the folder (relative, so the folder stays self-contained)."""
    names = [n for n in data.get("files", []) if n != "report.html"]
    extra = [n for n in ("junit.xml", "cucumber.json", "report-screenshot.png") if n not in names]
    links = "".join(f'<li><a href="{_e(n)}">{_e(n)}</a></li>' for n in names)
    return (
        f'<ul class="files">{links}</ul><p class="mute">Written by pytest next to these when present: '
        f"{_e(', '.join(extra))}.</p>"
    )


def render(results_json: Mapping[str, Any]) -> str:
    """Render a results.json document as one self-contained HTML page (no external resources)."""
    data = results_json
    verdict = str(data.get("verdict", "INCONCLUSIVE"))
    has_evidence = any(s.get("evidence") for s in data.get("scenarios", []))
    toggle = (
        '<button class="tgl" id="toggle-evidence" type="button">Expand all evidence</button>' if has_evidence else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(verdict)} &middot; to-do acceptance run {_e(data.get('run_id'))}</title>"
        f"<style>{_CSS}</style></head><body>"
        + _banner(data)
        + '<div class="wrap">'
        + _tiles(data)
        + '<nav class="toc"><a href="#scenarios">Scenarios</a><a href="#recovery">Recovery</a>'
        '<a href="#availability">Availability</a><a href="#ledger">Ledger</a>'
        '<a href="#environment">Environment</a><a href="#files">Files</a></nav>'
        + _infra(data)
        + f'<section id="scenarios">{toggle}<h2>Features and scenarios</h2>{_features(data)}</section>'
        + f'<section id="recovery"><h2>Recovery time per fault</h2>{_recovery(data)}</section>'
        + f'<section id="availability"><h2>Availability per fault window</h2>{_availability(data)}</section>'
        + f'<section id="ledger"><h2>Acknowledged-write ledger</h2>{_ledger(data)}</section>'
        + f'<section id="environment"><h2>Environment fingerprint</h2>{_environment(data)}</section>'
        + f'<section id="files"><h2>Files in this folder</h2>{_files(data)}</section>'
        + f"<footer>results.json schema version {_e(data.get('schema_version'))} &middot; "
        "rendered by <code>python -m report</code></footer></div>"
        f"<script>{_JS}</script></body></html>\n"
    )
