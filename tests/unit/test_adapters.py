"""Workload adapters against recorded request/response shapes, served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from support.adapters import (
    AppError,
    GraphQLAdapter,
    GraphQLError,
    HttpAnswer,
    HttpCall,
    NotPromised,
    RequestsSender,
    RestAdapter,
    TodoNotFound,
    WorkloadAdapter,
    adapter_for,
)
from support.app import Todo
from support.profile import Profile, load_profile, parse_profile

ROOT = Path(__file__).resolve().parents[2]

# -- recorded shapes ----------------------------------------------------------------------------------------------
# The reference contract's answers (docs/contract.md) ...
REST_TODO = {"id": 7, "title": "Buy milk", "completed": False, "created_at": "2026-01-01T00:00:00.000000"}
REST_DONE = {**REST_TODO, "completed": True}
REST_LIST = [REST_TODO, {"id": 9, "title": "Call Bob", "completed": True, "created_at": "2026-01-01T00:00:01"}]
REST_404 = {"detail": "todo 7 not found"}
REST_422 = {"detail": "title must be 1..200 characters", "field": "title"}
REST_INFO = {"pod": "todo-backend-6d9f-abcde", "node": "todo-e2e-worker2", "version": "local"}
# ... and the walk-through's GraphQL board (issue 12: lists "To Do", "Doing", "Done"; ids are GraphQL IDs).
BOARD = {
    "data": {
        "lists": [
            {
                "id": "1",
                "name": "To Do",
                "position": 0,
                "items": [{"id": "12", "name": "Water plants", "position": 0, "listId": "1"}],
            },
            {"id": "2", "name": "Doing", "position": 1, "items": []},
            {
                "id": "3",
                "name": "Done",
                "position": 2,
                "items": [{"id": "5", "name": "Pay rent", "position": 0, "listId": "3"}],
            },
        ]
    }
}
CREATED = {"data": {"createItem": {"id": "13", "name": "Buy milk", "position": 1, "listId": "1"}}}
MOVED = {"data": {"moveItem": {"id": "12", "name": "Water plants", "position": 1, "listId": "3"}}}
DELETED = {"data": {"deleteItem": True}}
NOT_DELETED = {"data": {"deleteItem": False}}
FIELD_ERROR = {"errors": [{"message": "could not commit", "path": ["createItem"]}], "data": None}
REQUEST_ERROR = {"errors": [{"message": "Validation error: unknown field 'createItemz'"}]}


@dataclass
class Recorder:
    """What the server saw and what it answers next: a queue of (status, body) per (method, path)."""

    seen: list[tuple[str, str, Any]] = field(default_factory=list)
    script: dict[tuple[str, str], list[tuple[int, Any]]] = field(default_factory=dict)
    hang: bool = False

    def answer(self, method: str, path: str, *answers: tuple[int, Any]) -> None:
        """Queue answers for one route (the last one repeats)."""
        self.script[(method, path)] = list(answers)

    def next(self, method: str, path: str) -> tuple[int, Any]:
        """The next scripted answer, or 599 naming the unscripted route (the test then fails loudly)."""
        queue = self.script.get((method, path))
        if not queue:
            return 599, {"detail": f"unscripted {method} {path}"}
        return queue.pop(0) if len(queue) > 1 else queue[0]


class RecordingHandler(BaseHTTPRequestHandler):
    """Answers from the recorder's script and records every request."""

    recorder: Recorder

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _handle(self) -> None:
        """Record the request, then answer (bytes are sent as raw text, anything else as JSON)."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.recorder.seen.append((self.command, self.path, json.loads(raw) if raw else None))
        if self.recorder.hang:
            time.sleep(1.0)
        status, body = self.recorder.next(self.command, self.path)
        data = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if isinstance(body, bytes) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle


@pytest.fixture
def server() -> Iterator[tuple[str, Recorder]]:
    """A recording server on an ephemeral loopback port; yields (base URL, recorder)."""
    recorder = Recorder()
    handler = type("Handler", (RecordingHandler,), {"recorder": recorder})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", recorder
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _profile(name: str, base_url: str, **changes: Any) -> Profile:
    """A shipped profile pointed at the test server (front-end URL or back-end URL), with top-level changes."""
    data = yaml.safe_load((ROOT / "profiles" / f"{name}.yaml").read_text())
    if data["access"]["api"]["via"] == "frontend":
        data["access"]["frontend_url"] = base_url
    else:
        # The static page and the API both at the test server (the reader fetches the page, then the API).
        data["access"]["api"]["url"] = base_url
        data["access"]["frontend_url"] = base_url
    for key, value in changes.items():
        data[key] = value
    return parse_profile(data, f"{name} (test)")


def _closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def rest(server: tuple[str, Recorder]) -> Iterator[tuple[RestAdapter, Recorder]]:
    """The reference profile's adapter against the recording server."""
    url, recorder = server
    adapter = adapter_for(_profile("reference", url))
    assert isinstance(adapter, RestAdapter)
    yield adapter, recorder
    adapter.close()


