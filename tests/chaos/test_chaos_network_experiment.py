"""The network experiment: valid for chaoslib, built on the suite's own activities, always rolled back."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from chaoslib.experiment import ensure_experiment_is_valid
from chaoslib.loader import load_experiment

from tests.chaos.chaos_test_helpers import REPO_ROOT, load_json

PATH = REPO_ROOT / "chaos" / "experiments" / "backend-database-partition.json"


def test_the_network_experiment_is_valid(kubeconfig_env: Path) -> None:
    """chaoslib loads and validates it, binding every argument to our functions' signatures."""
    ensure_experiment_is_valid(load_experiment(str(PATH)))


def test_it_uses_only_the_suites_own_exported_activities() -> None:
    """No Chaos Mesh, no chaosk8s fault: every activity is a todo_chaos function listed in its __all__."""
    experiment = load_json(PATH)
    activities = [*experiment["steady-state-hypothesis"]["probes"], *experiment["method"], *experiment["rollbacks"]]
    for activity in activities:
        provider = activity["provider"]
        assert provider["module"].startswith("chaos.todo_chaos."), activity["name"]
        assert provider["func"] in importlib.import_module(provider["module"]).__all__, activity["name"]


def test_it_guards_first_checks_nothing_is_left_and_always_rolls_back() -> None:
    """The target guard runs first; the hypothesis checks no filter is left; the rollback scrubs every pod."""
    experiment = load_json(PATH)
    probes = [p["provider"]["func"] for p in experiment["steady-state-hypothesis"]["probes"]]
    assert probes[0] == "targets_suite_cluster" and "no_network_fault_left" in probes
    assert experiment["runtime"]["rollbacks"]["strategy"] == "always"
    assert [r["provider"]["func"] for r in experiment["rollbacks"]] == ["remove_network_faults"]
    assert experiment["configuration"]["kube_context"] == "kind-todo-e2e"


def test_the_partition_is_bounded() -> None:
    """A hold past the bound is refused before anything is touched."""
    from chaos.todo_chaos.network import cut_off_backend_from_database

    with pytest.raises(ValueError, match="bounded"):
        cut_off_backend_from_database(301, kubeconfig="/nonexistent")
