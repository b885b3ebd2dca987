"""Actions that change the to-do app or its cluster; each refuses any cluster but the suite's."""

# No `from __future__ import annotations`: chaoslib discovery reads the annotation objects themselves.
from typing import Any

from chaoslib.types import Secrets

from common.names import DEFAULT_FRONTEND_URL

__all__ = ["ensure_replicas", "seed_todos"]

DEFAULT_BASE_URL = DEFAULT_FRONTEND_URL
# Empty: the namespace of the profile (the reference app's when no profile is named).
DEFAULT_NAMESPACE = ""


def ensure_replicas(
    deployment: str,
    replicas: int,
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    allowed_context: str = "",
    secrets: Secrets = None,
    profile: str = "",
) -> int:
    """Set a Deployment of the suite's cluster back to `replicas` replicas (a rollback); return that count."""
    from chaosk8s.deployment.actions import scale_deployment

    from chaos.todo_chaos.probes import _context, _profile, targets_suite_cluster

    # Rollbacks run with strategy "always", even when the hypothesis refused the target: guard here too.
    targets_suite_cluster(kubeconfig, context, allowed_context)
    target = _context(context)
    given = dict(secrets or {})
    if given.get("KUBERNETES_CONTEXT", target) != target:
        raise ValueError(f"secrets name context {given['KUBERNETES_CONTEXT']!r}, the rollback targets {target!r}")
    ns = namespace or _profile(profile).namespace
    scale_deployment(name=deployment, replicas=replicas, ns=ns, secrets={**given, "KUBERNETES_CONTEXT": target})
    return replicas


def seed_todos(titles: list[str], base_url: str = DEFAULT_BASE_URL, profile: str = "") -> list[str]:
    """Create each titled to-do that the app does not list yet; return the titles (for configuration)."""
    from chaos.todo_chaos.probes import _app
    from support.conditions import todo_visible

    app: Any = _app(base_url, profile)
    for title in titles:
        # Idempotent so repeated standalone runs do not pile up duplicates of the steady-state data.
        if not todo_visible(app, title).check():
            app.add(title)
    return list(titles)
