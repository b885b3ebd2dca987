"""Names the kit, the suite, the chaos experiments and the benchmarks share, written once."""

from __future__ import annotations

from typing import Final

__all__ = [
    "BACKEND",
    "DATABASE",
    "DEFAULT_CLUSTER",
    "DEFAULT_CONTEXT",
    "DEFAULT_FRONTEND_URL",
    "FRONTEND",
    "FRONTEND_NODE_PORT",
    "GHERKIN_TIERS",
    "MARKER_NAME",
    "MARKER_NAMESPACE",
    "TIERS",
]

DEFAULT_CLUSTER: Final = "todo-e2e"
"""The suite's own kind cluster (the kit creates it; the safety check insists on it)."""

DEFAULT_CONTEXT: Final = f"kind-{DEFAULT_CLUSTER}"
"""The kubeconfig context kind gives that cluster."""

FRONTEND_NODE_PORT: Final = 30080
"""The front end's NodePort, mapped to the same port on 127.0.0.1 by the kind config."""

DEFAULT_FRONTEND_URL: Final = f"http://127.0.0.1:{FRONTEND_NODE_PORT}"
"""Where users (and the suite) reach the app on a kind cluster."""

MARKER_NAMESPACE: Final = "kube-system"
MARKER_NAME: Final = f"{DEFAULT_CLUSTER}-marker"
"""The ConfigMap the kit writes into a cluster it made (cluster name + token) and the safety check reads."""

DATABASE: Final = "database"
BACKEND: Final = "backend"
FRONTEND: Final = "frontend"
TIERS: Final = (DATABASE, BACKEND, FRONTEND)
"""The app's tiers as the suite names them (support.cluster maps each to its Deployment and Service)."""

GHERKIN_TIERS: Final = {
    "database": DATABASE,
    "back end": BACKEND,
    "front end": FRONTEND,
    "back-end": BACKEND,
    "front-end": FRONTEND,
}
"""A tier as the features spell it ("one back-end replica", "the front end") to the suite's tier name."""
