"""The experiments in chaos/experiments/ are valid experiments that only touch the suite's app."""

from __future__ import annotations

import copy
import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chaoslib.exceptions import InvalidActivity, InvalidExperiment
from chaoslib.experiment import ensure_experiment_is_valid
from chaoslib.loader import load_experiment

from support.chaos import HANDLE_CONFIGURATION_KEYS, ROLLBACK_STRATEGY, SUITE_CONTEXT, ChaosHandle
from support.profile import reference_profile
from support.safety import TargetFacts
from tests.chaos.chaos_test_helpers import EXPERIMENTS, REPO_ROOT, load_json

IDS = [p.stem for p in EXPERIMENTS]


def activities(experiment: dict[str, Any]) -> list[dict[str, Any]]:
    """Every activity of an experiment: hypothesis probes, method and rollbacks."""
    return [
        *experiment["steady-state-hypothesis"]["probes"],
        *experiment["method"],
        *experiment.get("rollbacks", []),
    ]


def test_the_three_pod_kill_experiments_exist() -> None:
    """One experiment per tier."""
    assert IDS == ["backend-pod-kill", "database-pod-kill", "frontend-pod-kill"]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=IDS)
def test_experiment_loads_and_is_valid(path: Path, kubeconfig_env: Path) -> None:
    """chaoslib loads it and validates it, importing chaosk8s and todo_chaos and binding every argument."""
    experiment = load_experiment(str(path))
    ensure_experiment_is_valid(experiment)


def test_validation_binds_arguments_to_the_real_functions(kubeconfig_env: Path) -> None:
    """A misspelt argument of a todo_chaos probe is rejected: validation really reads our signatures."""
    experiment = load_json(EXPERIMENTS[0])
    broken = copy.deepcopy(experiment)
    broken["steady-state-hypothesis"]["probes"][1]["provider"]["arguments"]["within_seconds"] = 3
    with pytest.raises(InvalidActivity, match="within_seconds"):
        ensure_experiment_is_valid(broken)


def test_validation_needs_kubeconfig_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without KUBECONFIG the experiment refuses to load its configuration: no fallback to ~/.kube/config."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with pytest.raises(InvalidExperiment, match="KUBECONFIG"):
        ensure_experiment_is_valid(load_json(EXPERIMENTS[0]))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=IDS)
def test_every_python_activity_is_exported(path: Path) -> None:
    """Each python activity names a function its module lists in __all__ (what discovery shows)."""
    for activity in activities(load_json(path)):
        provider = activity["provider"]
        assert provider["type"] == "python", activity["name"]
        module = importlib.import_module(provider["module"])
        assert provider["func"] in module.__all__, f"{activity['name']}: {provider['func']} not exported"


@pytest.mark.parametrize("path", EXPERIMENTS, ids=IDS)
def test_configuration_pins_the_suite_target(path: Path) -> None:
    """The handle's keys are declared; kubeconfig comes only from KUBECONFIG; context is the suite's."""
    experiment = load_json(path)
    config = experiment["configuration"]
    assert set(HANDLE_CONFIGURATION_KEYS) <= set(config)
    assert config["kubeconfig"] == {"type": "env", "key": "KUBECONFIG"}, "no default: never ~/.kube/config"
    assert config["kube_context"] == SUITE_CONTEXT
    assert config["allowed_context"] == "", "an existing context is allowed only explicitly, by the handle"
    assert experiment["secrets"]["k8s"]["KUBERNETES_CONTEXT"] == SUITE_CONTEXT
    # The reference app's values; the handle replaces them with the run's profile (test_chaos_handle).
    reference = reference_profile()
    tier = reference.tiers.get(config["tier"])
    assert path.stem == f"{config['tier']}-pod-kill"
    assert config["namespace"] == reference.namespace
    assert config["profile"] == ""
    assert config["tier_selector"] == tier.selector_string()
    assert (config["tier_deployment"], config["tier_replicas"]) == (tier.deployment, tier.replicas)


