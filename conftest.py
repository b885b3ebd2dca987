"""The suite's lifecycle: options, session cluster and deployed app, fresh data per scenario, progress."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from support.app import Owner, TodoApp
    from support.chaos import ChaosHandle
    from support.cluster import ClusterHandle
    from support.faults import FaultInjector, FaultLog, NodeGuard
    from support.results import Results

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
DEFAULT_FRONTEND_URL = "http://127.0.0.1:30080"
DEFAULT_CLUSTER = "todo-e2e"
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
}

_STASH_RUN = pytest.StashKey["RunState"]()
_STASH_SCENARIO = pytest.StashKey["ScenarioState"]()


@dataclass
class RunState:
    """Session-wide things the hooks need outside fixtures (results, cluster for evidence)."""

    results: Results | None = None
    cluster: ClusterHandle | None = None
    node_containers: list[str] = field(default_factory=list)


@dataclass
class ScenarioState:
    """One scenario's progress: names, start time and the steps so far."""

    feature: str
    scenario: str
    started: float
    steps: list[dict[str, Any]] = field(default_factory=list)
    step_started: float = 0.0
    evidence: dict[str, str] | None = None


@dataclass(frozen=True)
class Target:
    """The cluster the suite works on: kubeconfig/context, plus the kind facts when it is the suite's own."""

    kubeconfig: Path
    context: str
    kubectl: str
    frontend_url: str
    kind_cluster: str | None
    marker: tuple[str, str] | None
    info: Any = None  # kit.ClusterInfo in kind mode


# -- options and markers ---------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    """The suite's command line (also reachable as `nox -s e2e -- <options>`)."""
    # --cluster-name, --keep-cluster and --kubeconfig come from the pytest-kind plugin (installed with the
    # suite) and keep its meaning; only its default cluster name is replaced (see cluster_name()).
    group = parser.getgroup("todo-e2e", "to-do acceptance suite")
    group.addoption(
        "--manifests",
        default="manifests/overlays/kind",
        type=Path,
        help="kustomize directory to deploy (default: the kind overlay)",
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
        default=DEFAULT_FRONTEND_URL,
        help="front end as users reach it (loopback or cluster-private address)",
    )
    group.addoption("--results-dir", default=None, type=Path, help="parent folder of the run's results folder")
    group.addoption("--deploy-timeout", default=300.0, type=float, help="seconds for all tiers to become Ready")


def pytest_configure(config: pytest.Config) -> None:
    """Register the feature tags as strict markers and prepare the run state."""
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    config.stash[_STASH_RUN] = RunState()


def cluster_name(config: pytest.Config) -> str:
    """The suite's kind cluster name: --cluster-name, with pytest-kind's own default read as ours."""
    name = str(config.getoption("--cluster-name", default=None) or "")
    return DEFAULT_CLUSTER if name in ("", PYTEST_KIND_DEFAULT) else name


