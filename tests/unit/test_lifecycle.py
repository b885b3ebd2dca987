"""The lifecycle's options are refused before anything is created, each naming the option and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecycle.env import Options, OptionsError, _annotate


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


def test_every_deployment_carries_the_manifest_digest() -> None:
    """The digest lets a later run see that another manifest set is deployed (and start from its absence)."""
    rendered = "kind: Deployment\nmetadata: {name: a}\n---\nkind: Service\nmetadata: {name: b}\n"
    out = _annotate(rendered, "abc")
    assert "todo-e2e.dev/manifests-sha256: abc" in out
    assert out.count("manifests-sha256") == 1
