"""Application factory: settings in, FastAPI app out (shaped like the FastAPI full-stack template)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from todo_backend import __version__
from todo_backend.api.main import api_router, install_error_handlers
from todo_backend.core.config import Settings, load_settings
from todo_backend.core.db import Database
from todo_backend.middleware import CloseWhenDraining

logger = logging.getLogger("todo_backend")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Bounded DB wait at start-up; if the DB is not there yet, serve anyway and keep trying."""
    db: Database = app.state.db
    settings: Settings = app.state.settings
    stop = threading.Event()
    ready = await asyncio.to_thread(db.wait_until_ready, settings.db_startup_wait_seconds)
    retry: threading.Thread | None = None
    if not ready:
        retry = threading.Thread(target=db.keep_trying_schema, args=(stop,), name="schema-retry", daemon=True)
        retry.start()
    try:
        yield
    finally:
        stop.set()
        if retry is not None:
            retry.join(timeout=settings.db_query_timeout + 1)
        db.close()
        logger.info("shutdown complete")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; settings default to the environment."""
    settings = settings or load_settings()
    app = FastAPI(
        title="todo-backend",
        version=__version__,
        lifespan=_lifespan,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = Database(settings)
    # Set by the SIGTERM handler before the server stops accepting, so readiness fails first.
    app.state.draining = threading.Event()
    app.include_router(api_router, prefix="/api")
    install_error_handlers(app)
    app.add_middleware(CloseWhenDraining, draining=app.state.draining)
    return app
