"""The raw kubectl kustomization and the Kubernetes-defaults variant of the rendered manifests."""

from __future__ import annotations

from pathlib import Path

import yaml

from bench.deploy import raw_kustomization, without_fast_tolerations

RENDERED = """apiVersion: v1
kind: Namespace
metadata: {name: todo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: todo-backend}
spec:
  template:
    spec:
      tolerations:
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 5}
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 5}
      - {key: dedicated, operator: Equal, value: todo, effect: NoSchedule}
      containers: [{name: api, image: todo-backend:abc}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: mysql}
spec:
  template:
    spec:
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 5}
      containers: [{name: db, image: todo-mysql:abc}]
"""


def test_defaults_variant_drops_only_the_short_node_tolerations() -> None:
    """not-ready/unreachable tolerations go (Kubernetes then adds its 300 s ones); others and the rest stay."""
    text, removed = without_fast_tolerations(RENDERED)
    docs = list(yaml.safe_load_all(text))
    assert removed == 3 and len(docs) == 3
    backend, mysql = docs[1]["spec"]["template"]["spec"], docs[2]["spec"]["template"]["spec"]
    assert backend["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "todo", "effect": "NoSchedule"}
    ]
    assert "tolerations" not in mysql
    assert backend["containers"][0]["image"] == "todo-backend:abc"


def test_raw_kustomization_points_at_overlay_relatively_with_built_tags(tmp_path: Path) -> None:
    """kustomize refuses absolute resources: the overlay is relative to the new root and resolves to it."""
    overlay = tmp_path / "repo" / "manifests" / "overlays" / "kind"
    overlay.mkdir(parents=True)
    work = tmp_path / "elsewhere" / "k"
    images = {"todo-backend": "todo-backend:f77cbe074ca6", "todo-mysql": "reg:5000/x/todo-mysql:1.0"}
    doc = yaml.safe_load((raw_kustomization(overlay, images, work) / "kustomization.yaml").read_text())
    (resource,) = doc["resources"]
    assert not Path(resource).is_absolute()
    assert (work / resource).resolve() == overlay.resolve()
    assert doc["images"] == [
        {"name": "todo-backend", "newName": "todo-backend", "newTag": "f77cbe074ca6"},
        {"name": "todo-mysql", "newName": "reg:5000/x/todo-mysql", "newTag": "1.0"},
    ]
