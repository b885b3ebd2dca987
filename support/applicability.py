"""Which scenarios apply to a profile: a scenario tagged @needs_<promise> needs the profile to make that promise.

The tag vocabulary is closed: one `needs_<name>` tag per promise of support.profile.PROMISES (see docs/profiles.md).
A tag naming an unknown promise is an error, never a silent pass or a silent skip. A scenario whose needs are not
all met is reported "not applicable" with the reason this module words.
"""

from __future__ import annotations

from collections.abc import Iterable

from support.profile import PROMISES, Profile

__all__ = [
    "NEEDS_PREFIX",
    "UnknownPromise",
    "marker_descriptions",
    "missing_promises",
    "needs_of",
    "not_applicable_reason",
]

NEEDS_PREFIX = "needs_"


class UnknownPromise(ValueError):
    """A scenario or a caller names a promise outside the vocabulary."""

    def __init__(self, names: list[str], where: str) -> None:
        super().__init__(
            f"{where}: unknown promise(s) {', '.join(names)}; the promises are {', '.join(sorted(PROMISES))}"
        )
        self.names = names


def _checked(names: Iterable[str], where: str) -> list[str]:
    """The names, deduplicated in order, after checking each is a promise."""
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in PROMISES]
    if unknown:
        raise UnknownPromise(unknown, where)
    return wanted


def needs_of(tags: Iterable[str]) -> list[str]:
    """The promises a scenario's tags ask for ('@needs_rename' or 'needs_rename' -> 'rename'); other tags ignored."""
    names = [tag.lstrip("@") for tag in tags]
    needed = [name[len(NEEDS_PREFIX) :] for name in names if name.startswith(NEEDS_PREFIX)]
    return _checked(needed, "scenario tags")


def missing_promises(profile: Profile, required: Iterable[str]) -> list[str]:
    """The required promises the profile does not make, in the order required."""
    wanted = _checked(required, f"required by a scenario of profile {profile.name!r}")
    made = profile.promises.made()
    return [name for name in wanted if name not in made]


def not_applicable_reason(profile: Profile, scenario_tags: Iterable[str]) -> str | None:
    """Why the scenario does not apply to the profile, or None when it does."""
    missing = missing_promises(profile, needs_of(scenario_tags))
    if not missing:
        return None
    what = "; ".join(f"{name} ({PROMISES[name].rstrip('.')})" for name in missing)
    noun = "promise" if len(missing) == 1 else "promises"
    return f"not applicable: profile {profile.name!r} does not make the {noun} {what}"


def marker_descriptions() -> dict[str, str]:
    """Every needs_<promise> tag with a one-line description, to register as strict pytest markers."""
    return {f"{NEEDS_PREFIX}{name}": f"needs the promise {name!r}: {text}" for name, text in sorted(PROMISES.items())}
