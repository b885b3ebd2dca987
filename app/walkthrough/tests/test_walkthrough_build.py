"""Unit tests of the build's content key: it moves with the sources and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.walkthrough.build import BACKEND, BACKEND_SOURCES, FRONTEND, FRONTEND_SOURCES, source_key


def tree(root: Path, files: dict[str, str]) -> Path:
    """Write files (relative path -> text) under root."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_key_is_stable_and_location_independent(tmp_path: Path) -> None:
    """The same files in another folder give the same key (a fresh clone in CI hits the cache)."""
    files = {"pom.xml": "<project/>", "src/a/B.java": "class B {}"}
    one = source_key(tree(tmp_path / "one", files), ["pom.xml", "src"], "java 17")
    two = source_key(tree(tmp_path / "two", files), ["pom.xml", "src"], "java 17")
    assert one == two


@pytest.mark.parametrize(
    "change",
    [
        {"src/a/B.java": "class B { int x; }"},  # content
        {"src/a/C.java": "class B {}"},  # a new file
    ],
)
def test_key_moves_with_the_sources(tmp_path: Path, change: dict[str, str]) -> None:
    """Editing or adding a source file changes the key."""
    files = {"pom.xml": "<project/>", "src/a/B.java": "class B {}"}
    before = source_key(tree(tmp_path / "before", files), ["pom.xml", "src"])
    after = source_key(tree(tmp_path / "after", {**files, **change}), ["pom.xml", "src"])
    assert before != after


def test_key_moves_with_a_rename_and_with_the_toolchain(tmp_path: Path) -> None:
    """A renamed file or another tool version is another build."""
    root = tree(tmp_path / "r", {"src/x.ts": "export {}"})
    renamed = tree(tmp_path / "s", {"src/y.ts": "export {}"})
    assert source_key(root, ["src"]) != source_key(renamed, ["src"])
    assert source_key(root, ["src"], "v20.20.2") != source_key(root, ["src"], "v22.1.0")


def test_missing_source_fails_naming_it(tmp_path: Path) -> None:
    """An incomplete source tree is an error, never a key over fewer files."""
    with pytest.raises(FileNotFoundError, match=r"pom\.xml"):
        source_key(tmp_path, ["pom.xml"])


def test_the_real_sources_are_all_present() -> None:
    """Every input the build hashes exists in the checkout (package-lock.json included: `npm ci` needs it)."""
    assert source_key(BACKEND, BACKEND_SOURCES)
    assert source_key(FRONTEND, FRONTEND_SOURCES)
    assert (FRONTEND / "package-lock.json").is_file()
