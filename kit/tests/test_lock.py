"""The host-wide build lock: a second holder waits, is told who holds it, and fails by its deadline."""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from kit.lock import host_lock
from kit.poll import PollTimeout


def _hold(root: str, seconds: float, ready: Event) -> None:
    with host_lock("build", "the test build", root=Path(root)):
        ready.set()
        time.sleep(seconds)


def _holder(tmp_path: Path, seconds: float) -> BaseProcess:
    ready = multiprocessing.get_context("fork").Event()
    proc = multiprocessing.get_context("fork").Process(target=_hold, args=(str(tmp_path), seconds, ready))
    proc.start()
    assert ready.wait(10), "the holder never took the lock"
    return proc


def test_a_second_holder_waits_until_the_first_is_done(tmp_path: Path) -> None:
    proc = _holder(tmp_path, 1.5)
    started = time.monotonic()
    with host_lock("build", "the test build", root=tmp_path, timeout=20):
        waited = time.monotonic() - started
    proc.join(10)
    assert waited >= 0.5, f"the second holder did not wait for the first ({waited:.2f}s)"


def test_a_waiter_gives_up_by_its_deadline_and_names_the_holder(tmp_path: Path) -> None:
    proc = _holder(tmp_path, 10)
    try:
        started = time.monotonic()
        with pytest.raises(PollTimeout) as caught, host_lock("build", "the test build", root=tmp_path, timeout=1.5):
            pass
        assert time.monotonic() - started < 6
        assert f"pid {proc.pid}" in str(caught.value)
    finally:
        proc.kill()
        proc.join(10)


def test_a_killed_holder_leaves_the_lock_free(tmp_path: Path) -> None:
    proc = _holder(tmp_path, 30)
    proc.kill()
    proc.join(10)
    with host_lock("build", "the test build", root=tmp_path, timeout=3):
        pass
