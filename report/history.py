"""The nightly history: earlier runs' results.json, the trend of recovery p95 and availability, and regressions.

A regression is a WARNING shown in the report (and printed by the CLI); it never changes the run's verdict or its
exit code: the verdict is decided from the run's own records when the run ends (record.verdict), and history is
noisy on shared runners, so it informs a person rather than failing a build.
"""

from __future__ import annotations

import json
import shutil
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from record.model import Run
from report.load import ResultsReadError, as_run, read_folder

__all__ = [
    "DEFAULT_LIMIT",
    "History",
    "Tolerance",
    "Trend",
    "availability_by_fault",
    "load_history",
    "recovery_p95",
    "regressions",
    "remember",
    "trends",
]

DEFAULT_LIMIT = 14


@dataclass(frozen=True)
class Tolerance:
    """How much worse than the history's median a figure may be before it is flagged."""

    recovery_ratio: float = 0.5  # recovery p95 more than 50 % above the median ...
    recovery_s: float = 1.0  # ... and more than 1 s above it (both: small numbers jitter by ratio)
    availability_points: float = 1.0  # availability more than 1 percentage point below the median
    min_history: int = 3  # fewer earlier runs than this: a median says too little to flag anything

    def describe(self) -> str:
        """The tolerance as the report states it."""
        return (
            f"recovery p95 more than {self.recovery_ratio * 100:g} % and {self.recovery_s:g} s above the median "
            f"of earlier runs; availability more than {self.availability_points:g} point(s) below it; "
            f"at least {self.min_history} earlier run(s) with the figure"
        )


def recovery_p95(run: Run) -> dict[str, float]:
    """Recovery p95 per 'fault (tier)' of one run."""
    return {f"{r.fault} ({r.tier})": r.p95 for r in run.recovery_summary if r.p95 is not None}


def availability_by_fault(run: Run) -> dict[str, float]:
    """The worst availability (share of requests that succeeded) per fault over the run's windows."""
    out: dict[str, float] = {}
    for w in run.availability.windows:
        if w.availability_pct is not None:
            out[w.fault] = min(out.get(w.fault, 100.0), w.availability_pct)
    return out


@dataclass
class Trend:
    """One figure over the history and in this run."""

    metric: str  # "recovery p95" or "availability"
    key: str
    unit: str
    values: list[float | None]  # one per history run, oldest first
    current: float | None
    median: float | None
    regressed: bool


def _median(values: Sequence[float | None]) -> float | None:
    """Median of the known values, or None."""
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def trends(history: Sequence[Run], current: Run, tolerance: Tolerance | None = None) -> list[Trend]:
    """Recovery p95 per fault and tier, then availability per fault, over the history and this run."""
    tol = tolerance or Tolerance()
    out: list[Trend] = []
    for metric, unit, extract in (("recovery p95", "s", recovery_p95), ("availability", "%", availability_by_fault)):
        past = [extract(r) for r in history]
        now = extract(current)
        for key in sorted({k for p in past for k in p} | set(now)):
            values = [p.get(key) for p in past]
            known = [v for v in values if v is not None]
            med = _median(values)
            cur = now.get(key)
            regressed = (
                cur is not None and med is not None and len(known) >= tol.min_history and _worse(metric, cur, med, tol)
            )
            out.append(Trend(metric, key, unit, values, cur, med, regressed))
    return out


def _worse(metric: str, current: float, median: float, tol: Tolerance) -> bool:
    """Whether current is beyond the tolerance from the median, in the bad direction."""
    if metric == "recovery p95":
        return current > median * (1 + tol.recovery_ratio) and current > median + tol.recovery_s
    return current < median - tol.availability_points


def regressions(history: Sequence[Run], current: Run, tolerance: Tolerance | None = None) -> list[str]:
    """A WARNING line for each figure of this run beyond the tolerance from the history's median."""
    out = []
    for t in trends(history, current, tolerance):
        if not t.regressed or t.current is None or t.median is None:
            continue
        n = sum(1 for v in t.values if v is not None)
        if t.metric == "recovery p95":
            out.append(
                f"WARNING: recovery p95 regressed: {t.key} took {t.current:.2f} s against a median of "
                f"{t.median:.2f} s over the last {n} run(s)"
            )
        else:
            out.append(
                f"WARNING: availability regressed: {t.key} was {t.current:.2f} % against a median of "
                f"{t.median:.2f} % over the last {n} run(s)"
            )
    return out


@dataclass
class History:
    """The earlier runs read from a history folder, oldest first, and what could not be read."""

    runs: list[Run] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    source: str = ""


def _candidates(folder: Path) -> list[Path]:
    """History files (DIR/<name>.json) and results folders (DIR/<run>/results.json), by name."""
    files = [p for p in folder.glob("*.json") if p.is_file()]
    files += [p for p in folder.glob("*/results.json") if p.is_file()]
    # Names start with the run's UTC timestamp (folder names, and remember() keeps them), so name order is time order.
    return sorted(files, key=lambda p: p.name if p.name != "results.json" else p.parent.name)


def load_history(folder: Path, limit: int = DEFAULT_LIMIT, exclude_run_id: str | None = None) -> History:
    """The last `limit` readable runs in folder (this run excluded), oldest first."""
    hist = History(source=str(folder))
    if not folder.is_dir():
        hist.skipped.append(f"{folder}: no such folder (no history yet)")
        return hist
    # Bounded: only the newest few times `limit` files are read, however large the folder grew.
    for path in _candidates(folder)[-4 * max(limit, 1) :]:
        try:
            run = read_folder(path.parent) if path.name == "results.json" else _read_file(path)
        except ResultsReadError as exc:
            hist.skipped.append(str(exc).splitlines()[0])
            continue
        if run.run_id != exclude_run_id:
            hist.runs.append(run)
    hist.runs.sort(key=lambda r: r.started_at)
    hist.runs = hist.runs[-limit:] if limit > 0 else []
    return hist


def _read_file(path: Path) -> Run:
    """One history file (a copy of a results.json)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsReadError(f"{path} is unreadable: {type(exc).__name__}: {exc}") from exc
    if not isinstance(data, dict):
        raise ResultsReadError(f"{path} is not a JSON object")
    return as_run(data, str(path))


def remember(run_folder: Path, folder: Path, limit: int = DEFAULT_LIMIT) -> Path:
    """Copy run_folder/results.json into the history as <run folder name>.json; keep only the newest `limit`."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{run_folder.resolve().name}.json"
    shutil.copyfile(run_folder / "results.json", target)
    kept = sorted(p for p in folder.glob("*.json") if p.is_file())
    for old in kept[: max(len(kept) - limit, 0)]:
        old.unlink()
    return target
