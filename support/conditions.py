"""Named conditions shared by Then steps and chaos probes, so the two can never drift apart."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from common.names import BACKEND, FRONTEND, TIERS
from support.adapters import WorkloadAdapter
from support.cluster import ClusterHandle
from support.waits import Condition, Pending, all_of

__all__ = [
    "Reader",
    "all_tiers_ready",
    "app_serving",
    "endpoints_ready",
    "every_replica_serving",
    "node_ready",
    "old_pods_gone",
    "pods_replaced",
    "pvc_bound",
    "recovered",
    "replicas_ready",
    "restarted",
    "rolled_out",
    "serving_without_node",
    "todo_visible",
    "todos_present",
]


class Reader(Protocol):
    """What the conditions need of an app client: the workload adapter, or the reference client (support.app)."""

    @property
    def base_url(self) -> str:
        """Where the API is reached."""
        ...

    def sample(self) -> tuple[int | None, str | None]:
        """One user read on a new connection: (status, None) when the to-do list came back."""
        ...

    def titles(self) -> list[str]:
        """The titles of every to-do."""
        ...


def replicas_ready(cluster: ClusterHandle, tier: str, n: int) -> Condition:
    """Exactly n pods of the tier Ready and not terminating, and the Deployment agrees."""

    def check() -> list[str] | None:
        """Names of the Ready pods once there are n of them."""
        ready = cluster.ready_pods(tier)
        status = cluster.deployment(tier)
        if len(ready) == n and status.ready >= n and status.available >= n:
            return [p.name for p in ready]
        return None

    return Condition(f"{n} Ready {tier} replica(s) (Deployment {cluster.tier(tier).deployment})", check)


def all_tiers_ready(cluster: ClusterHandle, expected: dict[str, int] | None = None) -> Condition:
    """Every tier at its desired Ready replica count (by default the profile's)."""
    wanted = expected or cluster.profile.expected_replicas
    return all_of(
        "all tiers Ready (" + ", ".join(f"{t} {n}" for t, n in wanted.items()) + ")",
        *(replicas_ready(cluster, tier, n) for tier, n in wanted.items()),
    )


def rolled_out(cluster: ClusterHandle) -> Condition:
    """Every tier's Deployment has all of its own desired replicas updated, Ready and available."""

    def check() -> dict[str, int] | None:
        """Desired replicas per tier once each Deployment has finished rolling out."""
        done: dict[str, int] = {}
        for tier in TIERS:
            st = cluster.deployment(tier)
            if not (st.desired >= 1 and st.updated == st.ready == st.available == st.desired):
                return None
            if cluster.ready_count(tier) != st.desired:
                return None  # old pods still Ready next to the new ones
            done[tier] = st.desired
        return done

    return Condition("every Deployment rolled out (its own desired replicas updated and Ready)", check)


def pvc_bound(cluster: ClusterHandle, name: str | None = None) -> Condition:
    """The claim (by default the database's, as the profile names it) is Bound."""
    claim = name or cluster.profile.tiers.database.pvc
    return Condition(f"volume claim {claim} Bound", lambda: cluster.pvc_phase(claim) == "Bound")


def endpoints_ready(cluster: ClusterHandle, service: str, minimum: int = 1) -> Condition:
    """The Service has at least `minimum` ready endpoint addresses."""

    def check() -> list[str] | None:
        """The ready addresses once there are enough."""
        addresses = cluster.endpoints(service)
        return addresses if len(addresses) >= minimum else None

    return Condition(f"Service {service} has >= {minimum} ready endpoint(s)", check)


def node_ready(cluster: ClusterHandle, node: str, ready: bool = True) -> Condition:
    """The node's Ready condition is True (ready=True) or anything but True (ready=False)."""
    return Condition(f"node {node} {'Ready' if ready else 'NotReady'}", lambda: cluster.node(node).ready is ready)


def app_serving(app: Reader) -> Condition:
    """A user's read succeeds (the list of to-dos comes back)."""

    def check() -> bool:
        """One list request as a user makes it."""
        status, error = app.sample()
        return status is not None and error is None

    return Condition(f"the app serving at {app.base_url}", check)


def every_replica_serving(cluster: ClusterHandle, app: WorkloadAdapter, tier: str = BACKEND) -> Condition:
    """Every Ready replica of the tier answers a user's read itself (sent to each pod by name through the API
    server's proxy), so that a replica which is Ready yet cannot reach the database (a stale address, a dead
    connection pool) is seen, whichever replica the Service would have chosen. Its value names the replicas."""

    def check() -> list[str] | Pending:
        """One read per Ready replica; the first that fails is named with what it answered."""
        pods = sorted(p.name for p in cluster.ready_pods(tier))
        if not pods:
            return Pending(f"a Ready {tier} replica", pods)
        for pod in pods:
            ok, detail = app.through(cluster.pod_sender(pod)).probe()
            if not ok:
                return Pending(f"{tier} replica {pod} serving", detail)
        return pods

    return Condition(f"every Ready {tier} replica serving a user's read", check)


def todo_visible(app: Reader, title: str) -> Condition:
    """A to-do with this title is listed."""
    return Condition(f"to-do {title!r} listed", lambda: title in app.titles())


def todos_present(app: Reader, titles: Iterable[str]) -> Condition:
    """Every one of these titles is listed (the value is the full list of titles)."""
    wanted = set(titles)

    def check() -> list[str] | None:
        """All titles when none is missing."""
        seen = app.titles()
        return seen if wanted <= set(seen) else None

    return Condition(f"{len(wanted)} to-do(s) listed", check)


def pods_replaced(cluster: ClusterHandle, tier: str, old_uids: Iterable[str], n: int | None = None) -> Condition:
    """The tier has its Ready replicas again and none of them is one of the killed pods (old_uids)."""
    old = set(old_uids)
    want = n if n is not None else cluster.profile.expected_replicas[tier]

    def check() -> list[str] | None:
        """Names of the Ready pods once they are all new."""
        ready = cluster.ready_pods(tier)
        if len(ready) == want and not any(p.uid in old for p in ready):
            return [p.name for p in ready]
        return None

    return Condition(f"{want} new Ready {tier} pod(s) replacing the killed one(s)", check)


def old_pods_gone(cluster: ClusterHandle, tier: str, old_uids: Iterable[str]) -> Condition:
    """None of the killed pods exists any more, not even terminating (they may still answer until then)."""
    old = set(old_uids)

    def check() -> bool:
        """True once no pod of the tier carries an old uid."""
        return not any(p.uid in old for p in cluster.pods(tier))

    return Condition(f"the replaced {tier} pod(s) gone (terminated and removed)", check)


def restarted(cluster: ClusterHandle, tier: str, old_restarts: dict[str, int]) -> Condition:
    """A pod of the tier restarted its container (restart count grew) and is Ready again."""

    def check() -> str | None:
        """The pod that restarted and is Ready."""
        for pod in cluster.ready_pods(tier):
            if pod.name in old_restarts and pod.restarts > old_restarts[pod.name]:
                return pod.name
        return None

    return Condition(f"a {tier} container restarted and Ready again", check)


def serving_without_node(cluster: ClusterHandle, app: Reader, node: str) -> Condition:
    """The node is NotReady, back end and front end at full strength elsewhere, and the app answers."""

    def elsewhere() -> bool:
        """No Ready app replica counts on the lost node."""
        return not any(p.node == node for tier in (BACKEND, FRONTEND) for p in cluster.ready_pods(tier))

    return all_of(
        f"back end and front end serving without node {node}",
        node_ready(cluster, node, ready=False),
        replicas_ready(cluster, BACKEND, cluster.profile.expected_replicas[BACKEND]),
        replicas_ready(cluster, FRONTEND, cluster.profile.expected_replicas[FRONTEND]),
        Condition(f"no Ready app replica on {node}", elsewhere),
        app_serving(app),
    )


def recovered(cluster: ClusterHandle, app: Reader, tier: str, n: int, old_uids: Iterable[str]) -> Condition:
    """Recovery as measured: the tier's replicas replaced and Ready, and a request served by the front end."""
    return all_of(
        f"{tier} recovered and serving",
        pods_replaced(cluster, tier, old_uids, n),
        app_serving(app),
    )