def _staging(config: pytest.Config) -> bool:
    """Whether the run targets an existing cluster instead of the suite's kind cluster."""
    return config.getoption("--existing-context") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark e2e tests `cluster`; in staging mode skip kind-only scenarios, saying why."""
    skip_kind = pytest.mark.skip(
        reason="kind-only: needs the suite's own kind cluster (node faults stop its node containers, mysqld "
        "is killed from its node, chaos experiments refuse other clusters); "
        f"--existing-context {config.getoption('--existing-context')} allows pod-level faults only"
    )
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.cluster)
            if _staging(config) and item.get_closest_marker("kind_only"):
                item.add_marker(skip_kind)


# -- live progress ----------------------------------------------------------------------------------------
def _say(config: pytest.Config, line: str) -> None:
    """Print a progress line to the terminal right away (also under output capture)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    # Like pytest's live logging: step out of output capture, or the line would only show on failure.
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        reporter.write_line(line)
        reporter.flush()


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    """Announce the scenario and start its clock."""
    request.node.stash[_STASH_SCENARIO] = ScenarioState(feature.name, scenario.name, time.monotonic())
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
        entry: dict[str, Any] = {
            "name": f"{step.keyword} {step.name}",
            "outcome": outcome,
            "duration_s": took,
        }
        if error:
            entry["error"] = error
        state.steps.append(entry)
    mark = "✓" if outcome == "passed" else "✗"
    _say(request.config, f"  {mark} {step.keyword} {step.name}  ({took:.2f} s)")
    if error:
        _say(request.config, f"      {error.splitlines()[0][:300] if error else ''}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Collect evidence for a failed scenario before its teardown, and record the scenario in the results."""
    report = yield
    run = item.config.stash[_STASH_RUN]
    state = item.stash.get(_STASH_SCENARIO, None)
    if report.failed and report.when in ("setup", "call") and run.cluster is not None:
        from support.evidence import collect

        evidence = collect(run.cluster, run.node_containers)
        if state is not None:
            state.evidence = evidence
        # The console gets the overview; every log is in the results folder.
        for name in ("pods", "nodes", "events"):
            if name in evidence:
                report.sections.append((f"evidence: {name}", evidence[name][-3000:]))
    finished = report.when == "call" or (report.when == "setup" and (report.failed or report.skipped))
    if finished and run.results is not None and E2E_DIR in Path(str(item.fspath)).parents:
        outcome = "passed" if report.passed else "skipped" if report.skipped else "failed"
        run.results.record_scenario(
            feature=state.feature if state else item.nodeid.split("::")[0],
            scenario=state.scenario if state else item.name,
            steps=state.steps if state else [],
            outcome=outcome,  # type: ignore[arg-type]
            duration_s=(time.monotonic() - state.started) if state else report.duration,
            evidence=state.evidence if state else None,
            failure_class=_failure_class(item, call, report),
        )
    return report


def _failure_class(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> str | None:
    """Infrastructure (cluster, images, Docker) or product; a failed assertion in a scenario is the product's."""
    if not report.failed or call.excinfo is None:
        return None
    from support.results import classify_failure

    phase = "scenario setup" if report.when == "setup" else "scenario"
    return classify_failure(call.excinfo.typename, str(call.excinfo.value), phase)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Seal the results folder (json, report, redaction) and print where it is."""
    run = session.config.stash.get(_STASH_RUN, None)
    if run is None or run.results is None:
        return
    path = run.results.finish()
    _say(session.config, f"\nresults: {path}")


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


# -- session fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def seed(request: pytest.FixtureRequest) -> int:
    """The victim-selection seed: from --seed, else $TODO_E2E_SEED, else random; printed so runs replay."""
    from support.victims import resolve_seed_with_source

    value, source = resolve_seed_with_source(request.config.getoption("--seed"), os.environ)
    _say(request.config, f"seed: {value} (from {source}; replay with --seed {value})")
    return value


@pytest.fixture(scope="session")
def results(request: pytest.FixtureRequest, seed: int) -> Results:
    """The run's results folder, sealed at session end."""
    from support.results import Results

    res = Results(root=request.config.getoption("--results-dir"))
    from importlib.metadata import PackageNotFoundError, version

    from support.results import host_environment

    try:
        suite_version = version("todo-acceptance")
    except PackageNotFoundError:  # running from a checkout: pyproject's version
        import tomllib

        suite_version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    res.set_environment(
        {
            **host_environment(REPO_ROOT),
            "suite_version": suite_version,
            "seed": seed,
            "staging_context": request.config.getoption("--existing-context"),
            # what was selected: the benchmark only counts full runs as the suite's wall time
            "selection": {"markexpr": request.config.option.markexpr, "keyword": request.config.option.keyword},
        }
    )
    request.config.stash[_STASH_RUN].results = res
    _say(request.config, f"results folder: {res.path}")
    return res


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest, results: Results) -> Iterator[Target]:
    """The cluster to work on: the suite's kind cluster (created or re-used), or an explicit context."""
    config = request.config
    url = config.getoption("--frontend-url")
    if _staging(config):
        kubeconfig = config.getoption("--kubeconfig")
        if kubeconfig is None:
            raise pytest.UsageError("--existing-context needs --kubeconfig FILE (the default kubeconfig is never used)")
        yield Target(Path(kubeconfig), config.getoption("--existing-context"), "kubectl", url, None, None)
        return
    from kit import api as kit

    name = cluster_name(config)
    started = time.monotonic()
    try:
        tools = kit.ensure_tools()
        info = kit.ensure_cluster(name=name)
    except Exception as exc:
        results.record_infrastructure_failure("cluster creation", type(exc).__name__, str(exc))
        raise
    ready_s = time.monotonic() - started
    _say(config, f"cluster {info.name} ready in {ready_s:.1f} s (context {info.context})")
    results.set_environment({"setup_cluster_s": round(ready_s, 1), "setup_cluster_created": info.created})
    results.set_environment(
        {
            "cluster": info.name,
            "node_image": info.node_image,
            "node_image_id": tools.node_image_id,
            "kind_version": tools.kind_version,
            "k8s_version": tools.k8s_version,
        }
    )
    config.stash[_STASH_RUN].node_containers = [n for names in kit.node_containers(info.name).values() for n in names]
    try:
        yield Target(
            Path(info.kubeconfig),
            info.context,
            str(tools.kubectl),
            info.frontend_url or url,
            info.name,
            (info.name, info.marker_token),
            info,
        )
    finally:
        if config.getoption("--keep-cluster"):
            _say(config, f"keeping cluster {info.name} (--keep-cluster); kubeconfig {info.kubeconfig}")
        else:
            kit.delete_cluster(info.name)


@pytest.fixture(scope="session")
def images(request: pytest.FixtureRequest, target: Target, results: Results) -> dict[str, str]:
    """Image per kustomize name: given by option, else built from app/ and loaded into the kind cluster."""
    config = request.config
    given = {
        "todo-backend": config.getoption("--backend-image"),
        "todo-frontend": config.getoption("--frontend-image"),
        "todo-mysql": config.getoption("--database-image"),
    }
    contexts = {"todo-backend": "app/backend", "todo-frontend": "app/frontend", "todo-mysql": "app/mysql"}
    chosen: dict[str, str] = {k: v for k, v in given.items() if v}
    if target.info is not None:
        from kit import api as kit

        try:
            for name, folder in contexts.items():
                if name not in chosen:
                    started = time.monotonic()
                    chosen[name] = kit.build_image(REPO_ROOT / folder, name)
                    _say(config, f"image {chosen[name]} built in {time.monotonic() - started:.1f} s")
                kit.load_image(target.info, chosen[name])
        except Exception as exc:
            results.record_infrastructure_failure("image build/load", type(exc).__name__, str(exc))
            raise
    # Staging mode cannot load images: explicit overrides apply, else the manifests' own image names.
    results.set_environment({"images": dict(chosen), "image_ids": _image_ids(chosen.values())})
    return chosen


def _image_ids(images: Any) -> dict[str, str]:
    """Local Docker image IDs of the app images (empty in staging mode, where they are not local)."""
    import subprocess

    ids = {}
    for image in images:
        proc = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", image], capture_output=True, text=True, check=False
        )
        if proc.returncode == 0:
            ids[image] = proc.stdout.strip()
    return ids


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest, target: Target) -> ClusterHandle:
    """The cluster handle (explicit kubeconfig and context), also used for evidence."""
    from support.cluster import ClusterHandle

    handle = ClusterHandle(
        target.kubeconfig,
        target.context,
        kubectl=target.kubectl,
        marker=target.marker,
        kind_cluster=target.kind_cluster,
    )
    request.config.stash[_STASH_RUN].cluster = handle
    return handle


