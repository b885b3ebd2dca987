"""The chaos handle: run chaos/experiments/ in-process with chaoslib, only against the suite's cluster."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from common.names import DEFAULT_CLUSTER, DEFAULT_CONTEXT
from support.profile import Profile
from support.safety import SafetyPolicy, TargetFacts, UnsafeTarget, is_loopback_url
from support.safety import check as safety_check

REPO_ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS_DIR = REPO_ROOT / "chaos" / "experiments"
SUITE_CLUSTER = DEFAULT_CLUSTER
SUITE_CONTEXT = DEFAULT_CONTEXT
# Played after every run, also when the hypothesis failed or the run was interrupted: a fault must never
# outlive its experiment. The experiments declare the same under "runtime" so `chaos run` behaves alike.
ROLLBACK_STRATEGY = "always"
# Configuration keys the handle always sets; every experiment must declare them.
HANDLE_CONFIGURATION_KEYS = ("kubeconfig", "kube_context", "allowed_context", "base_url")
# Configuration keys an experiment declares with the reference app's values; the handle sets them from its profile.
PROFILE_CONFIGURATION_KEYS = ("namespace", "profile", "tier_selector", "tier_deployment", "tier_replicas")
# The chaosk8s secrets scope; chaosk8s reads the context from KUBERNETES_CONTEXT in it.
K8S_SECRETS_SCOPE = "k8s"


class UnsafeChaosTarget(UnsafeTarget):
    """The kubeconfig/context does not name the suite's own cluster: no fault may be injected."""


