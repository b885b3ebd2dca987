"""Pins: one file, complete, validated; cache keys follow their inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.pins import KIT_DIR, input_key, load_pins


def test_pins_file_is_complete_and_versions_are_well_formed() -> None:
    pins = load_pins()
    assert pins.kind == "v0.30.0"
    assert pins.kubernetes.startswith("v1.34.")
    assert pins.staging == "v0.34." + pins.kubernetes.rsplit(".", 1)[1]
    assert pins.minor == 34


def test_cgroup_v1_pair_is_documented_where_it_is_pinned() -> None:
    text = (KIT_DIR / "pins.toml").read_text()
    assert "cgroup v1" in text and "failCgroupV1" in text


def test_missing_pin_is_named(tmp_path: Path) -> None:
    text = (KIT_DIR / "pins.toml").read_text().replace('crictl = "v1.34.0"', "")
    (tmp_path / "pins.toml").write_text(text)
    with pytest.raises(ValueError, match="missing pins: crictl"):
        load_pins(tmp_path / "pins.toml")


def test_malformed_version_is_named(tmp_path: Path) -> None:
    text = (KIT_DIR / "pins.toml").read_text().replace('crictl = "v1.34.0"', 'crictl = "latest"')
    (tmp_path / "pins.toml").write_text(text)
    with pytest.raises(ValueError, match="crictl='latest'"):
        load_pins(tmp_path / "pins.toml")


def test_unknown_pin_is_refused(tmp_path: Path) -> None:
    text = (KIT_DIR / "pins.toml").read_text() + "\n[node.extra]\n"
    (tmp_path / "pins.toml").write_text(text.replace("[node]\n", '[node]\nflannel = "v1.0.0"\n'))
    with pytest.raises(ValueError, match=r"unknown pins: .*flannel"):
        load_pins(tmp_path / "pins.toml")


def test_input_key_changes_with_any_input(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    (recipe / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    first = input_key("node", {"kubernetes": "v1.34.4"}, recipe)
    assert first == input_key("node", {"kubernetes": "v1.34.4"}, recipe)
    assert first != input_key("node", {"kubernetes": "v1.34.3"}, recipe)
    (recipe / "Dockerfile").write_text("FROM debian:bookworm-slim\nRUN true\n")
    assert first != input_key("node", {"kubernetes": "v1.34.4"}, recipe)
    (recipe / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    (recipe / "extra.sh").write_text("")
    assert first != input_key("node", {"kubernetes": "v1.34.4"}, recipe), "a new file in a recipe is an input"


def test_cache_dir_is_outside_the_checkout_and_overridable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kit.pins import cache_dir

    monkeypatch.delenv("TODO_E2E_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path.resolve() / "todo-e2e"
    monkeypatch.setenv("TODO_E2E_CACHE", str(tmp_path / "elsewhere"))
    assert cache_dir() == (tmp_path / "elsewhere").resolve()
    assert not str(cache_dir()).startswith(str(KIT_DIR.parent) + "/")


def test_image_key_depends_on_content_not_on_where_the_checkout_lives(tmp_path: Path) -> None:
    from kit.images import ImageSpec

    keys = []
    for where in ("checkout-a", "checkout-b"):
        src = tmp_path / where / "recipes"
        src.mkdir(parents=True)
        (src / "wrapper").write_text("#!/bin/sh\nexec true\n")
        keys.append(ImageSpec("x:1", "FROM debian:bookworm-slim\n", {"wrapper": src / "wrapper"}).key("base"))
    assert keys[0] == keys[1]
    (tmp_path / "checkout-b" / "recipes" / "wrapper").write_text("#!/bin/sh\nexec false\n")
    changed = ImageSpec(
        "x:1", "FROM debian:bookworm-slim\n", {"wrapper": tmp_path / "checkout-b" / "recipes" / "wrapper"}
    ).key("base")
    assert changed != keys[0]


def test_a_pin_the_go_proxy_does_not_serve_fails_naming_component_and_version() -> None:
    """Asks the Go module proxy (a registry the build hosts reach) for a version that does not exist."""
    from kit.gobuild import GoBuildError, module_dir

    with pytest.raises(
        GoBuildError, match=r"pin github\.com/rancher/local-path-provisioner@v0\.0\.999 is not available"
    ):
        module_dir("github.com/rancher/local-path-provisioner", "v0.0.999")
