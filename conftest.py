"""The suite's options, markers and hooks; the fixtures are one-line wrappers of lifecycle.Environment."""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from common.names import DEFAULT_CLUSTER
from lifecycle.env import Environment, Options, OptionsError, Target, profile_digest
from lifecycle.scope import CATALOGUE, catalogue_part, first_line, scenario_names, scope_of
from report import render
from support.adapters import WorkloadAdapter
from support.app import Owner
from support.applicability import NEEDS_PREFIX, marker_descriptions, not_applicable_reason
from support.chaos import ChaosHandle
from support.cluster import ClusterHandle
from support.evidence import collect
from support.faults import FaultInjector, FaultLog, NodeGuard
from support.profile import REFERENCE_PROFILE, Profile
from support.results import Results, classify, host_environment, is_blocking
from support.safety import SafetyPolicy
from support.victims import resolve_seed_with_source

# Step modules register as plugins (a star import would silently lose steps once a module defines __all__).
pytest_plugins = [
    "steps.common",
    "steps.deployment",
    "steps.todos",
    "steps.browser",
    "steps.pod_loss",
    "steps.node_loss",
    "steps.durability",
    "steps.availability",
    "steps.experiments",
    "steps.network",
    "steps.pressure",
    "steps.upgrades",
]

REPO_ROOT = Path(__file__).resolve().parent
E2E_DIR = REPO_ROOT / "tests" / "e2e"
PYTEST_KIND_DEFAULT = "pytest-kind"

MARKERS = {
    "kind_only": "needs the suite's own kind cluster (node faults, mysqld kill, chaos); skipped in staging",
    "slow": "takes minutes by design (node loss, fault sequences, chaos experiments)",
    "deployment": "feature: the desired state of the deployment",
    "todos": "feature: to-dos through the front end",
    "pod_loss": "feature: pods are lost and replaced",
    "node_loss": "feature: a worker node is lost and rejoins",
    "durability": "feature: no acknowledged write is lost",
    "availability": "feature: availability under faults",
    "experiments": "feature: chaostoolkit experiments run from the suite",
    "network": "feature: latency, loss, partitions and failing name lookups between the tiers",
    "pressure": "feature: a full database volume and CPU-starved back ends",
    "upgrades": "feature: upgrades, rollbacks and configuration rollouts under load",
    # One needs_<promise> tag per promise a target profile can make (support.applicability, docs/profiles.md).
    **marker_descriptions(),
}
# A skip whose reason starts so is recorded as not applicable (the profile does not make a promise), not skipped.
NOT_APPLICABLE = "not applicable:"

_STASH_RUN = pytest.StashKey["RunState"]()
_STASH_SCENARIO = pytest.StashKey["ScenarioState"]()


@dataclass
class RunState:
    """Session-wide things the hooks need outside fixtures."""

    results: Results | None = None
    env: Environment | None = None
    collected: list[str] = field(default_factory=list)
    deselected: list[str] = field(default_factory=list)
    interrupted: bool = False
    profile: Profile | None = None
    seed: tuple[int, str] | None = None


@dataclass
class ScenarioState:
    """One scenario's progress: names, start time and the steps so far."""

    feature: str
    scenario: str
    started: float
    start_s: float | None
    steps: list[dict[str, Any]] = field(default_factory=list)
    step_started: float = 0.0
    evidence: dict[str, str] | None = None


