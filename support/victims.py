"""Seeded, replayable choice of fault victims; the seed is printed at the start so any run can be repeated."""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol, TypeVar, overload

__all__ = ["SEED_ENV", "Choice", "Named", "Victims", "resolve_seed", "resolve_seed_with_source"]

SEED_ENV = "TODO_E2E_SEED"

# Seeds stay within 32 bits so they are easy to read out and type back in.
_SEED_BITS = 32


class Named(Protocol):
    """Anything with a name (a pod, a node) can be a candidate; the name decides its place in the order."""

    @property
    def name(self) -> str:
        """The candidate's stable name."""
        ...


N = TypeVar("N", bound=Named)


class Choice(NamedTuple):
    """One recorded pick: what for, which one, and among which (sorted) candidates."""

    label: str
    chosen: str
    candidates: tuple[str, ...]


class Victims:
    """A chooser driven by one seed: the same seed and the same candidates give the same victims."""

    def __init__(self, seed: int) -> None:
        """Seed a private random generator (never the global one, which other code may consume)."""
        self.seed = seed
        self._rng = random.Random(seed)
        self.choices: list[Choice] = []

    @overload
    def pick(self, candidates: Sequence[str], label: str) -> str: ...

    @overload
    def pick(self, candidates: Sequence[N], label: str) -> N: ...

    def pick(self, candidates: Sequence[Any], label: str) -> Any:
        """Choose one candidate (a name, or an object with .name) from the candidates sorted by name."""
        if isinstance(candidates, str):
            raise TypeError("candidates must be a sequence of names, not one string")
        if not candidates:
            raise ValueError(f"no candidates to pick a {label!r} victim from")
        # Sorting by name makes the choice independent of the order the API happened to list them in.
        by_name = {c if isinstance(c, str) else c.name: c for c in candidates}
        if len(by_name) != len(candidates):
            raise ValueError(f"candidate names for {label!r} are not unique: {sorted(by_name)}")
        ordered = tuple(sorted(by_name))
        chosen = self._rng.choice(ordered)
        self.choices.append(Choice(label, chosen, ordered))
        return by_name[chosen]

    def to_dict(self) -> dict[str, Any]:
        """Return the seed and every choice made, for the results."""
        choices = [{"label": c.label, "chosen": c.chosen, "candidates": list(c.candidates)} for c in self.choices]
        return {"seed": self.seed, "choices": choices}


def _parse_seed(text: str, source: str) -> int:
    """Parse a seed, naming its source when it is not an integer."""
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"seed from {source} must be an integer, got {text!r}") from None


def resolve_seed_with_source(option: str | None, env: Mapping[str, str]) -> tuple[int, str]:
    """Return the seed and where it came from: the explicit option, then $TODO_E2E_SEED, else a fresh one."""
    if option is not None:
        return _parse_seed(option, "the seed option"), "option"
    from_env = env.get(SEED_ENV, "")
    if from_env.strip():
        return _parse_seed(from_env, f"${SEED_ENV}"), SEED_ENV
    return secrets.randbits(_SEED_BITS), "random"


def resolve_seed(option: str | None, env: Mapping[str, str]) -> int:
    """Return the seed: the explicit option, then $TODO_E2E_SEED (if not blank), else a fresh random one."""
    return resolve_seed_with_source(option, env)[0]