@pytest.fixture
def graphql(server: tuple[str, Recorder]) -> Iterator[tuple[GraphQLAdapter, Recorder]]:
    """The walk-through profile's adapter against the recording server."""
    url, recorder = server
    adapter = adapter_for(_profile("walkthrough", url))
    assert isinstance(adapter, GraphQLAdapter)
    yield adapter, recorder
    adapter.close()


# -- REST ---------------------------------------------------------------------------------------------------------
def test_rest_add_sends_the_title_and_reads_the_stored_item(rest: tuple[RestAdapter, Recorder]) -> None:
    """POST /api/todos {"title"} answered 201 gives the stored Todo."""
    adapter, recorder = rest
    recorder.answer("POST", "/api/todos", (201, REST_TODO))
    assert adapter.add("Buy milk") == Todo(7, "Buy milk", False, "2026-01-01T00:00:00.000000")
    assert recorder.seen == [("POST", "/api/todos", {"title": "Buy milk"})]


def test_rest_list_keeps_the_apps_order(rest: tuple[RestAdapter, Recorder]) -> None:
    """GET /api/todos parses every item in the order served."""
    adapter, recorder = rest
    recorder.answer("GET", "/api/todos", (200, REST_LIST))
    assert [(t.id, t.title, t.completed) for t in adapter.list()] == [(7, "Buy milk", False), (9, "Call Bob", True)]
    assert adapter.titles() == ["Buy milk", "Call Bob"]


def test_rest_get_complete_rename_delete_paths_and_bodies(rest: tuple[RestAdapter, Recorder]) -> None:
    """Item paths carry the id; complete and rename PATCH only their own field; delete expects 204."""
    adapter, recorder = rest
    recorder.answer("GET", "/api/todos/7", (200, REST_TODO))
    recorder.answer("PATCH", "/api/todos/7", (200, REST_DONE), (200, {**REST_TODO, "title": "Buy oat milk"}))
    recorder.answer("DELETE", "/api/todos/7", (204, None))
    assert adapter.get(7).title == "Buy milk"
    assert adapter.complete(7).completed is True
    assert adapter.rename(7, "Buy oat milk").title == "Buy oat milk"
    adapter.delete(7)
    assert recorder.seen == [
        ("GET", "/api/todos/7", None),
        ("PATCH", "/api/todos/7", {"completed": True}),
        ("PATCH", "/api/todos/7", {"title": "Buy oat milk"}),
        ("DELETE", "/api/todos/7", None),
    ]


def test_rest_404_is_todo_not_found_with_the_apps_detail(rest: tuple[RestAdapter, Recorder]) -> None:
    """A 404 raises TodoNotFound carrying the method, path, status and detail."""
    adapter, recorder = rest
    recorder.answer("GET", "/api/todos/7", (404, REST_404))
    recorder.answer("DELETE", "/api/todos/7", (404, REST_404))
    with pytest.raises(TodoNotFound) as caught:
        adapter.get(7)
    assert (caught.value.method, caught.value.path, caught.value.status) == ("GET", "/api/todos/7", 404)
    assert caught.value.detail == "todo 7 not found"
    with pytest.raises(TodoNotFound):
        adapter.delete(7)


@pytest.mark.parametrize(
    ("status", "body", "detail"), [(422, REST_422, "title must be"), (500, b"<h1>oops</h1>", "oops")]
)
def test_rest_4xx_and_5xx_raise_app_error(
    rest: tuple[RestAdapter, Recorder], status: int, body: Any, detail: str
) -> None:
    """Any status but the expected one raises AppError with the status and the detail (or the text)."""
    adapter, recorder = rest
    recorder.answer("POST", "/api/todos", (status, body))
    with pytest.raises(AppError) as caught:
        adapter.add("x")
    assert caught.value.status == status and detail in caught.value.detail
    assert not isinstance(caught.value, TodoNotFound)


