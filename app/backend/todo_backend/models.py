"""Request and response bodies of the to-do API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator

# Strict types: 123 is not a title and "yes" is not a boolean; the client gets a 422 naming the field.
Title = Annotated[StrictStr, Field(min_length=1, max_length=200)]


def _not_blank(value: str | None) -> str | None:
    """Reject titles made only of whitespace: they render as an empty row."""
    if value is not None and not value.strip():
        raise ValueError("title must not be blank")
    return value


class TodoCreate(BaseModel):
    """Body of POST /api/todos."""

    model_config = ConfigDict(extra="ignore")

    title: Title
    completed: StrictBool = False

    _check_title = field_validator("title")(_not_blank)


class TodoUpdate(BaseModel):
    """Body of PATCH/PUT /api/todos/{id}: every field optional, null is not a value."""

    model_config = ConfigDict(extra="ignore")

    title: Title | None = None
    completed: StrictBool | None = None

    @field_validator("title", "completed", mode="before")
    @classmethod
    def _no_null(cls, value: object) -> object:
        """An explicit null would silently mean "unchanged"; reject it instead."""
        if value is None:
            raise ValueError("must not be null")
        return value

    _check_title = field_validator("title")(_not_blank)


class Todo(BaseModel):
    """A stored to-do as returned by the API."""

    id: int
    title: str
    completed: bool
    created_at: str


class Info(BaseModel):
    """Which replica answered (downward API values)."""

    pod: str
    node: str
    version: str
