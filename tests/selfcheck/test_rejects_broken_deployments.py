"""The suite can fail: each of its own broken deployments is REJECTED, for its own reason, naming the right scenario.

Every entry runs the real suite (a pytest subprocess) on the same kind cluster, after the main run, against one
overlay under tests/selfcheck/entries/ (and, where the defect lives in the code, an image built here from the
reference back end). Only the scenarios the entry needs are selected, to stay well inside CI's time limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from common.docker import DockerCli
from common.names import DEFAULT_CLUSTER

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


# The availability scenarios the walk-through's own deployment fails as written and its hardened overlay passes.
WALKTHROUGH_SELECT = "test_losing_one_backend_pod_gracefully_fails_no_request"


@dataclass(frozen=True)
class Entry:
    """One broken deployment: what to select, which scenario must be named first, and which reason must appear."""

    name: str
    select: str
    first: str
    reason: str
    image: str | None = None  # a broken back-end image under tests/selfcheck/images/
    profile: str | None = None  # another system's target profile (relative to the repo)
    manifests: str | None = None  # its manifests (relative to the repo); default: tests/selfcheck/entries/<name>

    def manifests_dir(self) -> Path:
        return ROOT / self.manifests if self.manifests else HERE / "entries" / self.name

    def profile_args(self) -> list[str]:
        return ["--profile", str(ROOT / self.profile)] if self.profile else []


ENTRIES = [
    Entry("emptydir-database", "test_the_database_pod_is_killed", "The database pod is killed", "Alice"),
    Entry(
        "lost-update",
        "test_writes_made_while_pods_and_the_database_fail_are_all_kept",
        "Writes made while pods and the database fail are all kept",
        "lost updates",
        image="lost-update",
    ),
    Entry(
        "one-backend-replica",
        "test_every_tier_runs_its_desired_number_of_ready_replicas",
        "Every tier runs its desired number of ready replicas",
        "backend",
    ),
    Entry(
        "slow-backend-start",
        "test_one_backend_pod_is_killed_immediately",
        "One back-end pod is killed immediately",
        "recovery_s",
    ),
    Entry(
        "frontend-serves-too-early",
        "test_losing_one_frontend_pod_keeps_the_service_available",
        "Losing one front-end pod keeps the service available",
        "availability_pct",
    ),
    Entry(
        "slow-rescheduling",
        "test_a_worker_hosting_application_replicas_is_stopped_and_started_again",
        "A worker hosting application replicas is stopped and started again",
        "recovery_s",
    ),
    Entry(
        "password-in-configmap",
        "test_the_back_end_is_configured_from_the_shared_settings_and_the_secrets",
        "The back end is configured from the shared settings and the secrets",
        "DB_PASSWORD",
    ),
    # The walk-through's deployment as the article wrote it (no readiness probes, no graceful shutdown): a pod
    # replaced gracefully still fails requests. Last: the next run on this cluster takes its NodePorts back.
    Entry(
        "walkthrough-as-written",
        WALKTHROUGH_SELECT,
        "Losing one back-end pod gracefully fails no request",
        "failed of backend pod killed (graceful)",
        profile="profiles/walkthrough.yaml",
        manifests="manifests/walkthrough/overlays/kind",
    ),
]


def _cluster(request: pytest.FixtureRequest) -> str:
    """The suite's cluster name (pytest-kind's default stands for ours)."""
    name = request.config.getoption("--cluster-name", default=None) or DEFAULT_CLUSTER
    return DEFAULT_CLUSTER if name == "pytest-kind" else str(name)


def _broken_image(entry: Entry, tmp_path: Path) -> list[str]:
    """Build the entry's broken back-end image on top of the reference one; the suite option that uses it."""
    if entry.image is None:
        return []
    from kit import api as kit

    base = kit.build_image(ROOT / "app" / "backend", "todo-backend")
    tag = f"todo-backend-broken-{entry.image}:{base.rsplit(':', 1)[-1]}"
    DockerCli().run("build", "--build-arg", f"BASE={base}", "-t", tag, str(HERE / "images" / entry.image), timeout=600)
    return ["--backend-image", tag]


def _run_suite(request: pytest.FixtureRequest, tmp_path: Path, entry: Entry) -> tuple[int, dict[str, Any], str]:
    """One real suite run (a pytest subprocess) on the suite's cluster for the entry: exit code, results, output."""
    cluster = _cluster(request)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/e2e",
            "-m",
            "cluster",
            "-p",
            "no:cacheprovider",
            "-k",
            entry.select,
            *entry.profile_args(),
            "--manifests",
            str(entry.manifests_dir()),
            *_broken_image(entry, tmp_path),
            "--keep-cluster",
            "--cluster-name",
            cluster,
            # The front end where this run reaches it (the profile's unless --frontend-url was given).
            *(["--frontend-url", str(url)] if (url := request.config.getoption("--frontend-url")) else []),
            "--results-dir",
            str(tmp_path),
            "--timeout=900",
        ],
        cwd=ROOT,
        # The entry's verdict is its own: it must not overwrite the pointer to the main run's.
        env={k: v for k, v in os.environ.items() if k != "TODO_E2E_VERDICT_FILE"},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    # The entry's own output is kept beside its results: a failed entry is read from it, not re-run.
    log = tmp_path / "suite-output.log"
    log.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr, encoding="utf-8")
    tail = f"(full output: {log})\n" + (proc.stdout + proc.stderr)[-4000:]
    folders = [p for p in tmp_path.iterdir() if (p / "results.json").is_file()]
    assert len(folders) == 1, f"the suite left no results folder (exit {proc.returncode}):\n{tail}"
    return proc.returncode, json.loads((folders[0] / "results.json").read_text()), tail


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_broken_deployment_is_rejected_for_its_own_reason(
    entry: Entry, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """REJECTED (exit code 10), the entry's scenario named first, and the entry's reason among the reasons."""
    code, results, tail = _run_suite(request, tmp_path, entry)
    assert results["verdict"] == "REJECTED", f"{entry.name}: verdict {results['verdict']}: {results['reasons']}\n{tail}"
    assert code == 10, f"{entry.name}: REJECTED must exit 10, got {code}:\n{tail}"
    assert entry.first in results["reasons"][0], (
        f"{entry.name}: '{entry.first}' not named first: {results['reasons']}\n{tail}"
    )
    assert any(entry.reason in r for r in results["reasons"]), (
        f"{entry.name}: no reason mentions {entry.reason!r}: {results['reasons']}\n{tail}"
    )


def test_the_hardened_walkthrough_passes_what_rejects_the_article_deployment(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The walk-through's hardened overlay (readiness probes, graceful shutdown) on the same selected scenarios:
    no rejection; the verdict is PARTIAL (exit 12) only because the run covers a part of the catalogue. The whole
    catalogue's verdict on it is a run of its own (README: "The walk-through's own system")."""
    entry = Entry(
        "walkthrough-hardened",
        WALKTHROUGH_SELECT,
        "",
        "",
        profile="profiles/walkthrough.yaml",
        manifests="manifests/walkthrough/overlays/hardened",
    )
    code, results, tail = _run_suite(request, tmp_path, entry)
    outcomes = {s["scenario"]: s["outcome"] for s in results["scenarios"]}
    assert outcomes and set(outcomes.values()) == {"passed"}, f"not every selected scenario passed: {outcomes}\n{tail}"
    assert results["verdict"] == "PARTIAL", f"verdict {results['verdict']}: {results['reasons']}\n{tail}"
    assert code == 12, f"PARTIAL must exit 12, got {code}:\n{tail}"
