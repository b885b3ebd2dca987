"""Steps that stop, start, pause and unpause worker nodes of the suite's kind cluster."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from support.app import TodoApp
from support.cluster import ClusterHandle
from support.conditions import all_tiers_ready, app_serving, node_ready, replicas_ready, serving_without_node
from support.faults import FaultInjector, FaultLog, measure_recovery
from support.results import Results
from support.waits import all_of, until

__all__: list[str] = []

NODE_DOWN = ("worker node stopped", "worker node paused")


def _record_window(fault_log: FaultLog, results: Results) -> None:
    """Close the fault's availability window, if traffic watched it, and keep its numbers."""
    record = fault_log.close_and_measure()
    if record is not None:
        results.record_availability(record)


@given("the app's replicas are spread over both workers")
def _(deployed: ClusterHandle, faults: FaultInjector) -> None:
    """Back end and front end have a replica on every worker (a past node loss may have piled them up)."""
    for tier in ("backend", "frontend"):
        faults.spread(tier)


@when("a worker node hosting back-end replicas is stopped")
def _(faults: FaultInjector, fault_log: FaultLog) -> None:
    """Stop (docker stop) a worker with a back-end replica and without the database."""
    fault_log.add(faults.stop_node(faults.pick_worker("backend", avoid_tier="database")))


@when("the worker node holding the database is stopped")
def _(faults: FaultInjector, deployed: ClusterHandle, fault_log: FaultLog) -> None:
    """Stop the worker the database pod runs on."""
    pods = deployed.ready_pods("database")
    assert len(pods) == 1, f"expected one Ready database pod, found {pods}"
    fault_log.add(faults.stop_node(pods[0].node))


@when("a worker node hosting back-end replicas hangs")
def _(faults: FaultInjector, fault_log: FaultLog) -> None:
    """Freeze (docker pause) a worker with a back-end replica and without the database."""
    fault_log.add(faults.pause_node(faults.pick_worker("backend", avoid_tier="database")))


@when("the stopped node is started again")
def _(faults: FaultInjector, fault_log: FaultLog) -> None:
    """Start the node this scenario stopped."""
    fault_log.add(faults.start_node(fault_log.last_node("worker node stopped")))


@when("the hung node recovers")
def _(faults: FaultInjector, fault_log: FaultLog) -> None:
    """Unpause the node this scenario paused."""
    fault_log.add(faults.unpause_node(fault_log.last_node("worker node paused")))


@then(parsers.parse("that node is reported not ready within {seconds:d} seconds"))
def _(deployed: ClusterHandle, fault_log: FaultLog, seconds: int) -> None:
    """Kubernetes notices the lost node."""
    fault = fault_log.last
    measure_recovery(
        fault, node_ready(deployed, fault_log.last_node(*NODE_DOWN), ready=False), float(seconds)
    )


@then(
    parsers.parse("the back end and the front end serve from the remaining nodes within {seconds:d} seconds")
)
def _(deployed: ClusterHandle, app: TodoApp, fault_log: FaultLog, results: Results, seconds: int) -> None:
    """Replicas rescheduled off the lost node, Ready, and serving, within the budget from the fault."""
    node = fault_log.last_node(*NODE_DOWN)
    fault = next(f for f in reversed(fault_log.injected) if f.targets == [node] and f.name in NODE_DOWN)
    took = measure_recovery(fault, serving_without_node(deployed, app, node), float(seconds))
    results.record_recovery(fault.name, "backend+frontend", took, float(seconds))
    _record_window(fault_log, results)


@then(parsers.parse("that node is ready again within {seconds:d} seconds"))
def _(deployed: ClusterHandle, fault_log: FaultLog, results: Results, seconds: int) -> None:
    """The node rejoins Ready."""
    fault = fault_log.last
    took = measure_recovery(fault, node_ready(deployed, fault.targets[0], ready=True), float(seconds))
    results.record_recovery(fault.name, "node", took, float(seconds))


@then(parsers.parse("every tier runs its desired number of ready replicas within {seconds:d} seconds"))
def _(deployed: ClusterHandle, app: TodoApp, seconds: int) -> None:
    """Database 1, back end 2, front end 2, Ready, and the app serving."""
    until(
        all_of("desired state and serving", all_tiers_ready(deployed), app_serving(app)),
        timeout=seconds,
        interval=1.0,
    )


@then(parsers.re(r"the database is back to (?P<count>\d+) ready replicas? within (?P<seconds>\d+) seconds"))
def _(
    deployed: ClusterHandle, app: TodoApp, fault_log: FaultLog, results: Results, count: str, seconds: str
) -> None:
    """The database Ready again (its volume lives on the node that came back) and the app serving."""
    fault = fault_log.last
    condition = all_of(
        "database back and serving", replicas_ready(deployed, "database", int(count)), app_serving(app)
    )
    took = measure_recovery(fault, condition, float(seconds))
    results.record_recovery(fault.name, "database", took, float(seconds))
