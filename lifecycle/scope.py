"""What a run covered: the mode's full catalogue against what was selected, skipped or not applicable."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from record.model import Check, Scenario, Scope

__all__ = ["CATALOGUE", "Part", "catalogue_part", "first_line", "scenario_names", "scope_of"]


@dataclass(frozen=True)
class Part:
    """One part of the catalogue: where its tests live and what kind of record they make."""

    path: str
    kind: Literal["scenario", "smoke", "selfcheck"]
    title: str


# The full catalogue of `nox -s e2e`: every part must be selected, or the run is scoped (PARTIAL).
CATALOGUE: dict[str, Part] = {
    "smoke": Part("kit/tests/test_smoke.py", "smoke", "the kit smoke checks"),
    "scenarios": Part("tests/e2e", "scenario", "the Gherkin scenarios"),
    "selfcheck": Part("tests/selfcheck", "selfcheck", "the self-check catalogue"),
}


def catalogue_part(root: Path, path: Path) -> str | None:
    """Which catalogue part a test file belongs to, or None for unit and app tests."""
    for key, part in CATALOGUE.items():
        base = root / part.path
        if path == base or base in path.parents:
            return key
    return None


def scenario_names(item: Any) -> tuple[str, str]:
    """The feature's and the scenario's own names of a pytest item, from pytest-bdd's scenario template (registered for
    the test function), so that an item which failed before pytest-bdd's first hook is still named as the user wrote
    it; the file and test name when the item is no scenario."""
    from pytest_bdd.scenario import scenario_wrapper_template_registry  # what pytest-bdd's own generation reads

    obj = getattr(item, "obj", None)
    template = scenario_wrapper_template_registry.get(obj) if obj is not None else None
    feature = getattr(getattr(template, "feature", None), "name", None)
    name = getattr(template, "name", None)
    if feature and name:
        return str(feature), str(name)
    return str(item.nodeid).split("::")[0], str(item.name)


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, at most 500 characters."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0][:500] if lines else "(no message)"


def scope_of(
    root: Path,
    *,
    collected: Iterable[str],
    deselected: Iterable[str],
    scenarios: Iterable[Scenario],
    checks: Iterable[Check],
    staging: bool,
    selection: Mapping[str, str],
) -> Scope:
    """Complete only if every part was collected and nothing was deselected or skipped.

    A scenario that needs a promise the profile does not make (not applicable) is listed apart: the run can still
    be complete for what the target promises, and the verdict names every such scenario.
    """
    collected = list(collected)
    gone = set(deselected)
    not_run = [f"{nodeid}: left out by the selection (-m/-k)" for nodeid in collected if nodeid in gone]
    for key, part in CATALOGUE.items():
        prefix = part.path
        if not any(n.startswith(prefix) for n in collected):
            not_run.append(f"{part.title}: not in this run ({part.path} was not given to pytest)")
        del key
    scenario_list = list(scenarios)
    not_applicable = []
    for s in scenario_list:
        if s.outcome == "skipped":
            not_run.append(f"{s.scenario}: skipped: {s.reason or 'no reason given'}")
        elif s.outcome == "not_applicable":
            # A not-applicable reason already starts with its word (support.applicability); say it once.
            reason = (s.reason or "no reason given").removeprefix("not applicable: ")
            not_applicable.append(f"{s.scenario}: not applicable: {reason}")
    for c in checks:
        if c.outcome == "skipped":
            not_run.append(f"{c.kind} check {c.name}: skipped: {c.detail or 'no reason given'}")
    if staging:
        not_run.append("staging mode: the suite's own cluster was not used (node faults and kind-only checks)")
    ran = sum(1 for s in scenario_list if s.outcome in ("passed", "failed"))
    ran += sum(1 for c in checks if c.outcome in ("passed", "failed") and c.kind != "teardown")
    return Scope(
        mode="staging" if staging else "kind",
        complete=not not_run,
        catalogue=len(collected),
        ran=ran,
        not_run=not_run,
        not_applicable=not_applicable,
        selection={k: str(v) for k, v in selection.items() if v},
    )
