"""The kit's poll: returns the observation, remembers errors, says what it saw, and is classed infrastructure."""

from __future__ import annotations

import pickle

import pytest

from common.errors import InfrastructureError, is_infrastructure
from kit.poll import PollTimeout, poll


def test_returns_the_first_observation_that_is_done() -> None:
    seen = iter([1, 2, 3])
    assert poll("three", lambda: next(seen), timeout=5, interval=0.001, done=lambda v: v == 3) == 3


def test_a_falsy_observation_can_be_done() -> None:
    assert poll("zero pods left", lambda: 0, timeout=1, interval=0.01, done=lambda n: n == 0) == 0


def test_timeout_names_what_the_budget_and_the_last_error() -> None:
    def observe() -> bool:
        raise ConnectionRefusedError("dockerd socket")

    with pytest.raises(
        PollTimeout, match=r"waiting for dockerd: budget 0.05s.*ConnectionRefusedError\('dockerd"
    ) as err:
        poll("dockerd", observe, timeout=0.05, interval=0.01)
    assert isinstance(err.value.last, ConnectionRefusedError)
    assert err.value.attempts >= 2


def test_timeout_keeps_the_last_observation() -> None:
    with pytest.raises(PollTimeout, match=r"last value seen: \{'worker': 'False'\}") as err:
        poll("nodes Ready", lambda: {"worker": "False"}, timeout=0.05, interval=0.01, done=lambda s: False)
    assert err.value.last == {"worker": "False"}


def test_a_kit_timeout_is_infrastructure_and_not_an_assertion() -> None:
    with pytest.raises(PollTimeout) as err:
        poll("containerd", lambda: False, timeout=0, interval=0.01)
    assert isinstance(err.value, InfrastructureError) and isinstance(err.value, TimeoutError)
    assert not isinstance(err.value, AssertionError)
    assert is_infrastructure(err.value) and err.value.phase == "kit"


def test_a_kit_timeout_survives_pickling() -> None:
    with pytest.raises(PollTimeout) as err:
        poll("containerd", lambda: "starting", timeout=0, interval=0.01, done=lambda s: s == "running")
    copy = pickle.loads(pickle.dumps(err.value))
    assert type(copy) is PollTimeout and str(copy) == str(err.value) and copy.last == "starting"