# -- options and markers ---------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    """The suite's command line (also reachable as `nox -s e2e -- <options>`)."""
    # --cluster-name, --keep-cluster and --kubeconfig come from the pytest-kind plugin and keep its meaning.
    group = parser.getgroup("todo-e2e", "to-do acceptance suite")
    group.addoption(
        "--profile",
        default=REFERENCE_PROFILE,
        type=Path,
        help="target profile: names, wiring, API and promises of the system under test (default: the reference app)",
    )
    group.addoption(
        "--manifests",
        default=None,
        type=Path,
        help="kustomize directory to deploy (default: the profile's manifests; in staging mode nothing unless given)",
    )
    group.addoption("--backend-image", default=None, help="use this back-end image instead of building one")
    group.addoption("--frontend-image", default=None, help="use this front-end image instead of building one")
    group.addoption("--database-image", default=None, help="use this database image instead of building one")
    group.addoption("--seed", default=None, help="seed for victim selection (printed at start; replays a run)")
    group.addoption(
        "--existing-context",
        default=None,
        metavar="NAME",
        help="staging mode: use this context of --kubeconfig, no kind cluster; pod faults only",
    )
    group.addoption(
        "--frontend-url",
        default=None,
        help="front end as users reach it (loopback or private; default: the profile's access.frontend_url)",
    )
    group.addoption("--results-dir", default=None, type=Path, help="parent folder of the run's results folder")
    group.addoption("--deploy-timeout", default=300.0, type=float, help="seconds for all tiers to become Ready")
    group.addoption(
        "--accept-partial",
        action="store_true",
        help="exit 0 for a PARTIAL verdict whose scenarios all passed (local iteration only; never in CI)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the feature tags as strict markers and prepare the run state."""
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    config.stash[_STASH_RUN] = RunState()


def _seed(config: pytest.Config) -> tuple[int, str]:
    """The run's seed and its source, resolved once: a random one must be the one printed and the one used."""
    run = config.stash[_STASH_RUN]
    if run.seed is None:
        run.seed = resolve_seed_with_source(config.getoption("--seed"), os.environ)
    return run.seed


def _options(config: pytest.Config) -> Options:
    """The validated run options (a bad value is a usage error, before anything is created)."""
    name = str(config.getoption("--cluster-name", default=None) or "")
    kubeconfig = config.getoption("--kubeconfig", default=None)
    seed, _ = _seed(config)
    images = {
        "backend": config.getoption("--backend-image"),
        "frontend": config.getoption("--frontend-image"),
        "database": config.getoption("--database-image"),
    }
    return Options(
        cluster_name=DEFAULT_CLUSTER if name in ("", PYTEST_KIND_DEFAULT) else name,
        keep_cluster=bool(config.getoption("--keep-cluster", default=False)),
        manifests=config.getoption("--manifests"),
        images={k: v for k, v in images.items() if v},
        seed=seed,
        staging_context=config.getoption("--existing-context"),
        kubeconfig=Path(kubeconfig) if kubeconfig else None,
        frontend_url=config.getoption("--frontend-url"),
        profile=config.getoption("--profile"),
        deploy_timeout=float(config.getoption("--deploy-timeout")),
    )


def _is_e2e(item: pytest.Item) -> bool:
    """Whether the item is a Gherkin scenario of the acceptance suite."""
    return E2E_DIR in Path(str(item.fspath)).parents


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark e2e tests `cluster`, remember the catalogue, skip kind-only scenarios in staging and scenarios whose
    @needs_<promise> tags the profile does not make (not applicable), saying why."""
    run = config.stash[_STASH_RUN]
    if any(_is_e2e(item) for item in items):
        try:
            run.profile = _options(config).target_profile()
        except OptionsError as exc:
            raise pytest.UsageError(str(exc)) from exc
    staging = config.getoption("--existing-context")
    skip_kind = pytest.mark.skip(
        reason="kind-only: needs the suite's own kind cluster (node faults stop its node containers, mysqld "
        "is killed from its node, chaos experiments refuse other clusters); "
        f"--existing-context {staging} allows pod-level faults only"
    )
    for item in items:
        if _is_e2e(item):
            item.add_marker(pytest.mark.cluster)
            if staging and item.get_closest_marker("kind_only"):
                item.add_marker(skip_kind)
            assert run.profile is not None
            needs = [m.name for m in item.iter_markers() if m.name.startswith(NEEDS_PREFIX)]
            reason = not_applicable_reason(run.profile, needs)
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))
        if catalogue_part(REPO_ROOT, Path(str(item.fspath))) is not None:
            run.collected.append(item.nodeid)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse bad options (a wrong manifest directory, image name or kubeconfig) before anything is created."""
    if not any(catalogue_part(REPO_ROOT, Path(str(item.fspath))) for item in session.items):
        return
    try:
        _options(session.config).validate()
    except OptionsError as exc:
        raise pytest.UsageError(str(exc)) from exc


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Remember what -m/-k left out: a narrowed run is scoped, never complete."""
    for item in items:
        run = item.config.stash[_STASH_RUN]
        run.deselected.append(item.nodeid)


def _results(config: pytest.Config) -> Results:
    """The run's results folder, created on first use by a cluster test."""
    run = config.stash[_STASH_RUN]
    if run.results is None:
        res = Results(root=config.getoption("--results-dir"))
        res.accept_partial = bool(config.getoption("--accept-partial"))
        opts_seed, source = _seed(config)
        res.set_environment(
            {
                **host_environment(REPO_ROOT),
                "suite_version": _suite_version(),
                "seed": opts_seed,
                "seed_source": source,
                "staging_context": config.getoption("--existing-context"),
                "selection": {"markexpr": config.option.markexpr, "keyword": config.option.keyword},
            }
        )
        if run.profile is not None:
            # Recorded even when no scenario applies (and the Environment, which also records it, is never made).
            path = _options(config).profile_path()
            res.set_environment(
                {"profile": run.profile.name, "profile_path": str(path), "profile_sha256": profile_digest(path)}
            )
        run.results = res
        _say(config, f"results folder: {res.path}")
        _say(config, f"seed: {opts_seed} (from {source}; replay with --seed {opts_seed})")
    return run.results


def _suite_version() -> str:
    """The suite's version from pyproject.toml."""
    import tomllib

    return str(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"])


# -- live progress ----------------------------------------------------------------------------------------
def _say(config: pytest.Config, line: str) -> None:
    """Print a progress line to the terminal right away (also under output capture)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        reporter.write_line(line)
        reporter.flush()


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    """Announce the scenario, name it in the results' records and start its clock."""
    res = _results(request.config)
    res.scenario = scenario.name
    request.node.stash[_STASH_SCENARIO] = ScenarioState(feature.name, scenario.name, time.monotonic(), res.now())
    _say(request.config, f"\n▶ {feature.name} > {scenario.name}")


def pytest_bdd_before_step(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any
) -> None:
    """Start the step's clock."""
    state = request.node.stash.get(_STASH_SCENARIO, None)
    if state is not None:
        state.step_started = time.monotonic()
    _say(request.config, f"    … {step.keyword} {step.name}")


def pytest_bdd_after_step(
    request: pytest.FixtureRequest,
    feature: Any,
    scenario: Any,
    step: Any,
    step_func: Any,
    step_func_args: dict[str, Any],
) -> None:
    """Report a passed step with its duration."""
    _end_step(request, step, "passed", None)


def pytest_bdd_step_error(
    request: pytest.FixtureRequest,
    feature: Any,
    scenario: Any,
    step: Any,
    step_func: Any,
    step_func_args: dict[str, Any],
    exception: Exception,
) -> None:
    """Report a failed step with its duration and error."""
    _end_step(request, step, "failed", f"{type(exception).__name__}: {exception}")


def _end_step(request: pytest.FixtureRequest, step: Any, outcome: str, error: str | None) -> None:
    """Record one finished step and print it."""
    state = request.node.stash.get(_STASH_SCENARIO, None)
    took = time.monotonic() - state.step_started if state is not None and state.step_started else 0.0
    if state is not None:
        entry: dict[str, Any] = {"name": f"{step.keyword} {step.name}", "outcome": outcome, "duration_s": took}
        if error:
            entry["error"] = error
        state.steps.append(entry)
    mark = "✓" if outcome == "passed" else "✗"
    _say(request.config, f"  {mark} {step.keyword} {step.name}  ({took:.2f} s)")
    if error:
        _say(request.config, f"      {error.splitlines()[0][:300]}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Collect evidence for a failure before teardown; record scenarios and checks in the results."""
    report = yield
    run = item.config.stash[_STASH_RUN]
    part = catalogue_part(REPO_ROOT, Path(str(item.fspath)))
    if part is None:
        return report
    state = item.stash.get(_STASH_SCENARIO, None)
    exc = call.excinfo.value if call.excinfo is not None else None
    blocked = is_blocking(exc) if report.failed and report.when == "setup" else None
    if report.failed and report.when in ("setup", "call") and run.env is not None and blocked is None:
        with contextlib.suppress(Exception):
            evidence = collect(run.env.cluster, run.env.node_containers)
            if state is not None:
                state.evidence = evidence
            for name in ("pods", "nodes", "events"):
                if name in evidence:
                    report.sections.append((f"evidence: {name}", evidence[name][-3000:]))
    finished = report.when == "call" or (report.when == "setup" and (report.failed or report.skipped))
    if not finished:
        return report
    res = _results(item.config)
    outcome = "passed" if report.passed else "skipped" if report.skipped else "failed"
    reason = _skip_reason(report) if report.skipped else None
    if reason is not None and reason.startswith(NOT_APPLICABLE):
        outcome = "not_applicable"
    if part != "scenarios":
        detail = reason or (first_line(exc) if exc is not None else "")
        res.record_check(CATALOGUE[part].kind, item.name, outcome, detail, report.duration)  # type: ignore[arg-type]
        return report
    phase = "scenario setup" if report.when == "setup" else "scenario"
    if report.failed and state is None and exc is not None:
        # It failed before its first step (a fixture: the deployment, the cluster): say why, not just that.
        reason = f"failed before its first step: {type(exc).__name__}: {first_line(exc)}"
    feature, scenario = (state.feature, state.scenario) if state else scenario_names(item)
    res.record_scenario(
        feature=feature,
        scenario=scenario,
        steps=state.steps if state else [],
        outcome=outcome,  # type: ignore[arg-type]
        duration_s=(time.monotonic() - state.started) if state else report.duration,
        evidence=state.evidence if state else None,
        failure_class=classify(exc, phase) if report.failed else None,
        nodeid=item.nodeid,
        tags=[m.name for m in item.iter_markers() if m.name in MARKERS],
        reason=reason,
        blocked_by=blocked,
        start_s=state.start_s if state else None,
    )
    return report


def _skip_reason(report: pytest.TestReport) -> str:
    """The reason pytest gives for a skip."""
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr or "skipped")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Seal the results folder; the exit code becomes the verdict's (docs/results-schema.md, exit codes)."""
    run = session.config.stash.get(_STASH_RUN, None)
    if run is None or run.results is None:
        return
    if int(exitstatus) == pytest.ExitCode.INTERRUPTED:
        run.results.record_infrastructure_failure("interrupted", "KeyboardInterrupt", "the run was interrupted")
    scope = scope_of(
        REPO_ROOT,
        collected=run.collected,
        deselected=run.deselected,
        scenarios=run.results.scenarios,
        checks=run.results.checks,
        staging=session.config.getoption("--existing-context") is not None,
        selection={"markexpr": session.config.option.markexpr, "keyword": session.config.option.keyword},
    )
    run.results.set_scope(scope)
    sealed = run.results.finish(render)
    _say(session.config, f"\nverdict: {sealed.verdict} (exit {sealed.exit_code})")
    for reason in sealed.reasons[:10]:
        _say(session.config, f"  - {reason}")
    _say(session.config, f"results: {run.results.path}")
    if int(exitstatus) in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = sealed.exit_code
    pointer = os.environ.get("TODO_E2E_VERDICT_FILE")
    if pointer:
        record = {"verdict": sealed.verdict, "exit_code": int(session.exitstatus), "report": str(run.results.path)}
        Path(pointer).parent.mkdir(parents=True, exist_ok=True)
        Path(pointer).write_text(json.dumps(record) + "\n")


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Copy pytest's junit.xml and cucumber.json (written after sessionfinish) into the results folder, redacted."""
    run = config.stash.get(_STASH_RUN, None)
    if run is None or run.results is None:
        return
    for option, target in (("xmlpath", run.results.junit_path), ("cucumber_json_path", run.results.cucumber_path)):
        written = getattr(config.option, option, None)
        if written and Path(written).is_file() and Path(written).resolve() != target:
            run.results.add_path(Path(written), target.name)
    run.results.redact()


# -- session fixtures: one-line wrappers of the lifecycle ---------------------------------------------------
@pytest.fixture(scope="session")
def results(request: pytest.FixtureRequest) -> Results:
    """The run's results folder, sealed at session end."""
    return _results(request.config)


@pytest.fixture(scope="session")
def environment(request: pytest.FixtureRequest, results: Results) -> Iterator[Environment]:
    """The run's environment; everything it set up is undone in reverse order at the end."""
    try:
        env = Environment(_options(request.config), results, lambda line: _say(request.config, line))
    except OptionsError as exc:
        raise pytest.UsageError(str(exc)) from exc
    request.config.stash[_STASH_RUN].env = env
    yield env
    env.close()


@pytest.fixture(scope="session")
def seed(environment: Environment) -> int:
    """The victim-selection seed (printed at the start so a run can be replayed)."""
    return environment.options.seed


@pytest.fixture(scope="session")
def target(environment: Environment) -> Target:
    """The cluster to work on: the suite's kind cluster (created or re-used), or an explicit context."""
    return environment.target


@pytest.fixture(scope="session")
def frontend_url(environment: Environment) -> str:
    """The front end as users reach it (the profile's access.frontend_url, or --frontend-url, or the kind port)."""
    return environment.target.frontend_url


@pytest.fixture(scope="session")
def images(environment: Environment) -> dict[str, str]:
    """Image per kustomize name: given by option, else built from app/ and loaded into the kind cluster."""
    return environment.images


@pytest.fixture(scope="session")
def cluster(environment: Environment) -> ClusterHandle:
    """The cluster handle (explicit kubeconfig and context)."""
    return environment.cluster


@pytest.fixture(scope="session")
def deployed(environment: Environment) -> ClusterHandle:
    """The full manifest set applied after the safety check, every tier Ready within --deploy-timeout."""
    return environment.deployed()


@pytest.fixture(scope="session")
def app(environment: Environment) -> WorkloadAdapter:
    """The profile's workload adapter, reaching the API as users do."""
    return environment.app


@pytest.fixture(scope="session")
def safety_policy(environment: Environment) -> SafetyPolicy:
    """Faults only on the suite's own cluster, or pod faults on the explicitly named context."""
    return environment.safety_policy()


@pytest.fixture(scope="session")
def node_guard(environment: Environment) -> NodeGuard | None:
    """Restores every node the suite stopped or paused: at session end, on failure, Ctrl-C and exit."""
    return environment.guard


@pytest.fixture(scope="session")
def faults(environment: Environment) -> FaultInjector:
    """Fault injection behind the safety guard, victims chosen by the seed."""
    return environment.faults


@pytest.fixture(scope="session")
def chaos(environment: Environment) -> ChaosHandle:
    """Chaos experiments in-process against the suite's cluster, journals kept with the results."""
    return environment.chaos


# -- per-scenario state ------------------------------------------------------------------------------------
@pytest.fixture
def fault_log(request: pytest.FixtureRequest, results: Results, node_guard: NodeGuard | None) -> Iterator[FaultLog]:
    """Fresh fault log per scenario; on teardown stop its traffic and bring back any node still down."""
    log = FaultLog(results)
    yield log
    log.stop_traffic()
    if node_guard is not None and node_guard.touched:
        problems = node_guard.restore_all()
        results.record_check(
            "teardown",
            f"nodes restored after '{results.scenario}'",
            "failed" if problems else "passed",
            "; ".join(problems),
        )
        _say(request.config, "restored nodes after the scenario" + (": " + "; ".join(problems) if problems else ""))


@pytest.fixture
def owner(deployed: ClusterHandle, app: WorkloadAdapter) -> Owner:
    """A fresh user per scenario (unique name), so scenarios never depend on each other's data."""
    return Owner(name="Alice", tag=f"Alice-{uuid.uuid4().hex[:8]}", app=app)
