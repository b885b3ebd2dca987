"""Read results.json into the typed record, refusing what this reader does not understand."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from record.model import SCHEMA_VERSION, Run

__all__ = ["ResultsReadError", "as_run", "read_folder"]


class ResultsReadError(ValueError):
    """results.json is missing, unreadable, of another schema version, or does not match the model."""


def as_run(data: Run | Mapping[str, Any], source: str = "results.json") -> Run:
    """A Run as it is, or a results.json document validated into one (schema 2 only)."""
    if isinstance(data, Run):
        return data
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        older = isinstance(version, int) and version < SCHEMA_VERSION
        why = "it was written by an older suite" if older else "this reader does not know that version"
        raise ResultsReadError(
            f"{source} has schema_version {version!r}; this reader reads {SCHEMA_VERSION} only ({why}); "
            "re-run the suite, or read it with the suite's commit that wrote it"
        )
    try:
        return Run.model_validate(dict(data))
    except ValidationError as exc:
        raise ResultsReadError(f"{source} does not match the schema {SCHEMA_VERSION} model: {exc}") from exc


def read_folder(folder: Path) -> Run:
    """folder/results.json as a Run, with errors that say which file and why."""
    path = folder / "results.json"
    if not path.is_file():
        raise ResultsReadError(f"{path} not found: PATH must be a results folder written by the suite")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsReadError(f"{path} is unreadable: {type(exc).__name__}: {exc}") from exc
    if not isinstance(data, dict):
        raise ResultsReadError(f"{path} is not a JSON object")
    return as_run(data, str(path))
