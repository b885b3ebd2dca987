"""Network faults inside one pod's network namespace: tc netem (delay, loss) and packet filters (partitions, DNS).

Where the kernel has no sch_netem (the build hosts'), a delay is carried by a packet filter instead: the matching
packets go to an NFQUEUE (with --queue-bypass) and the kit's `kit-delay` (kit/recipes/kit-delay, in the node
image) holds each one for the delay in the same namespace. Same spec, same undo, same leftover checks; the fault's
detail names the carrier used.

The commands run in the pod's network namespace, entered from its kind node container with nsenter: only the
chosen pod's traffic is affected, nothing is installed into the cluster and no registry is needed. Every change
is recorded in an UndoStack before it is applied, and undone on heal, on scenario teardown, on failure and on
Ctrl-C. In staging mode (an existing cluster) there is no node container to enter, so these faults are refused;
an engine installed in that cluster (Chaos Mesh NetworkChaos) could carry the same NetFault specs later.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from common.errors import DockerError
from support.cluster import ClusterHandle, PodInfo
from support.faults import DockerCli, Fault, NodeGuard
from support.safety import SafetyPolicy, check
from support.undo import UndoStack
from support.victims import Victims

__all__ = [
    "DEV",
    "TAG",
    "KernelLacks",
    "Located",
    "NetFault",
    "NetFaultInjector",
    "container_pid",
    "crictl_inspect",
    "delayer_label",
    "delayers_running",
    "drop_rules",
    "filter_leftovers",
    "hold_rules",
    "in_netns",
    "missing_module",
    "netem_rules",
    "qdisc_leftovers",
    "stop_delayer",
]

CONTAINERD_SOCKET = "unix:///run/containerd/containerd.sock"
# Pods on kind (kindnet) see their veth end as eth0.
DEV = "eth0"
# Every packet filter the suite adds carries this comment, so a leftover is found by name in iptables-save.
TAG = "todo-e2e-fault"
# The HTB class netem hangs off; everything unfiltered goes to the default class 1:10, untouched.
NETEM_BAND = "1:30"
DEFAULT_CLASS = "1:10"
# HTB only shapes above this; it is far beyond what a pod's veth carries, so it never limits anything.
UNLIMITED = "10gbit"
# The NFQUEUE carrier of a delay: the queue number (per network namespace) and the holder in the node image.
DELAY_QUEUE = 7
DELAYER = "/usr/local/bin/kit-delay"
# A holder ends by itself after this long, whatever happens to the suite (heal stops it much earlier).
DELAYER_MAX_S = 300

Commands = list[list[str]]
Proto = Literal["tcp", "udp"]


@dataclass(frozen=True)
class NetFault:
    """What to do to a pod's outgoing traffic; the same spec an in-cluster engine could be given later."""

    name: str
    kind: Literal["delay", "loss", "drop"]
    ports: tuple[int, ...]
    protocols: tuple[Proto, ...] = ("tcp",)
    delay_ms: int = 0
    jitter_ms: int = 0
    loss_pct: float = 0.0
    # How a delay is carried: the kernel's netem, or a packet filter into the kit's holder (no netem needed).
    carrier: Literal["netem", "nfqueue"] = "netem"

    def commands(self, label: str = "") -> tuple[Commands, Commands]:
        """The (apply, undo) command lines to run inside the pod's network namespace (label: the pod's name)."""
        if self.kind == "drop":
            return drop_rules(self.ports, self.protocols)
        if self.kind == "loss":
            # A packet filter, not netem: xt_statistic is in kernels that lack sch_netem (ours among them).
            return drop_rules(self.ports, self.protocols, probability=self.loss_pct / 100)
        if len(self.ports) != 1 or self.protocols != ("tcp",):
            raise ValueError(f"{self.name}: netem faults match one TCP port, got {self.ports} {self.protocols}")
        if self.carrier == "nfqueue":
            return hold_rules(self.ports[0], self.delay_ms, self.jitter_ms, label)
        return netem_rules(self.ports[0], delay_ms=self.delay_ms, jitter_ms=self.jitter_ms)


# -- command builders (pure) --------------------------------------------------------------------------------
def in_netns(pid: int, command: Sequence[str]) -> list[str]:
    """A command run in the network namespace of process `pid` (a container's init, seen from its node)."""
    if pid <= 1:
        raise ValueError(f"refusing pid {pid}: that is the node's own namespace, not a pod's")
    return ["nsenter", f"--target={pid}", "--net", "--", *command]


