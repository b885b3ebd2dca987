"""Fault injection: pod kills, mysqld SIGKILL, stop/start/pause of the suite's own kind node containers."""

from __future__ import annotations

import atexit
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any, Literal

# The one Docker CLI wrapper lives in common.docker (the kit uses it too); re-exported here for the suite's callers.
from common.docker import DockerCli
from common.names import DATABASE
from record.model import Sample as RecordSample
from record.model import Window
from support.cluster import ClusterHandle, PodInfo
from support.conditions import pods_replaced
from support.results import Results
from support.safety import SafetyPolicy, check
from support.traffic import BackgroundReader, BackgroundWriter, FaultWindow, Sample, WindowStats, window_stats
from support.victims import Victims
from support.waits import Condition, WaitTimeout, until

__all__ = [
    "DockerCli",
    "Fault",
    "FaultInjector",
    "FaultLog",
    "NodeGuard",
    "UnsafeNode",
    "find_mysqld_script",
    "measure_recovery",
]

NodeState = Literal["stopped", "paused"]

KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"
KIND_ROLE_LABEL = "io.x-k8s.kind.role"

# Prints the pid (in the namespace it runs in) of the database server, found by /proc scan so no procps is needed.
# With $1 set, only a process whose cgroup names that container id qualifies (used from the node container); $2 is
# the space-separated process names (the profile's tiers.database.server_processes; default mariadbd and mysqld).
find_mysqld_script = r"""
names=${2:-mariadbd mysqld}
for d in /proc/[0-9]*; do
  c=$(cat "$d/comm" 2>/dev/null) || continue
  case " $names " in *" $c "*) ;; *) continue ;; esac
  if [ -n "$1" ] && ! grep -q "$1" "$d/cgroup" 2>/dev/null; then continue; fi
  echo "${d#/proc/}"
done
"""


class UnsafeNode(RuntimeError):
    """A docker container is not a worker node of the suite's own kind cluster."""


@dataclass
class Fault:
    """One injected fault: what, where, and when (monotonic t0 for recovery timing)."""

    name: str
    tier: str
    targets: list[str]
    t0: float
    wall_t0: float
    old_uids: set[str] = field(default_factory=set)
    old_restarts: dict[str, int] = field(default_factory=dict)
    detail: str = ""

    def elapsed(self) -> float:
        """Seconds since the fault was injected."""
        return time.monotonic() - self.t0


