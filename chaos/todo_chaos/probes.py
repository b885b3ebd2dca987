"""Probes that observe the to-do app; each evaluates a named condition from support.conditions."""

# No `from __future__ import annotations`: chaoslib discovery reads the annotation objects themselves.
import os
from pathlib import Path
from typing import Any

from common.names import DEFAULT_FRONTEND_URL

__all__ = [
    "all_tiers_ready",
    "app_serving",
    "every_backend_replica_serving",
    "targets_suite_cluster",
    "tier_ready",
    "todos_present",
]

DEFAULT_BASE_URL = DEFAULT_FRONTEND_URL
# Empty namespace or profile: the profile's namespace, the reference app's profile.
DEFAULT_NAMESPACE = ""
POLL_INTERVAL_S = 1.0


def _kubeconfig(kubeconfig: str | None) -> Path:
    """The kubeconfig given, else $KUBECONFIG; never the user's ~/.kube/config."""
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if not path:
        raise ValueError("no kubeconfig: pass `kubeconfig` or set KUBECONFIG (~/.kube/config is never used)")
    return Path(path)


def _context(context: str | None) -> str:
    """The context given, else the suite's own."""
    from support.chaos import SUITE_CONTEXT

    return context or SUITE_CONTEXT


def _profile(profile: str) -> Any:
    """The target profile named by its file, else the reference app's."""
    from support.profile import load_profile, reference_profile

    return load_profile(profile) if profile else reference_profile()


def _cluster(kubeconfig: str | None, context: str | None, namespace: str, profile: str = "") -> Any:
    """The suite's cluster handle for these arguments (explicit kubeconfig file and context, the profile's app)."""
    from support.cluster import ClusterHandle

    return ClusterHandle(_kubeconfig(kubeconfig), _context(context), namespace or None, profile=_profile(profile))


def _app(base_url: str, profile: str = "") -> Any:
    """The profile's workload adapter, with the front end at base_url."""
    from support.adapters import adapter_for

    return adapter_for(_profile(profile).with_frontend_url(base_url))


def _hold(condition: Any, within_s: float) -> bool:
    """True if the condition holds now (within_s <= 0) or within within_s; a timeout raises and names it."""
    from support.waits import until

    if within_s <= 0:
        return condition.holds() is True
    until(condition, timeout=within_s, interval=POLL_INTERVAL_S)
    return True


def targets_suite_cluster(kubeconfig: str | None = None, context: str | None = None, allowed_context: str = "") -> bool:
    """True when kubeconfig/context name the suite's marked kind cluster and chaosk8s will read that file."""
    from support.chaos import check_chaosk8s_reads, check_target, marker_facts

    path = _kubeconfig(kubeconfig)
    target = _context(context)
    # The marker is read from the cluster itself; standalone runs cannot know the kit's per-run token, so
    # this checks the marker names the suite's cluster (ChaosHandle(facts=cluster.facts) checks the token).
    check_target(path, target, facts=marker_facts(path, target), allowed_context=allowed_context or None)
    check_chaosk8s_reads(path)
    return True


def tier_ready(
    tier: str,
    replicas: int,
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    within_s: float = 0.0,
    profile: str = "",
) -> bool:
    """True when exactly `replicas` pods of one tier (database, backend, frontend) are Ready."""
    from support.conditions import replicas_ready

    return _hold(replicas_ready(_cluster(kubeconfig, context, namespace, profile), tier, replicas), within_s)


def all_tiers_ready(
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    within_s: float = 0.0,
    profile: str = "",
) -> bool:
    """True when every tier runs the Ready replicas its profile promises (reference: database 1, 2 and 2)."""
    from support.conditions import all_tiers_ready as tiers_ready

    return _hold(tiers_ready(_cluster(kubeconfig, context, namespace, profile)), within_s)


def app_serving(base_url: str = DEFAULT_BASE_URL, within_s: float = 0.0, profile: str = "") -> bool:
    """True when the app answers a user's read (through the front end, or where its profile says)."""
    from support.conditions import app_serving as serving

    return _hold(serving(_app(base_url, profile)), within_s)


def every_backend_replica_serving(
    base_url: str = DEFAULT_BASE_URL,
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    within_s: float = 0.0,
    profile: str = "",
) -> bool:
    """True when every Ready back-end replica answers a user's read itself (one read sent to each pod), not just
    whichever replica the Service picked for one read."""
    from support.conditions import every_replica_serving

    return _hold(
        every_replica_serving(_cluster(kubeconfig, context, namespace, profile), _app(base_url, profile)), within_s
    )


def todos_present(
    titles: list[str], base_url: str = DEFAULT_BASE_URL, within_s: float = 0.0, profile: str = ""
) -> bool:
    """True when every to-do titled in `titles` is listed by the app through the front end."""
    from support.conditions import todos_present as present

    # A configuration value that failed to load reaches us as the literal "${...}" string: say so.
    if not isinstance(titles, list) or not titles or not all(isinstance(t, str) for t in titles):
        raise ValueError(f"todos_present needs a non-empty list of titles, got {titles!r}")
    return _hold(present(_app(base_url, profile), titles), within_s)
