"""ChaosHandle: refuses foreign clusters, pins the run to the suite's kubeconfig, judges chaoslib runs."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes.config import kube_config

from chaos.todo_chaos.probes import targets_suite_cluster
from support.chaos import (
    ChaosDeviation,
    ChaosFailure,
    ChaosHandle,
    UnsafeChaosTarget,
    check_chaosk8s_reads,
    check_target,
    experiment_path,
    marker_facts,
    suite_environment,
)
from support.safety import TargetFacts
from tests.chaos.chaos_test_helpers import load_json, write_kubeconfig

BASE_URL = "http://127.0.0.1:30080"
HERE = Path(__file__).resolve().parent
SUITE_SERVER = "https://127.0.0.1:40123"


def facts_of(context: str, server: str, marker_ok: bool = True) -> Callable[[], TargetFacts]:
    """Safety facts as ClusterHandle.facts reports them, here for a target whose marker is as given."""
    return lambda: TargetFacts(context, server, marker_ok, "marker as the kit writes it", None)


@pytest.mark.parametrize(
    ("context", "server", "expected"),
    [
        ("kind-other", "https://127.0.0.1:6443", "kube context is 'kind-other', expected 'kind-todo-e2e'"),
        ("kind-todo-e2e", "https://10.0.0.5:6443", "API server 'https://10.0.0.5:6443' is not on loopback"),
        ("kind-todo-e2e", "https://prod.example.com:443", "is not on loopback"),
    ],
    ids=["foreign-context", "remote-ip", "remote-host"],
)
def test_handle_refuses_a_foreign_cluster(context: str, server: str, expected: str, tmp_path: Path) -> None:
    """Context name and loopback API server must both match before any experiment may run."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", context=context, server=server)
    with pytest.raises(UnsafeChaosTarget, match=f"refusing to inject chaos: .*{re.escape(expected)}"):
        ChaosHandle(kubeconfig, context, BASE_URL, tmp_path, facts=facts_of(context, server))


def test_handle_refuses_the_suite_context_without_the_marker(suite_kubeconfig: Path, tmp_path: Path) -> None:
    """Right name and loopback are not enough: the kit's marker must be on the cluster."""
    facts = facts_of("kind-todo-e2e", SUITE_SERVER, marker_ok=False)
    with pytest.raises(UnsafeChaosTarget, match="suite marker not found"):
        ChaosHandle(suite_kubeconfig, "kind-todo-e2e", BASE_URL, tmp_path, facts=facts)


def test_without_facts_the_marker_is_read_from_the_target(tmp_path: Path) -> None:
    """The default reads the marker ConfigMap; an API server that does not answer is refused."""
    # Port 1 on loopback: nothing listens there, so the read fails at once (no request leaves the host).
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server="https://127.0.0.1:1")
    with pytest.raises(UnsafeChaosTarget, match="marker ConfigMap kube-system/todo-e2e-marker unreadable"):
        ChaosHandle(kubeconfig, "kind-todo-e2e", BASE_URL, tmp_path)


def test_a_remote_server_is_never_contacted_for_its_marker(tmp_path: Path) -> None:
    """marker_facts does not connect to a non-loopback API server just to learn it is not ours."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server="https://10.0.0.5:6443")
    facts = marker_facts(kubeconfig, "kind-todo-e2e")
    assert (facts.marker_ok, facts.marker_detail) == (False, "not read: the API server is not on loopback")


def test_facts_about_another_target_are_refused(suite_kubeconfig: Path, tmp_path: Path) -> None:
    """Facts gathered from a different server than the kubeconfig's cannot vouch for it."""
    facts = facts_of("kind-todo-e2e", "https://127.0.0.1:9999")
    with pytest.raises(UnsafeChaosTarget, match="the safety facts describe"):
        ChaosHandle(suite_kubeconfig, "kind-todo-e2e", BASE_URL, tmp_path, facts=facts)


def test_an_explicitly_allowed_existing_context_takes_pod_faults(tmp_path: Path) -> None:
    """The staging option: a named existing context may take pod faults (these experiments are pod-level)."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", context="staging", server="https://10.0.0.5:6443")
    facts = facts_of("staging", "https://10.0.0.5:6443", marker_ok=False)
    handle = ChaosHandle(kubeconfig, "staging", BASE_URL, tmp_path, facts=facts, allowed_context="staging")
    config, _ = handle.experiment_vars({"configuration": {}})
    assert config["allowed_context"] == "staging"


def test_handle_refuses_a_context_missing_from_the_kubeconfig(tmp_path: Path) -> None:
    """A kubeconfig for another cluster does not become the suite's by naming the suite's context."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", context="kind-other")
    with pytest.raises(UnsafeChaosTarget, match="has no context 'kind-todo-e2e'"):
        ChaosHandle(kubeconfig, "kind-todo-e2e", BASE_URL, tmp_path)


def test_handle_refuses_a_missing_kubeconfig(tmp_path: Path) -> None:
    """No silent fallback to ~/.kube/config."""
    with pytest.raises(UnsafeChaosTarget, match="does not exist"):
        ChaosHandle(tmp_path / "nope", "kind-todo-e2e", BASE_URL, tmp_path)


