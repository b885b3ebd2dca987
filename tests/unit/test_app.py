"""The to-do client against a small real HTTP server on 127.0.0.1 that speaks the contract."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from support.app import AppError, Owner, TodoApp, check_address


class ContractHandler(BaseHTTPRequestHandler):
    """An in-memory to-do API following docs/contract.md, plus knobs to answer 503 or hang."""

    todos: dict[int, dict[str, Any]]
    next_id: list[int]
    mode: dict[str, str]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _send(self, status: int, body: Any = None) -> None:
        """Answer with JSON (or nothing for 204)."""
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        """The request's JSON body."""
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def _item(self) -> int | None:
        """The id in /api/todos/{id}, if any."""
        parts = self.path.rstrip("/").split("/")
        return int(parts[3]) if len(parts) == 4 and parts[3].isdigit() else None

    def _special(self) -> bool:
        """Apply the server's failure mode; True when the request was answered by it."""
        if self.mode.get("kind") == "503":
            self._send(503, {"detail": "database unavailable"})
            return True
        if self.mode.get("kind") == "hang":
            time.sleep(1.5)
            self._send(201, {"id": 0, "title": "late", "completed": False, "created_at": ""})
            return True
        return False

    def do_GET(self) -> None:
        """List, read, info and health routes."""
        if self._special():
            return
        if self.path in ("/healthz", "/api/healthz"):
            return self._send(200, {"status": "ok"})
        if self.path == "/api/info":
            return self._send(200, {"pod": "todo-backend-abc", "node": "todo-e2e-worker", "version": "1"})
        if self.path == "/api/todos":
            return self._send(200, [self.todos[k] for k in sorted(self.todos)])
        todo_id = self._item()
        if todo_id in self.todos:
            return self._send(200, self.todos[todo_id])
        return self._send(404, {"detail": f"todo {todo_id} not found"})

    def do_POST(self) -> None:
        """Create with validation."""
        if self._special():
            return
        body = self._body() or {}
        title = body.get("title")
        if not isinstance(title, str) or not 1 <= len(title) <= 200:
            return self._send(422, {"detail": "title must be 1..200 characters", "field": "title"})
        todo_id = self.next_id[0]
        self.next_id[0] += 1
        self.todos[todo_id] = {
            "id": todo_id,
            "title": title,
            "completed": bool(body.get("completed", False)),
            "created_at": "2026-01-01T00:00:00",
        }
        self._send(201, self.todos[todo_id])

    def do_PATCH(self) -> None:
        """Partial update."""
        todo_id = self._item()
        if todo_id not in self.todos:
            return self._send(404, {"detail": f"todo {todo_id} not found"})
        self.todos[todo_id].update({k: v for k, v in self._body().items() if k in ("title", "completed")})
        self._send(200, self.todos[todo_id])

    def do_DELETE(self) -> None:
        """Delete."""
        todo_id = self._item()
        if todo_id not in self.todos:
            return self._send(404, {"detail": f"todo {todo_id} not found"})
        del self.todos[todo_id]
        self._send(204)


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh contract server on an ephemeral loopback port; yields (base URL, failure mode)."""
    mode: dict[str, str] = {}
    handler = type("Handler", (ContractHandler,), {"todos": {}, "next_id": [1], "mode": mode})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", mode
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_crud_round_trip(server: tuple[str, dict[str, str]]) -> None:
    """Create, list, read, rename, complete, delete."""
    app = TodoApp(server[0])
    first = app.add("Buy milk")
    second = app.add("Call Bob", completed=True)
    assert [t.title for t in app.list()] == ["Buy milk", "Call Bob"]
    assert app.get(first.id) == first
    assert second.completed is True
    assert app.update(first.id, title="Buy oat milk").title == "Buy oat milk"
    assert app.complete(first.id).completed is True
    app.delete(first.id)
    assert app.titles() == ["Call Bob"]


def test_errors_carry_status_and_detail(server: tuple[str, dict[str, str]]) -> None:
    """Unknown ids and invalid titles raise AppError naming what went wrong; raw() shows the status."""
    app = TodoApp(server[0])
    with pytest.raises(AppError) as err:
        app.get(424242)
    assert err.value.status == 404 and "424242 not found" in err.value.detail
    refused = app.raw("POST", "/api/todos", {"title": ""})
    assert refused.status == 422 and refused.body["field"] == "title" and "title" in refused.detail


def test_info_health_and_probe(server: tuple[str, dict[str, str]]) -> None:
    """Which replica answered, health, and the reader's probe."""
    app = TodoApp(server[0])
    assert app.info().pod == "todo-backend-abc"
    assert app.health() is True
    assert app.probe() == (200, None)
    server[1]["kind"] = "503"
    assert app.probe() == (503, "database unavailable")


def test_write_outcomes(server: tuple[str, dict[str, str]]) -> None:
    """201 is ok, 4xx failed, 5xx and read timeouts unknown."""
    app = TodoApp(server[0], timeout=0.5)
    assert app.write("ledger-x-000001") == (201, None, "ok")
    status, error, outcome = app.write("")
    assert (status, outcome) == (422, "failed") and error
    server[1]["kind"] = "503"
    assert app.write("ledger-x-000002")[2] == "unknown"
    server[1]["kind"] = "hang"
    status, error, outcome = app.write("ledger-x-000003")
    assert status is None and outcome == "unknown" and "Timeout" in (error or "")


def test_refused_connection_is_a_failed_write() -> None:
    """Nothing listens: the request never left, so the write certainly failed and the probe has no status."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = TodoApp(f"http://127.0.0.1:{port}", timeout=1)
    status, error, outcome = app.write("ledger-x-000001")
    assert (status, outcome) == (None, "failed") and error
    assert app.probe()[0] is None
    assert app.health() is False


def test_owner_keeps_her_todos_apart(server: tuple[str, dict[str, str]]) -> None:
    """Two users see only their own to-dos; titles of an exact length carry the tag."""
    app = TodoApp(server[0])
    alice = Owner("Alice", "Alice-1234abcd", app)
    bob = Owner("Bob", "Bob-99", app)
    app.add(alice.title("one"))
    app.add(bob.title("two"))
    assert alice.texts() == ["one"] and bob.texts() == ["two"]
    assert len(alice.title_of_length(200)) == 200 and alice.title_of_length(200).startswith(alice.tag)
    with pytest.raises(LookupError, match="Alice has no to-do 'two'"):
        alice.find("two")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:30080", "http://localhost:1", "http://10.96.0.1:80", "http://[::1]:8080"]
)
def test_allowed_addresses(url: str) -> None:
    """Loopback and private cluster addresses are accepted."""
    assert check_address(url) == url


@pytest.mark.parametrize("url", ["http://8.8.8.8", "http://example.com", "ftp://127.0.0.1", "127.0.0.1:30080"])
def test_refused_addresses(url: str) -> None:
    """Public addresses, names and non-http URLs are refused before any request."""
    with pytest.raises(ValueError):
        TodoApp(url)
