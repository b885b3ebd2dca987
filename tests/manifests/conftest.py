"""Fixtures for the manifest tests: each kustomize directory in turn, rendered once."""

from __future__ import annotations

from typing import Any

import pytest

from .variants import DIRECTORIES, rendered


@pytest.fixture(params=sorted(DIRECTORIES), scope="session")
def variant(request: pytest.FixtureRequest) -> str:
    """Each kustomize directory in turn: base, cloud, kind."""
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def objects(variant: str) -> list[dict[str, Any]]:
    """The rendered objects of the current directory."""
    return rendered(variant)
