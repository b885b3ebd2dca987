"""Progress lines with elapsed time for long phases."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["info", "phase", "timings"]

timings: dict[str, float] = {}
_start = time.monotonic()


def info(message: str) -> None:
    """Print one progress line, stamped with the time since the kit started."""
    print(f"[kit {time.monotonic() - _start:7.1f}s] {message}", file=sys.stderr, flush=True)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Announce a phase, time it, and remember the duration (for benchmarks)."""
    info(f"{name} ...")
    started = time.monotonic()
    try:
        yield
    except BaseException:
        info(f"{name} FAILED after {time.monotonic() - started:.1f}s")
        raise
    elapsed = time.monotonic() - started
    timings[name] = timings.get(name, 0.0) + elapsed
    info(f"{name} done in {elapsed:.1f}s")
