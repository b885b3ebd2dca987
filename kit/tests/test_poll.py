"""The kit's polling loop: returns the observation, remembers errors, never overshoots, says what it saw."""

from __future__ import annotations

import time

import pytest

from kit.poll import PollTimeout, poll


def test_returns_the_first_observation_that_is_done() -> None:
    seen = iter([1, 2, 3])
    assert poll("three", lambda: next(seen), timeout=5, interval=0.001, done=lambda v: v == 3) == 3


def test_timeout_names_what_the_budget_and_the_last_error() -> None:
    def observe() -> bool:
        raise ConnectionRefusedError("dockerd socket")

    started = time.monotonic()
    with pytest.raises(PollTimeout, match=r"waiting for dockerd.*ConnectionRefusedError\('dockerd socket'\)") as err:
        poll("dockerd", observe, timeout=0.2, interval=0.05)
    assert time.monotonic() - started < 0.2 + 0.05, "never sleeps past the deadline"
    assert "0s" in str(err.value) and isinstance(err.value.last, ConnectionRefusedError)


def test_timeout_keeps_the_last_observation() -> None:
    with pytest.raises(PollTimeout, match=r"last seen: \{'worker': 'False'\}"):
        poll("nodes Ready", lambda: {"worker": "False"}, timeout=0.1, interval=0.02, done=lambda s: False)
