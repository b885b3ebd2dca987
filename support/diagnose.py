"""Why a deployment is not ready: per tier, its ready count, its pods' states and the last thing they said."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from common.names import TIERS
from support.cluster import ClusterHandle, PodInfo

__all__ = ["DeploymentNotReady", "TierProblem", "explain_not_ready", "last_pod_message", "pod_state"]

# Events that explain a pod that runs but is not Ready, or does not run at all.
_TELLING_REASONS = ("Unhealthy", "BackOff", "Failed", "FailedScheduling", "FailedMount", "FailedCreatePodSandBox")


@dataclass(frozen=True)
class TierProblem:
    """One tier that is not at its desired state."""

    tier: str
    ready: int
    desired: int
    pods: list[str] = field(default_factory=list)
    message: str = ""

    def line(self) -> str:
        """'database: 0 of 1 ready; readiness probe failed: ...'."""
        return f"{self.tier}: {self.ready} of {self.desired} ready; {self.message}"


class DeploymentNotReady(AssertionError):
    """The deployment did not become ready within its budget: a product failure, named by tier."""

    def __init__(self, problems: list[TierProblem], budget_s: float) -> None:
        """Keep the problems; the message names each tier that is not ready and why."""
        self.problems = problems
        self.budget_s = budget_s
        text = "; ".join(p.line() for p in problems) or "every tier reports ready, yet the rollout did not finish"
        super().__init__(f"the deployment did not become ready within {budget_s:g} s: {text}")


def pod_state(pod: PodInfo) -> str:
    """'name: phase, ready/not ready, restarts N, waiting reasons'."""
    parts = [pod.phase or "?", "ready" if pod.ready else "not ready"]
    if pod.terminating:
        parts.append("terminating")
    if pod.restarts:
        parts.append(f"{pod.restarts} restart(s)")
    parts += [f"{c} {w}" for c, w in pod.waiting.items()]
    return f"{pod.name}: " + ", ".join(parts)


def _clean(message: str) -> str:
    """One line of an event message, without the noise of repeated whitespace."""
    return re.sub(r"\s+", " ", message).strip()[:300]


def last_pod_message(events: list[str], pods: list[PodInfo]) -> str:
    """The newest telling event line about one of these pods (probe failure, back-off, scheduling), or ''."""
    names = {p.name for p in pods}
    for line in reversed(events):
        if any(f"Pod/{n} " in line for n in names) and any(f" {r} " in line for r in _TELLING_REASONS):
            message = line.split(": ", 1)[1] if ": " in line else line
            return _clean(message)
    return ""


def explain_not_ready(cluster: ClusterHandle) -> list[TierProblem]:
    """Every tier short of its desired replicas, with its pods and their last message (never raises)."""
    problems: list[TierProblem] = []
    try:
        events = cluster.events(limit=400)
    except Exception as exc:  # evidence must not hide the failure it explains
        events = [f"(events unavailable: {exc})"]
    for tier in TIERS:
        try:
            status = cluster.deployment(tier)
            pods = cluster.pods(tier)
        except Exception as exc:
            problems.append(TierProblem(tier, 0, 0, [], f"its Deployment cannot be read: {_clean(str(exc))}"))
            continue
        if status.ready >= status.desired and status.updated >= status.desired:
            continue
        waiting = [w for p in pods for w in p.waiting.values() if w]
        message = last_pod_message(events, pods) or (waiting[0] if waiting else "")
        if not pods:
            message = message or "no pod exists (check the Deployment's events and the ReplicaSet)"
        problems.append(
            TierProblem(tier, status.ready, status.desired, [pod_state(p) for p in pods], message or "no message")
        )
    return problems
