"""The /api router and the JSON error handlers."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from todo_backend.api.routes import health, todos
from todo_backend.core.db import DatabaseUnavailable

logger = logging.getLogger("todo_backend.api")

api_router = APIRouter()
api_router.include_router(todos.router)
api_router.include_router(health.router)

# Location parts that say where a value was, not which field it was.
_LOCATION_PREFIXES = {"body", "path", "query", "header"}
# Path parameters are named for Python; clients know them by the contract's names.
_FIELD_ALIASES = {"todo_id": "id"}


def _field_of(loc: tuple[object, ...]) -> str:
    """The client-facing field name of a validation error location."""
    names = [str(part) for part in loc if not isinstance(part, int)]
    if names and names[0] in _LOCATION_PREFIXES and len(names) > 1:
        names = names[1:]
    field = ".".join(names) if names else "body"
    return _FIELD_ALIASES.get(field, field)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 {"detail", "field"} naming the first offending field; the input itself is not echoed."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
    field = _field_of(tuple(first.get("loc", ("body",))))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    fields = sorted({_field_of(tuple(e.get("loc", ("body",)))) for e in errors})
    content = {"detail": f"{field}: {message}", "field": field, "fields": fields}
    return JSONResponse(status_code=422, content=content)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 promptly when the database is down or hung; clients may retry."""
    logger.info("503 for %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(status_code=503, content={"detail": "database unavailable"}, headers={"Retry-After": "1"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Generic 500: the traceback goes to the log, never to the client."""
    logger.error("unhandled error for %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal server error"})


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on the application."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DatabaseUnavailable, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
