"""PyMySQL connections: a small pool with bounded timeouts, idempotent schema creation, health checks."""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import DictCursor

from todo_backend.core.config import Settings

logger = logging.getLogger("todo_backend.db")

SCHEMA_LOCK = "todo_backend_schema"
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS todos (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    title VARCHAR(200) NOT NULL,
    completed BOOL NOT NULL DEFAULT 0,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""
# MySQL/MariaDB "table doesn't exist": the schema vanished (e.g. database re-created), so re-create it.
ER_NO_SUCH_TABLE = 1146
# A pooled connection idle longer than this is pinged first: it may predate a database restart.
PING_AFTER_IDLE_SECONDS = 2.0
# A ping failing faster than this was a reset (stale socket): worth one fresh connect. A slow one was a hang.
FAST_FAILURE_SECONDS = 0.5


class DatabaseUnavailable(Exception):
    """The database cannot be reached or did not answer in time (mapped to HTTP 503)."""


class Database:
    """Thread-safe connection source for sync route handlers running in the threadpool."""

    def __init__(self, settings: Settings) -> None:
        """Remember settings; no connection is made until first use."""
        self._settings = settings
        self._idle: collections.deque[tuple[Connection, float]] = collections.deque()
        self._lock = threading.Lock()
        self._schema_ready = threading.Event()
        self._was_available = True

    @property
    def schema_ready(self) -> bool:
        """Whether the todos table is known to exist."""
        return self._schema_ready.is_set()

    def _connect(self) -> Connection:
        """Open one connection; autocommit off so every write is committed explicitly."""
        s = self._settings
        return pymysql.connect(
            host=s.db_host,
            port=s.db_port,
            user=s.db_username,
            password=s.db_password,
            database=s.db_name,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=s.db_connect_timeout,
            read_timeout=s.db_query_timeout,
            write_timeout=s.db_query_timeout,
            # TIMESTAMP values come back in UTC whatever the server's zone is.
            init_command="SET time_zone = '+00:00'",
            cursorclass=DictCursor,
        )

    def _checkout(self) -> Connection:
        """Reuse an idle connection (pinging it if it sat idle) or open a new one."""
        with self._lock:
            item = self._idle.pop() if self._idle else None
        if item is None:
            return self._connect()
        conn, idle_since = item
        if time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return conn
        started = time.monotonic()
        try:
            conn.ping(reconnect=False)
            return conn
        except pymysql.MySQLError as error:
            _close_quietly(conn)
            self.flush()
            if time.monotonic() - started > FAST_FAILURE_SECONDS:
                # The database hung: a second attempt would only double the client's wait.
                raise DatabaseUnavailable(f"ping timed out: {error}") from error
            return self._connect()

    def _checkin(self, conn: Connection) -> None:
        """Return a healthy connection to the pool or close it when the pool is full."""
        with self._lock:
            if len(self._idle) < self._settings.db_pool_size:
                self._idle.append((conn, time.monotonic()))
                return
        _close_quietly(conn)

    def flush(self) -> None:
        """Close every idle connection (after an outage they are all stale)."""
        with self._lock:
            items = list(self._idle)
            self._idle.clear()
        for conn, _ in items:
            _close_quietly(conn)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection whose transaction is ended on exit; connection failures become DatabaseUnavailable."""
        try:
            conn = self._checkout()
        except (pymysql.OperationalError, pymysql.InterfaceError) as error:
            self._mark_unavailable(error)
            raise DatabaseUnavailable(str(error)) from error
        try:
            yield conn
            # Ends read-only transactions too, so a pooled connection never serves an old snapshot.
            conn.commit()
        except (pymysql.OperationalError, pymysql.InterfaceError) as error:
            _close_quietly(conn)
            self.flush()
            self._mark_unavailable(error)
            raise DatabaseUnavailable(str(error)) from error
        except pymysql.ProgrammingError as error:
            _close_quietly(conn)
            if error.args and error.args[0] == ER_NO_SUCH_TABLE:
                self._schema_ready.clear()
                raise DatabaseUnavailable("schema missing; re-creating") from error
            raise
        except BaseException:
            self._rollback_and_keep(conn)
            raise
        else:
            self._checkin(conn)
            self._mark_available()

    def _rollback_and_keep(self, conn: Connection) -> None:
        """Undo a failed transaction; a connection that cannot roll back is not reused."""
        try:
            conn.rollback()
        except Exception:
            _close_quietly(conn)
        else:
            self._checkin(conn)

    def _mark_unavailable(self, error: BaseException) -> None:
        """Log the transition to unavailable once, not once per request."""
        if self._was_available:
            self._was_available = False
            logger.warning("database unavailable: %s", error)

    def _mark_available(self) -> None:
        """Log the recovery once."""
        if not self._was_available:
            self._was_available = True
            logger.info("database available again")

    def ensure_schema(self) -> None:
        """Create the table if needed; safe when several replicas run it at the same moment."""
        if self._schema_ready.is_set():
            return
        with self.connection() as conn, conn.cursor() as cur:
            # The named lock serialises replicas; CREATE ... IF NOT EXISTS alone is already idempotent,
            # so a lock we could not get within the timeout is not fatal.
            lock_wait = max(1, int(self._settings.db_query_timeout) - 1)
            cur.execute("SELECT GET_LOCK(%s, %s) AS got", (SCHEMA_LOCK, lock_wait))
            got = (cur.fetchone() or {}).get("got") == 1
            try:
                cur.execute(SCHEMA_SQL)
            finally:
                if got:
                    cur.execute("SELECT RELEASE_LOCK(%s)", (SCHEMA_LOCK,))
        self._schema_ready.set()
        logger.info("schema ready (table todos)")

    def check(self) -> None:
        """Readiness: the schema exists and the database answers a query now."""
        self.ensure_schema()
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1 FROM todos LIMIT 1")
            cur.fetchall()

    def wait_until_ready(self, budget_seconds: float) -> bool:
        """Bounded start-up wait: try to create the schema until the budget is spent; never raises."""
        deadline = time.monotonic() + budget_seconds
        while True:
            try:
                self.ensure_schema()
                return True
            except DatabaseUnavailable as error:
                if time.monotonic() + 0.5 >= deadline:
                    logger.warning("database not ready after %.1fs start-up wait: %s", budget_seconds, error)
                    return False
            time.sleep(0.5)

    def keep_trying_schema(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Background loop used when start-up found no database: recover without any request's help."""
        while not self._schema_ready.is_set() and not stop.wait(interval):
            try:
                self.ensure_schema()
            except DatabaseUnavailable:
                continue
            except Exception:  # the loop must survive anything; the error is logged for operators
                logger.exception("unexpected error while creating the schema")

    def close(self) -> None:
        """Close pooled connections at shutdown."""
        self.flush()


def _close_quietly(conn: Connection) -> None:
    """Close a connection that may already be broken."""
    # Already closed or socket dead: nothing left to release.
    with contextlib.suppress(Exception):
        conn.close()
