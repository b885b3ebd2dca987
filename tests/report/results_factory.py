"""Realistic results folders built through the Results API, without a cluster (shared by the report tests).

Each shape records what a real run of that kind records: a complete passing run, a failed run, a scoped (partial)
run, an infrastructure-only failure and a deployment that never became ready. The run's clock is a stepping clock
(the writer takes one as a parameter), so windows and samples land at readable times.
"""

from __future__ import annotations

import base64
import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# The suite's packages live at the repository root: `python -m pytest` there finds them, others may not.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from record.model import Sample, Scope, Window  # noqa: E402
from report import render  # noqa: E402
from support.results import Results  # noqa: E402

FAILED_SCENARIO = "The database pod is killed and comes back with every to-do"
HOSTILE_SCENARIO = "Alice adds <script>alert('x')</script> & more"
CATALOGUE = 12  # the catalogue's size for the shapes that did not run all of it


class SteppingClock:
    """A monotonic clock the factory moves by hand: the run starts at 1000.0 s."""

    def __init__(self) -> None:
        """Start at 1000.0."""
        self.t = 1000.0

    def __call__(self) -> float:
        """The current reading."""
        return self.t

    def at(self, run_s: float) -> float:
        """The monotonic reading that is run_s seconds into the run."""
        return 1000.0 + run_s


def _steps(*names: str, failed: str | None = None, error: str = "") -> list[dict[str, object]]:
    """Passed steps, one failed one where named, skipped after it."""
    out: list[dict[str, object]] = []
    seen_failure = False
    for name in names:
        if seen_failure:
            out.append({"name": name, "outcome": "skipped", "duration_s": 0.0})
        elif name == failed:
            out.append({"name": name, "outcome": "failed", "duration_s": 20.02, "error": error})
            seen_failure = True
        else:
            out.append({"name": name, "outcome": "passed", "duration_s": 0.3})
    return out


def _window_samples(start: float, end: float, outage: tuple[float, float] | None, hang: float | None) -> list[Sample]:
    """Requests every 0.2 s from 4 s before the fault until after end: failures in the outage, one hung request."""
    samples = []
    t = start - 4.0
    while t < end + 2.0:
        down = outage is not None and outage[0] <= t <= outage[1]
        samples.append(
            Sample(
                t=round(t, 3),
                ok=not down,
                latency_s=0.35 if down else 0.012,
                kind="write" if int(t * 5) % 4 else "read",
            )
        )
        t += 0.2
    if hang is not None:
        samples.append(Sample(t=hang, ok=False, latency_s=2.5))
    return samples


def _record_windows(res: Results, slow: bool = False) -> None:
    """Two windows on the run's clock, each with its budgets checked as the availability steps do."""
    res.scenario = "Reads stay available while a back-end replica is lost"
    samples = _window_samples(12.0, 27.0, None, None)
    i = res.record_window(
        Window(
            fault="backend pod kill",
            start_s=12.0,
            recovered_s=21.5,
            end_s=27.0,
            traffic_start_s=8.0,
            traffic_end_s=29.0,
            concurrency=4,
            requests=len(samples),
            failed=0,
            availability_pct=100.0,
            availability_time_pct=100.0,
            longest_outage_s=0.0,
            max_gap_s=0.21,
            max_gap_allowed_s=1.0,
            p50_latency_s=0.012,
            p95_latency_s=0.018,
            max_latency_s=0.03,
        ),
        samples,
    )
    res.check_window(i, "Then at least 99 % of reads succeed", "availability_pct", ">=", 99.0, "%")
    res.check_window(i, "And no outage lasts longer than 2 seconds", "longest_outage_s", "<=", 2.0, "s")

    res.scenario = "Writes come back after the database pod is killed"
    outage = (41.0, 52.3 if slow else 44.6)
    samples = _window_samples(40.0, 62.0, outage, 47.5)
    failed = sum(1 for s in samples if not s.ok)
    j = res.record_window(
        Window(
            fault="database pod kill",
            start_s=40.0,
            recovered_s=55.0 if slow else 46.0,
            end_s=62.0,
            traffic_start_s=36.0,
            traffic_end_s=64.0,
            concurrency=4,
            requests=len(samples),
            failed=failed,
            availability_pct=round(100.0 * (len(samples) - failed) / len(samples), 2),
            availability_time_pct=round(100.0 * (1 - (outage[1] - outage[0]) / 22.0), 2),
            longest_outage_s=round(outage[1] - outage[0], 2),
            max_gap_s=0.2,
            max_gap_allowed_s=1.0,
            p50_latency_s=0.012,
            p95_latency_s=0.35,
            max_latency_s=2.5,
        ),
        samples,
    )
    res.check_window(j, "Then no outage lasts longer than 10 seconds", "longest_outage_s", "<=", 10.0, "s")


