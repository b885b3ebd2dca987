"""Sessions: tests (unit, app, lint, types), e2e (the acceptance suite on a real kind cluster), report, bench, kit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from kit.pins import cache_dir  # noqa: E402  (the one cache directory, shared with CI's fresh clones)

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.envdir = str(cache_dir() / "nox")
nox.options.sessions = ["tests"]
PYPROJECT = nox.project.load_toml("pyproject.toml")
# Debian packages the tests use for real servers and a real browser (installed when missing and we are root).
# Where the suite writes the last run's verdict ({verdict, exit_code, report}); .ci/run exits with its code.
VERDICT_FILE = cache_dir() / "logs" / "last-verdict.json"
TEST_PACKAGES = {
    "mariadbd": "mariadb-server",
    "mariadb": "mariadb-client",
    "nginx": "nginx-light",
    os.environ.get("TODO_E2E_CHROMIUM", "chromium"): "chromium",
    os.environ.get("TODO_E2E_CHROMEDRIVER", "chromedriver"): "chromium-driver",
    "mmdebstrap": "mmdebstrap",
}


def _install(session: nox.Session, *groups: str) -> None:
    deps: list[str] = []
    for group in groups:
        deps += nox.project.dependency_groups(PYPROJECT, group)
    session.install(*deps)


def _host_packages(session: nox.Session) -> None:
    missing = sorted(
        {
            pkg
            for binary, pkg in TEST_PACKAGES.items()
            if not shutil.which(binary) and not Path("/usr/sbin", binary).exists()
        }
    )
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        session.error(
            f"missing host packages {' '.join(missing)}: install them (Debian: apt-get install "
            f"{' '.join(missing)}) and re-run"
        )
    session.log(f"installing Debian packages: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env, check=True)


@nox.session(python=False)
def kit(session: nox.Session) -> None:
    """Run the cluster kit CLI (python -m kit ...), e.g. `nox -s kit -- build`."""
    session.run(sys.executable, "-m", "kit", *(session.posargs or ["status"]))


@nox.session
def tests(session: nox.Session) -> None:
    """Unit, app (real MariaDB, nginx, Chromium), manifest and report tests, plus ruff, mypy and import-linter."""
    _host_packages(session)
    _install(session, "suite", "app", "lint")
    session.run("ruff", "check", ".")
    session.run("mypy")  # every Python file of the repo (pyproject's [tool.mypy] files), tests and app included
    session.run("lint-imports")
    # The manifest tests render with `kubectl kustomize`: the kit's own kubectl (Go build only, cached).
    kubectl = str(session.run("python", "-m", "kit", "kubectl", silent=True)).strip().splitlines()[-1]
    # The database image's tests build FROM the Debian base image: Docker up and the base made (cached) first, so
    # the one command works on a fresh machine too.
    session.run("python", "-m", "kit", "base")
    session.run(
        "python", "-m", "pytest", "-m", "not cluster", "--timeout=300", *session.posargs, env={"KUBECTL": kubectl}
    )


@nox.session
def e2e(session: nox.Session) -> None:
    """The acceptance suite: build (cached) and create the kind cluster, deploy the app, run every feature."""
    _host_packages(session)
    _install(session, "suite")
    session.run("python", "-m", "kit", "build")
    session.run(
        "python",
        "-m",
        "pytest",
        "-m",
        "cluster",
        "--timeout=1800",
        "-p",
        "no:cacheprovider",
        # written here, then copied (redacted) into the run's results folder by conftest.py
        f"--junitxml={cache_dir() / 'logs' / 'e2e-junit.xml'}",
        f"--cucumberjson={cache_dir() / 'logs' / 'e2e-cucumber.json'}",
        "kit/tests",
        "tests/e2e",
        "tests/selfcheck",
        *session.posargs,
        env={"TODO_E2E_VERDICT_FILE": str(VERDICT_FILE)},
        success_codes=[0, 10, 11, 12],  # the verdicts: judged below, so the session says which one it was
    )
    verdict = json.loads(VERDICT_FILE.read_text()) if VERDICT_FILE.is_file() else {}
    if verdict.get("exit_code") != 0:
        session.error(
            f"verdict {verdict.get('verdict', 'unknown')} (exit code {verdict.get('exit_code')}): "
            f"{verdict.get('report', 'no results folder')}"
        )


@nox.session
def report(session: nox.Session) -> None:
    """Re-render a results folder's report: `nox -s report -- results/<run> [--compare results/<other>]`."""
    _install(session, "suite")
    if not session.posargs:
        session.error("give a results folder: nox -s report -- results/<run>")
    session.run("python", "-m", "report", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks of the kit, the deployment and recovery; writes bench/results.json and bench/RESULTS.md."""
    _host_packages(session)
    _install(session, "suite", "app")
    session.run("python", "-m", "bench", *session.posargs)