def test_rest_wrong_body_shape_is_reported(rest: tuple[RestAdapter, Recorder]) -> None:
    """A 200 whose body lacks the profile's fields is an error naming what is missing."""
    adapter, recorder = rest
    recorder.answer("GET", "/api/todos", (200, [{"id": 1, "name": "x"}]))
    with pytest.raises(AppError, match=r"to-do without \['title', 'completed'\]"):
        adapter.list()


def test_rest_info_names_the_pod_on_a_fresh_connection(rest: tuple[RestAdapter, Recorder]) -> None:
    """info() reads the profile's served-by field."""
    adapter, recorder = rest
    recorder.answer("GET", "/api/info", (200, REST_INFO))
    assert adapter.info() == "todo-backend-6d9f-abcde"


def test_rest_info_is_none_without_an_info_route(server: tuple[str, Recorder]) -> None:
    """A profile that cannot tell which replica answered sends nothing and says None."""
    url, recorder = server
    data = yaml.safe_load((ROOT / "profiles" / "reference.yaml").read_text())
    data["access"]["frontend_url"] = url
    del data["adapter"]["info"]
    data["promises"]["served_by"] = False
    adapter = adapter_for(parse_profile(data))
    assert adapter.info() is None
    assert recorder.seen == []


def test_rest_configured_paths_fields_and_method(server: tuple[str, Recorder]) -> None:
    """Another REST API: its own paths, field names, PUT and 200 on create/delete."""
    url, recorder = server
    data = yaml.safe_load((ROOT / "profiles" / "reference.yaml").read_text())
    data["access"] = {"frontend_url": url, "api": {"via": "frontend", "base_path": "/v2"}}
    data["adapter"] = {
        "kind": "rest",
        "paths": {
            "list": "/tasks",
            "create": "/tasks/new",
            "get": "/task/{id}",
            "update": "/task/{id}/edit",
            "delete": "/task/{id}/remove",
        },
        "fields": {"id": "key", "title": "text", "completed": "done", "created_at": None},
        "update_method": "PUT",
        "create_status": 200,
        "delete_status": 200,
    }
    data["promises"]["served_by"] = False
    adapter = adapter_for(parse_profile(data))
    task = {"key": "3", "text": "Buy milk", "done": False}
    recorder.answer("POST", "/v2/tasks/new", (200, task))
    recorder.answer("PUT", "/v2/task/3/edit", (200, {**task, "done": True}))
    recorder.answer("DELETE", "/v2/task/3/remove", (200, None))
    recorder.answer("GET", "/v2/tasks", (200, [task]))
    assert adapter.add("Buy milk") == Todo(3, "Buy milk", False, "")
    assert adapter.complete(3).completed is True
    adapter.delete(3)
    assert adapter.probe() == (True, "200: the to-do list")
    assert recorder.seen[:3] == [
        ("POST", "/v2/tasks/new", {"text": "Buy milk"}),
        ("PUT", "/v2/task/3/edit", {"done": True}),
        ("DELETE", "/v2/task/3/remove", None),
    ]


def test_rest_probe_checks_the_body_not_only_the_status(rest: tuple[RestAdapter, Recorder]) -> None:
    """A 200 that is not the to-do list (an nginx error page, a JSON object) is not ok."""
    adapter, recorder = rest
    recorder.answer(
        "GET",
        "/api/todos",
        (200, REST_LIST),
        (200, b"<html>Welcome to nginx</html>"),
        (200, {"status": "ok"}),
        (503, {"detail": "database unavailable"}),
    )
    assert adapter.probe() == (True, "200: the to-do list")
    ok, detail = adapter.probe()
    assert not ok and "not the to-do list" in detail and "Welcome to nginx" in detail
    ok, detail = adapter.probe()
    assert not ok and "not the to-do list" in detail
    assert adapter.sample() == (503, "database unavailable")