class ChaosFailure(AssertionError):
    """A chaos experiment did not prove what it claims (not steady before, fault missed, rollback failed)."""

    def __init__(self, message: str, outcome: ChaosOutcome | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome


class ChaosDeviation(ChaosFailure):
    """The steady-state hypothesis no longer held after the method; names the probe that deviated."""


@dataclass(frozen=True)
class ChaosOutcome:
    """What one experiment run produced; the journal keeps the details."""

    experiment: str
    status: str
    deviated: bool
    deviated_probe: str | None
    journal_path: Path
    duration_s: float


def kubeconfig_server(kubeconfig: Path, context: str) -> str:
    """The API server URL a context of a kubeconfig file names (read from the file, nothing contacted)."""
    kubeconfig = Path(kubeconfig)
    if not kubeconfig.is_file():
        raise UnsafeChaosTarget(f"refusing to inject chaos: kubeconfig {str(kubeconfig)!r} does not exist")
    try:
        data = yaml.safe_load(kubeconfig.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UnsafeChaosTarget(
            f"refusing to inject chaos: kubeconfig {str(kubeconfig)!r} is unreadable: {exc}"
        ) from exc
    contexts = {c.get("name"): c.get("context") or {} for c in data.get("contexts") or []}
    if context not in contexts:
        raise UnsafeChaosTarget(
            f"refusing to inject chaos: kubeconfig {str(kubeconfig)!r} has no context {context!r} "
            f"(it has {sorted(str(name) for name in contexts)})"
        )
    clusters = {c.get("name"): c.get("cluster") or {} for c in data.get("clusters") or []}
    return str(clusters.get(contexts[context].get("cluster"), {}).get("server", ""))


def marker_facts(kubeconfig: Path, context: str) -> TargetFacts:
    """Safety facts read from the target: does the kit's marker ConfigMap name the suite's cluster?"""
    server = kubeconfig_server(kubeconfig, context)
    if not is_loopback_url(server)[0]:
        # Never contact a remote API server just to find out it is not ours.
        return TargetFacts(context, server, False, "not read: the API server is not on loopback", None)
    from support.cluster import MARKER_NAME, MARKER_NAMESPACE, ClusterHandle

    where = f"marker ConfigMap {MARKER_NAMESPACE}/{MARKER_NAME}"
    try:
        data = ClusterHandle(Path(kubeconfig), context).config_map(MARKER_NAME, MARKER_NAMESPACE)
    except Exception as exc:  # unreachable, forbidden, absent: all mean "not proven ours"
        return TargetFacts(context, server, False, f"{where} unreadable: {type(exc).__name__}: {exc}", None)
    # Standalone runs cannot know the kit's per-run token; the suite passes facts=cluster.facts for that.
    found = data.get("cluster")
    ok = found == SUITE_CLUSTER
    detail = f"{where} names cluster {found!r}" + ("" if ok else f", expected {SUITE_CLUSTER!r}")
    return TargetFacts(context, server, ok, detail, None)


def check_target(
    kubeconfig: Path, context: str, *, facts: TargetFacts | None, allowed_context: str | None = None
) -> str:
    """Refuse unless support.safety allows pod faults on this target; return its API server URL."""
    server = kubeconfig_server(kubeconfig, context)
    if facts is None:
        facts = TargetFacts(context, server, False, "not verified: no safety facts were given", None)
    if facts.context != context or facts.api_server.rstrip("/") != server.rstrip("/"):
        raise UnsafeChaosTarget(
            f"refusing to inject chaos: the safety facts describe context {facts.context!r} at "
            f"{facts.api_server!r}, but chaos would target {context!r} at {server!r}"
        )
    try:
        safety_check(facts, SafetyPolicy(SUITE_CLUSTER, allowed_context=allowed_context), "pod")
    except UnsafeTarget as exc:
        raise UnsafeChaosTarget(f"refusing to inject chaos: {exc}") from exc
    return server


def check_chaosk8s_reads(kubeconfig: Path) -> None:
    """Refuse unless chaosk8s, which ignores our arguments, would load this very kubeconfig file."""
    from kubernetes.config import kube_config

    # chaosk8s calls load_kube_config() without a path: kube_config's default location is what it reads.
    reads = Path(os.path.expanduser(kube_config.KUBE_CONFIG_DEFAULT_LOCATION))
    if reads.resolve() != Path(kubeconfig).resolve():
        raise UnsafeChaosTarget(
            f"refusing to inject chaos: chaosk8s would read {str(reads)!r}, not {str(kubeconfig)!r}; "
            "set KUBECONFIG to the suite's kubeconfig before starting chaos"
        )


@contextlib.contextmanager
def suite_environment(kubeconfig: Path, repo_root: Path = REPO_ROOT) -> Iterator[None]:
    """Point every Kubernetes client in this process at the suite's kubeconfig for the duration of a run."""
    # chaosk8s calls kubernetes.config.load_kube_config() without a path: that reads a module constant taken
    # from $KUBECONFIG at import time, not the environment now. Without the patch an in-process run could fall
    # back to ~/.kube/config. load_kube_config also replaces the client's process-wide default configuration
    # (and chaosk8s sets class attributes), so all of it is put back afterwards.
    from kubernetes.client import Configuration
    from kubernetes.config import kube_config

    saved_env = {key: os.environ.get(key) for key in ("KUBECONFIG", "PYTHONPATH")}
    saved_location = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
    class_attrs = ("_default", "verify_ssl", "debug")
    saved_attrs = {name: vars(Configuration)[name] for name in class_attrs if name in vars(Configuration)}
    root = str(repo_root)
    added_path = root not in sys.path
    os.environ["KUBECONFIG"] = str(kubeconfig)
    # PYTHONPATH matters for any process provider and documents the standalone invocation; sys.path is what
    # the in-process python providers import from (chaos.todo_chaos and support).
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, saved_env["PYTHONPATH"]) if p)
    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(kubeconfig)
    if added_path:
        sys.path.insert(0, root)
    try:
        yield
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = saved_location
        for name in class_attrs:
            if name in saved_attrs:
                setattr(Configuration, name, saved_attrs[name])
            elif name in vars(Configuration):
                delattr(Configuration, name)
        if added_path and root in sys.path:
            sys.path.remove(root)


def experiment_path(name: str, experiments_dir: Path = EXPERIMENTS_DIR) -> Path:
    """The file of a named experiment (`backend-pod-kill` or `backend-pod-kill.json`)."""
    path = experiments_dir / (name if name.endswith((".json", ".yaml", ".yml")) else f"{name}.json")
    if not path.is_file():
        known = sorted(p.stem for p in experiments_dir.glob("*.json"))
        raise FileNotFoundError(f"no chaos experiment {name!r} in {experiments_dir} (known: {known})")
    return path


