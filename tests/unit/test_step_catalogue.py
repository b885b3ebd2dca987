"""Every step of every feature has exactly one definition, and every feature tag is a registered marker."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd.parser import FeatureParser, Scenario

FEATURES = Path(__file__).resolve().parents[2] / "features"
PREFIX = "pytestbdd_stepdef_"


def _step_modules() -> list[str]:
    """The root conftest's pytest_plugins, read from the file (several modules named `conftest` are loaded)."""
    import ast

    tree = ast.parse((Path(__file__).resolve().parents[2] / "conftest.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytest_plugins" for t in node.targets):
            return [ast.literal_eval(e) for e in node.value.elts]  # type: ignore[attr-defined]
    raise AssertionError("conftest.py defines no pytest_plugins")


def _definitions() -> list[tuple[str, Any, str]]:
    """(module, step context, parser name) for every step definition of the registered step modules."""
    found = []
    for module_name in _step_modules():
        module = importlib.import_module(module_name)
        for attr in dir(module):
            if attr.startswith(PREFIX):
                context = getattr(module, attr)._get_wrapped_function()()
                found.append((module_name, context, context.parser.name))
    return found


def _scenarios() -> list[tuple[str, Scenario]]:
    """Every scenario of every feature file, outlines rendered once per example row."""
    rendered = []
    for path in sorted(FEATURES.rglob("*.feature")):
        feature = FeatureParser(str(FEATURES), str(path.relative_to(FEATURES))).parse()
        for template in feature.scenarios.values():
            contexts = [c for ex in template.examples for c in ex.as_contexts()] if template.templated else [{}]
            rendered += [(str(path.relative_to(FEATURES)), template.render(ctx)) for ctx in contexts]
    return rendered


def test_features_exist_for_every_domain() -> None:
    """The eight domains of the suite each have a feature file."""
    domains = {p.parent.name for p in FEATURES.rglob("*.feature")}
    assert domains == {
        "deployment",
        "todos",
        "browser",
        "pod_loss",
        "node_loss",
        "durability",
        "availability",
        "experiments",
        "network",
        "pressure",
        "upgrades",
    }


def test_every_step_has_exactly_one_definition() -> None:
    """No step is missing and none is ambiguous (two definitions matching the same text)."""
    definitions = _definitions()
    problems = []
    for path, scenario in _scenarios():
        for step in scenario.steps:
            matches = [
                (module, name)
                for module, ctx, name in definitions
                if ctx.type in (step.type, None) and ctx.parser.is_matching(step.name)
            ]
            if len(matches) != 1:
                problems.append(f"{path}: {step.type} {step.name!r} -> {matches or 'no definition'}")
    assert not problems, "\n".join(problems)


def test_every_definition_is_used() -> None:
    """No dead step definitions."""
    texts = [(step.type, step.name) for _, scenario in _scenarios() for step in scenario.steps]
    unused = [
        f"{module}: {name}"
        for module, ctx, name in _definitions()
        if not any(ctx.type in (t, None) and ctx.parser.is_matching(n) for t, n in texts)
    ]
    assert not unused, "\n".join(unused)


def test_background_holds_only_given_steps() -> None:
    """STYLE: only Given steps in a Background."""
    for path in sorted(FEATURES.rglob("*.feature")):
        feature = FeatureParser(str(FEATURES), str(path.relative_to(FEATURES))).parse()
        for template in feature.scenarios.values():
            kinds = {step.type for step in template.all_background_steps}
            assert kinds <= {"given"}, f"{path}: background has {kinds}"


def test_every_tag_is_a_registered_marker(pytestconfig: pytest.Config) -> None:
    """Tags become markers; with --strict-markers an unregistered one would fail the run."""
    registered = {line.split(":")[0].strip() for line in pytestconfig.getini("markers")}
    tags = {tag for _, scenario in _scenarios() for tag in scenario.tags}
    tags |= {
        tag
        for path in FEATURES.rglob("*.feature")
        for tag in FeatureParser(str(FEATURES), str(path.relative_to(FEATURES))).parse().tags
    }
    assert tags and tags <= registered, f"unregistered tags: {sorted(tags - registered)}"


def test_features_speak_the_users_language() -> None:
    """No selectors, YAML, HTTP status codes or kubectl in the feature text."""
    forbidden = ("kubectl", "yaml", "selector", "status code", "http", "json", "docker", "api/")
    for path in FEATURES.rglob("*.feature"):
        text = path.read_text().lower()
        hits = [word for word in forbidden if word.lower() in text]
        assert not hits, f"{path}: {hits}"


# The budget helpers (support.budgets), and the rollout steps' one timing helper (it calls recovery_within).
BUDGET_HELPERS = {"recovery_within", "within", "enforce", "enforce_window", "timed", "_timed"}


def _budget_steps() -> list[tuple[str, str, set[str]]]:
    """(module, step pattern, names called) of every step whose text states a time or percentage budget."""
    found = []
    for path in sorted((Path(__file__).resolve().parents[2] / "steps").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            patterns = [
                c.value
                for d in node.decorator_list
                for c in ast.walk(d)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            ]
            # A budget: "within N seconds", "at least N percent", "longer than N seconds" (not a fault's duration).
            budgeted = [p for p in patterns if re.search(r"within|at least|at most|longer than", p)]
            if not budgeted:
                continue
            called = {
                n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
                for n in ast.walk(node)
                if isinstance(n, ast.Call)
            }
            found += [(path.stem, p, called) for p in budgeted]
    return found


def test_every_budget_in_a_step_text_is_enforced_and_recorded() -> None:
    """A step whose text states seconds or a percentage calls a budget helper (which records, then enforces)."""
    steps = _budget_steps()
    assert len(steps) >= 10, f"expected the budget-bearing steps, found {steps}"
    unchecked = [f"{module}: {pattern!r}" for module, pattern, called in steps if not called & BUDGET_HELPERS]
    assert not unchecked, "budgets stated but not recorded/enforced:\n" + "\n".join(unchecked)
