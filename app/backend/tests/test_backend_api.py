"""The HTTP contract of the reference back end, against a real MariaDB (docs/contract.md)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
import requests

if TYPE_CHECKING:
    from app.testsupport import MariaDB  # types only; the fixture comes from app/conftest.py

pytestmark = pytest.mark.mariadb

TIMEOUT = 10


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """One HTTP session per test."""
    with requests.Session() as session:
        yield session


def unique(prefix: str = "todo") -> str:
    """A title no other test uses: tests share the database, never data."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create(http: requests.Session, base: str, **body: Any) -> dict[str, Any]:
    """POST a to-do and return the stored item, asserting 201."""
    response = http.post(f"{base}/api/todos", json=body, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


def test_create_returns_stored_item(backend_server: str, http: requests.Session) -> None:
    """201 with id, title, completed=false by default and an ISO created_at."""
    title = unique("créé ✓")
    item = create(http, backend_server, title=title)
    assert set(item) == {"id", "title", "completed", "created_at"}
    assert isinstance(item["id"], int)
    assert item["title"] == title
    assert item["completed"] is False
    assert datetime.fromisoformat(item["created_at"]).tzinfo is not None


def test_create_completed_and_get(backend_server: str, http: requests.Session) -> None:
    """completed may be given on create; GET by id returns the same item."""
    item = create(http, backend_server, title=unique(), completed=True)
    got = http.get(f"{backend_server}/api/todos/{item['id']}", timeout=TIMEOUT)
    assert got.status_code == 200
    assert got.json() == item


def test_list_is_ordered_by_id_and_contains_new_items(backend_server: str, http: requests.Session) -> None:
    """The list is ordered by id and shows items just created."""
    ids = [create(http, backend_server, title=unique("order"))["id"] for _ in range(3)]
    listed = http.get(f"{backend_server}/api/todos", timeout=TIMEOUT)
    assert listed.status_code == 200
    all_ids = [item["id"] for item in listed.json()]
    assert all_ids == sorted(all_ids)
    assert [i for i in all_ids if i in ids] == ids


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_update_title_and_completed(backend_server: str, http: requests.Session, method: str) -> None:
    """PATCH and PUT change only the fields sent, and the change is stored."""
    item = create(http, backend_server, title=unique())
    url = f"{backend_server}/api/todos/{item['id']}"
    done = http.request(method, url, json={"completed": True}, timeout=TIMEOUT)
    assert done.status_code == 200, done.text
    assert done.json() == {**item, "completed": True}
    new_title = unique("renamed")
    renamed = http.request(method, url, json={"title": new_title}, timeout=TIMEOUT)
    assert renamed.json() == {**item, "completed": True, "title": new_title}
    assert http.get(url, timeout=TIMEOUT).json() == renamed.json()


def test_update_with_same_values_is_not_a_404(backend_server: str, http: requests.Session) -> None:
    """An update that changes nothing still answers 200 (matched rows, not changed rows)."""
    item = create(http, backend_server, title=unique())
    url = f"{backend_server}/api/todos/{item['id']}"
    same = http.patch(url, json={"title": item["title"], "completed": False}, timeout=TIMEOUT)
    assert same.status_code == 200
    assert same.json() == item
    assert http.patch(url, json={}, timeout=TIMEOUT).json() == item


def test_delete_then_404(backend_server: str, http: requests.Session) -> None:
    """DELETE answers 204; afterwards the id is 404 for GET, PATCH and DELETE, and gone from the list."""
    item = create(http, backend_server, title=unique())
    url = f"{backend_server}/api/todos/{item['id']}"
    deleted = http.delete(url, timeout=TIMEOUT)
    assert deleted.status_code == 204
    assert deleted.content == b""
    expected = {"detail": f"todo {item['id']} not found"}
    for method, body in (("GET", None), ("PATCH", {"completed": True}), ("DELETE", None)):
        response = http.request(method, url, json=body, timeout=TIMEOUT)
        assert response.status_code == 404, method
        assert response.json() == expected, method
    listed = http.get(f"{backend_server}/api/todos", timeout=TIMEOUT).json()
    assert item["id"] not in [i["id"] for i in listed]


def test_unknown_id_is_404_json(backend_server: str, http: requests.Session) -> None:
    """Never-existing ids give the contract's 404 body."""
    response = http.get(f"{backend_server}/api/todos/987654321", timeout=TIMEOUT)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"detail": "todo 987654321 not found"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({}, "title"),
        ({"title": None}, "title"),
        ({"title": 123}, "title"),
        ({"title": ["a"]}, "title"),
        ({"title": "ok", "completed": "yes"}, "completed"),
        ({"title": "ok", "completed": 2}, "completed"),
    ],
    ids=["empty", "blank", "201-chars", "missing", "null", "int", "list", "completed-str", "completed-int"],
)
def test_create_validation_names_the_field(
    backend_server: str, http: requests.Session, body: dict[str, Any], field: str
) -> None:
    """Invalid bodies answer 422 JSON naming the offending field, and nothing is stored."""
    before = len(http.get(f"{backend_server}/api/todos", timeout=TIMEOUT).json())
    response = http.post(f"{backend_server}/api/todos", json=body, timeout=TIMEOUT)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["field"] == field
    assert isinstance(payload["detail"], str)
    assert field in payload["detail"]
    assert "Traceback" not in response.text
    assert len(http.get(f"{backend_server}/api/todos", timeout=TIMEOUT).json()) == before


