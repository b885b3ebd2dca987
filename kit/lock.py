"""One kit build at a time on a host: an advisory lock in the cache directory.

Two processes that build the kit at once (an e2e run and `python -m app.walkthrough.build`, or a bench beside the
suite) would compile the same Go components twice on a 2-core host and race on the same cache entries. The lock
makes the second one wait, saying who holds it, for a bounded time (the kit's one deadline loop), and then fail
with the holder named instead of waiting for ever. The lock is released by the kernel when its holder dies, so a
killed build never leaves it stuck.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kit.log import info
from kit.pins import cache_dir
from kit.poll import poll

__all__ = ["LOCK_TIMEOUT_S", "host_lock"]

# A cold kit build takes about 20 minutes on the build hosts; a waiter gives it twice that.
LOCK_TIMEOUT_S = float(os.environ.get("TODO_E2E_LOCK_TIMEOUT_S", "2400"))


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return "an unknown process"
    return text or "an unknown process"


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def host_lock(name: str, what: str, *, timeout: float = LOCK_TIMEOUT_S, root: Path | None = None) -> Iterator[None]:
    """Hold the host-wide lock `name` while the body runs; wait at most `timeout` seconds for another holder."""
    directory = (root or cache_dir()) / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            info(f"waiting for {what}: {_holder(path)} holds {path} (at most {timeout:.0f}s)")
            poll(
                f"the {what} lock {path}, held by {_holder(path)}",
                lambda: _try_lock(fd),
                timeout=timeout,
                interval=1.0,
            )
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}".encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
