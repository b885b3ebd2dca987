"""The walk-through's back end (the real Spring Boot jar) over HTTP against a real MariaDB: every query and mutation."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
import requests

if TYPE_CHECKING:
    from app.testsupport import MariaDB, Waiter
    from app.walkthrough.testsupport import Board  # types only; fixtures from the conftest files

pytestmark = pytest.mark.mariadb

LISTS = "{ lists { id name position items { id name position listId } } }"
ITEM = "id name position listId"
CREATE_ITEM = f"mutation($input: CreateItemInput!) {{ createItem(input: $input) {{ {ITEM} }} }}"
MOVE_ITEM = f"mutation($id: ID!, $input: MoveItemInput!) {{ moveItem(id: $id, input: $input) {{ {ITEM} }} }}"
DELETE_ITEM = "mutation($id: ID!) { deleteItem(id: $id) }"
CREATE_LIST = f"mutation($name: String!) {{ createList(name: $name) {{ id name position items {{ {ITEM} }} }} }}"
UPDATE_LIST = "mutation($id: ID!, $name: String!) { updateList(id: $id, name: $name) { id name position } }"
DELETE_LIST = "mutation($id: ID!) { deleteList(id: $id) }"


def unique(prefix: str = "item") -> str:
    """A name no other test uses: tests share the database, never data."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def lists_by_name(board: Board) -> dict[str, dict[str, Any]]:
    """The board's lists keyed by name."""
    return {entry["name"]: entry for entry in board.gql(LISTS)["lists"]}


def new_list(board: Board) -> str:
    """A list of the test's own (so item positions are not shared with other tests); returns its id."""
    created = board.gql(CREATE_LIST, {"name": unique("list")})["createList"]
    return str(created["id"])


def add(board: Board, name: str, list_id: str) -> dict[str, Any]:
    """Create an item; return it."""
    item: dict[str, Any] = board.gql(CREATE_ITEM, {"input": {"name": name, "listId": list_id}})["createItem"]
    return item


def names_in(board: Board, list_id: str) -> list[str]:
    """Item names of one list in position order, checking that positions are 0..n-1."""
    entry = next(e for e in board.gql(LISTS)["lists"] if e["id"] == list_id)
    positions = [item["position"] for item in entry["items"]]
    assert positions == list(range(len(positions))), f"positions of list {list_id} are not contiguous: {positions}"
    return [item["name"] for item in entry["items"]]


def test_three_lists_exist_from_the_start(board: Board) -> None:
    """A fresh database gets "To Do", "Doing" and "Done", in that order, with the published item fields."""
    lists = board.gql(LISTS)["lists"]
    assert [(e["name"], e["position"]) for e in lists[:3]] == [("To Do", 0), ("Doing", 1), ("Done", 2)]
    assert all(isinstance(e["id"], str) and isinstance(e["items"], list) for e in lists)


def test_create_item_appends_to_the_list(board: Board) -> None:
    """createItem puts the item last in its list and returns id, name, position and listId."""
    todo = lists_by_name(board)["To Do"]["id"]
    first, second = unique(), unique()
    a = add(board, first, todo)
    b = add(board, second, todo)
    assert (a["name"], a["listId"]) == (first, todo)
    assert b["position"] == a["position"] + 1
    assert names_in(board, todo)[-2:] == [first, second]


def test_create_item_trims_and_validates_the_name(board: Board) -> None:
    """Names are trimmed and must be 1-200 characters; errors say why and change nothing."""
    own = new_list(board)
    assert add(board, "  padded  ", own)["name"] == "padded"
    for bad in ("", "   ", "x" * 201):
        errors = board.errors(CREATE_ITEM, {"input": {"name": bad, "listId": own}})
        assert errors[0]["extensions"]["classification"] == "BAD_REQUEST", errors
        assert "1-200" in errors[0]["message"]
    assert add(board, "y" * 200, own)["name"] == "y" * 200
    assert names_in(board, own) == ["padded", "y" * 200]


def test_create_item_in_a_missing_list_is_not_found(board: Board) -> None:
    """An unknown listId is a NOT_FOUND error naming the list."""
    errors = board.errors(CREATE_ITEM, {"input": {"name": unique(), "listId": "999999"}})
    assert errors[0]["extensions"]["classification"] == "NOT_FOUND"
    assert "999999" in errors[0]["message"]


