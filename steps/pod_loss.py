"""Steps that lose pods (or the database server process) and check Kubernetes restores them."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from support.adapters import WorkloadAdapter
from support.budgets import recovery_within
from support.cluster import ClusterHandle
from support.conditions import app_serving, old_pods_gone, recovered, restarted
from support.faults import FaultInjector, FaultLog
from support.results import Results
from support.vocabulary import FAULT_PHRASES, TIERS, inject
from support.waits import all_of

__all__: list[str] = []

POD_FAULTS = "|".join(p for p in FAULT_PHRASES if "node" not in p)


@when(parsers.re(f"(?P<phrase>{POD_FAULTS})"))
def _(faults: FaultInjector, fault_log: FaultLog, phrase: str) -> None:
    """Inject the pod or process fault the phrase names."""
    inject(phrase, faults, fault_log)


@then(
    parsers.re(
        r"the (?P<tier>database|back end|front end) is back to (?P<count>\d+) ready replicas? within "
        r"(?P<seconds>\d+) seconds, with new pods in place of the lost ones"
    )
)
def _(
    deployed: ClusterHandle,
    app: WorkloadAdapter,
    fault_log: FaultLog,
    results: Results,
    tier: str,
    count: str,
    seconds: str,
) -> None:
    """All replicas new and Ready and a request served through the front end, within the budget."""
    fault = fault_log.last
    name = TIERS[tier]
    condition = recovered(deployed, app, name, int(count), fault.old_uids)
    recovery_within(results, fault, condition, float(seconds), name, f"{tier} back to {count} within {seconds} s")
    # The window stays open until the killed pods are gone for good, then a settle period.
    fault_log.close_window(old_pods_gone(deployed, name, fault.old_uids))


@then(parsers.parse("the database server is restarted in its pod and ready within {seconds:d} seconds"))
def _(deployed: ClusterHandle, app: WorkloadAdapter, fault_log: FaultLog, results: Results, seconds: int) -> None:
    """The same pod's container restarted (restart count grew), Ready, and the app serves again."""
    fault = fault_log.last
    condition = all_of(
        "database server restarted and serving",
        restarted(deployed, "database", fault.old_restarts),
        app_serving(app),
    )
    recovery_within(results, fault, condition, float(seconds), "database", f"server restarted within {seconds} s")
    pods = deployed.ready_pods("database")
    assert [p.uid for p in pods] == sorted(fault.old_uids), f"the database pod was replaced: {pods}"
    fault_log.close_window()
