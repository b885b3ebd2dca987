"""Rendering the manifests: image overrides on parsed documents, and clear errors for bad directories."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.cluster import ManifestError, image_name, override_images, render_manifests

REPO = Path(__file__).resolve().parents[2]
KIND_OVERLAY = REPO / "manifests" / "overlays" / "kind"
# The nox tests session points $KUBECTL at the kit-built kubectl; under CI a missing kubectl fails, never skips.
KUBECTL = os.environ.get("KUBECTL") or shutil.which("kubectl")
IMAGES = {
    "todo-backend": "todo-backend:abc123",
    "todo-frontend": "todo-frontend:def456",
    "todo-mysql": "todo-mysql:0a1b2c",
}


def _deployment(name: str, *images: str, init: str | None = None) -> dict[str, Any]:
    """A minimal Deployment document."""
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": img} for i, img in enumerate(images)]}
    if init:
        spec["initContainers"] = [{"name": "init", "image": init}]
    return {"kind": "Deployment", "metadata": {"name": name}, "spec": {"template": {"spec": spec}}}


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("todo-backend:local", "todo-backend"),
        ("todo-backend", "todo-backend"),
        ("localhost:5000/todo-backend:local", "localhost:5000/todo-backend"),
        ("reg.example/x/todo-mysql@sha256:abcd", "reg.example/x/todo-mysql"),
    ],
)
def test_image_name_drops_tag_and_digest(ref: str, name: str) -> None:
    """Registry ports are not mistaken for tags."""
    assert image_name(ref) == name


def test_override_replaces_only_named_images() -> None:
    """Containers and init containers of workloads get the new image; other kinds and images stay."""
    docs = [
        _deployment("todo-backend", "todo-backend:local", "busybox:1", init="todo-mysql:local"),
        _deployment("todo-frontend", "registry.local/todo-frontend:local"),
        {"kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"image": "todo-backend:local"}},
    ]
    replaced = override_images(docs, IMAGES)
    back = docs[0]["spec"]["template"]["spec"]
    assert [c["image"] for c in back["containers"]] == ["todo-backend:abc123", "busybox:1"]
    assert back["initContainers"][0]["image"] == "todo-mysql:0a1b2c"
    assert docs[1]["spec"]["template"]["spec"]["containers"][0]["image"] == "todo-frontend:def456"
    assert docs[2]["data"]["image"] == "todo-backend:local"
    assert len(replaced) == 3


def test_missing_directory_is_named(tmp_path: Path) -> None:
    """The error names the directory."""
    with pytest.raises(ManifestError, match="does not exist"):
        render_manifests("kubectl", tmp_path / "nope", IMAGES)


def test_directory_without_kustomization_is_named(tmp_path: Path) -> None:
    """The error names the directory and the missing kustomization.yaml."""
    (tmp_path / "deployment.yaml").write_text("kind: Deployment\n")
    with pytest.raises(ManifestError, match=rf"{tmp_path}.*kustomization\.yaml"):
        render_manifests("kubectl", tmp_path, IMAGES)


@pytest.mark.skipif(
    KUBECTL is None and not os.environ.get("CI"), reason="no kubectl ($KUBECTL, `python -m kit kubectl`)"
)
def test_kind_overlay_renders_with_overrides() -> None:
    """The real kind overlay renders through kubectl kustomize, every app image replaced by the override."""
    docs = list(yaml.safe_load_all(render_manifests(KUBECTL or "kubectl", KIND_OVERLAY, IMAGES)))
    images = {
        d["metadata"]["name"]: [c["image"] for c in d["spec"]["template"]["spec"]["containers"]]
        for d in docs
        if d and d["kind"] == "Deployment"
    }
    assert images == {
        "mysql": ["todo-mysql:0a1b2c"],
        "todo-backend": ["todo-backend:abc123"],
        "todo-frontend": ["todo-frontend:def456"],
    }


@pytest.mark.skipif(
    KUBECTL is None and not os.environ.get("CI"), reason="no kubectl ($KUBECTL, `python -m kit kubectl`)"
)
def test_override_for_an_unused_image_is_refused() -> None:
    """An override naming no image of the manifests is a mistake worth stopping for."""
    with pytest.raises(ManifestError, match="todo-cache"):
        render_manifests(KUBECTL or "kubectl", KIND_OVERLAY, {**IMAGES, "todo-cache": "todo-cache:1"})
