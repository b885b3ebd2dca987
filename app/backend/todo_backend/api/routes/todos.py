"""CRUD routes for /api/todos; every write is committed before the response is sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status

from todo_backend.core.db import Database
from todo_backend.models import Todo, TodoCreate, TodoUpdate

router = APIRouter(prefix="/todos", tags=["todos"])

COLUMNS = "id, title, completed, created_at"


def _db(request: Request) -> Database:
    """The process-wide Database (schema re-created lazily if it went missing)."""
    db: Database = request.app.state.db
    db.ensure_schema()
    return db


def _to_todo(row: dict[str, Any]) -> Todo:
    """Map a database row to the API shape; TIMESTAMPs are read in UTC (see init_command)."""
    created: datetime = row["created_at"]
    return Todo(
        id=int(row["id"]),
        title=str(row["title"]),
        completed=bool(row["completed"]),
        created_at=created.replace(tzinfo=UTC).isoformat(timespec="microseconds"),
    )


def _not_found(todo_id: int) -> HTTPException:
    """The contract's 404 body."""
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"todo {todo_id} not found")


@router.get("", response_model=list[Todo])
def list_todos(request: Request) -> list[Todo]:
    """All to-dos ordered by id."""
    with _db(request).connection() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {COLUMNS} FROM todos ORDER BY id")
        return [_to_todo(row) for row in cur.fetchall()]


@router.post("", response_model=Todo, status_code=status.HTTP_201_CREATED)
def create_todo(body: TodoCreate, request: Request) -> Todo:
    """Store a to-do; the commit happens before the 201 is sent."""
    with _db(request).connection() as conn:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO todos (title, completed) VALUES (%s, %s)", (body.title, body.completed))
            cur.execute(f"SELECT {COLUMNS} FROM todos WHERE id = %s", (cur.lastrowid,))
            row = cur.fetchone()
        conn.commit()
    return _to_todo(row)


@router.get("/{todo_id}", response_model=Todo)
def get_todo(todo_id: int, request: Request) -> Todo:
    """One to-do or 404."""
    with _db(request).connection() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {COLUMNS} FROM todos WHERE id = %s", (todo_id,))
        row = cur.fetchone()
    if row is None:
        raise _not_found(todo_id)
    return _to_todo(row)


def _update(todo_id: int, body: TodoUpdate, request: Request) -> Todo:
    """Apply the fields that were sent; 404 when the id does not exist."""
    changes = body.model_dump(exclude_unset=True)
    with _db(request).connection() as conn:
        with conn.cursor() as cur:
            if changes:
                assignments = ", ".join(f"{name} = %s" for name in changes)  # names come from the model only
                cur.execute(f"UPDATE todos SET {assignments} WHERE id = %s", (*changes.values(), todo_id))
            cur.execute(f"SELECT {COLUMNS} FROM todos WHERE id = %s", (todo_id,))
            row = cur.fetchone()
        conn.commit()
    if row is None:
        raise _not_found(todo_id)
    return _to_todo(row)


@router.patch("/{todo_id}", response_model=Todo)
def patch_todo(todo_id: int, body: TodoUpdate, request: Request) -> Todo:
    """Partial update of title and/or completed."""
    return _update(todo_id, body, request)


@router.put("/{todo_id}", response_model=Todo)
def put_todo(todo_id: int, body: TodoUpdate, request: Request) -> Todo:
    """Same as PATCH: clients of the original walk-through send PUT."""
    return _update(todo_id, body, request)


@router.delete("/{todo_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_todo(todo_id: int, request: Request) -> Response:
    """Delete or 404; committed before the 204."""
    with _db(request).connection() as conn:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM todos WHERE id = %s", (todo_id,))
            deleted = cur.rowcount
        conn.commit()
    if deleted == 0:
        raise _not_found(todo_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
