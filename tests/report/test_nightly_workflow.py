"""The nightly GitHub Actions workflow: shaped like .ci/run; actionlint (from the Go proxy) passes it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from results_factory import ROOT

WORKFLOW = ROOT / ".github/workflows/nightly.yml"
ACTIONLINT_VERSION = "v1.7.12"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "todo-e2e/tools"


@pytest.fixture(scope="module")
def actionlint() -> Path:
    """actionlint, built once per version from the Go module proxy, cached in ~/.cache/todo-e2e/tools."""
    target = CACHE / f"actionlint-{ACTIONLINT_VERSION}" / "actionlint"
    if target.is_file():
        return target
    go = shutil.which("go")
    if go is None:
        pytest.fail(
            "Go is missing: actionlint is built with `go install github.com/rhysd/actionlint/cmd/actionlint@"
            f"{ACTIONLINT_VERSION}`; install Go (Debian: apt-get install golang-go) "
            f"or put actionlint at {target}"
        )
    staging = target.parent.with_name(target.parent.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    done = subprocess.run(
        [go, "install", f"github.com/rhysd/actionlint/cmd/actionlint@{ACTIONLINT_VERSION}"],
        env={**os.environ, "GOBIN": str(staging), "GOTOOLCHAIN": "local"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"building actionlint {ACTIONLINT_VERSION} failed:\n{done.stderr[-3000:]}"
    # Rename the whole folder so a half-built binary is never found by a later run.
    shutil.rmtree(target.parent, ignore_errors=True)
    staging.rename(target.parent)
    return target


def _load() -> dict[str, Any]:
    """The workflow as data (PyYAML reads the bare key `on` as True)."""
    raw: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return {("on" if k is True else str(k)): v for k, v in raw.items()}


def test_workflow_runs_nightly_and_on_demand_and_keeps_results() -> None:
    """Nightly + manual trigger, Python 3.11, the .ci/run entry in e2e mode, results uploaded always."""
    wf = _load()
    assert wf["on"]["schedule"][0]["cron"].count(" ") == 4 and "workflow_dispatch" in wf["on"]
    (job,) = wf["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    assert job["env"]["TODO_E2E_MODE"] == "e2e"
    assert job["env"]["TODO_E2E_RESULTS"].endswith("/results")
    steps = job["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert uses[0].startswith("actions/checkout@")
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(setup["with"]["python-version"]) == "3.11"
    run = next(s for s in steps if s.get("run", "").strip().endswith("bash .ci/run"))
    # The job's exit code is the run's: nothing may swallow a REJECTED verdict.
    assert "continue-on-error" not in run and "if" not in run
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()" and upload["with"]["path"].rstrip("/") == "results"
    assert steps.index(upload) > steps.index(run)


def test_workflow_remembers_a_bounded_history() -> None:
    """History restored before the run, the report re-rendered with it and this run remembered, then saved; always."""
    (job,) = _load()["jobs"].values()
    steps = job["steps"]
    run = next(i for i, s in enumerate(steps) if s.get("run", "").strip().endswith("bash .ci/run"))
    restore = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/cache/restore@"))
    save = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/cache/save@"))
    render = next(i for i, s in enumerate(steps) if "--history" in s.get("run", ""))
    assert restore < run < render < save
    path = job["env"]["TODO_E2E_HISTORY"]
    assert steps[restore]["with"]["path"] == steps[save]["with"]["path"] == path
    # A saved key is never overwritten: each run saves its own and restores the newest by prefix.
    assert "github.run_id" in steps[save]["with"]["key"] and steps[save]["with"]["key"] == steps[restore]["with"]["key"]
    assert steps[save]["with"]["key"].startswith(steps[restore]["with"]["restore-keys"].strip())
    assert steps[render]["if"] == steps[save]["if"] == "always()"
    script = steps[render]["run"]
    assert "--remember" in script and '--history-size "$TODO_E2E_HISTORY_SIZE"' in script
    assert int(job["env"]["TODO_E2E_HISTORY_SIZE"]) == 14
    assert "nox -s report" in script and "pipefail" in script


def test_actionlint_passes_the_workflow(actionlint: Path) -> None:
    """actionlint finds nothing wrong (expressions, contexts, action inputs, shell via shellcheck)."""
    done = subprocess.run(
        [str(actionlint), "-no-color", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"actionlint:\n{done.stdout}{done.stderr}"


def test_actionlint_catches_a_broken_workflow(actionlint: Path, tmp_path: Path) -> None:
    """The linter really checks: a mistyped context and an unknown action input are reported."""
    broken = WORKFLOW.read_text(encoding="utf-8").replace("${{ inputs.seed }}", "${{ input.seed }}")
    broken = broken.replace("retention-days: 30", "retention-days: 30\n          retention: 30")
    bad = tmp_path / ".github/workflows/nightly.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(broken, encoding="utf-8")
    done = subprocess.run(
        [str(actionlint), "-no-color", str(bad)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "input.seed" in done.stdout or "undefined variable" in done.stdout, done.stdout
    assert '"retention"' in done.stdout, done.stdout
