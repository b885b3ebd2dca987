"""Steps that lose pods (or the database server process) and check Kubernetes restores them."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from support.app import TodoApp
from support.cluster import ClusterHandle
from support.conditions import app_serving, recovered, restarted
from support.faults import FaultInjector, FaultLog, measure_recovery
from support.results import Results
from support.waits import all_of

__all__: list[str] = []

TIERS = {
    "database": "database",
    "back end": "backend",
    "front end": "frontend",
    "back-end": "backend",
    "front-end": "frontend",
}


def _record_window(fault_log: FaultLog, results: Results) -> None:
    """Close the fault's availability window, if traffic watched it, and keep its numbers."""
    record = fault_log.close_and_measure()
    if record is not None:
        results.record_availability(record)


@when("one back-end pod is stopped gracefully")
def _(faults: FaultInjector, fault_log: FaultLog) -> None:
    """Delete one back-end pod with its own termination grace period."""
    fault_log.add(faults.kill_pod("backend", grace_seconds=None))


@when(parsers.re(r"one (?P<tier>back-end|front-end) pod is killed immediately"))
def _(faults: FaultInjector, fault_log: FaultLog, tier: str) -> None:
    """Delete one pod of the tier with no grace period."""
    fault_log.add(faults.kill_pod(TIERS[tier], grace_seconds=0))


@when("one back-end replica is lost")
def _(faults: FaultInjector, fault_log: FaultLog) -> None:
    """A back-end replica disappears abruptly."""
    fault_log.add(faults.kill_pod("backend", grace_seconds=0))


@when("all back-end pods are killed at once")
def _(faults: FaultInjector, fault_log: FaultLog) -> None:
    """Delete every back-end pod immediately."""
    fault_log.add(faults.kill_all("backend", grace_seconds=0))


@when("the database pod is killed")
def _(faults: FaultInjector, fault_log: FaultLog) -> None:
    """Delete the database pod immediately (no clean shutdown)."""
    fault_log.add(faults.kill_pod("database", grace_seconds=0))


@when("the database server is killed abruptly inside its container")
def _(faults: FaultInjector, fault_log: FaultLog) -> None:
    """SIGKILL mysqld; the pod stays and its container restarts."""
    fault_log.add(faults.kill_mysqld())


@then(
    parsers.re(
        r"the (?P<tier>database|back end|front end) is back to (?P<count>\d+) ready replicas? within "
        r"(?P<seconds>\d+) seconds, with new pods in place of the lost ones"
    )
)
def _(
    deployed: ClusterHandle,
    app: TodoApp,
    fault_log: FaultLog,
    results: Results,
    tier: str,
    count: str,
    seconds: str,
) -> None:
    """All replicas new and Ready and a request served through the front end, within the budget."""
    fault = fault_log.last
    name = TIERS[tier]
    took = measure_recovery(fault, recovered(deployed, app, name, int(count), fault.old_uids), float(seconds))
    results.record_recovery(fault.name, name, took, float(seconds))
    _record_window(fault_log, results)


@then(parsers.parse("the database server is restarted in its pod and ready within {seconds:d} seconds"))
def _(deployed: ClusterHandle, app: TodoApp, fault_log: FaultLog, results: Results, seconds: int) -> None:
    """The same pod's container restarted (restart count grew), Ready, and the app serves again."""
    fault = fault_log.last
    condition = all_of(
        "database server restarted and serving",
        restarted(deployed, "database", fault.old_restarts),
        app_serving(app),
    )
    took = measure_recovery(fault, condition, float(seconds))
    pods = deployed.ready_pods("database")
    assert [p.uid for p in pods] == sorted(fault.old_uids), f"the database pod was replaced: {pods}"
    results.record_recovery(fault.name, "database", took, float(seconds))
    _record_window(fault_log, results)
