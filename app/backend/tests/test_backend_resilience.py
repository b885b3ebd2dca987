"""Start-up, outage, recovery and shutdown behaviour of the reference back end, with a real MariaDB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

if TYPE_CHECKING:
    # Types only: at run time fixtures come from app/conftest.py, which is never imported by name
    # (pytest may hold several modules called "conftest").
    from app.testsupport import Backend, MariaDB, Waiter

pytestmark = pytest.mark.mariadb

BACKEND_DIR = Path(__file__).resolve().parents[1]
PROMPT = 5.0  # seconds: the contract's "503 promptly" budget for a dead or hung database
RECOVERY = 20.0  # seconds for a back end to become ready by itself once the database is back


def timed(method: str, url: str, **kwargs: Any) -> tuple[requests.Response, float]:
    """One request and how long it took."""
    started = time.monotonic()
    response = requests.request(method, url, timeout=30, **kwargs)
    return response, time.monotonic() - started


def assert_prompt_503(response: requests.Response, elapsed: float, what: str) -> None:
    """A JSON 503 with a detail string within the PROMPT budget."""
    assert response.status_code == 503, f"{what}: {response.status_code} {response.text}"
    assert isinstance(response.json()["detail"], str), what
    assert elapsed < PROMPT, f"{what} took {elapsed:.2f}s (budget {PROMPT}s)"


def concurrently(calls: dict[str, Callable[[], tuple[requests.Response, float]]]) -> dict[str, Any]:
    """Run the calls in parallel threads and return their results by name."""
    results: dict[str, Any] = {}

    def run(name: str, call: Callable[[], tuple[requests.Response, float]]) -> None:
        try:
            results[name] = call()
        except Exception as error:  # reported by the caller's assertion
            results[name] = error

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def ready_check(base_url: str) -> Callable[[], bool]:
    """A condition: GET /api/readyz answers 200."""
    return lambda: requests.get(f"{base_url}/api/readyz", timeout=10).status_code == 200


@pytest.fixture
def restore_mariadb(mariadb: MariaDB) -> Iterator[MariaDB]:
    """Whatever the test does to the server, it is running and unpaused afterwards."""
    yield mariadb
    if mariadb.process is not None and mariadb.process.poll() is None:
        mariadb.resume()
    mariadb.start()


def test_missing_environment_variable_stops_startup() -> None:
    """Each required variable missing: exit status 2 and one line naming it, no traceback."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("DB_")}
    base["PYTHONPATH"] = str(BACKEND_DIR)
    full = {"DB_HOST": "127.0.0.1", "DB_NAME": "todo", "DB_USERNAME": "todo", "DB_PASSWORD": "x"}
    for missing in full:
        env = {**base, **{k: v for k, v in full.items() if k != missing}}
        result = subprocess.run(
            [sys.executable, "-m", "todo_backend"], env=env, capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 2, (missing, result.returncode, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert missing in lines[0]
        assert "Traceback" not in result.stderr + result.stdout


def test_hung_database_gives_prompt_503_and_recovers(
    backend_server: str, restore_mariadb: MariaDB, waiter: Waiter
) -> None:
    """Frozen database (SIGSTOP): liveness stays fast, data routes and readiness 503 promptly; recovery."""
    base = backend_server
    title = f"before-hang-{uuid.uuid4().hex[:8]}"
    assert requests.post(f"{base}/api/todos", json={"title": title}, timeout=10).status_code == 201
    restore_mariadb.pause()
    try:
        results = concurrently(
            {
                "readyz": lambda: timed("GET", f"{base}/api/readyz"),
                "list": lambda: timed("GET", f"{base}/api/todos"),
                "create": lambda: timed("POST", f"{base}/api/todos", json={"title": "during-hang"}),
                "get": lambda: timed("GET", f"{base}/api/todos/1"),
            }
        )
        health, health_elapsed = timed("GET", f"{base}/api/healthz")
    finally:
        restore_mariadb.resume()
    for name, result in results.items():
        assert not isinstance(result, Exception), f"{name}: {result!r}"
        response, elapsed = result
        assert_prompt_503(response, elapsed, what=name)
    # Liveness must not depend on the database: it answered while every DB call was hanging.
    assert health.status_code == 200
    assert health_elapsed < 1.0, f"healthz took {health_elapsed:.2f}s while the DB hung"
    waiter("readyz 200 after the database resumed", ready_check(base), RECOVERY, interval=0.2)
    titles = [item["title"] for item in requests.get(f"{base}/api/todos", timeout=10).json()]
    assert title in titles
    assert "during-hang" not in titles, "a write answered with 503 must not have been committed"


def test_stopped_database_503_then_self_recovery(
    backend_server: str,
    restore_mariadb: MariaDB,
    backend_factory: Callable[..., Backend],
    waiter: Waiter,
) -> None:
    """Database stopped: prompt 503s; a back end started meanwhile keeps running; both recover unaided."""
    db = restore_mariadb
    base = backend_server
    late_db = f"todo_late_{uuid.uuid4().hex[:6]}"
    db.create_database(late_db)
    kept = requests.post(f"{base}/api/todos", json={"title": f"kept-{uuid.uuid4().hex[:8]}"}, timeout=10)
    assert kept.status_code == 201
    db.stop()

    for method, path, body in (
        ("GET", "/api/readyz", None),
        ("GET", "/api/todos", None),
        ("POST", "/api/todos", {"title": "while-down"}),
        ("GET", f"/api/todos/{kept.json()['id']}", None),
        ("DELETE", f"/api/todos/{kept.json()['id']}", None),
    ):
        assert_prompt_503(*timed(method, f"{base}{path}", json=body), what=f"{method} {path}")
    assert requests.get(f"{base}/api/healthz", timeout=5).status_code == 200

    # A replica starting while the database is down must not crash: it serves liveness and says not ready.
    late = backend_factory(db.backend_env(late_db), name="late")
    late.wait_listening()
    assert late.process.poll() is None
    assert_prompt_503(*timed("GET", f"{late.base_url}/api/readyz"), what="late readyz")
    assert_prompt_503(*timed("GET", f"{late.base_url}/api/todos"), what="late list")

    db.start()

    # Nobody asks the late replica anything: its own retry loop must create the schema.
    def late_table_exists() -> bool:
        with db.connect(late_db) as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (late_db,))
            row = cur.fetchone()
            return row is not None and row[0] == 1

    waiter(f"the late replica to create todos in {late_db}", late_table_exists, RECOVERY, interval=0.2)
    for url in (base, late.base_url):
        waiter(f"{url}/api/readyz 200 after the database is back", ready_check(url), RECOVERY, interval=0.2)
    assert kept.json() in requests.get(f"{base}/api/todos", timeout=10).json()
    assert requests.post(f"{late.base_url}/api/todos", json={"title": "late"}, timeout=10).status_code == 201
    assert "Traceback" not in late.log()


def test_two_replicas_start_at_once_on_an_empty_database(
    mariadb: MariaDB, backend_factory: Callable[..., Backend]
) -> None:
    """Two back ends racing to create the schema both become ready and share one table."""
    name = f"todo_race_{uuid.uuid4().hex[:6]}"
    mariadb.create_database(name)
    env = mariadb.backend_env(name)
    first, second = backend_factory(env, name="race-a"), backend_factory(env, name="race-b")
    first.wait_ready()
    second.wait_ready()
    item = requests.post(f"{first.base_url}/api/todos", json={"title": "from-a"}, timeout=10).json()
    assert requests.get(f"{second.base_url}/api/todos/{item['id']}", timeout=10).json() == item
    with mariadb.connect(name) as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (name,))
        assert cur.fetchall() == (("todos",),)
    for backend in (first, second):
        assert "Traceback" not in backend.log()
        assert "schema ready" in backend.log()


