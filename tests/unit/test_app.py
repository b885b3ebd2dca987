"""A user of the to-do API (Owner, over the reference profile's REST adapter) against a small real HTTP server on
127.0.0.1 that speaks the contract, and the address rule. The adapters' own tests are in test_adapters.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from support.adapters import adapter_for
from support.app import Owner, check_address
from support.profile import load_profile

REFERENCE = Path(__file__).resolve().parents[2] / "profiles" / "reference.yaml"


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


def test_owner_keeps_her_todos_apart(server: tuple[str, dict[str, str]]) -> None:
    """Two users see only their own to-dos; titles of an exact length carry the tag."""
    app = adapter_for(load_profile(REFERENCE).with_frontend_url(server[0]))
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
        check_address(url)