def _failed_runs(runs: list[dict[str, Any]] | None) -> list[str]:
    """Names and errors of activities that did not succeed."""
    return [
        f"{run['activity'].get('name')!r}: {str(run.get('exception', [run.get('status')])[-1]).strip()}"
        for run in runs or []
        if run.get("status") != "succeeded"
    ]


def _first_unmet_probe(state: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """The probe that broke a steady-state hypothesis and why (chaoslib stops at the first one)."""
    for run in (state or {}).get("probes", []):
        if not run.get("tolerance_met", True):
            reason = run.get("exception") or [f"output {run.get('output')!r} is outside the tolerance"]
            return str(run["activity"].get("name")), str(reason[-1]).strip()
    return None


def _missed_faults(runs: list[dict[str, Any]] | None) -> list[str]:
    """Pod-kill actions that selected no pod: the experiment would then prove nothing."""
    return [
        repr(run["activity"].get("name"))
        for run in runs or []
        if run.get("activity", {}).get("provider", {}).get("func") == "terminate_pods"
        and run.get("status") == "succeeded"
        and not run.get("output")
    ]


def judge(journal: Mapping[str, Any], experiment: str, journal_path: Path) -> ChaosOutcome:
    """Turn a chaoslib journal into an outcome, raising ChaosDeviation/ChaosFailure when it proves nothing."""
    before = (journal.get("steady_states") or {}).get("before")
    after = (journal.get("steady_states") or {}).get("after")
    unmet_after = _first_unmet_probe(after) if journal.get("deviated") else None
    outcome = ChaosOutcome(
        experiment=experiment,
        status=str(journal.get("status")),
        deviated=bool(journal.get("deviated")),
        deviated_probe=unmet_after[0] if unmet_after else None,
        journal_path=journal_path,
        duration_s=float(journal.get("duration") or 0.0),
    )
    problems: list[str] = []
    unmet_before = _first_unmet_probe(before)
    if unmet_before:
        problems.append(
            f"the steady state did not hold before the fault (probe {unmet_before[0]!r}: {unmet_before[1]}); "
            "the method was not run"
        )
    method_failures = _failed_runs(journal.get("run"))
    if method_failures:
        problems.append(f"method activities failed: {'; '.join(method_failures)}")
    missed = _missed_faults(journal.get("run"))
    if missed:
        problems.append(f"fault actions hit no pod: {', '.join(missed)}")
    rollback_failures = _failed_runs(journal.get("rollbacks"))
    if rollback_failures:
        problems.append(f"rollbacks failed, the system may not be restored: {'; '.join(rollback_failures)}")
    if outcome.status in ("aborted", "interrupted"):
        problems.append(f"the run ended {outcome.status}")
    if unmet_after:
        details = "".join(f"; also: {p}" for p in problems)
        raise ChaosDeviation(
            f"chaos experiment {experiment!r} deviated: probe {unmet_after[0]!r} failed after the method: "
            f"{unmet_after[1]}{details} (journal: {journal_path})",
            outcome,
        )
    if problems:
        raise ChaosFailure(
            f"chaos experiment {experiment!r} proved nothing: {'; '.join(problems)} (journal: {journal_path})",
            outcome,
        )
    return outcome


def load_valid_experiment(path: Path) -> dict[str, Any]:
    """Load one experiment file and validate it with chaoslib (imports every activity module it names)."""
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.loader import load_experiment

    experiment: dict[str, Any] = dict(load_experiment(str(path)))
    ensure_experiment_is_valid(experiment)
    missing = [key for key in HANDLE_CONFIGURATION_KEYS if key not in experiment.get("configuration", {})]
    if missing:
        raise ValueError(f"experiment {path.name} does not declare configuration keys {missing}")
    return experiment


class ChaosHandle:
    """Runs the suite's chaos experiments in this process, only against the suite's own cluster."""

    def __init__(
        self,
        kubeconfig: Path,
        context: str,
        base_url: str,
        results_dir: Path,
        *,
        facts: Callable[[], TargetFacts] | None = None,
        allowed_context: str | None = None,
        experiments_dir: Path = EXPERIMENTS_DIR,
        profile: Profile | None = None,
        profile_path: Path | None = None,
    ) -> None:
        self.kubeconfig = Path(kubeconfig).resolve()
        self.context = context
        self.base_url = base_url
        self.results_dir = Path(results_dir)
        self.experiments_dir = experiments_dir
        # The suite passes cluster.facts (marker with the kit's token); without it the marker's cluster name
        # is read from the target, as the experiments' own guard probe does.
        self._facts = facts or (lambda: marker_facts(self.kubeconfig, self.context))
        self.allowed_context = allowed_context
        # The system under test; None keeps the experiments' own values (the reference app's).
        self.profile = profile
        self.profile_path = profile_path
        # Refuse at construction so a misconfigured run fails before any step runs, and again before each run.
        self.server = self.check()

    def check(self) -> str:
        """Refuse unless this is the suite's cluster (or the allowed existing context); return the server."""
        return check_target(self.kubeconfig, self.context, facts=self._facts(), allowed_context=self.allowed_context)

    def settings(self) -> dict[str, Any]:
        """The chaoslib settings of every run: rollbacks always played."""
        return {"runtime": {"rollbacks": {"strategy": ROLLBACK_STRATEGY}, "hypothesis": {"strategy": "default"}}}

    def experiment_vars(
        self, experiment: Mapping[str, Any], extra_configuration: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Configuration and secret overrides that pin the run to the suite's kubeconfig, context and app."""
        declared = experiment.get("configuration", {})
        unknown = sorted(set(extra_configuration or {}) - set(declared))
        if unknown:
            raise ValueError(
                f"experiment {experiment.get('title')!r} declares no configuration keys {unknown} "
                f"(declared: {sorted(declared)})"
            )
        config_vars: dict[str, Any] = {
            **self.profile_configuration(experiment),
            **dict(extra_configuration or {}),
            "kubeconfig": str(self.kubeconfig),
            "kube_context": self.context,
            "allowed_context": self.allowed_context or "",
            "base_url": self.base_url,
        }
        secret_vars = {K8S_SECRETS_SCOPE: {"KUBERNETES_CONTEXT": self.context}}
        return config_vars, secret_vars

    def profile_configuration(self, experiment: Mapping[str, Any]) -> dict[str, Any]:
        """The namespace, profile file and the experiment's tier (selector, Deployment, replicas) of the profile."""
        if self.profile is None:
            return {}
        declared = experiment.get("configuration", {})
        tier_name = declared.get("tier")
        values: dict[str, Any] = {"namespace": self.profile.namespace}
        if self.profile_path is not None:
            values["profile"] = str(self.profile_path)
        if isinstance(tier_name, str):
            tier = self.profile.tiers.get(tier_name)
            values |= {
                "tier_selector": tier.selector_string(),
                "tier_deployment": tier.deployment,
                "tier_replicas": tier.replicas,
            }
        return {k: v for k, v in values.items() if k in declared}

    def run(self, experiment_name: str, *, extra_configuration: dict[str, Any] | None = None) -> ChaosOutcome:
        """Run one experiment, keep its journal with the results; raise if it deviated or proved nothing."""
        from chaoslib.experiment import run_experiment
        from chaoslib.types import Strategy

        self.check()
        path = experiment_path(experiment_name, self.experiments_dir)
        journal_dir = self.results_dir / "chaos"
        journal_dir.mkdir(parents=True, exist_ok=True)
        journal_path = journal_dir / f"{path.stem}-journal.json"
        started = time.monotonic()
        with suite_environment(self.kubeconfig):
            experiment = load_valid_experiment(path)
            journal = run_experiment(
                experiment,
                settings=self.settings(),
                experiment_vars=self.experiment_vars(experiment, extra_configuration),
                strategy=Strategy.DEFAULT,
            )
        # default=str: journals carry datetimes and exception objects chaoslib does not serialise itself.
        journal_path.write_text(json.dumps(journal, indent=2, default=str), encoding="utf-8")
        if not journal.get("duration"):
            journal["duration"] = time.monotonic() - started
        return judge(journal, path.stem, journal_path)
