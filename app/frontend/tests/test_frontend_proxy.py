"""The front end proxies /api/ to a real back end and retries idempotent requests on another upstream."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
import requests
from frontend_harness import StartFrontend, free_port

pytestmark = pytest.mark.mariadb


def server_uri(base_url: str) -> str:
    """The back end's base URL as a SERVER_URI value (no trailing slash)."""
    return base_url.rstrip("/")


def titles_on(backend_url: str) -> list[str]:
    """Titles the back end holds, read directly (not through the front end)."""
    response = requests.get(f"{backend_url}/api/todos", timeout=10)
    response.raise_for_status()
    return [item["title"] for item in response.json()]


class DroppingUpstream:
    """A real TCP peer that reads each request and closes without answering, like a pod killed mid-request."""

    def __init__(self) -> None:
        """Listen on a free 127.0.0.1 port and serve from a daemon thread."""
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self.request_lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        """Accept until stopped; record each request line, then drop the connection."""
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(65536)
                except OSError:
                    data = b""
                if data:
                    self.request_lines.append(data.split(b"\r\n", 1)[0].decode(errors="replace"))

    def close(self) -> None:
        """Stop serving (bounded)."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


@pytest.fixture
def dropping_upstream() -> Iterator[DroppingUpstream]:
    """A dropping upstream for one test."""
    upstream = DroppingUpstream()
    yield upstream
    upstream.close()


def test_crud_through_the_front_end(frontend_factory: StartFrontend, backend_server: str) -> None:
    """Create, read, update and delete a to-do through nginx; back-end errors pass through as JSON."""
    frontend = frontend_factory(server_uri(backend_server))
    api = f"{frontend.url}/api"
    title = f"proxy-{uuid.uuid4().hex[:8]}"

    created = requests.post(f"{api}/todos", json={"title": title}, timeout=10)
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["title"] == title and item["completed"] is False

    listed = requests.get(f"{api}/todos", timeout=10)
    assert listed.status_code == 200 and title in [t["title"] for t in listed.json()]

    updated = requests.patch(f"{api}/todos/{item['id']}", json={"completed": True}, timeout=10)
    assert updated.status_code == 200 and updated.json()["completed"] is True

    assert requests.delete(f"{api}/todos/{item['id']}", timeout=10).status_code == 204
    missing = requests.get(f"{api}/todos/{item['id']}", timeout=10)
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]

    invalid = requests.post(f"{api}/todos", json={"title": ""}, timeout=10)
    assert invalid.status_code == 422 and "detail" in invalid.json()

    info = requests.get(f"{api}/info", timeout=10)
    assert info.status_code == 200 and set(info.json()) >= {"pod", "node", "version"}

    # The request id nginx logs is the one it forwards, so front-end and back-end logs can be joined.
    logged = frontend.logged("the 7 API requests", lambda e: str(e["uri"]).startswith("/api/"), 7)
    assert len(logged) == 7 and all(len(e["request_id"]) == 32 for e in logged)
    assert [e["status"] for e in logged] == [201, 200, 200, 204, 404, 422, 200]


def test_connection_refused_is_retried_for_every_method(frontend_factory: StartFrontend, backend_server: str) -> None:
    """With one upstream refusing connections, GETs and POSTs all succeed on the other, each POST once."""
    closed = free_port()
    frontend = frontend_factory(f"http://127.0.0.1:{closed},{server_uri(backend_server)}")
    run = uuid.uuid4().hex[:8]

    statuses = [requests.get(f"{frontend.url}/api/todos", timeout=10).status_code for _ in range(6)]
    titles = [f"refused-{run}-{i}" for i in range(4)]
    posts = [requests.post(f"{frontend.url}/api/todos", json={"title": t}, timeout=10) for t in titles]

    assert statuses == [200] * 6
    assert [p.status_code for p in posts] == [201] * 4
    # A refused connection means nothing was sent, so retrying a POST cannot duplicate it.
    stored = titles_on(backend_server)
    assert [stored.count(t) for t in titles] == [1] * 4
    # Round-robin sent some requests to the closed port first: the retry path was really taken.
    retried = frontend.logged(
        f"requests retried after 127.0.0.1:{closed} refused",
        lambda e: str(e["upstream_addr"]).startswith(f"127.0.0.1:{closed}, "),
        4,
    )
    assert len(retried) >= 4, frontend.access_log()


def test_dropped_request_is_retried_for_get_but_never_for_post(
    frontend_factory: StartFrontend, backend_server: str, dropping_upstream: DroppingUpstream
) -> None:
    """An upstream dying after receiving a request: GETs are retried; POSTs get 502 and are never resent."""
    frontend = frontend_factory(f"http://127.0.0.1:{dropping_upstream.port},{server_uri(backend_server)}")
    run = uuid.uuid4().hex[:8]

    gets = [requests.get(f"{frontend.url}/api/todos", timeout=15).status_code for _ in range(4)]
    assert gets == [200] * 4
    dropped_gets = [line for line in dropping_upstream.request_lines if line.startswith("GET ")]
    assert len(dropped_gets) >= 2, "round-robin should have sent some GETs to the dropping upstream"

    titles = [f"dropped-{run}-{i}" for i in range(4)]
    posts = {t: requests.post(f"{frontend.url}/api/todos", json={"title": t}, timeout=15) for t in titles}
    failed = [t for t, r in posts.items() if r.status_code == 502]
    succeeded = [t for t, r in posts.items() if r.status_code == 201]
    assert failed and succeeded and len(failed) + len(succeeded) == 4, {t: r.status_code for t, r in posts.items()}
    assert all(posts[t].json() == {"detail": "back end unreachable"} for t in failed)

    # Each failed POST reached the dropping upstream exactly once and never the real back end.
    dropped_posts = [line for line in dropping_upstream.request_lines if line.startswith("POST ")]
    assert len(dropped_posts) == len(failed)
    stored = titles_on(backend_server)
    assert [stored.count(t) for t in succeeded] == [1] * len(succeeded)
    assert [stored.count(t) for t in failed] == [0] * len(failed)
