"""python -m report PATH [--compare OTHER]: re-render PATH/report.html, or compare PATH against OTHER."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from report.compare import compare
from report.render import render


def _load(folder: Path) -> dict[str, Any]:
    """Read folder/results.json with a clear error when it is missing."""
    path = folder / "results.json"
    if not path.is_file():
        raise SystemExit(f"report: {path} not found: PATH must be a results folder written by the suite")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema_version") != 1:
        raise SystemExit(f"report: {path} has schema_version {data.get('schema_version')!r}; this renderer reads 1")
    return data


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit code 0 on success."""
    parser = argparse.ArgumentParser(prog="python -m report", description=__doc__)
    parser.add_argument("path", type=Path, help="a results folder (holding results.json)")
    parser.add_argument("--compare", type=Path, metavar="OTHER", help="a baseline results folder to compare with")
    args = parser.parse_args(argv)
    data = _load(args.path)
    if args.compare is not None:
        text = compare(data, _load(args.compare))
        (args.path / "compare.md").write_text(text, encoding="utf-8")
        sys.stdout.write(text)
        return 0
    out = args.path / "report.html"
    out.write_text(render(data), encoding="utf-8")
    print(f"report: wrote {out} (verdict {data.get('verdict')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
