"""Fixtures for the walk-through's own tests: the built jar and Angular app, a running back end on a real MariaDB.

The artifacts come from app/walkthrough/build.py (content-keyed in the cache directory: a warm run builds nothing).
The back end is the real jar on the host's Java, against the private MariaDB of app/conftest.py, each test module
on a database of its own; the front end is the real `ng build` output served by the image's entrypoint and the
host's nginx.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.testsupport import MariaDB, Waiter
from app.walkthrough import build
from app.walkthrough.testsupport import NGINX, Board, Frontend, serve_frontend, spawn_board


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
        board = spawn_board(walkthrough_jar, {**mariadb.backend_env(database), **(env or {})}, log, hostname)
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
