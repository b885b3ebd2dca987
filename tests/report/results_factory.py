"""Realistic results folders built through the Results API, without a cluster (shared by the report tests)."""

from __future__ import annotations

import base64
import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

# The suite's packages live at the repository root: `python -m pytest` there finds them, others may not.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from support.results import Results, classify_failure  # noqa: E402

FAILED_SCENARIO = "The database pod is killed and comes back with every to-do"
T0 = 1_764_000_000.0  # a fixed wall-clock origin keeps the synthetic samples readable


def _passing_scenarios(res: Results) -> None:
    """Scenarios a healthy run records."""
    res.record_scenario(
        "Deployment",
        "The desired state holds",
        [
            {"name": "Given the to-do app is deployed", "outcome": "passed", "duration_s": 0.41},
            {
                "name": "Then the database runs 1 replica and is Ready",
                "outcome": "passed",
                "duration_s": 0.12,
            },
            {
                "name": "And the back end runs 2 replicas and is Ready",
                "outcome": "passed",
                "duration_s": 0.09,
            },
        ],
        "passed",
        0.62,
    )
    res.record_scenario(
        "Pod loss",
        "One back-end replica is lost",
        [
            {"name": "Given Alice has 3 to-dos", "outcome": "passed", "duration_s": 0.35},
            {"name": "When one back-end replica is lost", "outcome": "passed", "duration_s": 0.2},
            {
                "name": "Then 2 back-end replicas are Ready within 30 seconds",
                "outcome": "passed",
                "duration_s": 3.1,
            },
            {"name": "And Alice still sees her 3 to-dos", "outcome": "passed", "duration_s": 0.05},
        ],
        "passed",
        3.7,
    )


def _measurements(res: Results, slow_recovery: bool = False) -> None:
    """Recovery times, availability windows with raw samples, and a ledger."""
    for s in (2.8, 3.1, 3.4, 2.9, 3.6):
        res.record_recovery("backend pod kill", "backend", s, 5.0)
    for s in (4.0, 4.6, 21.5 if slow_recovery else 4.9):
        res.record_recovery("database pod kill", "database", s, 20.0)
    res.record_recovery("worker node stop", "backend", 31.2, 40.0)
    samples = []
    for i in range(600):
        t = T0 + i * 0.2
        down = 40.0 <= i * 0.2 <= 44.5  # the database restart window
        samples.append({"t": t, "ok": not down, "latency_s": 0.012 + (0.3 if down else 0.0)})
    res.record_samples(samples[:60])
    res.record_availability(
        {
            "fault": "backend pod kill",
            "start": T0 + 12,
            "end": T0 + 27,
            "n": 75,
            "ok": 75,
            "failed": 0,
            "availability_pct": 100.0,
            "longest_outage_s": 0.0,
            "p95_latency_s": 0.018,
            "min_availability_pct": 100.0,
            "samples": samples[60:],
        }
    )
    res.record_availability(
        {
            "fault": "database pod kill",
            "start": T0 + 38,
            "end": T0 + 60,
            "n": 110,
            "ok": 87,
            "failed": 23,
            "availability_pct": 61.82 if slow_recovery else 79.09,
            "longest_outage_s": 12.3 if slow_recovery else 4.6,
            "p95_latency_s": 0.312,
            "max_outage_s": 10.0,
        }
    )


def _ledger(res: Results, tmp: Path, lost: int = 0) -> None:
    """A ledger verdict shaped like support.ledger.LedgerVerdict.to_dict(), with its raw journal."""
    raw = tmp / "ledger-raw.jsonl"
    raw.write_text(
        "\n".join(json.dumps({"title": f"ledger-r1-{i:06d}", "outcome": "ok", "status": 201}) for i in range(5)) + "\n",
        encoding="utf-8",
    )
    lost_titles = [f"ledger-r1-{i:06d}" for i in range(lost)]
    res.record_ledger(
        {
            "attempted": 412,
            "ok": 398,
            "failed": 6,
            "unknown": 8,
            "lost": lost,
            "phantom": 0,
            "duplicate": 0,
            "unknown_present": 5,
            "unknown_absent": 3,
            "titles": {
                "lost": lost_titles,
                "phantom": [],
                "duplicate": [],
                "unknown_present": [],
                "unknown_absent": [],
            },
            "ok_property": lost == 0,
        },
        raw,
    )


def _environment(res: Results, secret: str) -> None:
    """A realistic fingerprint (the secret sneaks in through a careless field, as it could in real life)."""
    res.set_environment(
        {
            "suite_version": "0.1.0",
            "suite_commit": "3f9a1c2b7d4e5f60718293a4b5c6d7e8f9012345",
            "kind_version": "v0.31.0",
            "kubernetes_version": "v1.34.2",
            "node_image_id": "sha256:7c1e5f0b2a9d",
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


BuildFn = Callable[..., Results]


@pytest.fixture
def canary() -> str:
    """A unique canary secret value."""
    return f"canary-s3cr3t-{uuid.uuid4()}"


@pytest.fixture
def build(tmp_path: Path, canary: str) -> BuildFn:
    """Build (not finish) a results folder: passing by default; failures, infra trouble on request."""

    def _build(
        *,
        fail: bool = False,
        infra: bool = False,
        empty: bool = False,
        slow_recovery: bool = False,
        lost: int = 0,
        root: Path | None = None,
    ) -> Results:
        """Record a run shaped by the flags."""
        res = Results(root=root or tmp_path / "results")
        other = "p&ss<wörd>\"quoted'"  # a secret JSON and HTML would escape
        res.add_secret_values([canary, other])
        _environment(res, canary)
        if empty:
            return res
        if infra:
            msg = 'ERROR: failed to create cluster: command "docker run --name todo-e2e-worker" failed'
            res.record_infrastructure_failure("cluster", "KindError", msg)
            res.record_scenario(
                "Deployment",
                "The desired state holds",
                [
                    {
                        "name": "Given the to-do app is deployed",
                        "outcome": "failed",
                        "duration_s": 12.0,
                        "error": msg,
                    }
                ],
                "failed",
                12.0,
                failure_class=classify_failure("KindError", msg, "setup"),
            )
            return res
        _passing_scenarios(res)
        _measurements(res, slow_recovery=slow_recovery)
        _ledger(res, tmp_path, lost=lost)
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
            res.record_scenario(
                "Pod loss",
                FAILED_SCENARIO,
                [
                    {"name": "Given Alice has 3 to-dos", "outcome": "passed", "duration_s": 0.31},
                    {"name": "When the database pod is killed", "outcome": "passed", "duration_s": 0.4},
                    {
                        "name": "Then Alice still sees her 3 to-dos within 20 seconds",
                        "outcome": "failed",
                        "duration_s": 20.02,
                        "error": err,
                    },
                    {
                        "name": "And the database volume claim is still bound",
                        "outcome": "skipped",
                        "duration_s": 0,
                    },
                ],
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
                failure_class=classify_failure("WaitTimeout", err, "call"),
            )
        return res

    return _build


def b64(value: str, pad: bool = True) -> str:
    """Standard base64 of value, with or without padding."""
    text = base64.b64encode(value.encode()).decode()
    return text if pad else text.rstrip("=")
