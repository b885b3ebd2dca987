"""Steps that stop, start, pause and unpause worker nodes of the suite's kind cluster."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from support.adapters import WorkloadAdapter
from support.budgets import recovery_within
from support.cluster import ClusterHandle
from support.conditions import all_tiers_ready, app_serving, node_ready, replicas_ready, serving_without_node
from support.faults import FaultInjector, FaultLog
from support.results import Results
from support.vocabulary import FAULT_PHRASES, NODE_DOWN, inject
from support.waits import all_of

__all__: list[str] = []

NODE_FAULTS = "|".join(p for p in FAULT_PHRASES if "node" in p)


@given("the app's replicas are spread over both workers")
def _(deployed: ClusterHandle, faults: FaultInjector) -> None:
    """Back end and front end have a replica on every worker (a past node loss may have piled them up)."""
    for tier in ("backend", "frontend"):
        faults.spread(tier)


@when(parsers.re(f"(?P<phrase>{NODE_FAULTS})"))
def _(faults: FaultInjector, fault_log: FaultLog, phrase: str) -> None:
    """Inject the node fault the phrase names (only the suite's own worker containers)."""
    inject(phrase, faults, fault_log)


@then(parsers.parse("that node is reported not ready within {seconds:d} seconds"))
def _(deployed: ClusterHandle, fault_log: FaultLog, results: Results, seconds: int) -> None:
    """Kubernetes notices the lost node within the budget."""
    fault = fault_log.last
    condition = node_ready(deployed, fault_log.last_node(*NODE_DOWN), ready=False)
    recovery_within(results, fault, condition, float(seconds), "node noticed", f"not ready within {seconds} s")


@then(parsers.parse("the back end and the front end serve from the remaining nodes within {seconds:d} seconds"))
def _(deployed: ClusterHandle, app: WorkloadAdapter, fault_log: FaultLog, results: Results, seconds: int) -> None:
    """Replicas rescheduled off the lost node, Ready, and serving, within the budget from the fault."""
    node = fault_log.last_node(*NODE_DOWN)
    fault = next(f for f in reversed(fault_log.injected) if f.targets == [node] and f.name in NODE_DOWN)
    condition = serving_without_node(deployed, app, node)
    recovery_within(results, fault, condition, float(seconds), "backend+frontend", f"serving within {seconds} s")
    fault_log.close_window()


@then(parsers.parse("that node is ready again within {seconds:d} seconds"))
def _(deployed: ClusterHandle, fault_log: FaultLog, results: Results, seconds: int) -> None:
    """The node rejoins Ready."""
    fault = fault_log.last
    condition = node_ready(deployed, fault.targets[0], ready=True)
    recovery_within(results, fault, condition, float(seconds), "node", f"ready again within {seconds} s")


@then(parsers.parse("every tier runs its desired number of ready replicas within {seconds:d} seconds"))
def _(deployed: ClusterHandle, app: WorkloadAdapter, fault_log: FaultLog, results: Results, seconds: int) -> None:
    """Every tier at its profile's Ready replicas and the app serving, within the budget from the last fault."""
    condition = all_of("desired state and serving", all_tiers_ready(deployed), app_serving(app))
    recovery_within(results, fault_log.last, condition, float(seconds), "all tiers", f"desired state in {seconds} s")


@then(parsers.re(r"the database is back to (?P<count>\d+) ready replicas? within (?P<seconds>\d+) seconds"))
def _(
    deployed: ClusterHandle, app: WorkloadAdapter, fault_log: FaultLog, results: Results, count: str, seconds: str
) -> None:
    """The database Ready again (its volume lives on the node that came back) and the app serving."""
    fault = fault_log.last
    condition = all_of("database back and serving", replicas_ready(deployed, "database", int(count)), app_serving(app))
    recovery_within(results, fault, condition, float(seconds), "database", f"database back within {seconds} s")
