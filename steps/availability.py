"""Steps that watch availability with bounded concurrent readers during faults."""

from __future__ import annotations

from pytest_bdd import given, parsers, then

from support.adapters import WorkloadAdapter
from support.budgets import enforce_window
from support.faults import FaultLog
from support.results import Results

__all__: list[str] = []

READERS = 4  # requests in flight at once, so a replica that drops in-flight requests is seen
READ_INTERVAL_S = 0.2  # per reader: 20 requests a second in all
READ_MAX_REQUESTS = 3000
READ_MAX_SECONDS = 600.0


@given("a reader that keeps reading the to-do list through the front end")
def _(app: WorkloadAdapter, fault_log: FaultLog) -> None:
    """Bounded concurrent background readers, stopped at the end of the scenario."""
    fault_log.start_readers(
        app.sample,
        concurrency=READERS,
        interval=READ_INTERVAL_S,
        max_requests=READ_MAX_REQUESTS,
        max_seconds=READ_MAX_SECONDS,
    )


@then("no request failed during the fault")
def _(fault_log: FaultLog, results: Results) -> None:
    """Every request in the fault window succeeded (and the window was covered by traffic)."""
    enforce_window(results, fault_log, "no request failed during the fault", "failed", "<=", 0)


@then(parsers.parse("at least {percent:d} percent of requests succeeded during the fault"))
def _(fault_log: FaultLog, results: Results, percent: int) -> None:
    """Availability in the fault window, by count and over time, meets the budget."""
    step = f"at least {percent} percent of requests succeeded"
    enforce_window(results, fault_log, step, "availability_pct", ">=", percent, "%")
    enforce_window(results, fault_log, step + " (over time)", "availability_time_pct", ">=", percent, "%")


@then(parsers.parse("no outage during the fault lasted longer than {seconds:d} seconds"))
def _(fault_log: FaultLog, results: Results, seconds: int) -> None:
    """The longest outage in the window (a hung request is down while it hangs) stays within the budget."""
    step = f"no outage longer than {seconds} s"
    enforce_window(results, fault_log, step, "longest_outage_s", "<=", seconds, "s")
