"""The kustomize directories under test, each rendered once per session."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

from .render import render

__all__ = ["DIRECTORIES", "fresh", "rendered"]

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
DIRECTORIES = {
    "base": MANIFESTS / "base",
    "kind": MANIFESTS / "overlays" / "kind",
    "cloud": MANIFESTS / "overlays" / "cloud",
}


@cache
def rendered(name: str) -> list[dict[str, Any]]:
    """The rendered objects of one directory by its short name (base, kind, cloud); shared, do not mutate."""
    return render(DIRECTORIES[name])


def fresh(name: str) -> list[dict[str, Any]]:
    """A private deep copy of a render, for tests that mutate it."""
    return copy.deepcopy(rendered(name))
