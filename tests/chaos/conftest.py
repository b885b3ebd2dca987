"""Fixtures for the chaos tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helper modules next to this file
from tests.chaos.chaos_test_helpers import write_kubeconfig


@pytest.fixture
def suite_kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig naming the suite's kind cluster on loopback."""
    return write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def kubeconfig_env(suite_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """KUBECONFIG set, as the experiments require it (they never fall back to ~/.kube/config)."""
    monkeypatch.setenv("KUBECONFIG", str(suite_kubeconfig))
    return suite_kubeconfig