@pytest.fixture(scope="session")
def deployed(
    request: pytest.FixtureRequest, cluster: ClusterHandle, images: dict[str, str], results: Results
) -> ClusterHandle:
    """The full manifest set rendered, applied declaratively and Ready (all tiers) within --deploy-timeout."""
    from support.conditions import rolled_out
    from support.waits import until

    config = request.config
    manifests = Path(config.getoption("--manifests"))
    if not manifests.is_absolute():
        manifests = REPO_ROOT / manifests
    rendered = cluster.render(manifests, images)
    results.set_environment(
        {
            "manifests": str(manifests),
            "manifests_sha256": hashlib.sha256(rendered.encode()).hexdigest(),
        }
    )
    started = time.monotonic()
    _say(config, cluster.apply(rendered).rstrip())
    # The manifests' own replica counts: fewer replicas than the contract is a product failure that the
    # deployment feature reports, not a setup error.
    until(rolled_out(cluster), timeout=float(config.getoption("--deploy-timeout")), interval=2.0)
    ready_s = time.monotonic() - started
    _say(config, f"all tiers Ready in {ready_s:.1f} s")
    results.set_environment({"setup_deploy_s": round(ready_s, 1)})
    for name in cluster.secret_names():
        results.add_secret_values(cluster.secret_data(name).values())
    return cluster


