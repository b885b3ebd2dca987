"""The benchmark's figures: raw values, their statistics, targets and MET / MISSED verdicts (pure)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from common.stats import percentile

__all__ = [
    "MET",
    "MISSED",
    "NOT_MEASURED",
    "Figure",
    "Target",
    "ratio",
    "stats_of",
]

MET = "MET"
MISSED = "MISSED"
NOT_MEASURED = "NOT MEASURED"
Op = Literal["<=", ">="]


@dataclass(frozen=True)
class Target:
    """A goal for one statistic of a figure, e.g. p50 <= 2 s or ratio >= 8."""

    stat: str
    op: Op
    value: float

    def verdict(self, measured: float | None) -> str:
        """MET or MISSED for a measured value; NOT MEASURED when there is none."""
        if measured is None:
            return NOT_MEASURED
        ok = measured <= self.value if self.op == "<=" else measured >= self.value
        return MET if ok else MISSED

    def text(self, unit: str) -> str:
        """The target as people read it: 'p50 <= 2 s'."""
        return f"{self.stat} {self.op} {self.value:g}{(' ' + unit) if unit else ''}"


def stats_of(values: Sequence[float]) -> dict[str, float]:
    """n-independent statistics of raw values: median, p50/p95 (nearest rank), min and max."""
    p50, p95 = percentile(values, 50), percentile(values, 95)
    if p50 is None or p95 is None:  # no values
        return {}
    return {
        "median": float(statistics.median(values)),
        "p50": p50,
        "p95": p95,
        "min": float(min(values)),
        "max": float(max(values)),
    }


@dataclass
class Figure:
    """One reported number (or distribution) with its unit, sample count, targets and provenance."""

    id: str
    group: str
    label: str
    unit: str
    headline: str = "median"  # the statistic shown first: median, p50, value, peak, ...
    values: list[float] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)
    n: int = 0
    targets: list[Target] = field(default_factory=list)
    note: str = ""
    reason: str = ""  # why it was not measured (empty when it was)
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_values(
        cls,
        id: str,
        group: str,
        label: str,
        unit: str,
        values: Sequence[float],
        *,
        headline: str = "median",
        targets: Sequence[Target] = (),
        note: str = "",
        detail: dict[str, Any] | None = None,
    ) -> Figure:
        """A figure whose statistics are computed from its raw values."""
        vals = [float(v) for v in values]
        # No value means every attempt failed; the run's errors say how.
        reason = "" if vals else "no successful measurement (see errors)"
        return cls(
            id,
            group,
            label,
            unit,
            headline,
            vals,
            stats_of(vals),
            len(vals),
            list(targets),
            note,
            reason,
            dict(detail or {}),
        )

    @classmethod
    def from_stats(
        cls,
        id: str,
        group: str,
        label: str,
        unit: str,
        stats: dict[str, float],
        n: int,
        *,
        headline: str,
        targets: Sequence[Target] = (),
        note: str = "",
        detail: dict[str, Any] | None = None,
    ) -> Figure:
        """A figure whose statistics come ready-made (a ratio, a peak, another tool's percentiles)."""
        return cls(id, group, label, unit, headline, [], dict(stats), n, list(targets), note, "", dict(detail or {}))

    @classmethod
    def missing(
        cls, id: str, group: str, label: str, unit: str, reason: str, *, targets: Sequence[Target] = ()
    ) -> Figure:
        """A figure that was not measured in this run, and why."""
        return cls(id, group, label, unit, reason=reason, targets=list(targets))

    @property
    def measured(self) -> bool:
        """Whether the figure holds a value."""
        return self.headline in self.stats

    @property
    def value(self) -> float | None:
        """The headline statistic, or None when not measured."""
        return self.stats.get(self.headline)

    def verdicts(self) -> list[tuple[Target, float | None, str]]:
        """Each target with the measured statistic it applies to and its verdict."""
        return [(t, self.stats.get(t.stat), t.verdict(self.stats.get(t.stat))) for t in self.targets]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (units explicit, raw values kept, every target with its verdict)."""
        return {
            "id": self.id,
            "group": self.group,
            "label": self.label,
            "unit": self.unit,
            "n": self.n,
            "headline": self.headline,
            "value": _round(self.value),
            "stats": {k: _round(v) for k, v in self.stats.items()},
            "values": [_round(v) for v in self.values],
            "targets": [
                {"stat": t.stat, "op": t.op, "value": t.value, "measured": _round(m), "verdict": verdict}
                for t, m, verdict in self.verdicts()
            ],
            "note": self.note,
            "not_measured_reason": self.reason or None,
            "detail": self.detail,
        }


def _round(value: float | None) -> float | None:
    """Four decimals are plenty for seconds, percent and ratios."""
    return None if value is None else round(float(value), 4)


def ratio(
    id: str,
    group: str,
    label: str,
    numerator: Figure,
    denominator: Figure,
    *,
    targets: Sequence[Target] = (),
    note: str = "",
) -> Figure:
    """numerator / denominator of the two figures' headline statistics, side by side from the same run."""
    top, bottom = numerator.value, denominator.value
    if top is None or bottom is None or bottom <= 0:
        missing = [f.id for f in (numerator, denominator) if f.value is None]
        reason = f"needs {' and '.join(missing)}" if missing else f"{denominator.id} is {bottom}"
        return Figure.missing(id, group, label, "x", reason, targets=targets)
    return Figure.from_stats(
        id,
        group,
        label,
        "x",
        {"value": top / bottom},
        min(numerator.n, denominator.n),
        headline="value",
        targets=targets,
        note=note or f"{numerator.headline}({numerator.id}) / {denominator.headline}({denominator.id})",
        detail={"numerator": numerator.id, "denominator": denominator.id},
    )