def test_rest_probe_without_an_answer(server: tuple[str, Recorder]) -> None:
    """A refused connection is a failed probe with the exception named, status None."""
    adapter = adapter_for(_profile("reference", f"http://127.0.0.1:{_closed_port()}"))
    ok, detail = adapter.probe()
    assert not ok and "ConnectionError" in detail
    status, error = adapter.sample()
    assert status is None and error is not None


def test_rest_write_outcomes_follow_the_ledger_rule(rest: tuple[RestAdapter, Recorder]) -> None:
    """201 ok; 4xx failed; 5xx unknown; each with status and detail."""
    adapter, recorder = rest
    recorder.answer("POST", "/api/todos", (201, REST_TODO), (422, REST_422), (502, b"bad gateway"))
    assert adapter.write("ledger-r-000001") == (201, None, "ok")
    assert adapter.write("ledger-r-000002") == (422, "title must be 1..200 characters", "failed")
    assert adapter.write("ledger-r-000003") == (502, "bad gateway", "unknown")
    assert [body for _, _, body in recorder.seen] == [{"title": f"ledger-r-00000{i}"} for i in (1, 2, 3)]


def test_rest_write_refused_connection_is_failed() -> None:
    """Nothing listening: the write certainly did not happen."""
    adapter = adapter_for(_profile("reference", f"http://127.0.0.1:{_closed_port()}"))
    status, error, outcome = adapter.write("ledger-r-000001")
    assert (status, outcome) == (None, "failed") and error and "ConnectionError" in error


def test_every_request_has_a_timeout(server: tuple[str, Recorder]) -> None:
    """A server that does not answer in time raises a timeout instead of hanging the suite."""
    url, recorder = server
    recorder.hang = True
    adapter = adapter_for(_profile("reference", url), timeout=0.2)
    with pytest.raises(requests.Timeout):
        adapter.list()
    ok, detail = adapter.probe()
    assert not ok and "Timeout" in detail
    with pytest.raises(ValueError, match="timeout must be positive"):
        RequestsSender(url, timeout=0)


def test_only_loopback_or_private_addresses() -> None:
    """The sender refuses public addresses and names."""
    with pytest.raises(ValueError, match="neither loopback nor a private"):
        RequestsSender("http://8.8.8.8:30080")
    with pytest.raises(ValueError, match="use an IP address"):
        RequestsSender("http://example.com")
    assert RequestsSender("http://10.1.2.3:8080/").base_url == "http://10.1.2.3:8080"


class _ClosesOnSecondRequest:
    """A keep-alive server on 127.0.0.1 that answers the first request of each connection and closes the connection
    without a word when a second one arrives on it: what a client sees when it sends on a connection the server is
    closing for idleness at that very moment."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    @staticmethod
    def _one(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]")
            conn.recv(65536)  # the second request on this connection: no answer, just the close

    def close(self) -> None:
        self.listener.close()


def test_a_connection_idle_past_the_limit_is_never_reused() -> None:
    """After a pause longer than idle_reuse_s the next request opens a new connection (no stale keep-alive), while
    requests in a burst share one, and a connection closed without an answer is a failure, never retried."""
    server = _ClosesOnSecondRequest()
    try:
        read = HttpCall("GET", "/api/todos", None)
        burst = RequestsSender(server.url, idle_reuse_s=5.0)
        assert burst(read).body == []
        with pytest.raises(requests.ConnectionError):
            burst(read)  # same connection, closed unanswered: reported as it happened
        assert server.connections == 1

        paused = RequestsSender(server.url, idle_reuse_s=0.05)
        assert paused(read).body == []
        time.sleep(0.2)
        assert paused(read).body == []  # a new connection, answered
        assert server.connections == 3
        with pytest.raises(ValueError, match="idle_reuse_s must not be negative"):
            RequestsSender(server.url, idle_reuse_s=-1)
    finally:
        server.close()


def test_injected_session_is_used_and_not_closed(server: tuple[str, Recorder]) -> None:
    """adapter_for(profile, session) sends ordinary requests through the caller's session."""
    url, recorder = server
    recorder.answer("GET", "/api/todos", (200, []))
    with requests.Session() as session:
        session.headers["X-Test"] = "mine"
        adapter = adapter_for(_profile("reference", url), session)
        assert adapter.list() == []
        adapter.close()
        assert session.headers["X-Test"] == "mine"


