"""Offline schema check: every field of every rendered object exists in the Kubernetes API types."""

from __future__ import annotations

from typing import Any

from .facts import containers, find
from .schema import model_for, schema_problems
from .variants import fresh

Obj = dict[str, Any]


def test_every_object_matches_the_api_types(objects: list[Obj]) -> None:
    """No unknown (misspelt or misplaced) field and no wrongly typed value anywhere."""
    problems = [f"{o['kind']}/{o['metadata']['name']}: {p}" for o in objects for p in schema_problems(o, model_for(o))]
    assert problems == []


def test_a_misspelt_field_and_a_numeric_env_value_are_reported() -> None:
    """The schema check itself catches the mistakes the API server would reject or silently drop."""
    workload = find(fresh("base"), "Deployment", "todo-backend")
    (container,) = containers(workload)
    container["readinessprobe"] = container.pop("readinessProbe")
    (db_port,) = [e for e in container["env"] if e["name"] == "DB_PORT"]
    db_port["value"] = 3306
    problems = schema_problems(workload, model_for(workload))
    assert sorted(problems) == [
        "spec.template.spec.containers[0].env[2].value: expected str, got int 3306",
        "spec.template.spec.containers[0].readinessprobe: unknown field in V1Container",
    ]
