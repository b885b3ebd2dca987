"""Run the front end's real entrypoint and the host's nginx on a free 127.0.0.1 port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from app.testsupport import free_port
from common.deadline import wait_for

FRONTEND_DIR = Path(__file__).resolve().parents[1]
ENTRYPOINT = FRONTEND_DIR / "frontend-entrypoint.sh"
TEMPLATE = FRONTEND_DIR / "nginx.conf.template"
STATIC = FRONTEND_DIR / "static"
NGINX = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")
# nginx logs a request just after answering it; this bounds how long a test waits for the line.
LOG_BUDGET = 5.0


def entrypoint_env(run_dir: Path, server_uri: str | None, port: int = 8080) -> dict[str, str]:
    """Environment running the entrypoint on the host with the checked-out template and static files."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "LISTEN_PORT": str(port),
        "RUN_DIR": str(run_dir),
        "WEB_ROOT": str(STATIC),
        "NGINX_TEMPLATE": str(TEMPLATE),
        "NGINX_BIN": NGINX,
    }
    if server_uri is not None:
        env["SERVER_URI"] = server_uri
    return env


def make_run_dir() -> Path:
    """Create a run directory the nginx worker (nobody, when the tests run as root) can traverse."""
    run_dir = Path(tempfile.mkdtemp(prefix="frontend-test-"))
    run_dir.chmod(0o755)
    return run_dir


class NginxExited(RuntimeError):
    """nginx exited while the tests waited for it: waiting longer cannot help."""


@dataclass
class Frontend:
    """A running host nginx started through the image's entrypoint."""

    url: str
    run_dir: Path
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    _stopped: bool = field(default=False)

    def access_log(self) -> list[dict[str, Any]]:
        """Return the complete JSON access-log lines written to stdout so far."""
        # A line without its newline is still being written; it is read on a later call.
        complete = self.stdout_path.read_text().rpartition("\n")[0]
        return [json.loads(line) for line in complete.splitlines() if line.startswith("{")]

    def logged(
        self, what: str, select: Callable[[dict[str, Any]], bool], count: int, timeout: float = LOG_BUDGET
    ) -> list[dict[str, Any]]:
        """The access-log entries `select` picks, once at least `count` are written (bounded wait).

        nginx writes a request's log line in its log phase, after the response has gone out, so a client can
        read its answer before the line exists: reading the log right after the last request is a race.
        """
        return wait_for(
            lambda: [entry for entry in self.access_log() if select(entry)],
            what=f"{count} access-log line(s) for {what} in {self.stdout_path}",
            timeout=timeout,
            interval=0.05,
            done=lambda entries: len(entries) >= count,
        )

    def error_log(self) -> str:
        """Return what nginx wrote to stderr so far."""
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> int:
        """Stop gracefully with SIGQUIT (as the image's STOPSIGNAL does) and return the exit code."""
        if not self._stopped:
            self._stopped = True
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start_frontend(server_uri: str) -> Frontend:
    """Run the entrypoint (render, then exec nginx) and wait until /healthz answers."""
    run_dir = make_run_dir()
    port = free_port()
    stdout_path, stderr_path = run_dir / "stdout.log", run_dir / "stderr.log"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            ["/bin/sh", str(ENTRYPOINT)],
            env=entrypoint_env(run_dir, server_uri, port),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    frontend = Frontend(f"http://127.0.0.1:{port}", run_dir, process, stdout_path, stderr_path)

    def healthy() -> bool:
        """nginx answers /healthz with 200; raises NginxExited when the process is gone."""
        if process.poll() is not None:
            raise NginxExited(f"nginx exited with {process.returncode}: {frontend.error_log()}")
        return requests.get(f"{frontend.url}/healthz", timeout=2).status_code == 200

    try:
        wait_for(
            healthy,
            what=f"the front end at {frontend.url} to be healthy",
            timeout=15,
            interval=0.1,
            fatal=(NginxExited,),
        )
    except BaseException:
        frontend.stop()
        raise
    return frontend


# What the frontend_factory fixture returns: start a front end for a SERVER_URI.
StartFrontend = Callable[[str], Frontend]