@pytest.mark.parametrize("path", EXPERIMENTS, ids=IDS)
def test_hypothesis_guards_the_target_first_then_checks_the_whole_app(path: Path) -> None:
    """The target check runs before anything else; the hypothesis covers tiers, serving (by every back-end replica,
    not one read) and seeded data."""
    probes = load_json(path)["steady-state-hypothesis"]["probes"]
    funcs = [p["provider"]["func"] for p in probes]
    assert funcs == [
        "targets_suite_cluster",
        "all_tiers_ready",
        "app_serving",
        "every_backend_replica_serving",
        "todos_present",
    ]
    assert all(p["tolerance"] is True for p in probes)
    assert all(p["provider"]["module"] == "chaos.todo_chaos.probes" for p in probes)


@pytest.mark.parametrize("path", EXPERIMENTS, ids=IDS)
def test_method_kills_one_labelled_pod_of_its_tier(path: Path) -> None:
    """The fault is chaosk8s terminate_pods on one random pod of the tier, selected by the profile's selector."""
    experiment = load_json(path)
    (action,) = [a for a in experiment["method"] if a["type"] == "action"]
    provider = action["provider"]
    assert (provider["module"], provider["func"]) == ("chaosk8s.pod.actions", "terminate_pods")
    args = provider["arguments"]
    assert args["label_selector"] == "${tier_selector}"
    tier = path.stem.removesuffix("-pod-kill")
    assert experiment["configuration"]["tier_selector"] == reference_profile().tiers.get(tier).selector_string()
    assert (args["ns"], args["qty"], args["rand"]) == ("${namespace}", 1, True)
    assert provider["secrets"] == ["k8s"]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=IDS)
def test_every_action_has_a_rollback_to_the_desired_replicas(path: Path) -> None:
    """Each tier touched by the method is set back to its contract replica count by a guarded rollback."""
    experiment = load_json(path)
    config = experiment["configuration"]
    touched = {config["tier"] for a in experiment["method"] if a["type"] == "action"}
    restored = {
        config[r["provider"]["arguments"]["deployment"].strip("${}")]: config[
            r["provider"]["arguments"]["replicas"].strip("${}")
        ]
        for r in experiment["rollbacks"]
        if r["provider"]["func"] == "ensure_replicas"
    }
    assert touched, "an experiment without a fault proves nothing"
    profile = reference_profile()
    for tier in touched:
        want = profile.expected_replicas[tier]
        assert restored.get(profile.tiers.get(tier).deployment) == want, f"no rollback for tier {tier}"


@pytest.mark.parametrize("path", EXPERIMENTS, ids=IDS)
def test_rollback_strategy_always_matches_the_handle(path: Path, suite_kubeconfig: Path, tmp_path: Path) -> None:
    """`chaos run` reads the experiment's runtime; the handle forces the same strategy: always."""
    experiment = load_json(path)
    assert experiment["runtime"]["rollbacks"]["strategy"] == ROLLBACK_STRATEGY == "always"
    facts = TargetFacts(SUITE_CONTEXT, "https://127.0.0.1:40123", True, "marker as the kit writes it", None)
    handle = ChaosHandle(suite_kubeconfig, SUITE_CONTEXT, "http://127.0.0.1:30080", tmp_path, facts=lambda: facts)
    assert handle.settings()["runtime"]["rollbacks"]["strategy"] == "always"


def test_chaos_cli_validates_an_experiment_standalone(kubeconfig_env: Path) -> None:
    """`chaos validate` (the CLI users run) finds chaosk8s and todo_chaos with PYTHONPATH=<repo root>."""
    chaos = Path(sys.executable).with_name("chaos")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [
            str(chaos),
            "--no-version-check",
            "--no-log-file",
            "validate",
            "chaos/experiments/backend-pod-kill.json",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "experiment syntax and semantic look valid" in (done.stdout + done.stderr)
