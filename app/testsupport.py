"""Helpers shared by the app's tests (back end, front end, database image): a private real MariaDB, a reference back
end process, the bounded wait. Test modules and conftest files import this module; conftest.py holds fixtures only.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pymysql
import requests

from common import deadline

MARIADBD = Path("/usr/sbin/mariadbd")


INSTALL_HINT = "install it with `apt-get install mariadb-server`"


BACKEND_DIR = Path(__file__).resolve().parent / "backend"


MARIADB_START_BUDGET = 30.0


MARIADB_STOP_BUDGET = 30.0


BACKEND_READY_BUDGET = 30.0


T = TypeVar("T")


class ProcessExited(RuntimeError):
    """A server the tests started has exited: waiting for it to answer cannot succeed."""


def wait_for(
    what: str,
    condition: Callable[[], T | None],
    timeout: float,
    interval: float = 0.1,
) -> T:
    """Poll `condition` until it returns a truthy value within `timeout` seconds (the one deadline loop)."""
    # The app tests' historical argument order (what first) kept; the loop and its timeout are common.deadline's.
    return deadline.wait_for(condition, what=what, timeout=timeout, interval=interval, fatal=(ProcessExited,))


# The type of the `waiter` fixture (wait_for itself), for annotations in test modules.
Waiter = Callable[..., Any]


def log_tail(path: Path, lines: int = 30) -> str:
    """Last lines of a log file for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"<cannot read {path}: {error}>"


@dataclass
class MariaDB:
    """A private mariadbd: connection facts for clients plus stop/start/pause for outage tests."""

    host: str
    port: int
    user: str
    password: str
    database: str
    workdir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def socket_path(self) -> Path:
        """The server's unix socket, used for root administration (unix_socket auth as OS root)."""
        return self.workdir / "mysqld.sock"

    @property
    def log_path(self) -> Path:
        """mariadbd's error log."""
        return self.workdir / "mariadbd.log"

    def backend_env(self, database: str | None = None) -> dict[str, str]:
        """The back end's DB_* variables pointing at this server."""
        return {
            "DB_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_NAME": database or self.database,
            "DB_USERNAME": self.user,
            "DB_PASSWORD": self.password,
        }

    def connect(self, database: str | None = None, **kwargs: Any) -> pymysql.connections.Connection:
        """A client connection as the application user over TCP, as the back end connects."""
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database or self.database,
            connect_timeout=3,
            read_timeout=10,
            write_timeout=10,
            **kwargs,
        )

    def admin(self, sql: str) -> str:
        """Run SQL as root through the mariadb client on the unix socket (how an entrypoint does it)."""
        result = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.socket_path}", "-uroot", "--batch", "-e", sql],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"mariadb admin SQL failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def create_database(self, name: str) -> None:
        """An extra empty database the application user owns (for schema-creation tests)."""
        self.admin(
            f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4; "
            f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{self.user}'@'%';"
        )

    def launch(self) -> subprocess.Popen[bytes]:
        """Spawn mariadbd on the fixed port (no wait); a running server is left alone."""
        if self.process is not None and self.process.poll() is None:
            return self.process
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(MARIADBD),
                    "--no-defaults",
                    f"--datadir={self.workdir / 'data'}",
                    f"--tmpdir={_private_tmp(self.workdir)}",
                    f"--socket={self.socket_path}",
                    f"--pid-file={self.workdir / 'mariadbd.pid'}",
                    f"--port={self.port}",
                    f"--bind-address={self.host}",
                    "--user=root",  # the tests run as root; mariadbd refuses root unless told explicitly
                    "--skip-name-resolve",
                    "--skip-log-bin",
                    "--innodb-buffer-pool-size=32M",
                    "--innodb-flush-log-at-trx-commit=1",  # durable, as in the deployment
                    "--max-connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal must not kill it before teardown
            )
        return self.process

    def _alive(self, process: subprocess.Popen[bytes]) -> None:
        """Raise with the server log if mariadbd has exited."""
        if process.poll() is not None:
            raise ProcessExited(f"mariadbd exited with {process.returncode}:\n{log_tail(self.log_path)}")

    def wait_admin(self, process: subprocess.Popen[bytes]) -> None:
        """Bounded wait until root can run SQL on the unix socket."""

        def answers() -> bool:
            self._alive(process)
            self.admin("SELECT 1")
            return True

        wait_for(f"mariadbd socket {self.socket_path} to accept root", answers, MARIADB_START_BUDGET)

    def wait_app_user(self, process: subprocess.Popen[bytes]) -> None:
        """Bounded wait until the application user can log in over TCP."""

        def answers() -> bool:
            self._alive(process)
            with self.connect() as conn, conn.cursor() as cur:
                cur.execute("SELECT 1")
            return True

        wait_for(f"mariadbd on {self.host}:{self.port} to accept the app user", answers, MARIADB_START_BUDGET)

    def start(self) -> None:
        """Start mariadbd (same port and datadir) and wait until the app user can log in."""
        self.wait_app_user(self.launch())

    def stop(self) -> None:
        """Clean shutdown (SIGTERM), bounded; SIGKILL if it overruns."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=MARIADB_STOP_BUDGET)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections hang, like a stalled node."""
        assert self.process is not None and self.process.poll() is None, "mariadbd is not running"
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo pause()."""
        assert self.process is not None and self.process.poll() is None, "mariadbd is not running"
        self.process.send_signal(signal.SIGCONT)


def _private_tmp(workdir: Path) -> Path:
    """A temporary directory for this server alone.

    In the shared /tmp, a bootstrap's temporary tables once vanished under it while other test sessions ran
    MariaDB on the same host ("Could not remove temporary table '/tmp/#sql-temptable-...', error: 2").
    """
    path = workdir / "tmp"
    path.mkdir(exist_ok=True)
    return path


def _bootstrap(workdir: Path) -> None:
    """Initialise an empty datadir as the Debian package does (root via unix_socket, no test db)."""
    result = subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={workdir / 'data'}",
            f"--tmpdir={_private_tmp(workdir)}",
            "--user=root",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
            "--skip-name-resolve",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        output = f"{result.stdout}\n{result.stderr}"
        raise RuntimeError(f"mariadb-install-db failed ({result.returncode}):\n{output}")


def mariadb_missing() -> str | None:
    """Why a private MariaDB cannot be started here, or None when it can."""
    if not MARIADBD.exists() or shutil.which("mariadb-install-db") is None or shutil.which("mariadb") is None:
        return f"MariaDB server not found ({MARIADBD}, mariadb-install-db, mariadb): {INSTALL_HINT}"
    return None


def start_private_mariadb(workdir: Path) -> MariaDB:
    """Initialise `workdir`, start mariadbd on a free port, create database and user `todo`."""
    _bootstrap(workdir)
    server = MariaDB(
        host="127.0.0.1",
        port=free_port(),
        user="todo",
        password="todo-test-password",
        database="todo",
        workdir=workdir,
    )
    process = server.launch()
    try:
        server.wait_admin(process)
        # What the official image's entrypoint does with MYSQL_DATABASE/MYSQL_USER/MYSQL_PASSWORD.
        server.admin(
            f"CREATE DATABASE IF NOT EXISTS `{server.database}` CHARACTER SET utf8mb4; "
            f"CREATE USER IF NOT EXISTS '{server.user}'@'%' IDENTIFIED BY '{server.password}'; "
            f"GRANT ALL PRIVILEGES ON `{server.database}`.* TO '{server.user}'@'%';"
        )
        server.wait_app_user(process)
    except BaseException:
        server.stop()
        raise
    return server


@dataclass
class Backend:
    """One `python -m todo_backend` process started by the tests."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log(self) -> str:
        """Everything the process wrote so far."""
        return log_tail(self.log_path, lines=200)

    def wait_ready(self, budget: float = BACKEND_READY_BUDGET) -> None:
        """Wait (bounded) for GET /api/readyz == 200; fail with the process log if it died."""

        def ready() -> bool:
            if self.process.poll() is not None:
                raise ProcessExited(f"back end exited with {self.process.returncode}:\n{self.log()}")
            return requests.get(f"{self.base_url}/api/readyz", timeout=5).status_code == 200

        wait_for(f"{self.base_url}/api/readyz to answer 200", ready, budget, interval=0.2)

    def wait_listening(self, budget: float = BACKEND_READY_BUDGET) -> None:
        """Wait (bounded) until /api/healthz answers (the process serves, whatever the database does)."""

        def alive() -> bool:
            if self.process.poll() is not None:
                raise ProcessExited(f"back end exited with {self.process.returncode}:\n{self.log()}")
            return requests.get(f"{self.base_url}/api/healthz", timeout=5).status_code == 200

        wait_for(f"{self.base_url}/api/healthz to answer 200", alive, budget, interval=0.2)

    def terminate(self, budget: float = 30.0) -> int:
        """SIGTERM and wait (bounded) for the exit status; SIGKILL if it overruns."""
        return terminate(self.process, budget)


