"""python -m report PATH [--compare OTHER] [--history DIR [--history-size N] [--remember]].

Re-renders PATH/report.html from PATH/results.json; with --compare writes PATH/compare.md against a baseline folder;
with --history shows the trend over the last N earlier runs in DIR and warns about regressions (never fails on them);
--remember then adds this run to DIR and keeps only the newest N there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from report.compare import compare
from report.history import DEFAULT_LIMIT, History, load_history, regressions, remember
from report.load import ResultsReadError, read_folder
from report.render import render


def main(argv: list[str] | None = None) -> int:
    """Entry point; 0 on success, 2 when a results folder cannot be read."""
    parser = argparse.ArgumentParser(prog="python -m report", description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="a results folder (holding results.json)")
    parser.add_argument("--compare", type=Path, metavar="OTHER", help="a baseline results folder to compare with")
    parser.add_argument(
        "--history",
        type=Path,
        metavar="DIR",
        help="earlier runs: DIR/*.json (copies of results.json) or DIR/<run>/results.json",
    )
    parser.add_argument(
        "--history-size", type=int, default=DEFAULT_LIMIT, metavar="N", help=f"runs kept (default {DEFAULT_LIMIT})"
    )
    parser.add_argument("--remember", action="store_true", help="after rendering, add this run to --history DIR")
    args = parser.parse_args(argv)
    if args.remember and args.history is None:
        parser.error("--remember needs --history DIR")
    if args.history_size < 1:
        parser.error("--history-size must be at least 1")
    try:
        run = read_folder(args.path)
        if args.compare is not None:
            text = compare(run, read_folder(args.compare))
            (args.path / "compare.md").write_text(text, encoding="utf-8")
            sys.stdout.write(text)
            return 0
    except ResultsReadError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    history: History | None = None
    if args.history is not None:
        history = load_history(args.history, args.history_size, exclude_run_id=run.run_id)
        for line in regressions(history.runs, run):
            print(line)
    out = args.path / "report.html"
    out.write_text(render(run, history=history), encoding="utf-8")
    print(f"report: wrote {out} (verdict {run.verdict}, exit code {run.exit_code})")
    if args.remember and args.history is not None:
        print(f"report: remembered as {remember(args.path, args.history, args.history_size)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