# -- GraphQL ------------------------------------------------------------------------------------------------------
def _query(seen: tuple[str, str, Any]) -> tuple[str, dict[str, Any]]:
    """The operation name (first word after query/mutation) and variables of one recorded GraphQL request."""
    method, path, body = seen
    assert (method, path) == ("POST", "/graphql")
    words = body["query"].replace("(", " ").replace("{", " ").split()
    return words[1], body["variables"]


def test_graphql_add_creates_an_item_in_the_open_list(graphql: tuple[GraphQLAdapter, Recorder]) -> None:
    """The open list's id is looked up once, then createItem gets the title and that id."""
    adapter, recorder = graphql
    recorder.answer("POST", "/graphql", (200, BOARD), (200, CREATED), (200, CREATED))
    assert adapter.add("Buy milk") == Todo(13, "Buy milk", False, "")
    adapter.add("Buy milk")
    assert [_query(s) for s in recorder.seen] == [
        ("Lists", {}),
        ("CreateItem", {"name": "Buy milk", "listId": "1"}),
        ("CreateItem", {"name": "Buy milk", "listId": "1"}),
    ]


def test_graphql_list_flattens_the_board_and_maps_done(graphql: tuple[GraphQLAdapter, Recorder]) -> None:
    """Every item of every list, by id; items in 'Done' are completed, the others open."""
    adapter, recorder = graphql
    recorder.answer("POST", "/graphql", (200, BOARD))
    assert [(t.id, t.title, t.completed) for t in adapter.list()] == [
        (5, "Pay rent", True),
        (12, "Water plants", False),
    ]
    assert adapter.get(5).completed is True


def test_graphql_complete_moves_the_item_to_the_end_of_done(graphql: tuple[GraphQLAdapter, Recorder]) -> None:
    """moveItem gets the item's id, the done list's id and the position after its last item."""
    adapter, recorder = graphql
    recorder.answer("POST", "/graphql", (200, BOARD), (200, MOVED))
    assert adapter.complete(12) == Todo(12, "Water plants", True, "")
    assert [_query(s) for s in recorder.seen] == [
        ("Lists", {}),
        ("MoveItem", {"id": "12", "listId": "3", "position": 1}),
    ]


def test_graphql_delete_and_not_found(graphql: tuple[GraphQLAdapter, Recorder]) -> None:
    """deleteItem true deletes; false, or an id on no list, is TodoNotFound."""
    adapter, recorder = graphql
    recorder.answer("POST", "/graphql", (200, DELETED), (200, NOT_DELETED), (200, BOARD))
    adapter.delete(12)
    with pytest.raises(TodoNotFound, match="todo 99 not deleted"):
        adapter.delete(99)
    with pytest.raises(TodoNotFound, match="todo 99 not found in any list"):
        adapter.get(99)
    assert [_query(s) for s in recorder.seen] == [
        ("DeleteItem", {"id": "12"}),
        ("DeleteItem", {"id": "99"}),
        ("Lists", {}),
    ]


def test_graphql_errors_array_raises_with_the_messages(graphql: tuple[GraphQLAdapter, Recorder]) -> None:
    """An `errors` array is a GraphQLError even with status 200; without `data` nothing was executed."""
    adapter, recorder = graphql
    recorder.answer("POST", "/graphql", (200, BOARD), (200, FIELD_ERROR), (400, REQUEST_ERROR))
    with pytest.raises(GraphQLError) as caught:
        adapter.add("x")
    assert caught.value.messages == ["could not commit"] and caught.value.executed is True
    assert caught.value.status == 200
    with pytest.raises(GraphQLError) as caught:
        adapter.add("x")
    assert caught.value.executed is False and caught.value.status == 400
    assert "unknown field 'createItemz'" in str(caught.value)


def test_graphql_http_errors_and_missing_data(graphql: tuple[GraphQLAdapter, Recorder]) -> None:
    """A 5xx without a GraphQL body is an AppError; a 200 without the field is reported as such."""
    adapter, recorder = graphql
    recorder.answer("POST", "/graphql", (502, b"<html>Bad Gateway</html>"), (200, {"data": {"other": 1}}))
    with pytest.raises(AppError) as caught:
        adapter.list()
    assert caught.value.status == 502 and "Bad Gateway" in caught.value.detail
    with pytest.raises(AppError, match=r"no data\.lists"):
        adapter.list()


