"""Deploying the app two ways (the suite's code vs raw kubectl), and the Kubernetes-defaults variant."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from support.cluster import ClusterHandle, image_name
from support.conditions import rolled_out
from support.waits import until, wait_for

__all__ = [
    "DEPLOY_POLL_INTERVAL_S",
    "FAST_TOLERATION_KEYS",
    "delete_namespace",
    "deploy_raw",
    "deploy_rendered",
    "deploy_suite",
    "raw_kustomization",
    "without_fast_tolerations",
]

# The suite's own poll interval for "all tiers Ready" (conftest.py's `deployed` fixture): measured as it is.
DEPLOY_POLL_INTERVAL_S = 2.0
FAST_TOLERATION_KEYS = frozenset({"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"})


def raw_kustomization(overlay: Path, images: dict[str, str], workdir: Path) -> Path:
    """A kustomization in workdir that is the overlay plus the built image tags (what a user would write)."""
    workdir.mkdir(parents=True, exist_ok=True)
    # kustomize refuses absolute resource paths, so the overlay is named relative to the new root.
    relative = os.path.relpath(overlay.resolve(), workdir.resolve())
    entries = []
    for name, ref in sorted(images.items()):
        repo = image_name(ref)
        tag = ref[len(repo) + 1 :] if ref.startswith(repo + ":") else ""
        entry: dict[str, str] = {"name": name, "newName": repo}
        if tag:
            entry["newTag"] = tag
        entries.append(entry)
    doc = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [relative],
        "images": entries,
    }
    path = workdir / "kustomization.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return workdir


def without_fast_tolerations(rendered: str) -> tuple[str, int]:
    """The rendered manifests with the not-ready/unreachable tolerations removed (Kubernetes defaults apply).

    Without them the DefaultTolerationSeconds admission plugin gives every pod 300 s tolerations, which is
    what the cloud overlay (no fast-node-loss patch) gets. Returns the YAML and how many were removed.
    """
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    removed = 0
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "Deployment":
            continue
        pod_spec: dict[str, Any] = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
        tolerations = pod_spec.get("tolerations") or []
        kept = [t for t in tolerations if t.get("key") not in FAST_TOLERATION_KEYS]
        removed += len(tolerations) - len(kept)
        if kept:
            pod_spec["tolerations"] = kept
        else:
            pod_spec.pop("tolerations", None)
    return str(yaml.safe_dump_all(docs, sort_keys=False)), removed


def delete_namespace(cluster: ClusterHandle, timeout: float = 300.0) -> float:
    """Delete the app's namespace and wait until it is gone; return the seconds it took."""
    started = time.monotonic()
    subprocess.run(
        cluster.kubectl_cmd("delete", "namespace", cluster.namespace, "--ignore-not-found", "--wait=false"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    def gone() -> bool:
        """The namespace no longer exists."""
        done = subprocess.run(
            cluster.kubectl_cmd("get", "namespace", cluster.namespace, "-o", "name"),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return done.returncode != 0 and "NotFound" in done.stderr

    wait_for(gone, what=f"namespace {cluster.namespace} deleted", timeout=timeout, interval=1.0)
    return time.monotonic() - started


def deploy_suite(cluster: ClusterHandle, manifests: Path, images: dict[str, str], timeout: float) -> float:
    """Render, apply and wait for every tier Ready exactly as the suite's `deployed` fixture does; seconds."""
    started = time.monotonic()
    cluster.apply(cluster.render(manifests, images))
    until(rolled_out(cluster), timeout=timeout, interval=DEPLOY_POLL_INTERVAL_S)
    return time.monotonic() - started


def deploy_rendered(cluster: ClusterHandle, rendered: str, timeout: float) -> float:
    """Apply already rendered YAML and wait for every tier Ready (the suite's condition); seconds."""
    started = time.monotonic()
    cluster.apply(rendered)
    until(rolled_out(cluster), timeout=timeout, interval=DEPLOY_POLL_INTERVAL_S)
    return time.monotonic() - started


def deploy_raw(cluster: ClusterHandle, kustomization_dir: Path, timeout: float) -> float:
    """`kubectl apply -k` then `kubectl rollout status` of every Deployment; seconds for the whole."""
    started = time.monotonic()
    subprocess.run(
        cluster.kubectl_cmd("apply", "-k", str(kustomization_dir)),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for deployment in [tier.deployment for _, tier in cluster.profile.tiers.items()]:
        left = max(1.0, timeout - (time.monotonic() - started))
        subprocess.run(
            cluster.kubectl_cmd(
                "-n", cluster.namespace, "rollout", "status", f"deployment/{deployment}", f"--timeout={left:.0f}s"
            ),
            capture_output=True,
            text=True,
            timeout=left + 30,
            check=True,
        )
    return time.monotonic() - started