@pytest.mark.parametrize("server", ["https://127.0.0.1:40123", "https://localhost:6443", "https://[::1]:6443"])
def test_the_suite_cluster_is_accepted(server: str, tmp_path: Path) -> None:
    """kind's loopback API server with the suite's context and marker passes."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server=server)
    facts = facts_of("kind-todo-e2e", server)()
    assert check_target(kubeconfig, "kind-todo-e2e", facts=facts) == server


def test_experiment_vars_pin_kubeconfig_context_and_app(suite_kubeconfig: Path, tmp_path: Path) -> None:
    """Configuration and the chaosk8s secret are overridden with the handle's own target."""
    facts = facts_of("kind-todo-e2e", SUITE_SERVER)
    handle = ChaosHandle(suite_kubeconfig, "kind-todo-e2e", BASE_URL, tmp_path, facts=facts)
    experiment = {
        "title": "t",
        "configuration": {"kubeconfig": {}, "kube_context": "x", "base_url": "y", "n": 1},
    }
    config, secrets = handle.experiment_vars(experiment, {"n": 2, "kube_context": "kind-elsewhere"})
    assert config == {
        "n": 2,
        "kubeconfig": str(suite_kubeconfig.resolve()),
        "kube_context": "kind-todo-e2e",
        "allowed_context": "",
        "base_url": BASE_URL,
    }
    assert secrets == {"k8s": {"KUBERNETES_CONTEXT": "kind-todo-e2e"}}
    with pytest.raises(ValueError, match=r"declares no configuration keys \['typo'\]"):
        handle.experiment_vars(experiment, {"typo": 1})


