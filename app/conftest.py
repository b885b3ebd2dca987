"""Session fixtures shared by the app's tests: a private real MariaDB and a running reference back end.

`mariadb` starts Debian's mariadbd on 127.0.0.1 (free port, temporary datadir initialised by
mariadb-install-db, app user and database created as the deployment does); `backend_server` runs
`python -m todo_backend` against it and yields its base URL. Both are torn down at session end. The classes and
helpers behind them live in app/testsupport.py.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.testsupport import Backend, MariaDB, Waiter, mariadb_missing, spawn_backend, start_private_mariadb, wait_for


@pytest.fixture(scope="session")
def waiter() -> Waiter:
    """The bounded polling helper wait_for(what, condition, timeout, interval) for test modules."""
    return wait_for


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A private MariaDB on 127.0.0.1 with database and user `todo`, created as the deployment does."""
    missing = mariadb_missing()
    if missing:
        pytest.fail(missing)  # not a skip: these tests are the back end's only proof against a real DB
    # pytest's base temp dir keeps the socket path under the 107-byte limit of unix socket paths.
    server = start_private_mariadb(tmp_path_factory.mktemp("mariadb"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def backend_server(mariadb: MariaDB, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (http://127.0.0.1:PORT) of a reference back end connected to the private MariaDB."""
    logs = tmp_path_factory.mktemp("backend")
    backend = spawn_backend(
        {**mariadb.backend_env(), "POD_NAME": "test-pod", "NODE_NAME": "test-node", "APP_VERSION": "test-1"},
        logs / "backend.log",
    )
    try:
        backend.wait_ready()
        yield backend.base_url
    finally:
        backend.terminate()


@pytest.fixture
def backend_factory(tmp_path: Path) -> Iterator[Callable[..., Backend]]:
    """Start extra back ends for one test; all of them are stopped (SIGTERM, bounded) afterwards."""
    started: list[Backend] = []

    def start(env: dict[str, str], name: str = "backend", port: int | None = None) -> Backend:
        backend = spawn_backend(env, tmp_path / f"{name}-{len(started)}.log", port)
        started.append(backend)
        return backend

    yield start
    for backend in started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            backend.terminate(budget=15)
