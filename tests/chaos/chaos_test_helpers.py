"""Helpers for the chaos tests: kubeconfig files shaped like kind's, and the experiments on disk."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    # The experiments name `chaos.todo_chaos.*` and `support.*`: both resolve from the repo root.
    sys.path.insert(0, str(REPO_ROOT))

# The pod kills share one shape (chaosk8s terminate_pods); the network experiment has its own tests.
EXPERIMENTS = sorted((REPO_ROOT / "chaos" / "experiments").glob("*-pod-kill.json"))


def write_kubeconfig(path: Path, context: str = "kind-todo-e2e", server: str = "https://127.0.0.1:40123") -> Path:
    """Write a kubeconfig with one context/cluster/user, the way kind exports it (no credentials needed)."""
    cluster = context.removeprefix("kind-")
    data = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "users": [{"name": context, "user": {"token": f"not-a-secret-{cluster}"}}],
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def load_json(path: Path) -> dict[str, Any]:
    """An experiment file as data."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
