"""wait_for: deadlines on a fake clock, what the timeout says, and named conditions."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator

import pytest

from support.waits import Condition, Pending, WaitTimeout, all_of, until, wait_for


class FakeClock:
    """A monotonic clock that only moves when sleep() (or a slow condition) moves it."""

    def __init__(self) -> None:
        """Start at an arbitrary non-zero reading, like a real monotonic clock."""
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        """Read the clock."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Advance the clock, remembering each sleep."""
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fresh fake clock."""
    return FakeClock()


def sequence(*values: object) -> Callable[[], object]:
    """A condition returning the values in turn (raising those that are exceptions), then the last forever."""
    items: Iterator[object] = iter(values)
    last: list[object] = [None]

    def condition() -> object:
        """Return (or raise) the next value."""
        value = next(items, last[0])
        last[0] = value
        if isinstance(value, BaseException):
            raise value
        return value

    return condition


def test_returns_the_first_truthy_value(clock: FakeClock) -> None:
    """Falsy values (None, False, 0, empty) mean 'not yet'; the first truthy value is returned."""
    condition = sequence(None, False, 0, [], {"ready": 2})
    got = wait_for(condition, what="x", timeout=10, interval=1, clock=clock, sleep=clock.sleep)
    assert got == {"ready": 2}
    assert clock.sleeps == [1, 1, 1, 1]


def test_immediate_checks_before_sleeping(clock: FakeClock) -> None:
    """With immediate=True (default) a condition that already holds costs no sleep."""
    assert wait_for(lambda: "yes", what="x", timeout=5, clock=clock, sleep=clock.sleep) == "yes"
    assert clock.sleeps == []


def test_not_immediate_sleeps_one_interval_first(clock: FakeClock) -> None:
    """With immediate=False the first check happens one interval later."""
    calls: list[float] = []

    def condition() -> bool:
        """Record when it was called."""
        calls.append(clock.now)
        return True

    wait_for(condition, what="x", timeout=5, interval=2, immediate=False, clock=clock, sleep=clock.sleep)
    assert calls == [1002.0]
    assert clock.sleeps == [2]


def test_timeout_never_sleeps_past_the_deadline(clock: FakeClock) -> None:
    """Sleeps are cut at the deadline; the last check happens exactly at the deadline, then it raises."""
    calls: list[float] = []

    def condition() -> bool:
        """Never holds."""
        calls.append(clock.now)
        return False

    with pytest.raises(WaitTimeout) as caught:
        wait_for(condition, what="never", timeout=2.5, interval=1, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [1, 1, 0.5]
    assert calls == [1000.0, 1001.0, 1002.0, 1002.5]
    assert clock.now == 1002.5  # not a moment past the budget
    assert caught.value.attempts == 4
    assert caught.value.elapsed == pytest.approx(2.5)


def test_zero_timeout_checks_exactly_once(clock: FakeClock) -> None:
    """A zero budget still looks once (immediate), and does not sleep."""
    with pytest.raises(WaitTimeout) as caught:
        wait_for(lambda: None, what="x", timeout=0, clock=clock, sleep=clock.sleep)
    assert caught.value.attempts == 1
    assert clock.sleeps == []


def test_slow_condition_is_not_given_extra_sleep(clock: FakeClock) -> None:
    """When a check itself eats the budget, no further sleep happens and the elapsed time is honest."""

    def slow() -> bool:
        """Takes 3 s of (fake) time and fails."""
        clock.now += 3
        return False

    with pytest.raises(WaitTimeout) as caught:
        wait_for(slow, what="slow", timeout=2, interval=1, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []
    assert caught.value.elapsed == pytest.approx(3)


def test_timeout_message_names_what_budget_value_and_error(clock: FakeClock) -> None:
    """str() names what it waited for, the budget, the elapsed time, the last value and the last exception."""
    seen = Pending("replicas ready", {"ready": 1, "want": 2})  # falsy, like a condition not yet met
    condition = sequence(ConnectionError("refused by 127.0.0.1:30080"), seen)
    with pytest.raises(WaitTimeout) as caught:
        wait_for(condition, what="2 back-end replicas Ready", timeout=3, interval=1, clock=clock, sleep=clock.sleep)
    err = caught.value
    text = str(err)
    assert "2 back-end replicas Ready" in text
    assert "budget 3s" in text
    assert "elapsed 3.00s" in text
    assert "Pending(condition='replicas ready', value={'ready': 1, 'want': 2})" in text
    assert "ConnectionError('refused by 127.0.0.1:30080')" in text
    assert err.what == "2 back-end replicas Ready"
    assert err.timeout == 3
    assert err.last_value is seen
    assert isinstance(err.last_error, ConnectionError)
    assert err.__cause__ is err.last_error  # the traceback shows the underlying failure
    assert isinstance(err, AssertionError)  # a product failure, not an infrastructure error


def test_exceptions_are_recorded_and_polling_continues(clock: FakeClock) -> None:
    """A raising condition is 'not yet': polling goes on and a later success is returned."""
    condition = sequence(RuntimeError("api down"), KeyError("pod"), "served")
    assert wait_for(condition, what="x", timeout=10, interval=1, clock=clock, sleep=clock.sleep) == "served"


def test_only_exceptions_says_no_value_was_seen(clock: FakeClock) -> None:
    """When every attempt raised, the message says so instead of showing a fake 'None' value."""
    with pytest.raises(WaitTimeout) as caught:
        wait_for(sequence(ValueError("boom")), what="x", timeout=1, interval=1, clock=clock, sleep=clock.sleep)
    assert "none (every attempt raised)" in str(caught.value)
    assert "ValueError('boom')" in str(caught.value)


def test_keyboard_interrupt_is_not_swallowed(clock: FakeClock) -> None:
    """Ctrl-C must stop a wait at once (so faults get rolled back), not be recorded as a failed check."""
    with pytest.raises(KeyboardInterrupt):
        wait_for(sequence(KeyboardInterrupt()), what="x", timeout=10, clock=clock, sleep=clock.sleep)


def test_long_values_are_truncated_in_the_message(clock: FakeClock) -> None:
    """A huge last value does not flood the report."""
    with pytest.raises(WaitTimeout) as caught:
        wait_for(lambda: "", what="x", timeout=0, clock=clock, sleep=clock.sleep)
    big = "x" * 5000
    err = WaitTimeout("x", 1, 1, big, RuntimeError(big), 1)
    assert len(str(err)) < 1400
    assert "(5002 chars)" in str(err)
    assert "last value seen: ''" in str(caught.value)


def test_wait_timeout_survives_pickling() -> None:
    """Pickling keeps every field (the default exception pickling would break the constructor)."""
    err = WaitTimeout("thing", 2, 2.1, [1], ValueError("v"), 3)
    back = pickle.loads(pickle.dumps(err))
    assert (back.what, back.timeout, back.last_value, back.attempts) == ("thing", 2, [1], 3)
    assert str(back) == str(err)


@pytest.mark.parametrize(("timeout", "interval"), [(-1, 0.5), (1, 0), (1, -0.1)])
def test_bad_arguments_are_rejected(timeout: float, interval: float) -> None:
    """A negative budget or a non-positive interval is a programming error."""
    with pytest.raises(ValueError):
        wait_for(lambda: True, what="x", timeout=timeout, interval=interval)


def test_real_clock_short_wait() -> None:
    """With the real clock and sleep, a condition that becomes true is found quickly."""
    state = iter([False, False, True])
    assert wait_for(lambda: next(state), what="x", timeout=2, interval=0.01) is True


def test_condition_until_uses_its_name() -> None:
    """until() waits on a Condition and its timeout message carries the condition's name."""
    cond = Condition("todo 'milk' visible", lambda: [])
    assert cond() == []
    assert cond.holds() is False
    with pytest.raises(WaitTimeout, match="todo 'milk' visible"):
        until(cond, timeout=0.05, interval=0.01)
    assert until(Condition("ok", lambda: 7), timeout=1) == 7


