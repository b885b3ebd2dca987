"""Budgets from the features' text: every one is measured, recorded with its result, then enforced."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from support.faults import Fault, FaultLog, measure_recovery
from support.results import Results
from support.waits import Condition, WaitTimeout, until

__all__ = ["enforce", "enforce_window", "latency_metric", "recovery_within", "timed", "within"]

Op = Literal["<=", ">="]
_WORDS = {"<=": "at most", ">=": "at least"}


def enforce(
    results: Results,
    step: str,
    metric: str,
    op: Op,
    limit: float,
    measured: float | None,
    unit: str = "",
    subject: str = "",
    detail: str = "",
) -> None:
    """Record the budget with its measurement, then fail the step when it is missed."""
    budget = results.record_budget(step, metric, op, limit, measured, unit, subject)
    if not budget.passed:
        seen = "nothing was measured" if measured is None else f"measured {measured:.3g}{unit}"
        raise AssertionError(
            f"{subject or step}: {metric} must be {_WORDS[op]} {limit:g}{unit}, {seen}"
            + (f"; {detail}" if detail else "")
        )


def enforce_window(
    results: Results,
    fault_log: FaultLog,
    step: str,
    metric: str,
    op: Op,
    limit: float,
    unit: str = "",
    *,
    index: int | None = None,
) -> None:
    """Check a fault window (the scenario's last, or `index`) against a budget: covered by traffic, and met.

    `metric` is one of the window's own figures (availability_pct, availability_time_pct, longest_outage_s,
    p50_latency_s, p95_latency_s, max_latency_s), so the budget is recorded beside the figure it judges.
    """
    index = fault_log.last_window if index is None else index
    budget = results.check_window(index, step, metric, op, limit, unit)
    w = results.window(index)
    if not w.covered:
        raise AssertionError(f"availability during {w.fault} is not proven: {w.coverage_problem}")
    if not budget.passed:
        raise AssertionError(
            f"during {w.fault}: {metric} must be {_WORDS[op]} {limit:g}{unit}, measured {budget.measured}{unit} "
            f"({w.failed} of {w.requests} requests failed, longest outage {w.longest_outage_s} s, "
            f"window {w.start_s:.1f}-{w.end_s:.1f} s on the run clock)"
        )


# The latency percentiles a window records (a budget can only judge a figure the results keep).
_PERCENTILES = {"50": "p50_latency_s", "95": "p95_latency_s", "100": "max_latency_s"}


def latency_metric(percent: str | int) -> str:
    """The window figure for "N percent of requests answered within S seconds"."""
    try:
        return _PERCENTILES[str(int(percent))]
    except (KeyError, ValueError):
        raise ValueError(
            f"a latency budget for {percent} percent of requests cannot be judged: windows record "
            f"p50, p95 and the slowest request (50, 95 or 100 percent)"
        ) from None


def recovery_within(
    results: Results,
    fault: Fault,
    condition: Condition,
    budget_s: float,
    tier: str,
    step: str,
    *,
    interval: float | None = None,
) -> float:
    """Wait for recovery within the budget counted from the fault; record it; fail if it came too late.

    `interval` paces a condition that acts (a write per check) instead of only observing.
    """
    try:
        took = (
            measure_recovery(fault, condition, budget_s)
            if interval is None
            else measure_recovery(fault, condition, budget_s, interval=interval)
        )
    except WaitTimeout:
        # Never recovered within the budget: recorded as the time waited, and failed.
        results.record_recovery(fault.name, tier, fault.elapsed(), budget_s, step=step, fault_t0=fault.t0)
        raise
    results.record_recovery(fault.name, tier, took, budget_s, step=step, fault_t0=fault.t0)
    # The condition may already hold at the first check after the budget was spent: that is still too late.
    if took > budget_s:
        raise AssertionError(f"{condition.name} after '{fault.name}' took {took:.2f} s, budget {budget_s:g} s")
    return took


def within(results: Results, step: str, condition: Condition, seconds: float, subject: str = "") -> object:
    """Wait for a condition within the budget counted from now; record the time it took, even when it never held."""
    started = time.monotonic()
    try:
        value = until(condition, timeout=seconds, interval=0.5)
    except WaitTimeout:
        results.record_budget(step, "time_s", "<=", seconds, time.monotonic() - started, "s", subject or condition.name)
        raise
    took = time.monotonic() - started
    enforce(results, step, "time_s", "<=", seconds, took, "s", subject or condition.name)
    return value


def timed(results: Results, step: str, seconds: float, wait: Callable[[], object], subject: str = "") -> object:
    """Run a bounded wait of someone else's (a page, a client), record how long it took against the budget."""
    started = time.monotonic()
    try:
        value = wait()
    except BaseException:
        results.record_budget(step, "time_s", "<=", seconds, time.monotonic() - started, "s", subject or step)
        raise
    enforce(results, step, "time_s", "<=", seconds, time.monotonic() - started, "s", subject or step)
    return value
