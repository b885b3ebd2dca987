"""Offline structural validation of rendered objects against the official Kubernetes client's models."""

from __future__ import annotations

import re
from typing import Any

from kubernetes.client import models

__all__ = ["model_for", "schema_problems"]

# Quantities are strings in the API's Go types but the API server also accepts bare YAML numbers there.
_QUANTITY_MAPS = {"limits", "requests", "capacity"}
# The client spells containers both ways across versions: List[X] / list[X], Dict[str, X] / dict(str, X).
_LIST = re.compile(r"^[Ll]ist\[(.+)\]$")
_DICT = re.compile(r"^(?:[Dd]ict\[str, (.+)\]|dict\(str, (.+)\))$")


def model_for(obj: dict[str, Any]) -> str:
    """The client model name for an object's apiVersion and kind, e.g. apps/v1 Deployment -> V1Deployment."""
    version = str(obj.get("apiVersion", "")).rsplit("/", 1)[-1]
    name = f"{version[:1].upper()}{version[1:]}{obj.get('kind', '')}"
    if not hasattr(models, name):
        raise LookupError(f"no Kubernetes client model {name} for {obj.get('apiVersion')} {obj.get('kind')}")
    return name


def _scalar_problem(value: Any, type_name: str, path: str, parent: str) -> str | None:
    """A message if a scalar does not have the field's type (bool is not an int here, as in Go)."""
    if type_name == "object":
        return None  # int-or-string and free-form fields
    if type_name == "str":
        if isinstance(value, str) or (parent in _QUANTITY_MAPS and isinstance(value, int | float)):
            return None
    elif type_name == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return None
    elif type_name == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return None
    elif type_name == "bool":
        if isinstance(value, bool):
            return None
    elif type_name in ("datetime", "bytes"):  # both travel as strings (bytes base64-encoded)
        if isinstance(value, str):
            return None
    else:
        return f"{path}: unknown type {type_name}"
    return f"{path}: expected {type_name}, got {type(value).__name__} {value!r}"


def schema_problems(value: Any, type_name: str, path: str = "", parent: str = "") -> list[str]:
    """Every unknown field and wrongly typed value under `value`, checked as `type_name`."""
    if value is None:
        return []
    if match := _LIST.match(type_name):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [p for i, item in enumerate(value) for p in schema_problems(item, match[1], f"{path}[{i}]", parent)]
    if match := _DICT.match(type_name):
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        inner = match[1] or match[2]
        last = path.rsplit(".", 1)[-1]
        return [p for k, v in value.items() for p in schema_problems(v, inner, f"{path}.{k}", last)]
    model = getattr(models, type_name, None)
    if model is None:
        problem = _scalar_problem(value, type_name, path, parent)
        return [problem] if problem else []
    if not isinstance(value, dict):
        return [f"{path}: expected an object ({type_name}), got {type(value).__name__}"]
    attribute_of = {json_key: attr for attr, json_key in model.attribute_map.items()}
    found: list[str] = []
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in attribute_of:
            found.append(f"{where}: unknown field in {type_name}")
            continue
        found.extend(schema_problems(item, model.openapi_types[attribute_of[key]], where, key))
    return found