def test_all_of_names_the_missing_part() -> None:
    """A combined condition holds only when all parts hold, and otherwise says which part is missing."""
    ready = Condition("replicas ready", lambda: 2)
    serving = Condition("app serving", lambda: False)
    combined = all_of("backend recovered", ready, serving)
    value = combined()
    assert value == Pending("app serving", False)
    assert not value
    with pytest.raises(WaitTimeout, match="Pending\\(condition='app serving'"):
        until(combined, timeout=0.02, interval=0.01)
    both = all_of("both", ready, Condition("app serving", lambda: "200"))
    assert both() == {"replicas ready": 2, "app serving": "200"}
    with pytest.raises(ValueError):
        all_of("empty")


def test_every_replica_serving_reads_from_each_ready_replica_and_names_the_one_that_fails() -> None:
    """One read per Ready back-end pod (sent to the pod by name): a replica that is Ready but cannot serve is named,
    whatever one read through the Service would have seen."""
    from types import SimpleNamespace

    from support.conditions import every_replica_serving

    broken: set[str] = {"backend-b"}

    class Cluster:
        def ready_pods(self, tier: str) -> list[SimpleNamespace]:
            assert tier == "backend"
            return [SimpleNamespace(name="backend-b"), SimpleNamespace(name="backend-a")]

        def pod_sender(self, pod: str) -> str:
            return pod

    class App:
        def through(self, sender: str) -> SimpleNamespace:
            failed = (False, "Connect timed out (database)")
            return SimpleNamespace(probe=lambda: failed if sender in broken else (True, "200: the to-do list"))

    cond = every_replica_serving(Cluster(), App())  # type: ignore[arg-type]
    assert cond() == Pending("backend replica backend-b serving", "Connect timed out (database)")
    with pytest.raises(WaitTimeout, match="backend-b serving"):
        until(cond, timeout=0.02, interval=0.01)
    broken.clear()
    assert cond() == ["backend-a", "backend-b"]
