"""Every step of every feature has exactly one definition, and every feature tag is a registered marker."""

from __future__ import annotations

import importlib
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