class NodeGuard:
    """Remembers every node it stopped or paused and restores all of them on exit, failure, Ctrl-C or exit."""

    def __init__(self, docker: DockerCli, suite_cluster: str) -> None:
        self.docker = docker
        self.suite_cluster = suite_cluster
        self._touched: dict[str, NodeState] = {}
        # Re-entrant: the signal handler runs on the main thread, possibly while it already holds the lock.
        self._lock = threading.RLock()
        self.exit_problems: list[str] = []
        self._previous: dict[int, Any] = {}
        self._atexit_registered = False

    # -- guarding ----------------------------------------------------------------------------------
    def verify_worker(self, node: str) -> None:
        """Refuse unless the container is a worker node of the suite's own kind cluster."""
        labels = self.docker.labels(node)
        cluster = labels.get(KIND_CLUSTER_LABEL)
        role = labels.get(KIND_ROLE_LABEL)
        if cluster != self.suite_cluster:
            raise UnsafeNode(
                f"container {node!r} carries {KIND_CLUSTER_LABEL}={cluster!r}, not the suite cluster "
                f"{self.suite_cluster!r}: refusing to touch it"
            )
        if role != "worker":
            raise UnsafeNode(f"container {node!r} has kind role {role!r}: only worker nodes are ever stopped")

    @property
    def touched(self) -> dict[str, NodeState]:
        """Nodes currently stopped or paused by this guard."""
        with self._lock:
            return dict(self._touched)

    def stop(self, node: str, timeout_s: int = 0) -> None:
        """`docker stop` a worker (timeout 0: an abrupt loss, not a drain)."""
        self.verify_worker(node)
        with self._lock:
            self._touched[node] = "stopped"  # recorded first: a stop interrupted half-way is still restored
        self.docker.run("stop", "--time", str(timeout_s), node, timeout=60 + timeout_s)

    def start(self, node: str) -> None:
        """`docker start` a worker this guard stopped."""
        self.verify_worker(node)
        self.docker.run("start", node, timeout=120)
        with self._lock:
            self._touched.pop(node, None)

    def pause(self, node: str) -> None:
        """`docker pause` a worker: a hung node whose processes are frozen."""
        self.verify_worker(node)
        with self._lock:
            self._touched[node] = "paused"
        self.docker.run("pause", node)

    def unpause(self, node: str) -> None:
        """`docker unpause` a worker this guard paused."""
        self.verify_worker(node)
        self.docker.run("unpause", node)
        with self._lock:
            self._touched.pop(node, None)

    def restore_all(self) -> list[str]:
        """Bring back every node still stopped or paused; returns what failed to restore (never raises)."""
        problems: list[str] = []
        for node, state in self.touched.items():
            try:
                current = self.docker.state(node)
                if current == "paused":
                    self.docker.run("unpause", node)
                elif current != "running":
                    self.docker.run("start", node, timeout=120)
                with self._lock:
                    self._touched.pop(node, None)
            except Exception as exc:
                problems.append(f"{node} ({state}): {exc}")
        return problems

    # -- lifecycle ---------------------------------------------------------------------------------
    def install(self) -> None:
        """Restore on interpreter exit and on SIGINT/SIGTERM (then hand the signal on)."""
        if not self._atexit_registered:
            atexit.register(self.restore_all)
            self._atexit_registered = True
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread; atexit still covers us
        for sig in (signal.SIGINT, signal.SIGTERM):
            if sig not in self._previous:
                self._previous[sig] = signal.signal(sig, self._on_signal)

    def uninstall(self) -> None:
        """Put the previous signal handlers back."""
        if threading.current_thread() is threading.main_thread():
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)
        self._previous.clear()
        if self._atexit_registered:
            atexit.unregister(self.restore_all)
            self._atexit_registered = False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """Restore nodes first, then behave as the previous handler would."""
        self.restore_all()
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        else:
            raise SystemExit(128 + signum)

    def __enter__(self) -> NodeGuard:
        self.install()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        problems = self.restore_all()
        self.exit_problems = problems
        self.uninstall()
        if problems and exc is None:
            raise RuntimeError("could not restore node(s): " + "; ".join(problems))


