"""The one nearest-rank percentile and the n/p50/p95/max summary every figure in the results uses."""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["percentile", "summarize"]


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100) by nearest rank, always an observed value; None when there are no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q!r}")
    ordered = sorted(values)
    if not ordered:
        return None
    # q * n / 100 rather than q / 100 * n: for whole q the product is exact, so a rank never gains a sample to
    # rounding (95 / 100 * n can land a hair above a whole number and ceil would round it up).
    rank = max(1, math.ceil(q * len(ordered) / 100))
    return ordered[rank - 1]


def summarize(values: Iterable[float]) -> dict[str, float | int | None]:
    """n, p50, p95 and max of values (nearest rank); the statistics are None when there are no values."""
    vals = list(values)
    return {
        "n": len(vals),
        "p50": percentile(vals, 50),
        "p95": percentile(vals, 95),
        "max": max(vals) if vals else None,
    }
