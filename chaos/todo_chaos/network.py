"""Network actions and probes for chaostoolkit, built on support.netfaults (no Chaos Mesh needed on kind)."""

# No `from __future__ import annotations`: chaoslib discovery reads the annotation objects themselves.
from pathlib import Path
from typing import Any

__all__ = ["cut_off_backend_from_database", "no_network_fault_left", "remove_network_faults"]

DEFAULT_NAMESPACE = "todo"
DATABASE_PORT = 3306


def _injector(kubeconfig: str | None, context: str | None, namespace: str) -> Any:
    """A network-fault injector on the suite's kind cluster, its safety facts read from the cluster's marker."""
    from chaos.todo_chaos.probes import _context, _kubeconfig
    from support.chaos import SUITE_CLUSTER, marker_facts
    from support.cluster import ClusterHandle
    from support.faults import DockerCli
    from support.netfaults import NetFaultInjector
    from support.safety import SafetyPolicy, TargetFacts
    from support.undo import UndoStack
    from support.victims import Victims

    path: Path = _kubeconfig(kubeconfig)
    target: str = _context(context)

    class MarkedCluster(ClusterHandle):
        """The cluster handle, with the marker checked by name (a standalone run cannot know the kit's token)."""

        def facts(self) -> TargetFacts:
            """Safety facts from the marker ConfigMap."""
            return marker_facts(path, target)

    cluster = MarkedCluster(path, target, namespace, kind_cluster=SUITE_CLUSTER)
    return NetFaultInjector(
        cluster, SafetyPolicy(SUITE_CLUSTER), Victims(0), UndoStack("chaos network fault"), DockerCli(), SUITE_CLUSTER
    )


def cut_off_backend_from_database(
    seconds: float,
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str = DEFAULT_NAMESPACE,
) -> dict[str, Any]:
    """Drop every back-end pod's packets to the database for `seconds`, then heal; returns what was done."""
    import time

    from support.netfaults import NetFault

    if not 0 < float(seconds) <= 300:
        raise ValueError(f"a partition is bounded to 300 s, asked for {seconds!r}")
    injector = _injector(kubeconfig, context, namespace)
    spec = NetFault("back end cut off from the database", "drop", (DATABASE_PORT,))
    pods = injector.cluster.ready_pods("backend")
    with injector.undo_stack:  # Ctrl-C or SIGTERM during the hold still heals
        fault = injector.apply(spec, "backend", pods)
        time.sleep(float(seconds))
        injector.heal(spec.name)
    return {"fault": fault.name, "pods": fault.targets, "held_s": float(seconds), "detail": fault.detail}


def remove_network_faults(
    kubeconfig: str | None = None, context: str | None = None, namespace: str = DEFAULT_NAMESPACE
) -> dict[str, list[str]]:
    """Rollback: remove every qdisc and packet filter of the suite from every running pod; returns what went."""
    removed: dict[str, list[str]] = _injector(kubeconfig, context, namespace).scrub()
    return removed


def no_network_fault_left(
    kubeconfig: str | None = None, context: str | None = None, namespace: str = DEFAULT_NAMESPACE
) -> bool:
    """True when no pod of the namespace keeps a qdisc or packet filter of the suite."""
    left = _injector(kubeconfig, context, namespace).leftovers()
    if left:
        raise AssertionError(f"network faults left in pods: {left}")
    return True
