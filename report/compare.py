"""Compare two runs (schema 2): what changed in verdict, scope, scenarios, budgets, recovery, availability, ledger."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from record.model import Run
from report.history import availability_by_fault
from report.load import as_run

__all__ = ["compare"]

_LEDGER_KEYS = (
    "attempted",
    "ok",
    "failed",
    "unknown",
    "lost",
    "phantom",
    "duplicate",
    "updates_acknowledged",
    "lost_updates",
    "deletes_acknowledged",
    "resurrected",
)


def _fmt(value: float | int | None, unit: str = "") -> str:
    """A value for a markdown cell."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}{unit}"
    return f"{value}{unit}"


def _delta(new: float | None, old: float | None) -> str:
    """' (+1.23)' for new - old when both are known."""
    return f" ({new - old:+.2f})" if new is not None and old is not None else ""


def _pf(passed: bool | None) -> str:
    """pass/FAIL/- for a budget result."""
    return "-" if passed is None else ("pass" if passed else "FAIL")


def compare(new_run: Run | Mapping[str, Any], old_run: Run | Mapping[str, Any]) -> str:
    """Markdown describing what changed from old (the baseline) to new."""
    new, old = as_run(new_run, "the run"), as_run(old_run, "the baseline")
    out = [f"# Comparison: run {new.run_id} against baseline {old.run_id}", ""]
    same = " (unchanged)" if new.verdict == old.verdict else ""
    out.append(f"## Verdict: {old.verdict} -> {new.verdict}{same}")
    out.append(f"- exit code: {old.exit_code} -> {new.exit_code}")
    out.append(
        f"- scope: {'complete' if old.scope.complete else 'partial'} ({old.scope.ran} of {old.scope.catalogue}) -> "
        f"{'complete' if new.scope.complete else 'partial'} ({new.scope.ran} of {new.scope.catalogue})"
    )
    out += [f"- new: {r}" for r in new.reasons if r not in old.reasons]
    out += [f"- gone: {r}" for r in old.reasons if r not in new.reasons]

    out += ["", "## Scenarios whose outcome changed"]
    olds = {(s.feature, s.scenario): s.outcome for s in old.scenarios}
    news = {(s.feature, s.scenario): s.outcome for s in new.scenarios}
    changed = [
        f"- {k[0]} / {k[1]}: {olds.get(k, 'absent')} -> {news.get(k, 'absent')}"
        for k in sorted(set(olds) | set(news))
        if olds.get(k) != news.get(k)
    ]
    out += changed or ["- none"]

    out += ["", "## Budgets whose result changed"]
    ob = {(b.scenario, b.metric, b.subject or b.step): b for b in old.budgets}
    nb = {(b.scenario, b.metric, b.subject or b.step): b for b in new.budgets}
    rows = []
    for bk in sorted(set(ob) | set(nb)):
        o, n = ob.get(bk), nb.get(bk)
        if (o.passed if o else None) != (n.passed if n else None):
            rows.append(
                f"- {bk[0]}: {bk[1]} of {bk[2]}: {_pf(o.passed if o else None)} "
                f"({_fmt(o.measured if o else None)}) -> {_pf(n.passed if n else None)} "
                f"({_fmt(n.measured if n else None)})"
            )
    out += rows or ["- none"]

    out += [
        "",
        "## Recovery (seconds)",
        "| fault | tier | budget | p50 old -> new | p95 old -> new | max old -> new | result |",
        "|---|---|---|---|---|---|---|",
    ]
    orec = {(r.fault, r.tier): r for r in old.recovery_summary}
    nrec = {(r.fault, r.tier): r for r in new.recovery_summary}
    for rk in sorted(set(orec) | set(nrec)):
        ro, rn = orec.get(rk), nrec.get(rk)
        ob_s, nb_s = (ro.budget_s if ro else None), (rn.budget_s if rn else None)
        budget = _fmt(nb_s) if ob_s == nb_s else f"{_fmt(ob_s)} -> {_fmt(nb_s)}"
        cells = []
        for m in ("p50", "p95", "max"):
            a = getattr(ro, m) if ro else None
            b = getattr(rn, m) if rn else None
            cells.append(f"{_fmt(a)} -> {_fmt(b)}{_delta(b, a)}")
        result = f"{_pf(ro.passed if ro else None)} -> {_pf(rn.passed if rn else None)}"
        out.append(f"| {rk[0]} | {rk[1]} | {budget} | {' | '.join(cells)} | {result} |")

    out += [
        "",
        "## Availability per fault (worst window)",
        "| fault | availability % old -> new | windows old -> new |",
        "|---|---|---|",
    ]
    oa, na = availability_by_fault(old), availability_by_fault(new)
    ocount = _window_counts(old)
    ncount = _window_counts(new)
    for k in sorted(set(oa) | set(na) | set(ocount) | set(ncount)):
        a, b = oa.get(k), na.get(k)
        out.append(f"| {k} | {_fmt(a)} -> {_fmt(b)}{_delta(b, a)} | {ocount.get(k, 0)} -> {ncount.get(k, 0)} |")

    out += ["", "## Ledger totals", "| count | old | new |", "|---|---|---|"]
    for key in _LEDGER_KEYS:
        o_v, n_v = getattr(old.ledger.totals, key), getattr(new.ledger.totals, key)
        mark = " **changed**" if o_v != n_v else ""
        out.append(f"| {key} | {o_v} | {n_v}{mark} |")
    return "\n".join(out) + "\n"


def _window_counts(run: Run) -> dict[str, int]:
    """How many windows each fault had."""
    out: dict[str, int] = {}
    for w in run.availability.windows:
        out[w.fault] = out.get(w.fault, 0) + 1
    return out