def test_suite_environment_points_chaosk8s_at_the_suite_kubeconfig(
    suite_kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside a run KUBECONFIG and the kubernetes client's default location are the suite's, then restored."""
    other = write_kubeconfig(tmp_path / "other", server="https://127.0.0.1:1")
    monkeypatch.setenv("KUBECONFIG", str(other))
    # As if kubernetes had been imported while KUBECONFIG named another file (it reads it only then).
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(other))
    with pytest.raises(UnsafeChaosTarget, match="chaosk8s would read"):
        check_chaosk8s_reads(suite_kubeconfig)
    with suite_environment(suite_kubeconfig):
        assert os.environ["KUBECONFIG"] == str(suite_kubeconfig)
        check_chaosk8s_reads(suite_kubeconfig)
    assert os.environ["KUBECONFIG"] == str(other)
    with pytest.raises(UnsafeChaosTarget, match="chaosk8s would read"):
        check_chaosk8s_reads(suite_kubeconfig)


def test_the_guard_probe_refuses_an_unmarked_cluster(suite_kubeconfig: Path) -> None:
    """The experiments' first probe reads the marker; nothing answers at the test kubeconfig's server."""
    with pytest.raises(UnsafeChaosTarget, match="suite marker not found"):
        targets_suite_cluster(str(write_kubeconfig(suite_kubeconfig, server="https://127.0.0.1:1")))


def _activity(kind: str, name: str, func: str, **arguments: Any) -> dict[str, Any]:
    """A python activity on the test activities module."""
    activity: dict[str, Any] = {
        "type": kind,
        "name": name,
        "provider": {
            "type": "python",
            "module": "chaos_test_activities",
            "func": func,
            "arguments": arguments,
        },
    }
    if kind == "probe":
        activity["tolerance"] = True
    return activity


def _write_experiment(directory: Path, name: str, flag: Path, ledger: Path, method: list[dict[str, Any]]) -> None:
    """An experiment with the handle's configuration keys whose steady state is 'the flag file is absent'."""
    experiment = {
        "title": f"test experiment {name}",
        "description": "exercises ChaosHandle without a cluster",
        "runtime": {"rollbacks": {"strategy": "always"}},
        "configuration": {"kubeconfig": "", "kube_context": "", "allowed_context": "", "base_url": ""},
        "steady-state-hypothesis": {
            "title": "flag absent",
            "probes": [_activity("probe", "flag-absent", "flag_absent", path=str(flag))],
        },
        "method": method,
        "rollbacks": [_activity("action", "record-rollback", "record", path=str(ledger), line="rolled back")],
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(json.dumps(experiment), encoding="utf-8")


@pytest.fixture
def handle(suite_kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ChaosHandle:
    """A handle on the suite's kubeconfig, reading experiments from a temporary folder."""
    monkeypatch.syspath_prepend(str(HERE))
    return ChaosHandle(
        suite_kubeconfig,
        "kind-todo-e2e",
        BASE_URL,
        tmp_path / "results",
        facts=facts_of("kind-todo-e2e", SUITE_SERVER),
        experiments_dir=tmp_path / "exp",
    )


def test_a_run_that_holds_writes_its_journal(handle: ChaosHandle, tmp_path: Path) -> None:
    """Steady before and after: outcome completed, journal kept under results/chaos/, rollbacks played."""
    flag, ledger = tmp_path / "flag", tmp_path / "ledger"
    method = [_activity("action", "harmless", "record", path=str(ledger), line="method ran")]
    _write_experiment(handle.experiments_dir, "holds", flag, ledger, method)
    outcome = handle.run("holds")
    assert (outcome.status, outcome.deviated, outcome.deviated_probe) == ("completed", False, None)
    assert outcome.journal_path == tmp_path / "results" / "chaos" / "holds-journal.json"
    journal = json.loads(outcome.journal_path.read_text(encoding="utf-8"))
    assert journal["steady_states"]["after"]["steady_state_met"] is True
    assert 0 < outcome.duration_s < 60
    assert ledger.read_text(encoding="utf-8").splitlines() == ["method ran", "rolled back"]


def test_a_deviation_names_the_probe_and_still_rolls_back(handle: ChaosHandle, tmp_path: Path) -> None:
    """The method breaks the steady state: ChaosDeviation names the probe; rollbacks run (strategy always)."""
    flag, ledger = tmp_path / "flag", tmp_path / "ledger"
    _write_experiment(
        handle.experiments_dir,
        "breaks",
        flag,
        ledger,
        [_activity("action", "fault", "raise_flag", path=str(flag))],
    )
    with pytest.raises(ChaosDeviation, match=r"probe 'flag-absent' failed after the method: .*flag .* is set") as err:
        handle.run("breaks")
    outcome = err.value.outcome
    assert outcome is not None and outcome.deviated and outcome.deviated_probe == "flag-absent"
    assert outcome.status == "failed"  # chaoslib's "default" rollback strategy would skip rollbacks here
    assert ledger.read_text(encoding="utf-8").splitlines() == ["rolled back"]
    assert isinstance(err.value, AssertionError)
    assert json.loads(outcome.journal_path.read_text(encoding="utf-8"))["deviated"] is True


def test_a_system_not_steady_before_is_a_failure_not_a_deviation(handle: ChaosHandle, tmp_path: Path) -> None:
    """If the hypothesis fails before the method, the fault is not injected and the run fails clearly."""
    flag, ledger = tmp_path / "flag", tmp_path / "ledger"
    flag.write_text("already", encoding="utf-8")
    method = [_activity("action", "fault", "record", path=str(ledger), line="method ran")]
    _write_experiment(handle.experiments_dir, "unsteady", flag, ledger, method)
    with pytest.raises(ChaosFailure, match=r"did not hold before the fault .*'flag-absent'") as err:
        handle.run("unsteady")
    assert not isinstance(err.value, ChaosDeviation)
    assert "method ran" not in ledger.read_text(encoding="utf-8")


def test_a_fault_that_hits_nothing_fails(handle: ChaosHandle, tmp_path: Path) -> None:
    """A terminate_pods that selected no pod proves nothing, so the run fails."""
    flag, ledger = tmp_path / "flag", tmp_path / "ledger"
    method = [_activity("action", "kill-nothing", "terminate_pods", label_selector="app=none")]
    _write_experiment(handle.experiments_dir, "misses", flag, ledger, method)
    with pytest.raises(ChaosFailure, match="fault actions hit no pod: 'kill-nothing'"):
        handle.run("misses")


def test_unknown_experiment_names_the_known_ones(handle: ChaosHandle, tmp_path: Path) -> None:
    """A typo in a step names what exists."""
    _write_experiment(handle.experiments_dir, "holds", tmp_path / "f", tmp_path / "l", [])
    with pytest.raises(FileNotFoundError, match=r"no chaos experiment 'hold' .*\['holds'\]"):
        handle.run("hold")


def test_the_real_experiments_are_found_by_name() -> None:
    """The default folder is chaos/experiments/; names work with or without the suffix."""
    assert experiment_path("backend-pod-kill") == experiment_path("backend-pod-kill.json")
    assert experiment_path("database-pod-kill").parent.name == "experiments"


def test_experiment_vars_point_the_experiment_at_the_profiles_app(suite_kubeconfig: Path, tmp_path: Path) -> None:
    """With a profile the namespace, the profile file and the experiment's tier come from it; without, none."""
    from support.profile import load_profile

    path = Path(__file__).resolve().parents[1] / "profiles" / "renamed.yaml"
    renamed = load_profile(path)
    facts = facts_of("kind-todo-e2e", SUITE_SERVER)
    experiment = load_json(experiment_path("backend-pod-kill"))
    plain = ChaosHandle(suite_kubeconfig, "kind-todo-e2e", BASE_URL, tmp_path, facts=facts)
    assert plain.profile_configuration(experiment) == {}
    handle = ChaosHandle(
        suite_kubeconfig, "kind-todo-e2e", BASE_URL, tmp_path, facts=facts, profile=renamed, profile_path=path
    )
    config, _ = handle.experiment_vars(experiment)
    assert config["namespace"] == "todo-renamed"
    assert config["profile"] == str(path)
    assert config["tier_selector"] == "e2e.example.org/role=api,e2e.example.org/stack=renamed-todo"
    assert (config["tier_deployment"], config["tier_replicas"]) == ("rn-todo-backend", 2)