def test_move_item_between_lists_renumbers_both(board: Board) -> None:
    """moveItem takes the item out of its list and inserts it at the position asked for in the target."""
    source, target = new_list(board), new_list(board)
    a, b, c = (add(board, name, source) for name in ("a", "b", "c"))
    x = add(board, "x", target)
    moved = board.gql(MOVE_ITEM, {"id": b["id"], "input": {"listId": target, "position": 0}})["moveItem"]
    assert (moved["id"], moved["listId"], moved["position"]) == (b["id"], target, 0)
    assert names_in(board, source) == ["a", "c"]
    assert names_in(board, target) == ["b", "x"]
    del a, c, x


def test_move_item_within_a_list_and_past_its_end(board: Board) -> None:
    """Moving inside one list reorders it; a position past the end puts the item last."""
    own = new_list(board)
    a, _, _ = (add(board, name, own) for name in ("a", "b", "c"))
    moved = board.gql(MOVE_ITEM, {"id": a["id"], "input": {"listId": own, "position": 99}})["moveItem"]
    assert moved["position"] == 2
    assert names_in(board, own) == ["b", "c", "a"]
    board.gql(MOVE_ITEM, {"id": a["id"], "input": {"listId": own, "position": 1}})
    assert names_in(board, own) == ["b", "a", "c"]


def test_move_missing_item_or_to_missing_list_is_not_found(board: Board) -> None:
    """moveItem names what does not exist."""
    own = new_list(board)
    item = add(board, unique(), own)
    errors = board.errors(MOVE_ITEM, {"id": "999999", "input": {"listId": own, "position": 0}})
    assert errors[0]["extensions"]["classification"] == "NOT_FOUND"
    errors = board.errors(MOVE_ITEM, {"id": item["id"], "input": {"listId": "999999", "position": 0}})
    assert errors[0]["extensions"]["classification"] == "NOT_FOUND"
    assert names_in(board, own) == [item["name"]]


def test_delete_item_returns_whether_it_existed(board: Board) -> None:
    """deleteItem answers true once and false afterwards; the list closes the gap."""
    own = new_list(board)
    a, b, _ = (add(board, name, own) for name in ("a", "b", "c"))
    assert board.gql(DELETE_ITEM, {"id": b["id"]}) == {"deleteItem": True}
    assert board.gql(DELETE_ITEM, {"id": b["id"]}) == {"deleteItem": False}
    assert names_in(board, own) == ["a", "c"]
    del a


def test_list_mutations(board: Board) -> None:
    """createList appends a list, updateList renames it, deleteList removes it with its items."""
    before = board.gql(LISTS)["lists"]
    name = unique("list")
    created = board.gql(CREATE_LIST, {"name": name})["createList"]
    assert created["name"] == name and created["items"] == []
    assert created["position"] == max(e["position"] for e in before) + 1
    renamed = unique("renamed")
    updated = board.gql(UPDATE_LIST, {"id": created["id"], "name": renamed})["updateList"]
    assert (updated["id"], updated["name"]) == (created["id"], renamed)
    item = add(board, unique(), created["id"])
    assert board.gql(DELETE_LIST, {"id": created["id"]}) == {"deleteList": True}
    assert board.gql(DELETE_LIST, {"id": created["id"]}) == {"deleteList": False}
    assert created["id"] not in {e["id"] for e in board.gql(LISTS)["lists"]}
    assert board.gql(DELETE_ITEM, {"id": item["id"]}) == {"deleteItem": False}, "the list's items must go with it"
    errors = board.errors(UPDATE_LIST, {"id": created["id"], "name": "x"})
    assert errors[0]["extensions"]["classification"] == "NOT_FOUND"


def test_concurrent_adds_and_moves_keep_positions_contiguous(board: Board) -> None:
    """Two replicas write at once in Kubernetes: parallel creates and moves never share or skip a position."""
    source, target = new_list(board), new_list(board)
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(lambda n: add(board, f"c{n}", source), range(16)))
    assert sorted(names_in(board, source)) == sorted(item["name"] for item in created)
    moves = [{"id": item["id"], "input": {"listId": target, "position": 0}} for item in created[:8]]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda v: board.gql(MOVE_ITEM, v), moves))
    assert len(names_in(board, source)) == 8
    assert len(names_in(board, target)) == 8


