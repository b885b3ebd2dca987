"""The features' words, once: tier names as the Gherkin spells them, and every fault phrase with its action."""

from __future__ import annotations

from collections.abc import Callable

from common.names import GHERKIN_TIERS
from support.faults import Fault, FaultInjector, FaultLog

__all__ = ["FAULT_PHRASES", "NODE_DOWN", "TIERS", "inject"]

# Gherkin spelling -> tier name used by the cluster handle.
TIERS: dict[str, str] = dict(GHERKIN_TIERS)
NODE_DOWN = ("worker node stopped", "worker node paused")


def _db_node(faults: FaultInjector) -> str:
    """The worker the database pod runs on."""
    pods = faults.cluster.ready_pods("database")
    if len(pods) != 1:
        raise RuntimeError(f"expected one Ready database pod to find its node, found {[p.name for p in pods]}")
    return pods[0].node


# Phrase -> action; single-fault steps and the durability table read the same words, so they cannot drift.
FAULT_PHRASES: dict[str, Callable[[FaultInjector, FaultLog], Fault]] = {
    "one back-end pod is stopped gracefully": lambda f, _: f.kill_pod("backend", grace_seconds=None),
    "one back-end pod is killed immediately": lambda f, _: f.kill_pod("backend", grace_seconds=0),
    "one front-end pod is killed immediately": lambda f, _: f.kill_pod("frontend", grace_seconds=0),
    "one back-end replica is lost": lambda f, _: f.kill_pod("backend", grace_seconds=0),
    "all back-end pods are killed at once": lambda f, _: f.kill_all("backend", grace_seconds=0),
    "the database pod is killed": lambda f, _: f.kill_pod("database", grace_seconds=0),
    "the database server is killed abruptly inside its container": lambda f, _: f.kill_mysqld(),
    "a worker node hosting back-end replicas is stopped": lambda f, _: f.stop_node(
        f.pick_worker("backend", avoid_tier="database")
    ),
    "the worker node holding the database is stopped": lambda f, _: f.stop_node(_db_node(f)),
    "a worker node hosting back-end replicas hangs": lambda f, _: f.pause_node(
        f.pick_worker("backend", avoid_tier="database")
    ),
    "the stopped node is started again": lambda f, log: f.start_node(log.last_node("worker node stopped")),
    "the hung node recovers": lambda f, log: f.unpause_node(log.last_node("worker node paused")),
}


def inject(phrase: str, faults: FaultInjector, fault_log: FaultLog) -> Fault:
    """Inject the fault a phrase names and open its window."""
    try:
        action = FAULT_PHRASES[phrase]
    except KeyError:
        raise KeyError(f"unknown fault {phrase!r}; known: {sorted(FAULT_PHRASES)}") from None
    return fault_log.add(action(faults, fault_log))
