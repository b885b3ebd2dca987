"""The one nearest-rank percentile and summary (common.stats), as support.traffic re-exports them."""

from __future__ import annotations

import pytest

from common.stats import percentile, summarize
from support import traffic


@pytest.mark.parametrize(("q", "expected"), [(0, 15), (5, 15), (30, 20), (40, 20), (50, 35), (95, 50), (100, 50)])
def test_nearest_rank_percentile(q: float, expected: float) -> None:
    """The textbook nearest-rank example (15, 20, 35, 40, 50), given unsorted."""
    assert percentile([40, 15, 50, 35, 20], q) == expected


def test_no_values_give_none_and_q_outside_0_100_is_an_error() -> None:
    """Nothing measured is None, not a number; a nonsense q is an error, not a silent number."""
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    with pytest.raises(ValueError):
        percentile([], -1)


def test_a_rank_never_gains_a_sample_to_float_rounding() -> None:
    """7 % of 100 values is the 7th: 7 / 100 * 100 is 7.000000000000001 in floats, which ceil would make the 8th."""
    assert percentile(range(1, 101), 7) == 7


def test_summarize() -> None:
    """n, p50, p95 and max; all None for nothing; any iterable."""
    values = [i / 10 for i in range(1, 21)]  # 0.1 .. 2.0
    assert summarize(values) == {"n": 20, "p50": 1.0, "p95": 1.9, "max": 2.0}
    assert summarize(iter(values)) == summarize(values)
    assert summarize([]) == {"n": 0, "p50": None, "p95": None, "max": None}


def test_support_traffic_uses_the_same_functions() -> None:
    """One implementation: the suite's import path is the same object."""
    assert traffic.percentile is percentile and traffic.summarize is summarize
