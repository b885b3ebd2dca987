"""The JSON Schema of results.json, generated from the typed records: `python -m record.schema [--check]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from record.model import Run

__all__ = ["SCHEMA_PATH", "schema_text"]

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "results-schema.json"


def schema_text() -> str:
    """The schema as committed: stable key order, trailing newline."""
    return json.dumps(Run.model_json_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    """Write the schema, or with --check exit 1 when the committed file is stale."""
    text = schema_text()
    if "--check" in argv:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.is_file() else ""
        if current != text:
            print(f"{SCHEMA_PATH} is stale: run `python -m record.schema`", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(SCHEMA_PATH)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
