"""Fixtures for the walk-through's own tests: the built jar and Angular app, a running back end on a real MariaDB.

The artifacts come from app/walkthrough/build.py (content-keyed in the cache directory: a warm run builds nothing).
The back end is the real jar on the host's Java, against the private MariaDB of app/conftest.py, each test module
on a database of its own; the front end is the real `ng build` output served by the image's entrypoint and the
host's nginx.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from app.testsupport import free_port
from app.walkthrough import build

if TYPE_CHECKING:
    from conftest import MariaDB, Waiter  # types only; the fixtures come from app/conftest.py

BACKEND_READY_BUDGET = 180.0  # a JVM plus Flyway on two shared cores: 30 s typical, more when the host is busy
STOP_BUDGET = 30.0
NGINX = Path(os.environ.get("NGINX_BIN", "/usr/sbin/nginx"))
ENTRYPOINT = build.FRONTEND / "frontend-entrypoint.sh"
TIMEOUT = 10


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"<cannot read {path}: {error}>"


@pytest.fixture(scope="session")
def walkthrough_jar() -> Path:
    """The back end's jar (built by Maven only when its sources changed)."""
    if shutil.which("java") is None or shutil.which("mvn") is None:
        pytest.fail("java and mvn are needed: `apt-get install openjdk-17-jdk-headless maven`")
    return build.backend_jar()


@pytest.fixture(scope="session")
def walkthrough_dist() -> Path:
    """The front end's `ng build` output (built only when its sources changed)."""
    if shutil.which("npm") is None:
        pytest.fail("node and npm are needed (Node 20.19 or newer)")
    return build.frontend_dist()


@dataclass
class Board:
    """One running back-end process: its URL, log, and a GraphQL helper."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    hostname: str

    def log(self) -> str:
        """The end of the process's output."""
        return _tail(self.log_path)

    def post(self, query: str, variables: dict[str, Any] | None = None) -> requests.Response:
        """POST one GraphQL request to /graphql."""
        return requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=TIMEOUT
        )

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one GraphQL operation that must succeed; return its data."""
        response = self.post(query, variables)
        assert response.status_code == 200, f"HTTP {response.status_code}: {response.text[:500]}"
        body = response.json()
        assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
        data: dict[str, Any] = body["data"]
        return data

    def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one GraphQL operation that must fail; return its errors."""
        response = self.post(query, variables)
        assert response.status_code == 200, f"HTTP {response.status_code}: {response.text[:500]}"
        errors: list[dict[str, Any]] = response.json().get("errors") or []
        assert errors, f"expected GraphQL errors, got {response.text[:500]}"
        return errors

    def wait_ready(self, waiter: Waiter, budget: float = BACKEND_READY_BUDGET) -> None:
        """Bounded wait until the readiness endpoint answers 200; fail with the log if the process died."""

        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"back end exited with {self.process.returncode}:\n{self.log()}")
            return requests.get(f"{self.url}/actuator/health/readiness", timeout=5).status_code == 200

        waiter(f"{self.url}/actuator/health/readiness to answer 200", ready, budget, 0.5)

    def stop(self, budget: float = STOP_BUDGET) -> int:
        """SIGTERM (graceful shutdown) and a bounded wait for the exit status; SIGKILL if it overruns."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise


def _spawn(jar: Path, env_overrides: dict[str, str], log_path: Path, hostname: str) -> Board:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "SPRING_", "JAVA_TOOL_OPTIONS"))}
    env.update({"PORT": str(port), "HOSTNAME": hostname, "GRACEFUL_TIMEOUT": "5s", "DB_CONNECT_RETRIES": "3"})
    env.update(env_overrides)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            # The image's JVM flags, so the tests start the app as the container does.
            ["java", "-XX:TieredStopAtLevel=1", "-XX:+ExitOnOutOfMemoryError", "-jar", str(jar)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=log_path.parent,
        )
    return Board(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path, hostname=hostname)


@pytest.fixture(scope="module")
def board_factory(
    walkthrough_jar: Path, mariadb: MariaDB, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Board]]:
    """Start back ends on the private MariaDB (default: one fresh database per module); all stopped afterwards."""
    started: list[Board] = []
    logs = tmp_path_factory.mktemp("walkthrough-backend")

    def start(database: str, hostname: str = "wt-test-pod", env: dict[str, str] | None = None) -> Board:
        mariadb.create_database(database)
        log = logs / f"{database}-{len(started)}.log"
        board = _spawn(walkthrough_jar, {**mariadb.backend_env(database), **(env or {})}, log, hostname)
        started.append(board)
        return board

    yield start
    for board in started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            board.stop(budget=15)


@pytest.fixture(scope="module")
def board(board_factory: Callable[..., Board], waiter: Waiter, request: pytest.FixtureRequest) -> Board:
    """A ready back end on a database of this module's own (named after the module)."""
    database = "wt_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:40]
    started = board_factory(database)
    started.wait_ready(waiter)
    return started


@dataclass
class Frontend:
    """The built front end served by its entrypoint and the host's nginx."""

    url: str
    process: subprocess.Popen[bytes]
    stderr_path: Path


def serve_frontend(dist: Path, server_uri: str, workdir: Path, waiter: Waiter) -> Frontend:
    """Copy the build where nginx's workers (nobody, when the tests run as root) can read it, and serve it."""
    workdir.chmod(0o755)
    web_root = workdir / "html"
    shutil.copytree(dist, web_root)
    run_dir = workdir / "run"
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "SERVER_URI": server_uri,
        "LISTEN_PORT": str(port),
        "RUN_DIR": str(run_dir),
        "WEB_ROOT": str(web_root),
        "NGINX_BIN": str(NGINX),
    }
    stderr_path = workdir / "nginx.stderr"
    with stderr_path.open("ab") as err:
        process = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, stdout=err, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"front end exited with {process.returncode}:\n{_tail(stderr_path)}")
        return requests.get(f"{url}/healthz", timeout=3).status_code == 200

    waiter(f"front end on {url} to answer /healthz", up, 20.0, 0.2)
    return Frontend(url=url, process=process, stderr_path=stderr_path)


@pytest.fixture(scope="module")
def frontend_factory(walkthrough_dist: Path, waiter: Waiter) -> Iterator[Callable[[str], Frontend]]:
    """Serve the built front end with a given SERVER_URI; every server is stopped (SIGQUIT, bounded) afterwards."""
    if not NGINX.exists():
        pytest.fail(f"nginx not found at {NGINX}: `apt-get install nginx-light`")
    served: list[tuple[Frontend, Path]] = []

    def serve(server_uri: str) -> Frontend:
        workdir = Path(tempfile.mkdtemp(prefix="wt-frontend-"))
        frontend = serve_frontend(walkthrough_dist, server_uri, workdir, waiter)
        served.append((frontend, workdir))
        return frontend

    yield serve
    for frontend, workdir in served:
        if frontend.process.poll() is None:
            frontend.process.send_signal(signal.SIGQUIT)
            try:
                frontend.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                frontend.process.kill()
                frontend.process.wait(timeout=5)
        shutil.rmtree(workdir, ignore_errors=True)
