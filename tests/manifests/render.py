"""Render a kustomize directory with kubectl, exactly as the suite applies it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

__all__ = ["find_kubectl", "render"]

# Where the cluster kit leaves the kubectl it builds (same version as the cluster); the layout is not final.
KIT_ARTIFACTS = Path("/root/.cache/todo-e2e/artifacts")
KIT_KUBECTL_PATTERNS = ("*/kubectl", "*/bin/kubectl", "kubectl")
RENDER_TIMEOUT_S = 120.0


def _runs(kubectl: str) -> bool:
    """Whether this kubectl binary starts (a half-built kit artifact must not shadow a working one)."""
    try:
        done = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return False
    return done.returncode == 0


def find_kubectl() -> str:
    """The kubectl to render with: $KUBECTL, else the kit's build, else kubectl on PATH."""
    explicit = os.environ.get("KUBECTL")
    if explicit:
        # An explicit choice is never second-guessed: a wrong one should fail loudly, not fall back.
        return explicit
    tried: list[str] = []
    if KIT_ARTIFACTS.is_dir():
        candidates = [p for pattern in KIT_KUBECTL_PATTERNS for p in KIT_ARTIFACTS.glob(pattern)]
        for path in sorted(candidates, key=lambda p: p.stat().st_mtime, reverse=True):
            tried.append(str(path))
            if os.access(path, os.X_OK) and _runs(str(path)):
                return str(path)
    on_path = shutil.which("kubectl")
    if on_path:
        return on_path
    raise RuntimeError(
        "no kubectl to render manifests with: $KUBECTL is unset, "
        f"no working kit build under {KIT_ARTIFACTS} (tried {tried or 'none'}), none on PATH"
    )


def render(directory: str | Path) -> list[dict[str, Any]]:
    """Render a kustomize directory (`kubectl kustomize DIR`) into a list of objects."""
    kubectl = find_kubectl()
    command = [kubectl, "kustomize", str(directory)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with exit {done.returncode}: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]
