"""The todo_chaos probes and actions are discoverable: __all__, docstrings and type hints are all there."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

import chaos.todo_chaos as todo_chaos
from chaos.todo_chaos import actions, probes

MODULES = [probes, actions]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_module_exports_documented_typed_functions(module: ModuleType) -> None:
    """Every exported name is a function with a docstring and a hint on each parameter and the return."""
    assert module.__all__, f"{module.__name__} exports nothing"
    assert module.__doc__
    for name in module.__all__:
        func = getattr(module, name)
        assert inspect.isfunction(func), name
        assert inspect.getdoc(func), f"{name} has no docstring"
        sig = inspect.signature(func)
        assert sig.return_annotation is not inspect.Signature.empty, f"{name} has no return type"
        for param in sig.parameters.values():
            assert param.annotation is not inspect.Parameter.empty, f"{name}({param.name}) has no type"
            # String annotations (from __future__) would show as "object" in discovery.
            assert not isinstance(param.annotation, str), f"{name}({param.name}) annotation is a string"


def test_probes_and_actions_are_kept_apart() -> None:
    """Probes observe, actions change: no name is both."""
    assert not set(probes.__all__) & set(actions.__all__)


def test_discovery_lists_every_activity_with_types() -> None:
    """chaoslib discovery (what `chaos discover` prints) reports each function with its types."""
    discovered = todo_chaos.discover(discover_system=False)["activities"]
    by_name = {a["name"]: a for a in discovered}
    assert {a["name"] for a in discovered if a["type"] == "probe"} == set(probes.__all__)
    assert {a["name"] for a in discovered if a["type"] == "action"} == set(actions.__all__)
    assert all(by_name[name]["return_type"] == "boolean" for name in probes.__all__)
    args = {arg["name"]: arg for arg in by_name["all_tiers_ready"]["arguments"]}
    # Empty: the namespace of the profile named by `profile` (the reference app's when none is named).
    assert args["namespace"] == {"name": "namespace", "default": "", "type": "string"}
    assert args["profile"] == {"name": "profile", "default": "", "type": "string"}
    assert args["within_s"]["type"] == "number"
    assert by_name["ensure_replicas"]["return_type"] == "integer"