def test_graphql_rename_is_not_promised(graphql: tuple[GraphQLAdapter, Recorder]) -> None:
    """The walk-through describes no rename: the adapter says so and sends nothing."""
    adapter, recorder = graphql
    with pytest.raises(NotPromised, match="@needs_rename"):
        adapter.rename(12, "new")
    assert recorder.seen == []
    assert adapter.info() is None


def test_graphql_probe_checks_the_board(graphql: tuple[GraphQLAdapter, Recorder]) -> None:
    """Only a board with the open and done lists counts as the to-do list."""
    adapter, recorder = graphql
    no_done = {"data": {"lists": [{"id": "1", "name": "To Do", "items": []}]}}
    recorder.answer(
        "POST",
        "/graphql",
        (200, BOARD),
        (200, no_done),
        (200, {"data": {"lists": "nope"}}),
        (200, b"<html/>"),
        (503, {"errors": [{"message": "database down"}]}),
    )
    assert adapter.probe() == (True, "200: the to-do list")
    ok, detail = adapter.probe()
    assert not ok and "no list ['Done']" in detail
    ok, detail = adapter.probe()
    assert not ok and "lists is not a list" in detail
    ok, detail = adapter.probe()
    assert not ok and "no data.lists" in detail
    recorder.answer("GET", "/", (200, b"<!doctype html><app-root></app-root>"))
    assert adapter.sample() == (503, "database down")


def test_graphql_write_outcomes(graphql: tuple[GraphQLAdapter, Recorder]) -> None:
    """ok; execution errors unknown (may follow a commit); request errors and 4xx failed; 5xx unknown."""
    adapter, recorder = graphql
    recorder.answer(
        "POST",
        "/graphql",
        (200, BOARD),
        (200, CREATED),
        (200, FIELD_ERROR),
        (200, REQUEST_ERROR),
        (400, b"bad request"),
        (504, b"gateway timeout"),
    )
    assert adapter.write("ledger-r-000001") == (200, None, "ok")
    assert adapter.write("ledger-r-000002") == (200, "could not commit", "unknown")
    assert adapter.write("ledger-r-000003")[2] == "failed"
    assert adapter.write("ledger-r-000004") == (400, "bad request", "failed")
    assert adapter.write("ledger-r-000005") == (504, "gateway timeout", "unknown")


def test_graphql_write_before_the_board_is_known_and_unreachable() -> None:
    """The open list cannot be looked up: the mutation was never sent, so the write failed."""
    adapter = adapter_for(_profile("walkthrough", f"http://127.0.0.1:{_closed_port()}"))
    status, error, outcome = adapter.write("ledger-r-000001")
    assert (status, outcome) == (None, "failed") and error and error.startswith("open list lookup")


def test_graphql_int_ids(server: tuple[str, Recorder]) -> None:
    """id_type int sends ids as numbers."""
    url, recorder = server
    data = yaml.safe_load((ROOT / "profiles" / "walkthrough.yaml").read_text())
    data["access"]["api"]["url"] = url
    data["adapter"]["board"]["id_type"] = "int"
    adapter = adapter_for(parse_profile(data))
    recorder.answer("POST", "/graphql", (200, DELETED))
    adapter.delete(12)
    assert _query(recorder.seen[0]) == ("DeleteItem", {"id": 12})


# -- transport and factory ----------------------------------------------------------------------------------------
def test_through_sends_the_same_calls_over_another_transport() -> None:
    """through(sender) routes every call through the given sender (e.g. the API server's pod proxy)."""
    calls: list[tuple[HttpCall, bool]] = []

    def pod_proxy(call: HttpCall, fresh: bool = False) -> HttpAnswer:
        """Answer as one back-end pod would."""
        calls.append((call, fresh))
        return HttpAnswer(201, REST_TODO)

    adapter = adapter_for(load_profile(ROOT / "profiles" / "reference.yaml")).through(pod_proxy)
    assert adapter.add("Buy milk").id == 7
    assert calls == [(HttpCall("POST", "/api/todos", {"title": "Buy milk"}), False)]


