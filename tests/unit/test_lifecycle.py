"""The lifecycle's options are refused before anything is created, each naming the option and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecycle.env import Environment, NodePortTaken, Options, OptionsError, _annotate, node_ports, service_names
from support.cluster import NodePortHolder
from support.results import Results


def test_a_missing_manifest_directory_is_refused(tmp_path: Path) -> None:
    """--manifests must name a kustomize directory."""
    with pytest.raises(OptionsError, match="no such directory"):
        Options(manifests=tmp_path / "nope").validate()
    (tmp_path / "plain").mkdir()
    with pytest.raises(OptionsError, match=r"no kustomization\.yaml"):
        Options(manifests=tmp_path / "plain").validate()


def test_an_unknown_image_name_is_refused() -> None:
    """Only the profile's tiers can have their image overridden."""
    with pytest.raises(OptionsError, match=r"image override\(s\) for tier\(s\) \['todo-backnd'\]"):
        Options(images={"todo-backnd": "x:1"}).validate()


def test_staging_needs_an_explicit_kubeconfig(tmp_path: Path) -> None:
    """The default kubeconfig is never used; a named one must exist."""
    with pytest.raises(OptionsError, match="needs --kubeconfig"):
        Options(staging_context="prod").validate()
    with pytest.raises(OptionsError, match="no such file"):
        Options(staging_context="prod", kubeconfig=tmp_path / "kubeconfig").validate()


def test_staging_applies_nothing_unless_manifests_are_named(tmp_path: Path) -> None:
    """In staging mode the suite verifies what is deployed; the kind overlay is never applied by default."""
    (tmp_path / "kubeconfig").write_text("x")
    staging = Options(staging_context="staging", kubeconfig=tmp_path / "kubeconfig")
    staging.validate()
    assert staging.manifests_dir() is None
    assert Options().manifests_dir() is not None and Options().manifests_dir().name == "kind"  # type: ignore[union-attr]


def test_every_deployment_and_service_carries_the_manifest_digest() -> None:
    """The digest lets a later run see that another manifest set is deployed (and start from its absence)."""
    rendered = (
        "kind: Deployment\nmetadata: {name: a}\n---\nkind: Service\nmetadata: {name: b}\n"
        "---\nkind: ConfigMap\nmetadata: {name: c}\n"
    )
    out = _annotate(rendered, "abc")
    assert "todo-e2e.dev/manifests-sha256: abc" in out
    assert out.count("manifests-sha256") == 2


def test_node_ports_are_read_from_the_rendered_services() -> None:
    rendered = (
        "kind: Service\nmetadata: {name: web}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 30080}]}\n---\n"
        "kind: Service\nmetadata: {name: db}\nspec: {ports: [{port: 3306}]}\n---\n"
        "kind: Deployment\nmetadata: {name: a}\n"
    )
    assert node_ports(rendered) == {30080}


class _Ports:
    """A cluster whose other namespaces hold NodePorts (the suite's earlier deployment or someone else's)."""

    def __init__(self, holders: list[NodePortHolder]) -> None:
        self.holders = holders
        self.deleted: list[str] = []

    def node_port_holders(self, ports: set[int], marker: str) -> list[NodePortHolder]:
        return [h for h in self.holders if set(h.ports) & ports]

    def delete_suite_deployment(self, namespace: str, marker: str) -> list[str]:
        self.deleted.append(namespace)
        return [f"Service {namespace}/x"]


def test_the_suites_earlier_deployment_gives_way_and_anything_else_is_an_error(tmp_path: Path) -> None:
    env = Environment(Options(), Results(root=tmp_path / "results"), say=lambda _: None)
    ours = _Ports([NodePortHolder("todo", "todo-frontend", (30080,), ours=True)])
    env._free_node_ports(ours, {30080, 30081})  # type: ignore[arg-type]
    assert ours.deleted == ["todo"]
    foreign = _Ports([NodePortHolder("shop", "web", (30080,), ours=False)])
    with pytest.raises(NodePortTaken, match=r"Service shop/web, which the suite did not deploy"):
        env._free_node_ports(foreign, {30080})  # type: ignore[arg-type]
    assert foreign.deleted == []


def test_service_names_are_read_from_the_rendered_manifests() -> None:
    rendered = (
        "kind: Service\nmetadata: {name: web}\n---\nkind: Deployment\nmetadata: {name: a}\n---\n"
        "kind: Service\nmetadata: {name: db}\n"
    )
    assert service_names(rendered) == ["web", "db"]


class _Deployed:
    """A namespace where a manifest set with digest `digest` was applied (Deployments and Services annotated);
    `deployments=False`: its Deployments were removed already, its database Service is left."""

    def __init__(self, digest: str, *, deployments: bool = True) -> None:
        self.digest = digest
        self.deployments = deployments
        self.calls: list[str] = []

    def deployment_annotations(self, key: str) -> dict[str, str]:
        return {"mysql": self.digest, "backend": self.digest} if self.deployments else {}

    def service_annotations(self, key: str, names: list[str]) -> dict[str, str]:
        held = {"mysql": self.digest, "web": self.digest} if self.deployments else {"mysql": self.digest}
        return {n: v for n, v in held.items() if n in names}

    def delete_deployments(self) -> None:
        self.calls.append("deployments")

    def delete_services(self, names: list[str]) -> list[str]:
        self.calls.append("services " + ",".join(names))
        return [n for n in names if n == "mysql"]


def test_another_manifest_set_gives_way_with_its_services(tmp_path: Path) -> None:
    """A headless database Service cannot be applied over a ClusterIP one (clusterIP is immutable): switching
    manifest sets deletes the Deployments first, then the Services the new set defines; the same set is kept."""
    rendered = "kind: Service\nmetadata: {name: mysql}\n---\nkind: Service\nmetadata: {name: web}\n"
    said: list[str] = []
    env = Environment(Options(), Results(root=tmp_path / "results"), say=said.append)
    other = _Deployed("old")
    env._replace_other_manifest_set(other, rendered, "new")  # type: ignore[arg-type]
    assert other.calls == ["deployments", "services mysql,web"]
    assert said[-1] == "deleted the Services of another manifest set mysql"
    same = _Deployed("new")
    env._replace_other_manifest_set(same, rendered, "new")  # type: ignore[arg-type]
    assert same.calls == []
    # Seen in a run: the earlier set's Deployments were deleted to free its NodePorts; its database Service stayed.
    left = _Deployed("old", deployments=False)
    env._replace_other_manifest_set(left, rendered, "new")  # type: ignore[arg-type]
    assert left.calls == ["services mysql"]