def test_title_of_exactly_200_characters_is_accepted(backend_server: str, http: requests.Session) -> None:
    """The upper bound is inclusive and counts characters, not bytes."""
    title = unique("é") + "é" * (200 - len(unique("é")))
    assert len(title) == 200
    assert create(http, backend_server, title=title)["title"] == title


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "y" * 201}, "title"),
        ({"completed": "no"}, "completed"),
        ({"completed": None}, "completed"),
    ],
    ids=["empty", "201-chars", "completed-str", "completed-null"],
)
def test_update_validation_names_the_field(
    backend_server: str, http: requests.Session, body: dict[str, Any], field: str
) -> None:
    """Invalid updates answer 422 naming the field and leave the item unchanged."""
    item = create(http, backend_server, title=unique())
    url = f"{backend_server}/api/todos/{item['id']}"
    response = http.patch(url, json=body, timeout=TIMEOUT)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert http.get(url, timeout=TIMEOUT).json() == item


def test_malformed_json_and_bad_id_are_422(backend_server: str, http: requests.Session) -> None:
    """A body that is not JSON names `body`; a non-integer id names `id`."""
    bad_json = http.post(
        f"{backend_server}/api/todos",
        data="{not json",
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert bad_json.status_code == 422
    assert bad_json.json()["field"] == "body"
    bad_id = http.get(f"{backend_server}/api/todos/abc", timeout=TIMEOUT)
    assert bad_id.status_code == 422
    assert bad_id.json()["field"] == "id"


def test_unknown_route_is_json_404(backend_server: str, http: requests.Session) -> None:
    """Even unknown paths answer JSON with a detail string."""
    response = http.get(f"{backend_server}/api/nope", timeout=TIMEOUT)
    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str)


def test_info_comes_from_the_environment(backend_server: str, http: requests.Session) -> None:
    """/api/info reports POD_NAME, NODE_NAME and APP_VERSION as set by the downward API."""
    response = http.get(f"{backend_server}/api/info", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {"pod": "test-pod", "node": "test-node", "version": "test-1"}


def test_health_routes(backend_server: str, http: requests.Session) -> None:
    """Liveness and readiness both answer 200 while the database is up."""
    assert http.get(f"{backend_server}/api/healthz", timeout=TIMEOUT).status_code == 200
    assert http.get(f"{backend_server}/api/readyz", timeout=TIMEOUT).status_code == 200


def test_created_item_is_committed(backend_server: str, http: requests.Session, mariadb: MariaDB) -> None:
    """Once 201 is answered, another connection sees the row: the write was committed first."""
    item = create(http, backend_server, title=unique("durable"))
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT title, completed FROM todos WHERE id = %s", (item["id"],))
        assert cur.fetchone() == (item["title"], 0)
