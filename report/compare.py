"""Compare two results.json documents: what changed in verdict, budgets, recovery, availability and ledger."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["compare"]


def _fmt(value: Any, unit: str = "") -> str:
    """A value for a markdown cell."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}{unit}"
    return f"{value}{unit}"


def _delta(new: Any, old: Any, unit: str = "") -> str:
    """new - old with a sign, when both are numbers."""
    if isinstance(new, int | float) and isinstance(old, int | float) and not isinstance(new, bool):
        d = float(new) - float(old)
        return f"{d:+.2f}{unit}"
    return ""


def _by(rows: list[Mapping[str, Any]], *keys: str) -> dict[tuple[str, ...], Mapping[str, Any]]:
    """Index rows by the given keys."""
    return {tuple(str(r.get(k)) for k in keys): r for r in rows}


def compare(new: Mapping[str, Any], old: Mapping[str, Any]) -> str:
    """Markdown describing what changed from old (the baseline) to new."""
    out = [f"# Comparison: run {new.get('run_id')} against baseline {old.get('run_id')}", ""]
    nv, ov = new.get("verdict"), old.get("verdict")
    out.append(f"## Verdict: {ov} -> {nv}" + ("" if nv != ov else " (unchanged)"))
    reasons = [r for r in new.get("reasons", []) if r not in old.get("reasons", [])]
    gone = [r for r in old.get("reasons", []) if r not in new.get("reasons", [])]
    out += [f"- new: {r}" for r in reasons] + [f"- resolved: {r}" for r in gone]

    out += ["", "## Scenarios whose outcome changed"]
    olds = _by(list(old.get("scenarios", [])), "feature", "scenario")
    news = _by(list(new.get("scenarios", [])), "feature", "scenario")
    changed = [
        f"- {k[0]} / {k[1]}: {olds[k]['outcome'] if k in olds else 'absent'} -> "
        f"{news[k]['outcome'] if k in news else 'absent'}"
        for k in sorted(set(olds) | set(news))
        if (olds.get(k) or {}).get("outcome") != (news.get(k) or {}).get("outcome")
    ]
    out += changed or ["- none"]

    out += [
        "",
        "## Recovery (seconds)",
        "| fault | tier | budget | p50 old -> new | p95 old -> new | max old -> new | result |",
        "|---|---|---|---|---|---|---|",
    ]
    orec = _by(list(old.get("recovery_summary", [])), "fault", "tier")
    nrec = _by(list(new.get("recovery_summary", [])), "fault", "tier")
    for k in sorted(set(orec) | set(nrec)):
        o, n = orec.get(k, {}), nrec.get(k, {})
        budget = (
            _fmt(n.get("budget_s"))
            if n.get("budget_s") == o.get("budget_s")
            else (f"{_fmt(o.get('budget_s'))} -> {_fmt(n.get('budget_s'))}")
        )
        cells = [
            f"{_fmt(o.get(m))} -> {_fmt(n.get(m))} ({_delta(n.get(m), o.get(m))})".replace(" ()", "")
            for m in ("p50", "p95", "max")
        ]
        result = f"{_pf(o.get('passed'))} -> {_pf(n.get('passed'))}"
        out.append(f"| {k[0]} | {k[1]} | {budget} | {' | '.join(cells)} | {result} |")

    out += [
        "",
        "## Availability per fault window",
        "| fault | availability % old -> new | longest outage s old -> new |",
        "|---|---|---|",
    ]
    ow = _by(list(old.get("availability", {}).get("windows", [])), "fault")
    nw = _by(list(new.get("availability", {}).get("windows", [])), "fault")
    for k in sorted(set(ow) | set(nw)):
        o, n = ow.get(k, {}), nw.get(k, {})
        out.append(
            f"| {k[0]} | {_fmt(o.get('availability_pct'))} -> {_fmt(n.get('availability_pct'))} | "
            f"{_fmt(o.get('longest_outage_s'))} -> {_fmt(n.get('longest_outage_s'))} |"
        )

    out += ["", "## Ledger totals", "| count | old | new |", "|---|---|---|"]
    ot = old.get("ledger", {}).get("totals", {})
    nt = new.get("ledger", {}).get("totals", {})
    for key in ("attempted", "ok", "failed", "unknown", "lost", "phantom", "duplicate"):
        mark = " **changed**" if ot.get(key, 0) != nt.get(key, 0) else ""
        out.append(f"| {key} | {ot.get(key, 0)} | {nt.get(key, 0)}{mark} |")
    return "\n".join(out) + "\n"


def _pf(passed: Any) -> str:
    """pass/FAIL/- for a budget result."""
    if passed is None:
        return "-"
    return "pass" if passed else "FAIL"
