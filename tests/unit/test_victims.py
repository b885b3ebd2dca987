"""Seeded victim choice: the same seed replays the same victims, whatever order the API lists them in."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from support.victims import SEED_ENV, Choice, Victims, resolve_seed, resolve_seed_with_source

PODS = [f"todo-backend-7d9f-{suffix}" for suffix in ("abcde", "fghij", "klmno", "pqrst")]
NODES = ["todo-e2e-worker", "todo-e2e-worker2"]


def run_script(seed: int, shuffle_with: int) -> list[str]:
    """Pick a series of victims from candidate lists presented in a (differently) shuffled order."""
    victims = Victims(seed)
    order = random.Random(shuffle_with)
    picks = []
    for label, pool in [("backend pod", PODS), ("worker", NODES), ("backend pod", PODS), ("frontend", PODS)]:
        shuffled = list(pool)
        order.shuffle(shuffled)
        picks.append(victims.pick(shuffled, label))
    return picks


def test_same_seed_replays_the_same_victims_in_any_listing_order() -> None:
    """Replay: same seed, candidates listed differently, identical choices."""
    first = run_script(seed=1234, shuffle_with=1)
    assert all(run_script(seed=1234, shuffle_with=other) == first for other in range(2, 12))


def test_different_seeds_choose_differently() -> None:
    """The seed matters: over many seeds more than one victim sequence appears."""
    assert len({tuple(run_script(seed, 0)) for seed in range(20)}) > 1


def test_choices_are_recorded_with_sorted_candidates() -> None:
    """Every pick is recorded (label, chosen, sorted candidates) and exported with the seed."""
    victims = Victims(7)
    chosen = victims.pick(list(reversed(NODES)), "worker")
    assert victims.choices == [Choice("worker", chosen, tuple(NODES))]
    assert victims.to_dict() == {
        "seed": 7,
        "choices": [{"label": "worker", "chosen": chosen, "candidates": NODES}],
    }


def test_global_random_state_does_not_change_choices() -> None:
    """Other code consuming the global random generator does not disturb the replay."""
    random.seed(1)
    a = Victims(99).pick(PODS, "x")
    random.seed(2)
    random.random()
    assert Victims(99).pick(PODS, "x") == a


@dataclass(frozen=True)
class Pod:
    """A stand-in for a pod record: has a name and other fields that change between runs."""

    name: str
    uid: str


def test_objects_with_names_are_ordered_by_name() -> None:
    """Candidates with a .name are sorted by it (not by uid), and the object itself is returned."""
    by_name = Victims(5).pick(PODS, "backend pod")
    pods_run1 = [Pod(n, f"uid-{i}") for i, n in enumerate(PODS)]
    pods_run2 = [Pod(n, f"other-{9 - i}") for i, n in enumerate(reversed(PODS))]
    got1 = Victims(5).pick(pods_run1, "backend pod")
    got2 = Victims(5).pick(pods_run2, "backend pod")
    assert isinstance(got1, Pod)
    assert got1.name == got2.name == by_name


def test_no_candidates_or_a_bare_string_is_an_error() -> None:
    """Picking from nothing names the label; a string is not a list of names; names must be unique."""
    with pytest.raises(ValueError, match="'database pod'"):
        Victims(1).pick([], "database pod")
    with pytest.raises(TypeError):
        Victims(1).pick("todo-e2e-worker", "worker")
    with pytest.raises(ValueError, match="not unique"):
        Victims(1).pick([Pod("a", "1"), Pod("a", "2")], "x")


@pytest.mark.parametrize(
    ("option", "env", "seed", "source"),
    [
        ("42", {SEED_ENV: "7"}, 42, "option"),  # the explicit option wins
        (" 42 ", {}, 42, "option"),
        (None, {SEED_ENV: "7"}, 7, SEED_ENV),
        (None, {SEED_ENV: "-3"}, -3, SEED_ENV),
    ],
)
def test_seed_resolution_order(option: str | None, env: dict[str, str], seed: int, source: str) -> None:
    """Option first, then the environment variable."""
    assert resolve_seed_with_source(option, env) == (seed, source)
    assert resolve_seed(option, env) == seed


@pytest.mark.parametrize("env", [{}, {SEED_ENV: ""}, {SEED_ENV: "   "}])
def test_fresh_seed_when_none_given(env: dict[str, str]) -> None:
    """Without option or (non-blank) variable, a fresh random 32-bit seed is drawn and labelled as such."""
    draws = {resolve_seed_with_source(None, env) for _ in range(5)}
    assert all(source == "random" and 0 <= seed < 2**32 for seed, source in draws)
    assert len(draws) > 1


@pytest.mark.parametrize(("option", "env"), [("abc", {}), (None, {SEED_ENV: "1.5"}), ("", {})])
def test_bad_seeds_name_their_source(option: str | None, env: dict[str, str]) -> None:
    """A non-integer seed is refused with where it came from."""
    with pytest.raises(ValueError, match="seed from"):
        resolve_seed(option, env)
