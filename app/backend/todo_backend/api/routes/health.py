"""Liveness, readiness and replica identity."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from todo_backend.core.db import Database, DatabaseUnavailable
from todo_backend.models import Info

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process serves HTTP; deliberately never touches the database."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request) -> dict[str, str] | JSONResponse:
    """Readiness: 503 once draining for shutdown, 503 while the database does not answer."""
    if request.app.state.draining.is_set():
        return JSONResponse({"detail": "shutting down"}, status_code=503)
    db: Database = request.app.state.db
    try:
        db.check()
    except DatabaseUnavailable:
        return JSONResponse({"detail": "database unavailable"}, status_code=503)
    return {"status": "ready"}


@router.get("/info", response_model=Info)
async def info(request: Request) -> Info:
    """Which pod, node and version answered (downward API)."""
    s = request.app.state.settings
    return Info(pod=s.pod_name, node=s.node_name, version=s.app_version)