def _passing_scenarios(res: Results, clock: SteppingClock, slow: bool = False) -> None:
    """Scenarios, recoveries and checks a healthy run records."""
    res.scenario = "The desired state holds"
    res.record_scenario(
        "Deployment",
        res.scenario,
        _steps("Given the to-do app is deployed", "Then the database runs 1 replica and is Ready"),
        "passed",
        0.62,
        nodeid="tests/e2e/test_features.py::test_the_desired_state_holds",
        tags=["deployment"],
        start_s=1.0,
    )
    res.scenario = "One back-end replica is lost"
    for took in (2.8, 3.1, 3.4):
        res.record_recovery(
            "backend pod kill",
            "backend",
            took,
            30.0,
            step="Then 2 back-end replicas are Ready within 30 seconds",
            fault_t0=clock.at(12.0),
        )
    res.record_scenario(
        "Pod loss",
        res.scenario,
        _steps("Given Alice has 3 to-dos", "When one back-end replica is lost", "Then Alice still sees her 3 to-dos"),
        "passed",
        3.7,
        start_s=10.0,
    )
    res.scenario = "The database pod is killed"
    for took in (4.0, 4.6):
        res.record_recovery("database pod kill", "database", took, 60.0, fault_t0=clock.at(40.0))
    res.record_scenario(
        "Durability", res.scenario, _steps("When the database pod is killed", "Then no write is lost"), "passed", 9.1
    )
    if slow:
        res.record_recovery("database pod kill", "database", 61.5, 60.0, fault_t0=clock.at(40.0))
    _record_windows(res, slow)
    res.record_scenario("Availability", "Reads stay available while a back-end replica is lost", [], "passed", 18.0)
    res.record_scenario("Availability", "Writes come back after the database pod is killed", [], "passed", 24.0)
    res.record_scenario(
        "Todos",
        HOSTILE_SCENARIO,
        _steps("Given Alice has no to-dos", "When Alice adds a to-do", "Then Alice sees it"),
        "passed",
        0.4,
    )
    res.record_check("smoke", "kit smoke test: nodes Ready, DNS, NodePort, volume, worker restart", "passed", "", 48.2)
    res.record_check("selfcheck", "broken: database on an emptyDir", "passed", "REJECTED for lost writes", 61.0)
    res.record_check("teardown", "every stopped node started again", "passed", "", 0.4)


def _ledger(res: Results, tmp: Path, lost: int = 0, lost_updates: int = 0) -> None:
    """A reconciled ledger shaped like support.ledger.LedgerVerdict.to_dict(), with its raw journal."""
    res.scenario = "The database pod is killed"
    raw = tmp / f"ledger-raw-{uuid.uuid4().hex[:6]}.jsonl"
    raw.write_text(
        "\n".join(json.dumps({"title": f"ledger-r1-{i:06d}", "outcome": "ok", "status": 201}) for i in range(5)) + "\n",
        encoding="utf-8",
    )
    res.record_ledger(
        {
            "attempted": 412,
            "ok": 398,
            "failed": 6,
            "unknown": 8,
            "lost": [f"ledger-r1-{i:06d}" for i in range(lost)],
            "phantom": 0,
            "duplicate": 0,
            "unknown_present": 5,
            "unknown_absent": 3,
            "updates_acknowledged": 120,
            "lost_updates": lost_updates,
            "deletes_acknowledged": 40,
            "resurrected": 0,
            "sources": ["api", "sql"],
            "titles": {"lost": [f"ledger-r1-{i:06d}" for i in range(lost)]},
        },
        raw,
    )


def _environment(res: Results, secret: str) -> None:
    """A realistic fingerprint (the secret sneaks in through a careless field, as it could in real life)."""
    res.set_environment(
        {
            "suite_commit": "3f9a1c2b7d4e5f60718293a4b5c6d7e8f9012345",
            "kind_version": "v0.30.0",
            "kubernetes_version": "v1.34.4",
            "images": {
                "todo-backend": "sha256:1a2b3c",
                "todo-frontend": "sha256:4d5e6f",
                "todo-mysql": "sha256:789abc",
            },
            "manifests_sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "seed": 20251129,
            "host_os": "Debian GNU/Linux 12 (bookworm)",
            "cores": 2,
            "db_url_for_debugging": f"mysql://todo:{secret}@mysql:3306/todo",
        }
    )


def _complete(res: Results) -> None:
    """Every item of the (synthetic) catalogue ran: the catalogue is what was recorded."""
    ran = len(res.scenarios) + len(res.checks)
    res.set_scope(Scope(mode="kind", complete=True, catalogue=ran, ran=ran))


BuildFn = Callable[..., Results]


def seal(res: Results) -> Path:
    """Finish the folder with the report's renderer (as the conftest does) and return its path."""
    res.finish(render=render)
    return res.path


@pytest.fixture
def canary() -> str:
    """A unique canary secret value."""
    return f"canary-s3cr3t-{uuid.uuid4()}"


