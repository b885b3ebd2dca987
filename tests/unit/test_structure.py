"""The checks that keep the structure honest cover the whole repo: a new file or package cannot fall outside them.

mypy reads its file list from pyproject.toml ([tool.mypy] files, exclude); import-linter its packages from
.importlinter. Both run in `nox -s tests`; these tests fail when a tracked Python file is outside mypy's reach or a
package of ours is outside import-linter's.
"""

from __future__ import annotations

import configparser
import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tracked_python_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return [line for line in out.splitlines() if line]


def test_mypy_checks_every_tracked_python_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["files"] == ["."], "mypy must start from the repo root, not a hand-kept list of packages"
    assert config.get("explicit_package_bases") is True, "module names from paths, so conftest.py files never collide"
    excluded = [re.compile(pattern) for pattern in config.get("exclude", [])]
    files = tracked_python_files()
    assert len(files) > 100
    outside = [path for path in files if any(pattern.search(path) for pattern in excluded)]
    assert not outside, f"tracked Python files mypy skips (exclude in pyproject.toml): {outside}"


def test_import_linter_knows_every_package_of_ours() -> None:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    roots = set(parser["importlinter"]["root_packages"].split())
    inits = {Path(path) for path in tracked_python_files() if path.endswith("__init__.py")}
    packages = {".".join(init.parent.parts) for init in inits if init.parent.parent / "__init__.py" not in inits}
    # Top-level packages of the suite (and the chaos activities), not the app's own code or its tests.
    ours = {p for p in packages if not p.startswith(("app.", "tests.")) and p != "app"}
    missing = sorted(ours - roots)
    assert not missing, f"packages no import-linter contract can see (add them to .importlinter): {missing}"
