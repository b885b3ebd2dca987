"""The entrypoint renders a valid nginx config from SERVER_URI and refuses bad or missing values clearly."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from frontend_harness import ENTRYPOINT, STATIC, StartFrontend, entrypoint_env, free_port, make_run_dir


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A scratch run directory, removed afterwards."""
    path = make_run_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_entrypoint(run_dir: Path, server_uri: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the entrypoint with a bounded time and capture its output."""
    return subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), *args],
        env=entrypoint_env(run_dir, server_uri),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_rendered_config_passes_nginx_t(run_dir: Path) -> None:
    """`nginx -t` accepts the config rendered for a single back-end address."""
    result = run_entrypoint(run_dir, "http://127.0.0.1:8080", "check")
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_single_address_is_listed_for_retries_and_never_marked_down(run_dir: Path) -> None:
    """One SERVER_URI becomes three upstream entries with max_fails=0 and nginx variables stay intact."""
    result = run_entrypoint(run_dir, "http://127.0.0.1:8080/", "render")
    assert result.returncode == 0, result.stderr
    config = (run_dir / "nginx.conf").read_text()
    assert re.findall(r"server (\S+) max_fails=0;", config) == ["127.0.0.1:8080"] * 3
    assert "proxy_next_upstream error timeout http_502 http_503;" in config
    assert "non_idempotent" not in config.replace("# ", "").split("proxy_next_upstream ")[1].split(";")[0]
    assert "$request_id" in config and "$upstream_addr" in config, "nginx's own variables were substituted"
    assert "${" not in config, "an unsubstituted template variable remains"
    assert f"root {STATIC};" in config


def test_several_addresses_are_listed_once_each(run_dir: Path) -> None:
    """A comma-separated SERVER_URI lists each address once, default port 80."""
    result = run_entrypoint(run_dir, "http://127.0.0.1:9001, http://localhost", "render")
    assert result.returncode == 0, result.stderr
    config = (run_dir / "nginx.conf").read_text()
    assert re.findall(r"server (\S+) max_fails=0;", config) == ["127.0.0.1:9001", "localhost:80"]


@pytest.mark.parametrize("server_uri", [None, ""])
def test_missing_server_uri_fails_clearly(run_dir: Path, server_uri: str | None) -> None:
    """Without SERVER_URI the entrypoint exits non-zero naming the variable and writes no config."""
    result = run_entrypoint(run_dir, server_uri)
    assert result.returncode == 64
    assert "SERVER_URI is not set" in result.stderr
    assert not (run_dir / "nginx.conf").exists()


@pytest.mark.parametrize(
    "server_uri",
    ["https://todo-backend:8080", "todo-backend:8080", "http://todo-backend:8080/api", "http://a b:80"],
)
def test_malformed_server_uri_is_refused(run_dir: Path, server_uri: str) -> None:
    """A SERVER_URI nginx could not use as a plain HTTP upstream is refused with the offending value."""
    result = run_entrypoint(run_dir, server_uri)
    assert result.returncode == 64
    assert "SERVER_URI entry" in result.stderr


def test_serves_page_health_and_json_errors_without_back_end(frontend_factory: StartFrontend) -> None:
    """The page, its assets and /healthz come from nginx; an unreachable back end gives a JSON 502."""
    closed = free_port()
    frontend = frontend_factory(f"http://127.0.0.1:{closed}")
    health = requests.get(f"{frontend.url}/healthz", timeout=5)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    page = requests.get(f"{frontend.url}/", timeout=5)
    assert page.status_code == 200 and 'id="todo-list"' in page.text
    assert page.headers["Content-Type"].startswith("text/html")
    script = requests.get(f"{frontend.url}/app.js", timeout=5)
    assert script.headers["Content-Type"].startswith("application/javascript")
    deep_link = requests.get(f"{frontend.url}/some/client/route", timeout=5)
    assert deep_link.status_code == 200 and 'id="todo-list"' in deep_link.text
    api = requests.get(f"{frontend.url}/api/todos", timeout=10)
    assert api.status_code == 502
    assert api.json() == {"detail": "back end unreachable"}
    # Each of the three upstream entries was tried once before giving up.
    (entry,) = frontend.logged("GET /api/todos", lambda e: e["uri"] == "/api/todos", 1)
    assert entry["upstream_addr"].count(f"127.0.0.1:{closed}") == 3
    assert "connect() failed" in frontend.error_log()
    assert frontend.stop() == 0