def make(
    tmp_path: Path,
    canary: str,
    *,
    fail: bool = False,
    infra: bool = False,
    deploy: bool = False,
    partial: bool = False,
    empty: bool = False,
    slow_recovery: bool = False,
    lost: int = 0,
    lost_updates: int = 0,
    root: Path | None = None,
) -> Results:
    """Record a run shaped by the flags (the canary secret is registered and sneaks into several files)."""
    clock = SteppingClock()
    res = Results(root=root or tmp_path / "results", clock=clock)
    other = "p&ss<wörd>\"quoted'"  # a secret JSON and HTML would escape
    res.add_secret_values([canary, other])
    _environment(res, canary)
    if empty:
        return res
    if infra:
        msg = 'ERROR: failed to create cluster: command "docker run --name todo-e2e-worker" failed'
        res.record_infrastructure_failure("cluster", "ClusterError", msg)
        res.set_scope(Scope(complete=False, catalogue=CATALOGUE, ran=0, not_run=["everything: no cluster"]))
        return res
    if deploy:
        res.record_deploy_failure(
            "database",
            0,
            1,
            ["mysql-7d9c-x2: Running, not Ready (restarts 3)"],
            "readiness probe: durability settings not in effect",
        )
        for name in ("The desired state holds", FAILED_SCENARIO):
            res.record_scenario(
                "Deployment",
                name,
                [],
                "failed",
                0.0,
                blocked_by="deployment never became ready: database 0 of 1 ready",
            )
        res.set_scope(Scope(complete=False, catalogue=CATALOGUE, ran=0, not_run=["every scenario: deployment"]))
        return res
    _passing_scenarios(res, clock, slow_recovery)
    _ledger(res, tmp_path, lost=lost, lost_updates=lost_updates)
    res.add_file("chaos/journal-backend-pod-kill.json", json.dumps({"status": "completed", "pw": canary}))
    res.add_file(
        "logs/backend.log",
        f"DB_PASSWORD={canary} b64={b64(canary)} nopad={b64(canary, pad=False)}; {other}\n",
    )
    if fail:
        err = (
            "WaitTimeout: todo_visible('buy milk') not true within 20.0 s; last seen: 503 "
            '{"detail": "database unavailable"}'
        )
        res.scenario = FAILED_SCENARIO
        res.record_scenario(
            "Pod loss",
            FAILED_SCENARIO,
            _steps(
                "Given Alice has 3 to-dos",
                "When the database pod is killed",
                "Then Alice still sees her 3 to-dos within 20 seconds",
                "And the database keeps its data on a bound volume",
                failed="Then Alice still sees her 3 to-dos within 20 seconds",
                error=err,
            ),
            "failed",
            20.9,
            evidence={
                "events": "LAST SEEN  TYPE     REASON     OBJECT             MESSAGE\n"
                "12s        Warning  BackOff    pod/mysql-7d9c-x2  Back-off restarting failed container\n"
                "<script>alert('not run')</script> see https://example.invalid/docs",
                "pod logs: mysql": "2025-11-29 00:31:02 [ERROR] Access denied for user "
                f"'todo' ({canary})\nMYSQL_PASSWORD={b64(canary)}\n",
                "describe pod mysql": "Name: mysql-7d9c-x2\nStatus: Running\nReady: False\n",
                "node states": "todo-e2e-control-plane Ready\ntodo-e2e-worker Ready\ntodo-e2e-worker2 Ready\n",
            },
            failure_class="product",
        )
    if partial:
        res.record_scenario(
            "Node loss",
            "A worker is stopped and the app moves",
            [],
            "skipped",
            0.0,
            reason="not selected: -m pod_loss",
        )
        res.record_scenario(
            "Experiments",
            "The chaos experiment for a node pause",
            [],
            "not_applicable",
            0.0,
            reason="staging mode: node faults need the suite's own kind cluster",
        )
        res.set_scope(
            Scope(
                mode="kind",
                complete=False,
                catalogue=CATALOGUE + 2,
                ran=len(res.scenarios) - 2 + len(res.checks),
                not_run=[
                    "Node loss / A worker is stopped and the app moves: not selected (-m pod_loss)",
                    "Experiments / The chaos experiment for a node pause: not applicable in staging mode",
                ],
                selection={"-m": "pod_loss"},
            )
        )
    else:
        _complete(res)
    return res


@pytest.fixture
def build(tmp_path: Path, canary: str) -> BuildFn:
    """Build (not finish) a results folder: a complete passing run by default, other shapes on request."""

    def _build(**flags: Any) -> Results:
        """make() in this test's tmp_path with its canary."""
        return make(tmp_path, canary, **flags)

    return _build


def b64(value: str, pad: bool = True) -> str:
    """Standard base64 of value, with or without padding."""
    text = base64.b64encode(value.encode()).decode()
    return text if pad else text.rstrip("=")