def test_sigterm_drains_finishes_in_flight_and_exits_zero(
    mariadb: MariaDB, backend_factory: Callable[..., Backend], waiter: Waiter
) -> None:
    """SIGTERM: readiness 503 first, listener closed, the in-flight request still completes, exit 0."""
    backend = backend_factory(
        {**mariadb.backend_env(), "SHUTDOWN_DRAIN_SECONDS": "1.5", "DB_QUERY_TIMEOUT": "20"}, name="graceful"
    )
    backend.wait_ready()
    url = backend.base_url
    title = f"slow-{uuid.uuid4().hex[:8]}"
    item = requests.post(f"{url}/api/todos", json={"title": title}, timeout=10).json()

    # Hold the row lock so the back end's UPDATE really waits inside the database: a genuine slow request.
    locker = mariadb.connect()
    outcome: dict[str, Any] = {}
    try:
        with locker.cursor() as cur:
            cur.execute("SELECT id FROM todos WHERE id = %s FOR UPDATE", (item["id"],))

        def slow_patch() -> None:
            try:
                outcome["response"] = requests.patch(
                    f"{url}/api/todos/{item['id']}", json={"completed": True}, timeout=30
                )
            except Exception as error:  # asserted below
                outcome["error"] = error

        in_flight = threading.Thread(target=slow_patch)
        in_flight.start()

        def update_waiting() -> bool:
            with mariadb.connect() as conn, conn.cursor() as cur:
                # The app user sees its own sessions in PROCESSLIST without the PROCESS privilege.
                cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'UPDATE todos%'")
                row = cur.fetchone()
                return row is not None and row[0] >= 1

        waiter("the back end's UPDATE to wait on the row lock", update_waiting, 10, interval=0.05)

        backend.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()

        def not_ready() -> tuple[requests.Response] | None:
            # Wrapped in a tuple: a Response is falsy for 4xx/5xx.
            response = requests.get(f"{url}/api/readyz", timeout=2)
            return (response,) if response.status_code == 503 else None

        (ready,) = waiter("readyz 503 after SIGTERM", not_ready, 1.0, interval=0.05)
        assert ready.json() == {"detail": "shutting down"}
        # Kept-alive proxy connections are told to reconnect (to a replica that stays).
        assert ready.headers.get("connection") == "close"
        live = requests.get(f"{url}/api/healthz", timeout=2)
        assert live.status_code == 200, "liveness must hold while draining"
        assert in_flight.is_alive(), "the slow request finished before the test released the lock"

        def refused() -> bool:
            try:
                requests.get(f"{url}/api/healthz", timeout=2)
            except requests.ConnectionError:
                return True
            return False

        waiter("the listener to close after the drain window", refused, 5.0, interval=0.05)
        assert time.monotonic() - signalled >= 1.4, "listener closed before the drain window ended"
        assert backend.process.poll() is None, "the process exited with a request still in flight"
        assert in_flight.is_alive()
        locker.commit()  # release the lock: the in-flight UPDATE can now finish
    finally:
        locker.close()
    in_flight.join(timeout=20)
    assert "error" not in outcome, outcome
    response = outcome["response"]
    assert response.status_code == 200, response.text
    assert response.json()["completed"] is True
    assert response.headers.get("connection") == "close"
    assert backend.process.wait(timeout=15) == 0, backend.log()
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT completed FROM todos WHERE id = %s", (item["id"],))
        assert cur.fetchone() == (1,)
    assert "Traceback" not in backend.log()
