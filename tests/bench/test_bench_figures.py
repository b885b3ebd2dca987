"""Figures: statistics of raw values, targets and their verdicts, ratios side by side."""

from __future__ import annotations

import pytest

from bench.figures import MET, MISSED, NOT_MEASURED, Figure, Target, ratio, stats_of


def test_stats_are_nearest_rank_and_median() -> None:
    """p50/p95 are observed values (nearest rank); the median averages the middle pair."""
    stats = stats_of([4.0, 1.0, 3.0, 2.0])
    assert stats == {"median": 2.5, "p50": 2.0, "p95": 4.0, "min": 1.0, "max": 4.0}
    assert stats_of([]) == {}


def test_twenty_values_p95_is_the_nineteenth() -> None:
    """With 20 kills the p95 is the 19th smallest, not the maximum."""
    stats = stats_of([float(i) for i in range(1, 21)])
    assert (stats["p95"], stats["max"]) == (19.0, 20.0)


@pytest.mark.parametrize(
    ("target", "measured", "verdict"),
    [
        (Target("p50", "<=", 2.0), 2.0, MET),
        (Target("p50", "<=", 2.0), 2.01, MISSED),
        (Target("value", ">=", 8.0), 8.0, MET),
        (Target("value", ">=", 8.0), 7.99, MISSED),
        (Target("value", ">=", 8.0), None, NOT_MEASURED),
    ],
)
def test_target_verdicts(target: Target, measured: float | None, verdict: str) -> None:
    """Bounds are inclusive; no value is never MET."""
    assert target.verdict(measured) == verdict


def test_figure_checks_each_target_against_its_own_statistic() -> None:
    """A recovery distribution can meet its p50 target and miss its p95 one."""
    fig = Figure.from_values(
        "r",
        "recovery",
        "backend",
        "s",
        [1.0, 1.5, 1.8, 9.0],
        headline="p50",
        targets=[Target("p50", "<=", 2.0), Target("p95", "<=", 5.0)],
    )
    assert fig.value == 1.5
    assert [v for _, _, v in fig.verdicts()] == [MET, MISSED]
    data = fig.to_dict()
    assert data["n"] == 4 and data["values"] == [1.0, 1.5, 1.8, 9.0]
    assert [t["measured"] for t in data["targets"]] == [1.5, 9.0]


def test_missing_figure_keeps_reason_and_targets() -> None:
    """A figure not measured says why and its targets read NOT MEASURED."""
    fig = Figure.missing("x", "g", "label", "s", "--skip-node", targets=[Target("value", "<=", 40.0)])
    assert not fig.measured and fig.value is None
    assert fig.to_dict()["not_measured_reason"] == "--skip-node"
    assert fig.verdicts()[0][2] == NOT_MEASURED


def test_ratio_of_headlines_with_smaller_n() -> None:
    """The ratio divides the headline statistics and keeps the smaller sample count."""
    slow = Figure.from_values("slow", "g", "defaults", "s", [300.0])
    fast = Figure.from_values("fast", "g", "fast", "s", [30.0, 20.0, 40.0])
    r = ratio("r", "g", "defaults / fast", slow, fast, targets=[Target("value", ">=", 8.0)])
    assert r.value == pytest.approx(10.0) and r.n == 1 and r.unit == "x"
    assert r.verdicts()[0][2] == MET


def test_ratio_without_a_side_is_not_measured() -> None:
    """A ratio is never made up from one side."""
    fast = Figure.from_values("fast", "g", "fast", "s", [30.0])
    slow = Figure.missing("slow", "g", "defaults", "s", "opt-in")
    r = ratio("r", "g", "defaults / fast", slow, fast, targets=[Target("value", ">=", 8.0)])
    assert r.value is None and "slow" in r.reason
    assert r.verdicts()[0][2] == NOT_MEASURED


def test_figure_without_values_says_it_failed() -> None:
    """An empty measurement is reported as such, never as a zero."""
    fig = Figure.from_values("x", "g", "l", "s", [], targets=[Target("p50", "<=", 2.0)])
    assert fig.value is None and fig.n == 0 and "see errors" in fig.reason
    assert fig.verdicts()[0][2] == NOT_MEASURED
