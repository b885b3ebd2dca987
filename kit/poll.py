"""The kit's polls: the one deadline loop (common.deadline), raising a timeout classed as infrastructure."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from common.deadline import DeadlineExceeded, wait_for
from common.errors import InfrastructureError

__all__ = ["PollTimeout", "poll"]

T = TypeVar("T")


class PollTimeout(DeadlineExceeded, InfrastructureError, TimeoutError):
    """A kit poll ran out of time (nodes, containerd, dockerd never came up): infrastructure, not the product.

    It carries what, the budget, the elapsed time, the attempts, the last value and the last exception (`last` is
    whichever was seen last). It is a TimeoutError as before, never an AssertionError: the suite's WaitTimeout is the
    one that means a requirement was not met.
    """

    phase = "kit"


def poll(
    what: str,
    observe: Callable[[], T],
    *,
    timeout: float,
    interval: float,
    done: Callable[[T], bool] = bool,
) -> T:
    """Call `observe` until `done(observation)`; errors from `observe` are remembered and polling goes on."""
    return wait_for(observe, what=what, timeout=timeout, interval=interval, done=done, error=PollTimeout)