class FaultInjector:
    """Every fault the features name, each behind the safety guard."""

    def __init__(
        self,
        cluster: ClusterHandle,
        policy: SafetyPolicy,
        victims: Victims,
        guard: NodeGuard | None = None,
    ) -> None:
        self.cluster = cluster
        self.policy = policy
        self.victims = victims
        # None in staging mode: node faults are then impossible, not merely skipped.
        self.guard = guard

    def _check(self, scope: Literal["pod", "node"]) -> None:
        """Refuse unless the target is the suite's own cluster (or an allowed context for pod faults)."""
        check(self.cluster.facts(), self.policy, scope)

    def _ready(self, tier: str) -> list[PodInfo]:
        """Ready pods of a tier, or a clear error if there is nothing to kill."""
        pods = self.cluster.ready_pods(tier)
        if not pods:
            raise RuntimeError(f"no Ready {tier} pod to inject a fault into (namespace {self.cluster.namespace})")
        return pods

    def kill_pod(self, tier: str, grace_seconds: int | None = None) -> Fault:
        """Delete one Ready pod of a tier, chosen by the seeded victim picker."""
        self._check("pod")
        pods = self._ready(tier)
        victim: PodInfo = self.victims.pick(pods, f"{tier} pod")
        kind = "immediate" if grace_seconds == 0 else "graceful"
        fault = Fault(
            f"{tier} pod killed ({kind})",
            tier,
            [victim.name],
            time.monotonic(),
            time.time(),
            old_uids={victim.uid},
            detail=f"pod {victim.name} on {victim.node}",
        )
        self.cluster.delete_pod(victim.name, grace_seconds)
        return fault

    def kill_all(self, tier: str, grace_seconds: int | None = None) -> Fault:
        """Delete every pod of a tier at once."""
        self._check("pod")
        pods = self._ready(tier)
        fault = Fault(
            f"all {tier} pods killed",
            tier,
            [p.name for p in pods],
            time.monotonic(),
            time.time(),
            old_uids={p.uid for p in self.cluster.pods(tier)},
        )
        for pod in pods:
            self.cluster.delete_pod(pod.name, grace_seconds)
        return fault

    def kill_mysqld(self) -> Fault:
        """SIGKILL the database server process inside its container (the pod itself stays)."""
        self._check("pod")
        pod = self._ready(DATABASE)[0]
        database = self.cluster.profile.tiers.database
        container = database.container
        container_id = pod.container_ids.get(container, "")
        if not container_id:
            raise RuntimeError(f"pod {pod.name} has no running container {container!r}: {sorted(pod.container_ids)}")
        names = " ".join(database.server_processes)
        found = self.cluster.exec(pod.name, ["sh", "-c", find_mysqld_script, "find", "", names], container=container)
        pids = found.stdout.split()
        if not pids:
            raise RuntimeError(f"no {names} process in pod {pod.name}: {found.stderr.strip()[:300]}")
        fault = Fault(
            "mysqld killed with SIGKILL",
            DATABASE,
            [pod.name],
            time.monotonic(),
            time.time(),
            old_uids={pod.uid},
            old_restarts={pod.name: pod.restarts},
        )
        if pids != ["1"]:
            done = self.cluster.exec(pod.name, ["kill", "-9", *pids], container=container)
            if done.rc != 0:
                raise RuntimeError(f"kill -9 {' '.join(pids)} in pod {pod.name} failed: {done.stderr.strip()}")
            fault.detail = f"pid {' '.join(pids)} in pod {pod.name} (from inside the container)"
            return self._confirm_restart(fault, pod)
        # The server is the container's PID 1, which ignores SIGKILL sent from inside its own pid namespace:
        # send it from the node container, the parent namespace, picking the process by its container id.
        if self.guard is None:
            raise RuntimeError(
                "mysqld is PID 1 of its container and cannot be SIGKILLed from inside; killing it from the "
                "node "
                "needs the suite's kind cluster (not available in staging mode)"
            )
        self._check("node")
        node = pod.node
        self.guard.verify_worker(node)
        short_id = container_id.split("://", 1)[-1]
        out = self.guard.docker.run("exec", node, "sh", "-c", find_mysqld_script, "find", short_id, names)
        node_pids = out.split()
        if len(node_pids) != 1:
            raise RuntimeError(f"expected one mysqld of container {short_id[:12]} on node {node}, found {node_pids}")
        self.guard.docker.run("exec", node, "kill", "-9", node_pids[0])
        fault.detail = f"pid {node_pids[0]} on node {node} (container {short_id[:12]} of pod {pod.name})"
        return self._confirm_restart(fault, pod)

    def _confirm_restart(self, fault: Fault, pod: PodInfo, timeout: float = 60.0) -> Fault:
        """A kill counts only once Kubernetes saw the container die (its restart count grew)."""

        def died() -> int | None:
            """The pod's restart count once it grew."""
            for p in self.cluster.pods("database"):
                if p.uid == pod.uid and p.restarts > pod.restarts:
                    return p.restarts
            return None

        until(
            Condition(
                f"the killed server's container in pod {pod.name} restarted (restart count > {pod.restarts})", died
            ),
            timeout=timeout,
            interval=0.2,
        )
        return fault

    def _node_fault(self, name: str, node: str, action: Callable[[NodeGuard, str], None]) -> Fault:
        """Check safety, note the pods on the node, then act on the node container through the guard."""
        self._check("node")
        if self.guard is None:
            raise RuntimeError(f"{name}: node faults need the suite's own kind cluster (not staging mode)")
        on_node = [p for p in self.cluster.all_pods() if p.node == node]
        fault = Fault(
            name,
            "node",
            [node],
            time.monotonic(),
            time.time(),
            old_uids={p.uid for p in on_node},
            detail=f"pods on {node}: {', '.join(p.name for p in on_node) or 'none'}",
        )
        action(self.guard, node)
        return fault

    def stop_node(self, node: str) -> Fault:
        """Stop a worker node container abruptly."""
        return self._node_fault("worker node stopped", node, NodeGuard.stop)

    def start_node(self, node: str) -> Fault:
        """Start a worker node container the suite stopped."""
        return self._node_fault("worker node started", node, NodeGuard.start)

    def pause_node(self, node: str) -> Fault:
        """Pause a worker node container (hung node)."""
        return self._node_fault("worker node paused", node, NodeGuard.pause)

    def unpause_node(self, node: str) -> Fault:
        """Unpause a worker node container the suite paused."""
        return self._node_fault("worker node unpaused", node, NodeGuard.unpause)

    def spread(self, tier: str, timeout: float = 180.0) -> list[str]:
        """Put a tier's Ready replicas on different Ready workers, moving one co-located pod at a time."""
        self._check("pod")
        workers = {n.name for n in self.cluster.nodes() if not n.control_plane and n.ready}
        moved: list[str] = []
        # Each move frees one crowded slot; replicas (<= 2 here) bound the number of rounds.
        for _ in range(len(workers) + 1):
            pods = self.cluster.ready_pods(tier)
            crowd = Counter(p.node for p in pods)
            if len(crowd) >= min(len(pods), len(workers)):
                return moved
            crowded = crowd.most_common(1)[0][0]
            victim = min((p for p in pods if p.node == crowded), key=lambda p: p.name)
            self.cluster.delete_pod(victim.name, None)
            moved.append(f"{victim.name} (from {crowded})")
            until(pods_replaced(self.cluster, tier, {victim.uid}, len(pods)), timeout=timeout, interval=0.5)
        placement = {p.name: p.node for p in self.cluster.ready_pods(tier)}
        raise RuntimeError(f"{tier} replicas did not spread over workers {sorted(workers)}: {placement}")

    def pick_worker(self, hosting_tier: str, avoid_tier: str | None = None) -> str:
        """Choose a worker hosting a Ready pod of a tier, and none of avoid_tier (never the control plane)."""
        workers = {n.name for n in self.cluster.nodes() if not n.control_plane and n.ready}
        avoid = {p.node for p in self.cluster.pods(avoid_tier)} if avoid_tier else set()
        candidates = sorted(
            {p.node for p in self.cluster.ready_pods(hosting_tier) if p.node in workers and p.node not in avoid}
        )
        if not candidates:
            raise RuntimeError(
                f"no Ready worker node hosts a Ready {hosting_tier} pod"
                + (f" without a {avoid_tier} pod" if avoid_tier else "")
            )
        chosen: str = self.victims.pick(candidates, f"worker hosting {hosting_tier}")
        return chosen


