"""Helpers for the walk-through's own tests: a back-end process (Board) and the served front end (Frontend).

app/walkthrough/tests/conftest.py holds the fixtures built on these; test modules import the types from here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from app.testsupport import Waiter, free_port, log_tail, terminate
from app.walkthrough import build

BACKEND_READY_BUDGET = 180.0  # a JVM plus Flyway on two shared cores: 30 s typical, more when the host is busy


STOP_BUDGET = 30.0


NGINX = Path(os.environ.get("NGINX_BIN", "/usr/sbin/nginx"))


ENTRYPOINT = build.FRONTEND / "frontend-entrypoint.sh"


TIMEOUT = 10


@dataclass
class Board:
    """One running back-end process: its URL, log, and a GraphQL helper."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    hostname: str

    def log(self) -> str:
        """The end of the process's output."""
        return log_tail(self.log_path, 60)

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
        return terminate(self.process, budget)


def spawn_board(jar: Path, env_overrides: dict[str, str], log_path: Path, hostname: str) -> Board:
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
            raise RuntimeError(f"front end exited with {process.returncode}:\n{log_tail(stderr_path, 60)}")
        return requests.get(f"{url}/healthz", timeout=3).status_code == 200

    waiter(f"front end on {url} to answer /healthz", up, 20.0, 0.2)
    return Frontend(url=url, process=process, stderr_path=stderr_path)
