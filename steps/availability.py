"""Steps that watch availability with a bounded background reader during faults."""

from __future__ import annotations

from pytest_bdd import given, parsers, then

from support.app import TodoApp
from support.faults import FaultLog
from support.traffic import BackgroundReader, WindowStats

__all__: list[str] = []

READ_INTERVAL_S = 0.1
READ_MAX_REQUESTS = 5000
READ_MAX_SECONDS = 600.0


def _last_window(fault_log: FaultLog) -> WindowStats:
    """The availability of the scenario's last closed fault window, which must hold samples."""
    assert fault_log.windows, "no fault window was closed: the recovery step must run before this one"
    stats = fault_log.stats(fault_log.windows[-1])
    assert stats.requests > 0, f"the reader made no request during {stats.name}"
    return stats


@given("a reader that keeps reading the to-do list through the front end")
def _(app: TodoApp, fault_log: FaultLog) -> None:
    """A bounded background reader, stopped at the end of the scenario."""
    reader = BackgroundReader(
        app.probe, interval=READ_INTERVAL_S, max_requests=READ_MAX_REQUESTS, max_seconds=READ_MAX_SECONDS
    )
    reader.start()
    fault_log.reader = reader


@then("no request failed during the fault")
def _(fault_log: FaultLog) -> None:
    """Every sampled request in the fault window succeeded."""
    stats = _last_window(fault_log)
    failures = [s for s in fault_log.reader.results if not s.ok] if fault_log.reader else []
    assert stats.failed == 0, (
        f"{stats.failed} of {stats.requests} requests failed during {stats.name}: "
        + "; ".join(f"t={s.t:.2f}s {s.status} {s.error}" for s in failures[:5])
    )


@then(parsers.parse("at least {percent:d} percent of requests succeeded during the fault"))
def _(fault_log: FaultLog, percent: int) -> None:
    """Availability in the fault window meets the budget."""
    stats = _last_window(fault_log)
    assert stats.availability_pct is not None and stats.availability_pct >= percent, (
        f"availability {stats.availability_pct:.1f}% < {percent}% during {stats.name} "
        f"({stats.failed}/{stats.requests} failed)"
    )


@then(parsers.parse("no outage during the fault lasted longer than {seconds:d} seconds"))
def _(fault_log: FaultLog, seconds: int) -> None:
    """The longest run of failed requests in the window stays within the budget."""
    stats = _last_window(fault_log)
    assert stats.longest_outage_s is not None and stats.longest_outage_s <= seconds, (
        f"longest outage {stats.longest_outage_s:.1f}s > {seconds}s during {stats.name}"
    )