def crictl_inspect(container_id: str) -> list[str]:
    """The node-side command that describes a container (its init pid is in .info.pid)."""
    short = container_id.split("://", 1)[-1]
    if not short or not short.isalnum():
        raise ValueError(f"not a container id: {container_id!r}")
    # Explicit endpoint: a node image without /etc/crictl.yaml would otherwise probe several sockets.
    return ["crictl", "--runtime-endpoint", CONTAINERD_SOCKET, "inspect", short]


def container_pid(inspect_json: str) -> int:
    """The container's init pid from `crictl inspect` output."""
    try:
        pid = int(json.loads(inspect_json)["info"]["pid"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"no .info.pid in crictl inspect output: {inspect_json[:200]!r}") from exc
    if pid <= 1:
        raise ValueError(f"crictl reports pid {pid}: the container is not running")
    return pid


def netem_rules(
    port: int, *, delay_ms: int = 0, jitter_ms: int = 0, loss_pct: float = 0.0, dev: str = DEV
) -> tuple[Commands, Commands]:
    """Delay or drop packets sent to one TCP port only: an HTB root, netem on one class, a u32 filter into it.

    HTB rather than prio as the root: more kernels have it built in (ours lacks sch_prio), so a kernel without
    sch_netem is named as such.
    """
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range")
    netem: list[str] = []
    if delay_ms > 0:
        netem += ["delay", f"{delay_ms}ms"] + ([f"{jitter_ms}ms"] if jitter_ms > 0 else [])
    if loss_pct > 0:
        if loss_pct >= 100:
            raise ValueError("100 percent loss is a partition: use drop_rules")
        netem += ["loss", f"{loss_pct:g}%"]
    if not netem:
        raise ValueError("a netem fault needs a delay or a loss")
    apply = [
        ["tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", DEFAULT_CLASS.split(":")[1]],
        ["tc", "class", "add", "dev", dev, "parent", "1:", "classid", DEFAULT_CLASS, "htb", "rate", UNLIMITED],
        ["tc", "class", "add", "dev", dev, "parent", "1:", "classid", NETEM_BAND, "htb", "rate", UNLIMITED],
        ["tc", "qdisc", "add", "dev", dev, "parent", NETEM_BAND, "handle", "30:", "netem", *netem],
        # Only packets to the port go to the netem band; everything else keeps the default bands.
        [
            *("tc", "filter", "add", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1", "u32"),
            *("match", "ip", "dport", str(port), "0xffff", "flowid", NETEM_BAND),
        ],
    ]
    # Deleting the root qdisc removes its children and filters with it.
    undo = [["tc", "qdisc", "del", "dev", dev, "root"]]
    return apply, undo


def delayer_label(pod: str) -> str:
    """The label on a pod's holder's command line, by which it is found and stopped (and only it)."""
    if not pod or not all(c.isalnum() or c in "-." for c in pod):
        raise ValueError(f"not a pod name: {pod!r}")
    return f"{TAG}:{pod}"


def hold_rules(port: int, delay_ms: int, jitter_ms: int, pod: str, delayer: str = DELAYER) -> tuple[Commands, Commands]:
    """Delay packets sent to one TCP port without netem: start the holder, then queue the port's packets to it.

    The holder is started first and must report its queue bound within 2 s (else its log is the error); the rule
    carries --queue-bypass, so packets flow untouched whenever no holder listens. Undo: rule first, then holder
    (SIGTERM: it lets the packets it still holds go before it exits).
    """
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range")
    if not 0 < delay_ms <= 10_000 or not 0 <= jitter_ms <= delay_ms:
        raise ValueError(f"delay {delay_ms} ms (jitter {jitter_ms} ms) outside (0, 10000] ms, jitter at most delay")
    label = delayer_label(pod)
    log = f"/tmp/{label.replace(':', '-')}.log"
    start = (
        f"[ -x {delayer} ] || {{ echo \"{delayer} missing: the node image predates the kit's delay carrier "
        '(python -m kit build, then recreate the cluster)" >&2; exit 127; }; '
        f"setsid {delayer} -queue {DELAY_QUEUE} -delay {delay_ms}ms -jitter {jitter_ms}ms -max {DELAYER_MAX_S}s "
        f'-label={label} > {log} 2>&1 < /dev/null & pid=$!; i=0; while [ "$i" -lt 40 ]; do '
        f"grep -q holding {log} && exit 0; kill -0 $pid 2>/dev/null || break; sleep 0.05; i=$((i+1)); done; "
        f"cat {log} >&2; kill $pid 2>/dev/null; exit 1"
    )
    rule = ["OUTPUT", "-p", "tcp", "--dport", str(port), "-m", "comment", "--comment", TAG]
    rule += ["-j", "NFQUEUE", "--queue-num", str(DELAY_QUEUE), "--queue-bypass"]
    apply: Commands = [["sh", "-c", start], ["iptables", "-w", "5", "-I", *rule]]
    undo: Commands = [["iptables", "-w", "5", "-D", *rule], stop_delayer(pod)]
    return apply, undo


def stop_delayer(pod: str) -> list[str]:
    """Stop the pod's holder (if any), waiting up to 2 s for it to let its packets go and exit."""
    label = delayer_label(pod)
    script = (
        f'pkill -TERM -f -- "-label={label}$" || exit 0; i=0; '
        f'while pgrep -f -- "-label={label}$" >/dev/null && [ "$i" -lt 40 ]; do sleep 0.05; i=$((i+1)); done; '
        f'pkill -KILL -f -- "-label={label}$"; true'
    )
    return ["sh", "-c", script]


def delayers_running(pod: str) -> list[str]:
    """The node-side command listing the pids of the pod's holders (none: empty output)."""
    return ["sh", "-c", f'pgrep -f -- "-label={delayer_label(pod)}$"; true']


def drop_rules(
    ports: Sequence[int], protocols: Sequence[Proto] = ("tcp",), probability: float = 1.0
) -> tuple[Commands, Commands]:
    """Silently drop outgoing packets to the ports: all of them (a partition: no reset, the peer goes quiet),
    or each with `probability` (packet loss)."""
    if not ports or not protocols:
        raise ValueError("a drop rule needs at least one port and one protocol")
    if not 0 < probability <= 1:
        raise ValueError(f"drop probability must be within (0, 1], got {probability}")
    chance = [] if probability == 1 else ["-m", "statistic", "--mode", "random", "--probability", f"{probability:g}"]
    apply: Commands = []
    undo: Commands = []
    for proto in protocols:
        if proto not in ("tcp", "udp"):
            raise ValueError(f"protocol {proto!r} is neither tcp nor udp")
        for port in ports:
            if not 0 < port < 65536:
                raise ValueError(f"port {port} out of range")
            rule = ["OUTPUT", "-p", proto, "--dport", str(port), *chance, "-m", "comment", "--comment", TAG]
            rule += ["-j", "DROP"]
            apply.append(["iptables", "-w", "5", "-I", *rule])
            undo.append(["iptables", "-w", "5", "-D", *rule])
    return apply, undo


# -- leftover detection (pure) ------------------------------------------------------------------------------
def qdisc_leftovers(tc_show: str) -> list[str]:
    """Lines of `tc qdisc show` that are the suite's (the HTB root 1: or a netem), i.e. a fault left in place."""
    return [
        line.strip()
        for line in tc_show.splitlines()
        if " netem " in f" {line} " or line.strip().startswith("qdisc htb 1: root")
    ]


def filter_leftovers(iptables_save: str) -> list[str]:
    """Rules of `iptables-save` that carry the suite's tag."""
    return [line.strip() for line in iptables_save.splitlines() if TAG in line and line.startswith("-A")]


# -- the injector -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Located:
    """Where a pod's network namespace is reachable: its node container and its container's init pid."""

    pod: str
    node: str
    pid: int


@dataclass
class AppliedNetFault:
    """A network fault in place on some pods (kept on the Fault for heal and the report)."""

    spec: NetFault
    pods: list[Located] = field(default_factory=list)


class KernelLacks(RuntimeError):
    """The kernel (shared by the kind nodes) has no support for a fault: the message names the module."""

    def __init__(self, module: str, detail: str) -> None:
        super().__init__(f"the kernel lacks {module}: {detail}")
        self.module = module


# What tc and iptables print when the kernel lacks a qdisc or match, and the module that provides it.
_KERNEL_ERRORS = {
    "netem": "sch_netem (CONFIG_NET_SCH_NETEM)",
    "htb": "sch_htb (CONFIG_NET_SCH_HTB)",
    "statistic": "xt_statistic (CONFIG_NETFILTER_XT_MATCH_STATISTIC)",
    "comment": "xt_comment (CONFIG_NETFILTER_XT_MATCH_COMMENT)",
}


def missing_module(command: Sequence[str], error: str) -> str | None:
    """The kernel module a failed tc/iptables command needed, if its error says the kernel lacks it."""
    text = error.lower()
    if not any(s in text for s in ("unknown", "no such file", "couldn't load", "not supported")):
        return None
    for word, module in _KERNEL_ERRORS.items():
        if word in command and ("qdisc kind is unknown" in text or word in text):
            return module
    return None


class NetFaultInjector:
    """Applies NetFaults to the pods of a tier, behind the safety guard, with every change on the UndoStack."""

    def __init__(
        self,
        cluster: ClusterHandle,
        policy: SafetyPolicy,
        victims: Victims,
        undo: UndoStack,
        docker: DockerCli | None,
        suite_cluster: str | None,
    ) -> None:
        self.cluster = cluster
        self.policy = policy
        self.victims = victims
        self.undo_stack = undo
        # None in staging mode: there is no node container to enter, so network faults are impossible.
        self.docker = docker
        self.nodes = NodeGuard(docker, suite_cluster) if docker is not None and suite_cluster else None
        self.applied: dict[str, AppliedNetFault] = {}

    # -- where -------------------------------------------------------------------------------------
    def _node_access(self, what: str) -> tuple[DockerCli, NodeGuard]:
        """Refuse unless this is the suite's own kind cluster, whose node containers can be entered."""
        # Entering a pod's namespace needs the node (NET_ADMIN there), so this is a node-scoped fault.
        check(self.cluster.facts(), self.policy, "node")
        if self.docker is None or self.nodes is None:
            raise RuntimeError(f"{what}: network faults enter pods from their kind node (not in staging mode)")
        return self.docker, self.nodes

    def _cli(self) -> DockerCli:
        """The docker CLI for commands after the safety check (undo must work without re-asking)."""
        if self.docker is None:
            raise RuntimeError("network faults need the suite's kind node containers (not in staging mode)")
        return self.docker

    def locate(self, pod: PodInfo) -> Located:
        """The node container and container pid of a running pod on a worker of the suite's cluster."""
        docker = self._cli()
        if self.nodes is None:
            raise RuntimeError("network faults need the suite's kind cluster (not in staging mode)")
        nodes = self.nodes
        if not pod.node or not pod.container_ids:
            raise RuntimeError(f"pod {pod.name} has no node or no running container yet")
        nodes.verify_worker(pod.node)
        container_id = next(iter(pod.container_ids.values()))
        out = docker.run("exec", pod.node, *crictl_inspect(container_id), timeout=30)
        return Located(pod.name, pod.node, container_pid(out))

    def _in_pod(self, where: Located, command: Sequence[str], timeout: float = 20) -> str:
        """Run one command in the pod's network namespace from its node."""
        return self._cli().run("exec", where.node, *in_netns(where.pid, command), timeout=timeout)

    def _netns_alive(self, where: Located) -> bool:
        """Whether the pod's namespace still exists (a deleted pod takes its faults with it)."""
        try:
            self._cli().run("exec", where.node, "test", "-e", f"/proc/{where.pid}/ns/net", timeout=15)
        except (RuntimeError, DockerError):
            return False
        return True

    # -- what --------------------------------------------------------------------------------------
    def apply(self, spec: NetFault, tier: str, pods: Sequence[PodInfo]) -> Fault:
        """Apply the spec in each pod's namespace; each pod's undo is recorded before its first command.

        A delay the kernel cannot carry with netem (no sch_netem) is carried by the NFQUEUE holder instead; the
        fault's detail says which carrier was used.
        """
        try:
            return self._apply(spec, tier, pods)
        except KernelLacks as exc:
            if spec.kind != "delay" or spec.carrier != "netem" or "sch_netem" not in exc.module:
                raise
            fault = self._apply(replace(spec, carrier="nfqueue"), tier, pods)
            fault.detail += f"; carried by an NFQUEUE holder (kit-delay): {exc.module} missing"
            return fault

    def _apply(self, spec: NetFault, tier: str, pods: Sequence[PodInfo]) -> Fault:
        self._node_access(spec.name)
        if not pods:
            raise RuntimeError(f"{spec.name}: no Ready {tier} pod to apply it to (namespace {self.cluster.namespace})")
        if spec.name in self.applied:
            raise RuntimeError(f"{spec.name} is already in place; heal it first")
        spec.commands(label=pods[0].name)  # an impossible spec fails before anything is touched
        located = [self.locate(p) for p in pods]
        applied = AppliedNetFault(spec)
        self.applied[spec.name] = applied
        fault = Fault(
            spec.name,
            tier,
            [p.name for p in pods],
            time.monotonic(),
            time.time(),
            old_uids={p.uid for p in pods},
            old_restarts={p.name: p.restarts for p in pods},
            detail=", ".join(f"pod {w.pod} (pid {w.pid} on {w.node})" for w in located),
        )
        for where in located:
            apply_cmds, undo_cmds = spec.commands(label=where.pod)
            self.undo_stack.record(f"{spec.name} in {where.pod}", spec.name, self._undoer(where, undo_cmds))
            applied.pods.append(where)
            for command in apply_cmds:
                try:
                    self._in_pod(where, command)
                except (RuntimeError, DockerError) as exc:
                    module = missing_module(command, str(exc))
                    if module is None:
                        raise  # what was applied stays recorded on the UndoStack
                    self.heal(spec.name)  # whatever part was applied goes again
                    raise KernelLacks(module, f"{' '.join(command)} failed in pod {where.pod}: {exc}") from exc
        return fault

    def _undoer(self, where: Located, undo_cmds: Commands) -> Callable[[], None]:
        """The undo of one pod's change, bound to that pod."""
        return lambda: self._undo_in(where, undo_cmds)

    def _undo_in(self, where: Located, undo_cmds: Commands) -> None:
        """Undo in one pod; a namespace that is gone, or already clean, counts as undone."""
        if not self._netns_alive(where):
            return
        errors: list[str] = []
        for command in undo_cmds:
            try:
                self._in_pod(where, command)
            except (RuntimeError, DockerError) as exc:
                errors.append(str(exc))
        if errors and self.leftovers_in(where):
            raise RuntimeError(f"undo in pod {where.pod} failed and left the fault in place: {'; '.join(errors)}")

    def heal(self, name: str) -> list[str]:
        """Remove one fault from every pod it was applied to; raises naming what could not be undone."""
        problems = self.undo_stack.undo(fault=name)
        self.applied.pop(name, None)
        if problems:
            raise RuntimeError(f"could not heal {name}: " + "; ".join(problems))
        return problems

    # -- checking ----------------------------------------------------------------------------------
    def leftovers_in(self, where: Located) -> list[str]:
        """The suite's qdiscs and tagged filters still present in one pod's namespace."""
        found = [f"qdisc: {x}" for x in qdisc_leftovers(self._in_pod(where, ["tc", "qdisc", "show", "dev", DEV]))]
        found += [f"filter: {x}" for x in filter_leftovers(self._in_pod(where, ["iptables-save"]))]
        pids = self._cli().run("exec", where.node, *delayers_running(where.pod), timeout=20).split()
        found += [f"delayer: pid {x} on {where.node}" for x in pids]
        return found

    def scrub(self, tier: str | None = None) -> dict[str, list[str]]:
        """Remove every qdisc and tagged filter of the suite from running pods, with no memory of who added them.

        The safety net for callers that cannot keep an UndoStack across calls (a chaostoolkit rollback runs in
        another process than the method); returns what was removed per pod.
        """
        self._node_access("removing leftover network faults")
        removed: dict[str, list[str]] = {}
        for pod in self.cluster.all_pods():
            if (tier and pod.tier != tier) or pod.phase != "Running" or pod.terminating or not pod.container_ids:
                continue
            where = self.locate(pod)
            left = self.leftovers_in(where)
            if not left:
                continue
            if any(x.startswith("qdisc: ") for x in left):
                self._in_pod(where, ["tc", "qdisc", "del", "dev", DEV, "root"])
            for rule in (x.removeprefix("filter: ") for x in left if x.startswith("filter: ")):
                self._in_pod(where, ["iptables", "-w", "5", "-D", *shlex.split(rule)[1:]])
            if any(x.startswith("delayer: ") for x in left):
                self._cli().run("exec", where.node, *stop_delayer(where.pod), timeout=20)
            removed[pod.name] = left
        return removed

    def leftovers(self) -> dict[str, list[str]]:
        """Every running pod of the namespace with a qdisc or filter of the suite still in it."""
        self._node_access("checking for leftover network faults")
        found: dict[str, list[str]] = {}
        for pod in self.cluster.all_pods():
            if pod.phase != "Running" or pod.terminating or not pod.container_ids:
                continue
            try:
                where = self.locate(pod)
            except (RuntimeError, ValueError):
                continue  # not running any more: its namespace went with it
            left = self.leftovers_in(where)
            if left:
                found[pod.name] = left
        return found
