"""common.deadline beyond what support.waits' tests cover: `done`, `fatal`, the error type, pickling subclasses."""

from __future__ import annotations

import pickle

import pytest

from common.deadline import DeadlineExceeded, WaitTimeout, hold_for, wait_for


class Clock:
    """A fake monotonic clock moved only by sleep()."""

    def __init__(self) -> None:
        """Start at an arbitrary reading."""
        self.now = 50.0

    def __call__(self) -> float:
        """Read the clock."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Advance the clock."""
        self.now += seconds


class BenchTimeout(DeadlineExceeded):
    """A caller's own timeout type (as the kit's PollTimeout is)."""


def test_done_accepts_a_falsy_value() -> None:
    clock = Clock()
    values = iter([3, 2, 1, 0])
    got = wait_for(
        lambda: next(values), what="no pods left", timeout=10, done=lambda n: n == 0, clock=clock, sleep=clock.sleep
    )
    assert got == 0


def test_a_fatal_exception_stops_the_wait_at_once() -> None:
    clock = Clock()
    calls = []

    def exited() -> bool:
        calls.append(clock.now)
        raise ProcessLookupError("server exited")

    with pytest.raises(ProcessLookupError):
        wait_for(exited, what="x", timeout=10, fatal=(ProcessLookupError,), clock=clock, sleep=clock.sleep)
    assert calls == [50.0]


def test_the_error_type_is_the_callers_and_names_everything() -> None:
    clock = Clock()
    with pytest.raises(BenchTimeout) as err:
        wait_for(
            lambda: "pending",
            what="the widget",
            timeout=2,
            interval=1,
            done=lambda v: v == "ok",
            error=BenchTimeout,
            clock=clock,
            sleep=clock.sleep,
        )
    assert not isinstance(err.value, AssertionError)
    assert str(err.value) == (
        "timed out waiting for the widget: budget 2s, elapsed 2.00s, 3 attempt(s); "
        "last value seen: 'pending'; last exception: none"
    )


def test_the_suite_timeout_is_an_assertion() -> None:
    clock = Clock()
    with pytest.raises(AssertionError):
        wait_for(lambda: False, what="x", timeout=0, clock=clock, sleep=clock.sleep)


def test_a_subclass_pickles_as_itself_with_its_facts() -> None:
    original = BenchTimeout("the widget", 2.0, 2.5, None, ValueError("boom"), 4, value_seen=False)
    copy = pickle.loads(pickle.dumps(original))
    assert type(copy) is BenchTimeout
    assert (copy.what, copy.timeout, copy.attempts, copy.value_seen) == ("the widget", 2.0, 4, False)
    assert str(copy) == str(original) and isinstance(copy.last, ValueError)
    assert type(pickle.loads(pickle.dumps(WaitTimeout("x", 1, 1)))) is WaitTimeout


def test_hold_for_keeps_still_for_the_duration_observing_each_interval() -> None:
    """A fault is held for exactly its stated seconds; the observer runs once per interval; no sleep runs past it."""
    clock = Clock()
    seen: list[float] = []
    start = clock()
    assert (
        hold_for(2.0, interval=0.5, observe=lambda: seen.append(clock() - start), clock=clock, sleep=clock.sleep) == 4
    )
    assert seen == [0.0, 0.5, 1.0, 1.5]
    assert clock() - start == 2.0
    assert hold_for(1.2, interval=0.5, clock=clock, sleep=clock.sleep) == 0 and clock() - start == pytest.approx(3.2)


def test_hold_for_ends_when_the_observer_raises_and_refuses_an_endless_hold() -> None:
    clock = Clock()

    def broken() -> None:
        raise RuntimeError("the fault's pod is gone")

    with pytest.raises(RuntimeError, match="pod is gone"):
        hold_for(10, observe=broken, clock=clock, sleep=clock.sleep)
    with pytest.raises(ValueError, match="finite"):
        hold_for(float("inf"))
    with pytest.raises(ValueError, match="interval"):
        hold_for(1, interval=0)