def test_every_response_names_the_replica(board: Board) -> None:
    """X-Served-By carries the pod's hostname (here: the HOSTNAME the test set)."""
    response = board.post(LISTS)
    assert response.headers.get("X-Served-By") == board.hostname


def test_browser_code_from_another_origin_may_call_it(board: Board) -> None:
    """The page is served from the front end's origin: the CORS preflight allows it and exposes X-Served-By."""
    origin = "http://127.0.0.1:30080"
    preflight = requests.options(
        f"{board.url}/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 200
    assert preflight.headers.get("Access-Control-Allow-Origin") == origin
    assert "POST" in preflight.headers.get("Access-Control-Allow-Methods", "")
    response = requests.post(f"{board.url}/graphql", json={"query": LISTS}, headers={"Origin": origin}, timeout=10)
    assert response.headers.get("Access-Control-Allow-Origin") == origin
    assert "X-Served-By" in response.headers.get("Access-Control-Expose-Headers", "")


def test_health_endpoints(board: Board) -> None:
    """Liveness and readiness (which includes the database) answer UP."""
    for path in ("/actuator/health/liveness", "/actuator/health/readiness", "/actuator/health"):
        response = requests.get(f"{board.url}{path}", timeout=10)
        assert response.status_code == 200 and response.json()["status"] == "UP", (path, response.text)


def test_data_survives_a_restart_and_migrations_run_once(
    board_factory: Callable[..., Board], mariadb: MariaDB, waiter: Waiter
) -> None:
    """Stop the back end gracefully, start it again on the same database: items are kept, nothing re-seeded."""
    database = "wt_restart"
    first = board_factory(database, hostname="wt-first")
    first.wait_ready(waiter)
    todo = lists_by_name(first)["To Do"]["id"]
    kept = add(first, unique("kept"), todo)
    # The JVM exits 143 (128 + SIGTERM) after its shutdown hooks ran; a crash or a hang would show here instead.
    assert first.stop() == 143, first.log()
    assert "Graceful shutdown complete" in first.log()
    second = board_factory(database, hostname="wt-second")
    second.wait_ready(waiter)
    lists = second.gql(LISTS)["lists"]
    assert [e["name"] for e in lists] == ["To Do", "Doing", "Done"], "the seed migration ran again"
    assert kept in next(e for e in lists if e["name"] == "To Do")["items"]
    with mariadb.connect(database) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT version, success FROM flyway_schema_history WHERE version IS NOT NULL ORDER BY installed_rank"
        )
        assert cur.fetchall() == (("1", 1), ("2", 1))


def test_refuses_to_start_without_its_database(board_factory: Callable[..., Board]) -> None:
    """Wrong credentials: after its bounded retries the process exits (Kubernetes restarts it), saying why."""
    refused = board_factory("wt_refused", env={"DB_PASSWORD": "not-the-password", "DB_CONNECT_RETRIES": "0"})
    try:
        status = refused.process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the back end kept running with a wrong database password:\n{refused.log()}")
    assert status != 0
    assert "Access denied" in refused.log()


def test_database_timeouts_bound_how_long_a_request_waits(
    board_factory: Callable[..., Board], mariadb: MariaDB, waiter: Waiter
) -> None:
    """With the hardened overlay's timeouts, a request while the database does not answer (paused) gets an answer,
    an error, within a few seconds instead of hanging for the 30 s socket timeout; and works again after."""
    board = board_factory(
        "wt_timeouts", hostname="wt-timeouts", env={"DB_POOL_TIMEOUT_MS": "1000", "DB_SOCKET_TIMEOUT_MS": "2000"}
    )
    board.wait_ready(waiter)
    assert board.gql(LISTS)["lists"]
    mariadb.pause()
    try:
        started = time.monotonic()
        answer = board.post(LISTS)
        took = time.monotonic() - started
    finally:
        mariadb.resume()
    assert took < 4.5, f"a request waited {took:.1f} s on a silent database: {answer.status_code} {answer.text[:300]}"
    assert answer.status_code >= 400 or answer.json().get("errors"), answer.text[:300]
    waiter("the lists again after the database resumed", lambda: "errors" not in board.post(LISTS).json(), 30, 0.5)
