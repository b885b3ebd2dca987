"""Steps that slow, drop or cut the network between the app's tiers, inside the chosen pods' namespaces."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_bdd import parsers, then, when

from support.adapters import WorkloadAdapter
from support.budgets import enforce, enforce_window, latency_metric, recovery_within
from support.cluster import ClusterHandle
from support.conditions import app_serving, replicas_ready
from support.faults import DockerCli, Fault, FaultLog
from support.netfaults import KernelLacks, NetFault, NetFaultInjector
from support.results import Results
from support.safety import SafetyPolicy
from support.traffic import answer_kinds
from support.undo import UndoStack
from support.victims import Victims
from support.waits import all_of, hold_for

__all__: list[str] = []

DATABASE_PORT = 3306
BACKEND_PORT = 8080
DNS_PORT = 53
HOLD_POLL_S = 0.5


@dataclass
class HeldFault:
    """A network fault held for a while and healed: its clock, when it healed, what was seen meanwhile."""

    fault: Fault
    healed_at: float = 0.0
    observed: dict[str, float] = field(default_factory=dict)
    window: dict[str, Any] | None = None


# -- fixtures ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def network_undo() -> Iterator[UndoStack]:
    """Every network change of the run, undone at session end, on Ctrl-C, SIGTERM and exit too."""
    with UndoStack("network faults") as stack:
        yield stack


@pytest.fixture
def network(
    deployed: ClusterHandle, safety_policy: SafetyPolicy, seed: int, target: Any, network_undo: UndoStack
) -> Iterator[NetFaultInjector]:
    """Network faults for one scenario; on teardown everything is undone and no pod may keep a qdisc or filter."""
    kind = target.kind_cluster
    injector = NetFaultInjector(
        deployed, safety_policy, Victims(seed), network_undo, DockerCli() if kind else None, kind
    )
    yield injector
    problems = network_undo.restore_all()
    left = injector.leftovers() if kind else {}
    assert not problems and not left, f"network faults not undone: {problems}; still in pods: {left}"


# -- recording: the one place results are written -----------------------------------------------------------
def _window(held: HeldFault, fault_log: FaultLog) -> dict[str, Any]:
    """The fault's availability window (closed now if still open), which must hold samples."""
    if held.window is None:
        held.window = fault_log.close_and_measure()
    assert held.window is not None, "no reader or writer watched the fault"
    assert held.window["requests"] > 0, f"no request was made during {held.fault.name}"
    return held.window


# -- holding a fault --------------------------------------------------------------------------------------
def _hold(
    network: NetFaultInjector,
    fault_log: FaultLog,
    spec: NetFault,
    tier: str,
    pods: list[Any],
    seconds: int,
    observe: Callable[[HeldFault], None] | None = None,
) -> HeldFault:
    """Apply the fault, keep it for `seconds` (observing meanwhile), then heal it; the window stays open."""
    held = HeldFault(fault_log.add(network.apply(spec, tier, pods)))
    try:
        hold_for(seconds, interval=HOLD_POLL_S, observe=(lambda: observe(held)) if observe is not None else None)
    finally:
        network.heal(spec.name)
        held.healed_at = time.monotonic()
    return held


def _backend_pods(cluster: ClusterHandle) -> list[Any]:
    """Every Ready back-end pod (the fault applies to the whole tier)."""
    return cluster.ready_pods("backend")


def _watch_backend_unready(cluster: ClusterHandle) -> Callable[[HeldFault], None]:
    """Note when no back-end replica is Ready any more (the readiness probe noticed the lost database)."""

    def observe(held: HeldFault) -> None:
        """Record the first moment both replicas were reported not ready."""
        if "backend_unready_s" not in held.observed and cluster.ready_count("backend") == 0:
            held.observed["backend_unready_s"] = held.fault.elapsed()

    return observe