def terminate(process: subprocess.Popen[bytes], budget: float) -> int:
    """SIGTERM a server the tests started and wait (bounded) for its exit status; SIGKILL and re-raise if it
    overruns (a server that ignores SIGTERM is a finding, not something to wait out)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise


def spawn_backend(env_overrides: dict[str, str], log_path: Path, port: int | None = None) -> Backend:
    """Start `python -m todo_backend` from app/backend with a clean DB_* environment plus the overrides."""
    port = port or free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DB_", "LISTEN_"))}
    env.update(
        {
            "LISTEN_HOST": "127.0.0.1",
            "LISTEN_PORT": str(port),
            "PYTHONPATH": str(BACKEND_DIR),
            "PYTHONUNBUFFERED": "1",
            # Tests stop it often: a short drain keeps the suite fast; the default (5 s) is for Kubernetes.
            "SHUTDOWN_DRAIN_SECONDS": "0.5",
            "GRACEFUL_TIMEOUT_SECONDS": "10",
            "DB_STARTUP_WAIT_SECONDS": "2",
        }
    )
    env.update(env_overrides)
    log = log_path.open("ab")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "todo_backend"],
            cwd=BACKEND_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()
    return Backend(process=process, base_url=f"http://127.0.0.1:{port}", log_path=log_path)


def free_port() -> int:
    """Return a free 127.0.0.1 port below the ephemeral range, where outgoing connections cannot take it."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    candidates = random.Random().sample(range(10000, max(low, 10100)), k=50)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found below the ephemeral range in 50 tries")
