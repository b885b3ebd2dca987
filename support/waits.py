"""The suite's waits: the one deadline loop (common.deadline) and named conditions shared by Then steps and probes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The loop and its timeout live in common.deadline so the kit and the app tests use the same one; they are
# re-exported here so the suite keeps importing them from support.waits.
from common.deadline import WaitTimeout, hold_for, wait_for

__all__ = ["Condition", "Pending", "WaitTimeout", "all_of", "hold_for", "until", "wait_for"]


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
