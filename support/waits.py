"""One polling helper with a deadline, and named conditions shared by Then steps and chaos probes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

__all__ = ["Condition", "Pending", "WaitTimeout", "all_of", "until", "wait_for"]

T = TypeVar("T")

# Long reprs (a pod list, an HTML page) would bury the one line that matters in a failure report.
_REPR_LIMIT = 500


def _short_repr(value: object) -> str:
    """Return repr(value) cut to a readable length."""
    text = repr(value)
    if len(text) > _REPR_LIMIT:
        return f"{text[:_REPR_LIMIT]}... ({len(text)} chars)"
    return text


class WaitTimeout(AssertionError):
    """A condition did not hold within its time budget; says what, how long, and what was seen last."""

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

    def _message(self) -> str:
        """Render the one-paragraph explanation used as str(self)."""
        value = _short_repr(self.last_value) if self.value_seen else "none (every attempt raised)"
        error = _short_repr(self.last_error) if self.last_error is not None else "none"
        return (
            f"timed out waiting for {self.what}: budget {self.timeout:g}s, elapsed {self.elapsed:.2f}s, "
            f"{self.attempts} attempt(s); last value seen: {value}; last exception: {error}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle with the original arguments (the default would pass only the message)."""
        return (
            _rebuild_timeout,
            (
                self.what,
                self.timeout,
                self.elapsed,
                self.last_value,
                self.last_error,
                self.attempts,
                self.value_seen,
            ),
        )


def _rebuild_timeout(
    what: str,
    timeout: float,
    elapsed: float,
    last_value: object,
    last_error: BaseException | None,
    attempts: int,
    value_seen: bool,
) -> WaitTimeout:
    """Recreate a WaitTimeout from its pickled fields."""
    return WaitTimeout(what, timeout, elapsed, last_value, last_error, attempts, value_seen=value_seen)


@overload
def wait_for(
    condition: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    interval: float = 0.5,
    immediate: bool = True,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> bool: ...


@overload
def wait_for(
    condition: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    interval: float = 0.5,
    immediate: bool = True,
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
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> Any:
    """Poll condition until it returns a truthy value and return that value, or raise WaitTimeout."""
    if timeout < 0:
        raise ValueError(f"timeout must be >= 0, got {timeout!r}")
    if interval <= 0:
        raise ValueError(f"interval must be > 0, got {interval!r}")
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
        except Exception as exc:  # any failure of the probe is "not yet", and is reported
            last_error = exc
        else:
            if value:
                return value
            last_value, value_seen = value, True
        remaining = deadline - clock()
        if remaining <= 0:
            break
        _sleep_until_next(sleep, interval, remaining)
    raise WaitTimeout(
        what, timeout, clock() - started, last_value, last_error, attempts, value_seen=value_seen
    ) from last_error


def _sleep_until_next(sleep: Callable[[float], object], interval: float, remaining: float) -> None:
    """Sleep one interval, but never past the deadline."""
    if remaining > 0:
        sleep(min(interval, remaining))


@dataclass(frozen=True)
class Condition:
    """A named check: truthy when it holds; usable by wait_for (via until) and by chaos probes."""

    name: str
    check: Callable[[], Any]

    def __call__(self) -> Any:
        """Evaluate the check once."""
        return self.check()

    def holds(self) -> bool:
        """Evaluate the check once as a boolean (exceptions propagate: a probe that cannot look fails)."""
        return bool(self.check())


def until(cond: Condition, timeout: float, interval: float = 0.5) -> Any:
    """Wait until a named condition holds and return its value; the timeout message uses its name."""
    return wait_for(cond.check, what=cond.name, timeout=timeout, interval=interval)


@dataclass(frozen=True)
class Pending:
    """A falsy result naming the part of a combined condition that does not hold yet, and its value."""

    condition: str
    value: Any

    def __bool__(self) -> bool:
        """Always false: the combined condition does not hold."""
        return False


def all_of(name: str, *conds: Condition) -> Condition:
    """Combine conditions: holds when every one holds; its value maps each name to that value."""
    if not conds:
        raise ValueError("all_of needs at least one condition")

    def check() -> dict[str, Any] | Pending:
        """Evaluate each condition in order, stopping at the first that does not hold."""
        values: dict[str, Any] = {}
        for cond in conds:
            value = cond.check()
            if not value:
                # Say which part is missing, so a timeout message points at it.
                return Pending(cond.name, value)
            values[cond.name] = value
        return values

    return Condition(name, check)
