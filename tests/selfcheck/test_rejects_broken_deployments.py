"""The suite can fail: a deployment that loses data or runs too few replicas is REJECTED.

Runs the real suite (a pytest subprocess) against tests/selfcheck/broken on the same cluster, after the main run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {
    "test_the_database_pod_is_killed": "database on an emptyDir loses Alice's to-dos",
    "test_every_tier_runs_its_desired_number_of_ready_replicas": "back end runs 1 replica, not 2",
}


def test_suite_rejects_a_deployment_that_loses_data_or_replicas(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    cluster = request.config.getoption("--cluster-name", default=None) or "todo-e2e"
    if cluster == "pytest-kind":  # pytest-kind's default stands for the suite's default
        cluster = "todo-e2e"
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
            " or ".join(SCENARIOS),
            "--manifests",
            str(Path(__file__).parent / "broken"),
            "--keep-cluster",
            "--cluster-name",
            cluster,
            "--results-dir",
            str(tmp_path),
            "--timeout=900",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 1, f"the suite should fail on a broken deployment (exit {proc.returncode}):\n{tail}"
    (folder,) = [p for p in tmp_path.iterdir() if (p / "results.json").is_file()]
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "REJECTED", tail
    failed = {s["scenario"] for s in results["scenarios"] if s["outcome"] == "failed"}
    assert len(failed) == len(SCENARIOS), f"expected both scenarios to fail, failed: {failed}\n{tail}"
    assert any(name in results["reasons"][0] for name in failed), (
        f"a failed scenario is named first: {results['reasons']}"
    )