@pytest.fixture(scope="session")
def app(target: Target) -> Iterator[TodoApp]:
    """The to-do client, through the front end as users reach it."""
    from support.app import TodoApp

    client = TodoApp(target.frontend_url, timeout=5.0)
    yield client
    client.close()


@pytest.fixture(scope="session")
def safety_policy(request: pytest.FixtureRequest) -> Any:
    """Faults only on the suite's own cluster, or pod faults on the explicitly named context."""
    from support.safety import SafetyPolicy

    return SafetyPolicy(
        suite_cluster=cluster_name(request.config),
        allowed_context=request.config.getoption("--existing-context"),
    )


@pytest.fixture(scope="session")
def node_guard(target: Target) -> Iterator[NodeGuard | None]:
    """Restores every node the suite stopped or paused: at session end, on failure, Ctrl-C and exit."""
    if target.kind_cluster is None:
        yield None
        return
    from support.faults import DockerCli, NodeGuard

    with NodeGuard(DockerCli(), target.kind_cluster) as guard:
        yield guard


@pytest.fixture(scope="session")
def faults(cluster: ClusterHandle, safety_policy: Any, seed: int, node_guard: NodeGuard | None) -> FaultInjector:
    """Fault injection behind the safety guard, victims chosen by the seed."""
    from support.faults import FaultInjector
    from support.victims import Victims

    return FaultInjector(cluster, safety_policy, Victims(seed), node_guard)


@pytest.fixture(scope="session")
def chaos(request: pytest.FixtureRequest, target: Target, results: Results, cluster: ClusterHandle) -> ChaosHandle:
    """Chaos experiments in-process against the suite's cluster, journals kept with the results.

    The safety facts come from the cluster handle, so the marker's token (written by the kit) is checked too.
    The experiments name the context `kind-todo-e2e`: with another --cluster-name they are refused, not run.
    """
    from support.chaos import ChaosHandle

    return ChaosHandle(
        target.kubeconfig,
        target.context,
        target.frontend_url,
        results.path,
        facts=cluster.facts,
        allowed_context=target.context if _staging(request.config) else None,
    )


# -- per-scenario state ------------------------------------------------------------------------------------
@pytest.fixture
def fault_log(request: pytest.FixtureRequest, node_guard: NodeGuard | None) -> Iterator[FaultLog]:
    """Fresh fault log per scenario; on teardown stop its traffic and bring back any node still down."""
    from support.faults import FaultLog

    log = FaultLog()
    yield log
    log.stop_traffic()
    if node_guard is not None and node_guard.touched:
        problems = node_guard.restore_all()
        _say(
            request.config,
            "restored nodes after the scenario" + (": " + "; ".join(problems) if problems else ""),
        )


@pytest.fixture
def owner(deployed: ClusterHandle, app: TodoApp) -> Owner:
    """A fresh user per scenario (unique name), so scenarios never depend on each other's data."""
    from support.app import Owner

    return Owner(name="Alice", tag=f"Alice-{uuid.uuid4().hex[:8]}", app=app)
