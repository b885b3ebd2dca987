"""Evidence for a failed scenario: events, pod summaries, logs, node states, node containers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from common.docker import DockerCli
from support.cluster import ClusterHandle, NodeInfo, PodInfo

__all__ = ["collect", "format_nodes", "format_pods"]

_LOG_TAIL = 200


def format_pods(pods: Iterable[PodInfo]) -> str:
    """A describe-like summary: one block per pod with status, conditions, restarts and waiting reasons."""
    blocks: list[str] = []
    for p in pods:
        lines = [
            f"pod {p.name} (tier {p.tier or '-'}, uid {p.uid})",
            f"  node: {p.node or '-'}  phase: {p.phase or '-'}  ready: {p.ready}  "
            f"terminating: {p.terminating}  restarts: {p.restarts}  ip: {p.ip or '-'}",
            "  conditions: " + (", ".join(f"{k}={v}" for k, v in sorted(p.conditions.items())) or "-"),
        ]
        lines += [f"  waiting {name}: {why}" for name, why in sorted(p.waiting.items())]
        blocks.append("\n".join(lines))
    return "\n".join(blocks) or "(no pods in the namespace)"


def format_nodes(nodes: Iterable[NodeInfo]) -> str:
    """One line per node: readiness, role, conditions and taints."""
    lines = []
    for n in nodes:
        role = "control-plane" if n.control_plane else "worker"
        conds = ", ".join(f"{k}={v}" for k, v in sorted(n.conditions.items())) or "-"
        taints = ", ".join(n.taints) or "-"
        unsched = " cordoned" if n.unschedulable else ""
        lines.append(f"{n.name} [{role}] {'Ready' if n.ready else 'NotReady'}{unsched}; {conds}; taints: {taints}")
    return "\n".join(lines) or "(no nodes)"


def _safely(what: str, produce: Callable[[], str]) -> str:
    """Run one collector; a failure becomes a line in the evidence instead of hiding the rest."""
    try:
        return produce()
    except Exception as exc:
        return f"(could not collect {what}: {type(exc).__name__}: {exc})"


def _pod_logs(cluster: ClusterHandle, pod: PodInfo, previous: bool) -> str:
    """A pod's log tail; previous instance only when the pod restarted."""
    chunks = []
    for container in pod.container_ids or {"": ""}:
        text = cluster.logs(pod.name, container=container or None, previous=previous, tail=_LOG_TAIL)
        chunks.append(f"--- {pod.name}/{container or '-'}{' (previous)' if previous else ''} ---\n{text}")
    return "\n".join(chunks)


def collect(
    cluster: ClusterHandle, node_containers: Iterable[str] = (), docker: DockerCli | None = None
) -> dict[str, str]:
    """Gather everything a reader needs to understand a failure; each piece is independent of the others."""
    evidence: dict[str, str] = {}
    evidence["events"] = _safely("events", lambda: "\n".join(cluster.events()) or "(no events)")
    pods: list[PodInfo] = []

    def list_pods() -> str:
        """Pod summaries (also remembered for the log collection)."""
        pods.extend(cluster.all_pods())
        return format_pods(pods)

    evidence["pods"] = _safely("pods", list_pods)
    for pod in pods:
        evidence[f"logs {pod.name}"] = _safely(f"logs of {pod.name}", partial(_pod_logs, cluster, pod, False))
        if pod.restarts:
            evidence[f"previous logs {pod.name}"] = _safely(
                f"previous logs of {pod.name}", partial(_pod_logs, cluster, pod, True)
            )
    evidence["nodes"] = _safely("nodes", lambda: format_nodes(cluster.nodes()))
    names = list(node_containers)
    if names:
        cli = docker or DockerCli()
        evidence["node containers"] = _safely(
            "docker ps",
            lambda: cli.run(
                "ps",
                "-a",
                "--format",
                '{{.Names}}\t{{.Status}}\t{{.Label "io.x-k8s.kind.role"}}',
                *[arg for name in names for arg in ("--filter", f"name=^{name}$")],
            ),
        )
    return evidence
