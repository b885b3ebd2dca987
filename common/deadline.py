"""The one deadline loop: poll a condition on a monotonic clock until it holds or its budget is spent.

Shaped like kubernetes-sigs/e2e-framework's wait.For(condition, WithTimeout, WithInterval, WithImmediate). Every
wait of the kit, the suite and the app tests goes through `wait_for`; the error type it raises says who failed:
the suite's `WaitTimeout` is an AssertionError (a product requirement not met), the kit passes its `PollTimeout`
(an infrastructure failure, see common.errors).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar, overload

__all__ = ["DeadlineExceeded", "WaitTimeout", "hold_for", "wait_for"]

T = TypeVar("T")

# Long reprs (a pod list, an HTML page) would bury the one line that matters in a failure report.
_REPR_LIMIT = 500


def _short_repr(value: object) -> str:
    """Return repr(value) cut to a readable length."""
    text = repr(value)
    if len(text) > _REPR_LIMIT:
        return f"{text[:_REPR_LIMIT]}... ({len(text)} chars)"
    return text


class DeadlineExceeded(Exception):
    """A condition did not hold within its time budget; says what, how long, how often, and what was seen last."""

    def __init__(
        self,
        what: str,
        timeout: float,
        elapsed: float,
        last_value: object = None,
        last_error: BaseException | None = None,
        attempts: int = 0,
        *,
        value_seen: bool = True,
    ) -> None:
        """Keep the facts as attributes and build the message from them."""
        self.what = what
        self.timeout = timeout
        self.elapsed = elapsed
        self.last_value = last_value
        self.last_error = last_error
        self.attempts = attempts
        self.value_seen = value_seen
        super().__init__(self._message())

    @property
    def last(self) -> object:
        """The last observation, or the last exception when no attempt returned (the kit's older name)."""
        return self.last_value if self.value_seen else self.last_error

    def _message(self) -> str:
        """Render the one-paragraph explanation used as str(self)."""
        value = _short_repr(self.last_value) if self.value_seen else "none (every attempt raised)"
        error = _short_repr(self.last_error) if self.last_error is not None else "none"
        return (
            f"timed out waiting for {self.what}: budget {self.timeout:g}s, elapsed {self.elapsed:.2f}s, "
            f"{self.attempts} attempt(s); last value seen: {value}; last exception: {error}"
        )

    def __str__(self) -> str:
        """The message (OSError-based subclasses would otherwise format their args their own way)."""
        return self._message()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle with the original arguments and class (the default would pass only the message)."""
        return (
            _rebuild,
            (
                type(self),
                self.what,
                self.timeout,
                self.elapsed,
                self.last_value,
                self.last_error,
                self.attempts,
                self.value_seen,
            ),
        )


def _rebuild(
    cls: type[DeadlineExceeded],
    what: str,
    timeout: float,
    elapsed: float,
    last_value: object,
    last_error: BaseException | None,
    attempts: int,
    value_seen: bool,
) -> DeadlineExceeded:
    """Recreate a DeadlineExceeded (or subclass) from its pickled fields."""
    return cls(what, timeout, elapsed, last_value, last_error, attempts, value_seen=value_seen)


class WaitTimeout(DeadlineExceeded, AssertionError):
    """A suite check did not hold within its budget: an AssertionError, so it reads as the product failing."""


@overload
def wait_for(
    condition: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    interval: float = 0.5,
    immediate: bool = True,
    done: None = None,
    error: type[DeadlineExceeded] = WaitTimeout,
    fatal: tuple[type[Exception], ...] = (),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> T: ...


@overload
def wait_for(
    condition: Callable[[], T],
    *,
    what: str,
    timeout: float,
    interval: float = 0.5,
    immediate: bool = True,
    done: Callable[[T], bool],
    error: type[DeadlineExceeded] = WaitTimeout,
    fatal: tuple[type[Exception], ...] = (),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> T: ...


def wait_for(
    condition: Callable[[], Any],
    *,
    what: str,
    timeout: float,
    interval: float = 0.5,
    immediate: bool = True,
    done: Callable[[Any], bool] | None = None,
    error: type[DeadlineExceeded] = WaitTimeout,
    fatal: tuple[type[Exception], ...] = (),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> Any:
    """Poll condition until done(value) (default: the value is truthy) and return that value, or raise `error`.

    An exception from condition counts as "not yet" and is remembered for the timeout message, unless its type is
    in `fatal` (a process that exited will not come back): that one propagates at once. The last attempt happens
    at the deadline at the latest; sleeps never run past it. With immediate=False the first attempt waits one
    interval.
    """
    if timeout < 0:
        raise ValueError(f"timeout must be >= 0, got {timeout!r}")
    if interval <= 0:
        raise ValueError(f"interval must be > 0, got {interval!r}")
    accept = done if done is not None else bool
    started = clock()
    deadline = started + timeout
    last_value: object = None
    value_seen = False
    last_error: BaseException | None = None
    attempts = 0
    if not immediate:
        _sleep_until_next(sleep, interval, deadline - clock())
    while True:
        attempts += 1
        try:
            value = condition()
            held = accept(value)
        except Exception as exc:  # any other failure of the probe is "not yet", and is reported
            if isinstance(exc, fatal):
                raise
            last_error = exc
        else:
            if held:
                return value
            last_value, value_seen = value, True
        remaining = deadline - clock()
        if remaining <= 0:
            break
        _sleep_until_next(sleep, interval, remaining)
    raise error(what, timeout, clock() - started, last_value, last_error, attempts, value_seen=value_seen) from (
        last_error
    )


def hold_for(
    seconds: float,
    *,
    interval: float = 0.5,
    observe: Callable[[], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> int:
    """Keep still for `seconds` (a fault held for its stated duration), calling `observe` once per interval
    meanwhile (an exception from it ends the hold and propagates: the caller undoes the fault). Returns how
    often `observe` ran. The same deadline rules as wait_for: no sleep runs past the end."""
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
    if interval <= 0:
        raise ValueError(f"interval must be > 0, got {interval!r}")
    deadline = clock() + seconds
    observed = 0
    while deadline - clock() > 0:
        if observe is not None:
            observe()
            observed += 1
        _sleep_until_next(sleep, interval, deadline - clock())
    return observed


def _sleep_until_next(sleep: Callable[[float], object], interval: float, remaining: float) -> None:
    """Sleep one interval, but never past the deadline."""
    if remaining > 0:
        sleep(min(interval, remaining))
