"""Settings read from the environment only (names from docs/contract.md)."""

from __future__ import annotations

import socket
import sys
from typing import NoReturn

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

# Exit status for a configuration error: distinct from uvicorn's start-up failure (3) and from crashes (1).
CONFIG_ERROR_EXIT = 2


class Settings(BaseSettings):
    """Everything the back end needs, from environment variables (case-insensitive)."""

    # No env_prefix: the deployment injects exactly these names from the ConfigMap/Secret.
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    db_host: str = Field(min_length=1)
    db_name: str = Field(min_length=1)
    db_username: str = Field(min_length=1)
    # An empty password is legitimate for some servers, so only presence is required.
    db_password: str
    db_port: int = Field(default=3306, ge=1, le=65535)

    pod_name: str = Field(default_factory=socket.gethostname)
    node_name: str = "unknown"
    app_version: str = "dev"

    # LISTEN_* rather than PORT/HOST: Kubernetes injects <SERVICE>_PORT variables that must not collide.
    listen_host: str = "0.0.0.0"
    listen_port: int = Field(default=8080, ge=1, le=65535)

    # Bounded so that a dead or hung database turns into a prompt 503, never a hung request.
    db_connect_timeout: float = Field(default=2.0, gt=0)
    db_query_timeout: float = Field(default=3.0, gt=0)
    db_startup_wait_seconds: float = Field(default=5.0, ge=0)
    db_pool_size: int = Field(default=8, ge=0)

    # Readiness is false for this long after SIGTERM while requests are still served (endpoints drain).
    shutdown_drain_seconds: float = Field(default=5.0, ge=0)
    graceful_timeout_seconds: int = Field(default=20, ge=1)
    # Longer than a reverse proxy's idle upstream keep-alive (nginx: 60 s), so the proxy closes idle
    # connections first and never sends a request on one this server is closing at the same moment.
    keepalive_timeout_seconds: int = Field(default=75, ge=1)


def _describe(error: ValidationError) -> str:
    """One line naming every offending environment variable."""
    missing: list[str] = []
    invalid: list[str] = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "?"
        if item["type"] in ("missing", "string_too_short"):
            missing.append(name)
        else:
            invalid.append(f"{name} ({item['msg']})")
    parts: list[str] = []
    if missing:
        noun = "variable" if len(missing) == 1 else "variables"
        parts.append(f"missing required environment {noun} {', '.join(missing)}")
    if invalid:
        parts.append(f"invalid environment variable {', '.join(invalid)}")
    return "; ".join(parts)


def load_settings() -> Settings:
    """Read settings; raises pydantic.ValidationError when the environment is incomplete."""
    return Settings()  # type: ignore[call-arg]  # values come from the environment


def load_settings_or_exit() -> Settings:
    """Read settings or stop the process with a one-line message and exit status 2."""
    try:
        return load_settings()
    except ValidationError as error:
        _die(f"todo-backend: configuration error: {_describe(error)}")


def _die(message: str) -> NoReturn:
    """Print a one-line message to stderr and exit without a traceback."""
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(CONFIG_ERROR_EXIT)
