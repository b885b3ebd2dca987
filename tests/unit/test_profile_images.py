"""The profile's images: built from their folders, or by one call per builder callable with every name it covers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lifecycle.env import Environment, Options
from support.profile import REFERENCE_PROFILE
from support.results import Results

CALLS: list[list[str]] = []


def build(names: list[str]) -> dict[str, str]:
    """A builder as a profile names it: kustomize names in, local image references out."""
    CALLS.append(list(names))
    return {name: f"{name}:built" for name in names if name != "forgotten"}


def _environment(
    tmp_path: Path, profile_images: dict[str, dict[str, str]], overrides: dict[str, str] | None = None
) -> Environment:
    """An Environment for a copy of the reference profile with these images (nothing is created)."""
    data = yaml.safe_load(REFERENCE_PROFILE.read_text())
    data["images"] = profile_images
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    options = Options(profile=path, images=overrides or {})
    return Environment(options, Results(root=tmp_path / "results"), say=lambda _: None)


def test_folders_are_built_one_by_one_and_a_builder_once_for_all_its_names(tmp_path: Path) -> None:
    """Each folder image is built by name; the builder is called once with both of its names."""
    CALLS.clear()
    env = _environment(
        tmp_path,
        {
            "db": {"tier": "database", "context": "app/mysql"},
            "api": {"tier": "backend", "builder": "test_profile_images:build"},
            "web": {"tier": "frontend", "builder": "test_profile_images:build"},
        },
    )
    built: list[tuple[str, str]] = []
    chosen: dict[str, str] = {}

    def build_folder(folder: str, name: str) -> str:
        built.append((folder, name))
        return f"{name}:folder"

    env._build_images(chosen, build_folder)
    assert built == [("app/mysql", "db")]
    assert CALLS == [["api", "web"]]
    assert chosen == {"db": "db:folder", "api": "api:built", "web": "web:built"}


def test_an_image_given_by_tier_is_not_built(tmp_path: Path) -> None:
    """--backend-image names the tier; the profile's image of that tier is then taken as given."""
    CALLS.clear()
    env = _environment(
        tmp_path,
        {"api": {"tier": "backend", "builder": "test_profile_images:build"}},
        {"backend": "mine:1"},
    )
    chosen = {"api": "mine:1"}
    env._build_images(chosen, lambda folder, name: pytest.fail(f"built {name} from {folder}"))
    assert CALLS == []
    assert chosen == {"api": "mine:1"}


def test_a_builder_that_leaves_out_a_name_is_an_error(tmp_path: Path) -> None:
    """A builder must return every name it was called for, or the run stops naming the missing one."""
    env = _environment(tmp_path, {"forgotten": {"tier": "backend", "builder": "test_profile_images:build"}})
    with pytest.raises(RuntimeError, match=r"returned no image for \['forgotten'\]"):
        env._build_images({}, lambda folder, name: name)
