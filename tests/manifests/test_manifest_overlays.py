"""What each overlay changes: exposure, images and how fast pods leave a lost node."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from .facts import containers, deployments, find, pod_spec
from .render import render
from .variants import DIRECTORIES, rendered

Obj = dict[str, Any]

NODE_LOSS_TAINTS = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}
IMAGES = ("todo-mysql", "todo-backend", "todo-frontend")


def _images(objects: list[Obj]) -> dict[str, tuple[str, str]]:
    """Deployment name -> (image, pull policy) of its one container."""
    found = {}
    for workload in deployments(objects):
        (container,) = containers(workload)
        found[workload["metadata"]["name"]] = (container["image"], container["imagePullPolicy"])
    return found


def test_kind_exposes_the_front_end_on_node_port_30080() -> None:
    """The kind config maps node port 30080 to 127.0.0.1:30080, so the Service must use exactly that."""
    service = find(rendered("kind"), "Service", "todo-frontend")["spec"]
    assert service["type"] == "NodePort"
    (port,) = service["ports"]
    assert (port["port"], port.get("nodePort"), port["targetPort"]) == (8080, 30080, "http")


def test_only_the_front_end_is_exposed_outside_the_cluster() -> None:
    """Database and back end stay ClusterIP in every variant."""
    for variant in ("base", "kind", "cloud"):
        for name in ("mysql", "todo-backend"):
            assert find(rendered(variant), "Service", name)["spec"]["type"] == "ClusterIP", (variant, name)


def test_base_front_end_is_cluster_internal_and_cloud_uses_a_load_balancer() -> None:
    """Base leaves exposure to overlays; the cloud overlay asks the provider for a load balancer."""
    assert find(rendered("base"), "Service", "todo-frontend")["spec"]["type"] == "ClusterIP"
    cloud = find(rendered("cloud"), "Service", "todo-frontend")["spec"]
    assert cloud["type"] == "LoadBalancer"
    assert "nodePort" not in cloud["ports"][0]


def test_kind_uses_loaded_local_images_and_never_pulls() -> None:
    """Images are the contract names tagged `local`, present only because the suite loaded them."""
    assert _images(rendered("kind")) == {
        "mysql": ("todo-mysql:local", "Never"),
        "todo-backend": ("todo-backend:local", "Never"),
        "todo-frontend": ("todo-frontend:local", "Never"),
    }


def test_cloud_pulls_versioned_images_from_a_registry() -> None:
    """The cloud overlay names a registry and a release tag."""
    assert _images(rendered("cloud")) == {
        "mysql": ("registry.example.com/todo/todo-mysql:1.0.0", "IfNotPresent"),
        "todo-backend": ("registry.example.com/todo/todo-backend:1.0.0", "IfNotPresent"),
        "todo-frontend": ("registry.example.com/todo/todo-frontend:1.0.0", "IfNotPresent"),
    }


def test_kind_evicts_pods_from_a_lost_node_within_seconds() -> None:
    """Every Deployment tolerates not-ready/unreachable for 10 s at most (default 300 s)."""
    for workload in deployments(rendered("kind")):
        tolerations = pod_spec(workload)["tolerations"]
        short = {t["key"]: t for t in tolerations if t["key"] in NODE_LOSS_TAINTS}
        assert set(short) == NODE_LOSS_TAINTS, workload["metadata"]["name"]
        for toleration in short.values():
            assert toleration["effect"] == "NoExecute"
            assert toleration["operator"] == "Exists"
            assert 1 <= toleration["tolerationSeconds"] <= 10, (workload["metadata"]["name"], toleration)


@pytest.mark.parametrize("variant", ["base", "cloud"])
def test_other_variants_keep_the_default_eviction_delay(variant: str) -> None:
    """Outside kind a brief network blip must not reschedule the database: no short tolerations."""
    for workload in deployments(rendered(variant)):
        keys = {t.get("key") for t in pod_spec(workload).get("tolerations", [])}
        assert not keys & NODE_LOSS_TAINTS, (variant, workload["metadata"]["name"])


@pytest.mark.parametrize("variant", ["kind", "cloud"])
def test_overlays_change_only_what_they_declare(variant: str) -> None:
    """Apart from images, labels, exposure and tolerations, an overlay renders the base unchanged."""

    def normalised(objects: list[Obj]) -> list[Obj]:
        """The render with overlay-owned fields removed."""
        out = []
        for obj in copy.deepcopy(objects):
            obj["metadata"].get("labels", {}).pop("app.kubernetes.io/version", None)
            if obj["kind"] == "Deployment":
                obj["spec"]["template"]["metadata"]["labels"].pop("app.kubernetes.io/version")
                pod_spec(obj).pop("tolerations", None)
                for container in containers(obj):
                    container.pop("image")
                    container.pop("imagePullPolicy")
            if obj["kind"] == "Service" and obj["metadata"]["name"] == "todo-frontend":
                obj["spec"].pop("type")
                for port in obj["spec"]["ports"]:
                    port.pop("nodePort", None)
            out.append(obj)
        return out

    assert normalised(rendered(variant)) == normalised(rendered("base"))


@pytest.mark.parametrize("variant", ["base", "kind", "cloud"])
def test_images_keep_the_contract_names(variant: str) -> None:
    """Every image is one of the contract's kustomize names, so `images:` overrides reach all three."""
    for image, _ in _images(rendered(variant)).values():
        repository = image.rsplit(":", 1)[0].rsplit("/", 1)[-1]
        assert repository in IMAGES, image


def test_a_thin_overlay_retags_the_kind_images(tmp_path: Path) -> None:
    """The suite's recipe: a generated kustomization over the kind overlay sets content-hash tags."""
    # kustomize rejects absolute resource paths, so the generated file must point back relatively.
    kind_dir = os.path.relpath(DIRECTORIES["kind"], tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        f"resources: [{kind_dir}]\n"
        "images:\n" + "".join(f"  - {{name: {image}, newTag: sha-0123abcd}}\n" for image in IMAGES)
    )
    assert _images(render(tmp_path)) == {
        "mysql": ("todo-mysql:sha-0123abcd", "Never"),
        "todo-backend": ("todo-backend:sha-0123abcd", "Never"),
        "todo-frontend": ("todo-frontend:sha-0123abcd", "Never"),
    }
