"""Fixtures for the front-end tests: host nginx started through the image's entrypoint."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
from frontend_harness import Frontend, start_frontend


@pytest.fixture
def frontend_factory() -> Iterator[Callable[[str], Frontend]]:
    """Start front ends for given SERVER_URI values; stop them and remove their files afterwards."""
    started: list[Frontend] = []

    def _start(server_uri: str) -> Frontend:
        frontend = start_frontend(server_uri)
        started.append(frontend)
        return frontend

    yield _start
    for frontend in started:
        frontend.stop()
        shutil.rmtree(frontend.run_dir, ignore_errors=True)