# -- faults -----------------------------------------------------------------------------------------------
@when(
    parsers.parse(
        "the back end's connection to the database is slowed by {delay:d} milliseconds for {seconds:d} seconds"
    ),
    target_fixture="held",
)
def _(deployed: ClusterHandle, network: NetFaultInjector, fault_log: FaultLog, delay: int, seconds: int) -> HeldFault:
    """A delay (with 10 percent jitter) on every back-end pod's packets to the database port: netem, or where the
    kernel has none, the kit's NFQUEUE holder (the fault's detail says which)."""
    spec = NetFault("database latency", "delay", (DATABASE_PORT,), delay_ms=delay, jitter_ms=max(1, delay // 10))
    try:
        return _hold(network, fault_log, spec, "backend", _backend_pods(deployed), seconds)
    except KernelLacks as exc:
        pytest.skip(f"not run on this host: {exc}")


@when(
    parsers.parse("{percent:d} percent of the back end's packets to the database are lost for {seconds:d} seconds"),
    target_fixture="held",
)
def _(deployed: ClusterHandle, network: NetFaultInjector, fault_log: FaultLog, percent: int, seconds: int) -> HeldFault:
    """Each of every back-end pod's packets to the database port dropped at random with that chance."""
    spec = NetFault("database packet loss", "loss", (DATABASE_PORT,), loss_pct=float(percent))
    return _hold(network, fault_log, spec, "backend", _backend_pods(deployed), seconds)


@when(parsers.parse("the back end is cut off from the database for {seconds:d} seconds"), target_fixture="held")
def _(deployed: ClusterHandle, network: NetFaultInjector, fault_log: FaultLog, seconds: int) -> HeldFault:
    """Every back-end pod's packets to the database dropped (no reset: the database just goes quiet)."""
    spec = NetFault("back end cut off from the database", "drop", (DATABASE_PORT,))
    return _hold(
        network, fault_log, spec, "backend", _backend_pods(deployed), seconds, _watch_backend_unready(deployed)
    )


@when(
    parsers.parse("one front-end replica is cut off from the back end for {seconds:d} seconds"),
    target_fixture="held",
)
def _(deployed: ClusterHandle, network: NetFaultInjector, fault_log: FaultLog, seconds: int) -> HeldFault:
    """One front-end pod (seeded choice) has its packets to the back end dropped."""
    pods = deployed.ready_pods("frontend")
    assert len(pods) >= 2, f"the scenario needs two Ready front-end replicas, found {[p.name for p in pods]}"
    victim = network.victims.pick(pods, "front-end pod to cut off")
    spec = NetFault("one front-end replica cut off from the back end", "drop", (BACKEND_PORT,))
    return _hold(network, fault_log, spec, "frontend", [victim], seconds)


@when(parsers.parse("name lookups from the back end fail for {seconds:d} seconds"), target_fixture="held")
def _(deployed: ClusterHandle, network: NetFaultInjector, fault_log: FaultLog, seconds: int) -> HeldFault:
    """Every back-end pod's DNS queries (UDP and TCP port 53) dropped."""
    spec = NetFault("back-end name lookups failing", "drop", (DNS_PORT,), protocols=("udp", "tcp"))
    return _hold(network, fault_log, spec, "backend", _backend_pods(deployed), seconds)


# -- checks -----------------------------------------------------------------------------------------------
@then(
    parsers.re(
        r"the service answers within (?P<seconds>[\d.]+) seconds for (?P<percent>\d+) percent of requests "
        r"while (?P<what>the database is slow)"
    )
)
def _(fault_log: FaultLog, results: Results, held: HeldFault, seconds: str, percent: str, what: str) -> None:
    """The latency percentile of the requests in the fault window is within the budget (recorded on the window)."""
    window = _window(held, fault_log)
    step = f"the service answers within {seconds} seconds for {percent} percent of requests while {what}"
    enforce_window(results, fault_log, step, latency_metric(percent), "<=", float(seconds), "s", index=window["index"])


@then(parsers.re(r"at least (?P<percent>\d+) percent of requests succeeded while (?P<what>.+)"))
def _(fault_log: FaultLog, results: Results, held: HeldFault, percent: str, what: str) -> None:
    """Availability in the fault window meets the budget."""
    window = _window(held, fault_log)
    step = f"at least {percent} percent of requests succeeded while {what}"
    enforce_window(results, fault_log, step, "availability_pct", ">=", float(percent), "%", index=window["index"])


@then(parsers.re(r"every request was answered within (?P<seconds>\d+) seconds, with an error if need be"))
def _(fault_log: FaultLog, results: Results, held: HeldFault, seconds: str) -> None:
    """No request hung: each got an answer within the budget, an HTTP error or a prompt refusal (a Service with
    no ready endpoint refuses at once, which the user sees as an error, not a wait); none timed out."""
    window = _window(held, fault_log)
    reader = fault_log.reader
    since = held.fault.t0 - reader.epoch if reader else 0.0
    kinds = answer_kinds([s for s in reader.results if s.t >= since] if reader else [], float(seconds))
    step = f"every request was answered within {seconds} seconds, with an error if need be"
    enforce_window(results, fault_log, step, "max_latency_s", "<=", float(seconds), "s", index=window["index"])
    hung = kinds["hung"]
    assert not hung, (
        f"{len(hung)} request(s) got no answer within {seconds} s ({len(kinds['refused'])} were refused promptly, "
        f"{len(kinds['answered'])} answered): "
        + "; ".join(f"t={s.t:.1f}s {s.latency:.2f}s {s.error}" for s in hung[:3])
    )


@then(parsers.parse("the back end was reported not ready within {seconds:d} seconds of losing the database"))
def _(results: Results, held: HeldFault, seconds: int) -> None:
    """Both back-end replicas turned not ready while the database was unreachable, within the budget."""
    took = held.observed.get("backend_unready_s")
    assert took is not None, f"the back end stayed ready during the whole {held.fault.name}"
    enforce(
        results,
        f"the back end was reported not ready within {seconds} seconds of losing the database",
        "time_s",
        "<=",
        float(seconds),
        took,
        "s",
        f"{held.fault.name}: back end reported not ready",
    )


@then(parsers.parse("after the network heals the service serves again within {seconds:d} seconds"))
def _(deployed: ClusterHandle, app: WorkloadAdapter, results: Results, held: HeldFault, seconds: int) -> None:
    """From the heal: every back-end replica Ready again and a request served through the front end."""
    heal = Fault(f"{held.fault.name} healed", held.fault.tier, held.fault.targets, held.healed_at, time.time())
    condition = all_of(
        "serving after the heal",
        replicas_ready(deployed, "backend", deployed.profile.expected_replicas["backend"]),
        app_serving(app),
    )
    step = f"after the network heals the service serves again within {seconds} seconds"
    recovery_within(results, heal, condition, float(seconds), held.fault.tier, step)


@then("nothing of the network fault is left in any pod")
def _(network: NetFaultInjector, held: HeldFault) -> None:
    """No qdisc and no tagged packet filter of the suite in any running pod's namespace."""
    left = network.leftovers()
    assert not left, f"{held.fault.name} left changes behind: {left}"