def test_factory_picks_the_adapter_of_the_profile() -> None:
    """rest -> RestAdapter, graphql -> GraphQLAdapter; both satisfy the WorkloadAdapter protocol."""
    reference = adapter_for(load_profile(ROOT / "profiles" / "reference.yaml"))
    walkthrough = adapter_for(load_profile(ROOT / "profiles" / "walkthrough.yaml"))
    assert isinstance(reference, RestAdapter) and isinstance(walkthrough, GraphQLAdapter)
    assert isinstance(reference, WorkloadAdapter) and isinstance(walkthrough, WorkloadAdapter)
    assert walkthrough.base_url == "http://127.0.0.1:30081"
    with pytest.raises(TypeError, match="not GraphQL"):
        GraphQLAdapter(load_profile(ROOT / "profiles" / "reference.yaml"), reference.sender)


# -- the ledger's create and change -------------------------------------------------------------------------------
def test_rest_create_returns_the_id_and_change_classifies(rest: tuple[RestAdapter, Recorder]) -> None:
    """create gives the stored id when acknowledged; complete and delete follow their success statuses."""
    adapter, recorder = rest
    recorder.answer("POST", "/api/todos", (201, REST_TODO), (503, {"detail": "database unavailable"}))
    recorder.answer("PATCH", "/api/todos/7", (200, REST_DONE), (404, REST_404))
    recorder.answer("DELETE", "/api/todos/7", (204, None), (502, b"bad gateway"))
    assert adapter.create("ledger-r-000001") == (201, None, "ok", 7)
    assert adapter.create("ledger-r-000002") == (503, "database unavailable", "unknown", None)
    assert adapter.change("complete", 7) == (200, None, "ok")
    assert adapter.change("complete", 7) == (404, "todo 7 not found", "failed")
    assert adapter.change("delete", 7) == (204, None, "ok")
    assert adapter.change("delete", 7) == (502, "bad gateway", "unknown")
    assert recorder.seen[2:4] == [("PATCH", "/api/todos/7", {"completed": True})] * 2


def test_graphql_create_and_change(graphql: tuple[GraphQLAdapter, Recorder]) -> None:
    """create gives the item's id; complete moves it to Done; delete false is a definite failure."""
    adapter, recorder = graphql
    recorder.answer(
        "POST",
        "/graphql",
        (200, BOARD),
        (200, CREATED),
        (200, BOARD),
        (200, MOVED),
        (200, NOT_DELETED),
        (200, FIELD_ERROR),
    )
    assert adapter.create("Buy milk") == (200, None, "ok", 13)
    assert adapter.change("complete", 12) == (200, None, "ok")
    assert adapter.change("delete", 99) == (200, "todo 99 not deleted (answer False)", "failed")
    assert adapter.change("delete", 12) == (200, "could not commit", "unknown")
    assert [_query(s)[0] for s in recorder.seen] == [
        "Lists",
        "CreateItem",
        "Lists",
        "MoveItem",
        "DeleteItem",
        "DeleteItem",
    ]


def test_graphql_complete_of_an_item_on_no_list_is_never_sent(graphql: tuple[GraphQLAdapter, Recorder]) -> None:
    """An item the board does not hold cannot be moved: the change failed and no mutation went out."""
    adapter, recorder = graphql
    recorder.answer("POST", "/graphql", (200, BOARD))
    status, error, outcome = adapter.change("complete", 99)
    assert (status, outcome) == (None, "failed") and error and "todo 99 not found" in error
    assert [_query(s)[0] for s in recorder.seen] == ["Lists"]


def test_graphql_reader_fetches_the_static_page_then_the_board(graphql: tuple[GraphQLAdapter, Recorder]) -> None:
    """The API beside a static page: a user's read is the page and the list, so a front-end outage is seen too."""
    adapter, recorder = graphql
    recorder.answer("GET", "/", (200, b"<!doctype html><app-root></app-root>"))
    recorder.answer("POST", "/graphql", (200, BOARD))
    assert adapter.sample() == (200, None)
    assert [(m, p) for m, p, _ in recorder.seen] == [("GET", "/"), ("POST", "/graphql")]
    recorder.answer("GET", "/", (502, b"Bad Gateway"))
    status, error = adapter.sample()
    assert status == 502 and error is not None and error.startswith("front-end page: 502")
    assert recorder.seen[-1][:2] == ("GET", "/"), "the API is not asked when the page failed"


def test_rest_through_the_front_end_reads_no_extra_page(rest: tuple[RestAdapter, Recorder]) -> None:
    adapter, _ = rest
    assert adapter.page is None
