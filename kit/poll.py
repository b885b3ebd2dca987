"""The kit's one polling loop: a deadline, an interval, and a timeout that says what it saw last."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["PollTimeout", "poll"]

T = TypeVar("T")


class PollTimeout(TimeoutError):
    """A poll ran out of time; the message names what, the budget and the last observation or error."""

    def __init__(self, what: str, timeout: float, last: Any) -> None:
        super().__init__(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}")
        self.what, self.timeout, self.last = what, timeout, last


def poll(
    what: str,
    observe: Callable[[], T],
    *,
    timeout: float,
    interval: float,
    done: Callable[[T], bool] = bool,
) -> T:
    """Call `observe` until `done(observation)`; errors from `observe` are remembered and polling goes on."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = observe()
            if done(last):
                return last  # type: ignore[no-any-return]
        except Exception as exc:  # remembered for the timeout message; the next poll may succeed
            last = exc
        if time.monotonic() + interval > deadline:
            raise PollTimeout(what, timeout, last)
        time.sleep(interval)