SETTLE_S = 2.0  # traffic keeps running this long after recovery before a window closes
MAX_GAP_S = 1.5  # the longest time a window of concurrent traffic may go without a request in flight
# One sequential loop (the durability writer) between two requests is at the host's mercy: on 2 busy cores a
# thread was seen waiting 3.2 s for its turn. Its windows vouch for outages of 5 s and more, and say so.
MAX_GAP_SINGLE_S = 5.0


@dataclass
class FaultLog:
    """One scenario's faults in order, with the background traffic whose fault windows they open and close."""

    results: Results
    injected: list[Fault] = field(default_factory=list)
    readers: list[BackgroundReader] = field(default_factory=list)
    writer: BackgroundWriter | None = None
    window_ids: list[int] = field(default_factory=list)
    _open: tuple[str, float] | None = None

    @property
    def reader(self) -> BackgroundReader | None:
        """The first reader (None without one)."""
        return self.readers[0] if self.readers else None

    @property
    def loops(self) -> list[BackgroundReader | BackgroundWriter]:
        """Every background loop of the scenario."""
        return [*self.readers, *([self.writer] if self.writer is not None else [])]

    @property
    def last(self) -> Fault:
        """The most recent fault ("that node", "the lost ones")."""
        if not self.injected:
            raise LookupError("no fault was injected in this scenario yet")
        return self.injected[-1]

    @property
    def last_window(self) -> int:
        """Index (in the results) of the scenario's last closed window."""
        if not self.window_ids:
            raise LookupError("no fault window was closed: the recovery step must run before this one")
        return self.window_ids[-1]

    def last_node(self, *names: str) -> str:
        """The node of the most recent node fault with one of these names."""
        for fault in reversed(self.injected):
            if fault.tier == "node" and (not names or fault.name in names):
                return fault.targets[0]
        raise LookupError(f"no node fault {names or ''} was injected in this scenario")

    def start_readers(
        self,
        probe: Callable[[], tuple[int | None, str | None]],
        *,
        concurrency: int,
        interval: float,
        max_requests: int,
        max_seconds: float,
    ) -> None:
        """Start `concurrency` bounded readers on the run's clock, staggered so requests are always in flight."""
        for i in range(concurrency):
            reader = BackgroundReader(
                probe,
                interval=interval,
                max_requests=max_requests,
                max_seconds=max_seconds,
                name=f"reader-{i + 1}",
                epoch=self.results.epoch,
            )
            reader.start()
            self.readers.append(reader)
            time.sleep(interval / concurrency)

    def add(self, fault: Fault) -> Fault:
        """Record a fault and open its window on the run's clock."""
        self.injected.append(fault)
        if self.loops and self._open is None:
            self._open = (fault.name, self.results.run_time(fault.t0))
        return fault

    def samples(self) -> list[Sample]:
        """Every request of the scenario's traffic so far."""
        return [s for loop in self.loops for s in loop.results]

    def close_window(self, settled: Condition | None = None, settle_timeout: float = 60.0) -> int | None:
        """Close the open window: once `settled` holds (old pods gone) and the settle period passed; record it."""
        if self._open is None or not self.loops:
            return None
        name, start = self._open
        self._open = None
        recovered = self.results.now()
        if settled is not None:
            until(settled, timeout=settle_timeout, interval=0.25)
        time.sleep(SETTLE_S)
        end = self.results.now()
        samples = self.samples()
        stats = window_stats(samples, FaultWindow(name, start, end))
        problem = self._coverage_problem(samples, start, end, stats)
        writes = {id(s) for s in self.writer.results} if self.writer is not None else set()
        kinds = {id(s): ("write" if id(s) in writes else "read") for s in samples}
        window = Window(
            fault=name,
            start_s=start,
            end_s=end,
            recovered_s=recovered,
            traffic_start_s=min((s.t for s in samples), default=None),
            traffic_end_s=max((s.t + s.latency for s in samples), default=None),
            concurrency=len(self.loops),
            requests=stats.requests,
            failed=stats.failed,
            availability_pct=stats.availability_pct,
            availability_time_pct=stats.availability_time_pct,
            longest_outage_s=stats.longest_outage_s,
            max_gap_s=stats.max_gap_s,
            max_gap_allowed_s=self._max_gap(),
            covered=problem is None,
            coverage_problem=problem,
            p50_latency_s=stats.p50_latency_s,
            p95_latency_s=stats.p95_latency_s,
            max_latency_s=stats.max_latency_s,
        )
        kept = [
            RecordSample(t=s.t, ok=s.ok, latency_s=s.latency, kind=kinds[id(s)])  # type: ignore[arg-type]
            for s in samples
            if start - 5 <= s.t < end + 1
        ]
        index = self.results.record_window(window, kept)
        self.window_ids.append(index)
        return index

    def close_and_measure(self) -> dict[str, Any] | None:
        """Close the open window (recorded in the results) and return its numbers, with `index` to budget it."""
        index = self.close_window()
        if index is None:
            return None
        samples = [{"t": s.t, "ok": s.ok, "latency_s": s.latency_s} for s in self.results.window_samples(index)]
        return {"index": index, **self.results.window(index).model_dump(mode="json"), "samples": samples}

    def _max_gap(self) -> float:
        """The sampling gap a window may have and still count (tighter with concurrent traffic)."""
        return MAX_GAP_S if len(self.loops) > 1 else MAX_GAP_SINGLE_S

    def _coverage_problem(self, samples: list[Sample], start: float, end: float, stats: WindowStats) -> str | None:
        """Why the traffic does not prove the window's availability, or None when it does."""
        if not samples:
            return "no request was made during the fault"
        first = min(s.t for s in samples)
        if first > start:
            return f"traffic started {first - start:.1f} s after the fault"
        stopped = [f"{loop.name} stopped at {loop.stop_reason}" for loop in self.loops if not loop.is_alive()]
        if stopped:
            return "traffic stopped before the window closed: " + ", ".join(stopped)
        if stats.max_gap_s is not None and stats.max_gap_s > self._max_gap():
            return f"no request in flight for {stats.max_gap_s:.1f} s (allowed {self._max_gap():g} s)"
        return None

    def stop_traffic(self, timeout: float = 30) -> None:
        """Stop and join the background loops (bounded)."""
        for loop in self.loops:
            if loop.is_alive():
                loop.stop()
        for loop in self.loops:
            loop.join(timeout)


def measure_recovery(fault: Fault, condition: Condition, budget_s: float, interval: float = 0.25) -> float:
    """Wait until the condition holds (budget counted from the fault); return the seconds since t0."""
    remaining = max(0.0, budget_s - fault.elapsed())
    try:
        until(condition, timeout=remaining, interval=interval)
    except WaitTimeout as exc:
        raise WaitTimeout(
            f"{condition.name} after '{fault.name}' ({fault.detail})",
            budget_s,
            fault.elapsed(),
            exc.last_value,
            exc.last_error,
            exc.attempts,
            value_seen=exc.value_seen,
        ) from exc
    return fault.elapsed()
