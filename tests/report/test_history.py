"""The nightly history: regressions() as a pure rule, a bounded history folder, and the trend in the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from results_factory import ROOT, BuildFn, seal

from record.model import Run
from report import render
from report.history import Tolerance, load_history, regressions, remember, trends


def _run(n: int, p95: float | None = None, avail: float | None = None, fault: str = "backend pod kill") -> Run:
    """A minimal schema-2 run started on day n with one recovery p95 and one window's availability."""
    data: dict[str, Any] = {
        "run_id": f"run{n:03d}",
        "started_at": f"2026-11-{n:02d}T02:17:00Z",
        "finished_at": f"2026-11-{n:02d}T02:27:00Z",
        "verdict": "ACCEPTED",
        "exit_code": 0,
        "reasons": [],
        "scope": {"complete": True, "catalogue": 1, "ran": 1},
        "summary": {"passed": 1, "total": 1},
    }
    if p95 is not None:
        data["recovery_summary"] = [
            {"fault": fault, "tier": "backend", "n": 5, "p50": p95, "p95": p95, "max": p95, "budget_s": 30.0,
             "passed": True}
        ]  # fmt: skip
    if avail is not None:
        data["availability"] = {
            "windows": [
                {"fault": fault, "start_s": 1.0, "end_s": 9.0, "requests": 100, "failed": 0,
                 "availability_pct": avail, "longest_outage_s": 0.0}
            ]
        }  # fmt: skip
    return Run.model_validate(data)


HISTORY = [_run(i, p95=p, avail=a) for i, (p, a) in enumerate([(2.0, 99.8), (2.2, 99.5), (1.8, 99.9), (2.1, 99.6)], 1)]
# median p95 2.05 s, median availability 99.7 %


@pytest.mark.parametrize(
    ("p95", "flagged"),
    [
        (3.2, True),  # +56 % and +1.15 s: both beyond the tolerance
        (3.0, False),  # +46 %: within the ratio
        (2.9, False),  # +41 %, +0.85 s
    ],
)
def test_recovery_regression_needs_both_ratio_and_seconds(p95: float, flagged: bool) -> None:
    """Recovery p95 is flagged only when more than 50 % and more than 1 s above the history's median."""
    found = regressions(HISTORY, _run(9, p95=p95, avail=99.7))
    assert bool(found) == flagged, found
    if flagged:
        assert found == [
            "WARNING: recovery p95 regressed: backend pod kill (backend) took 3.20 s against a median of 2.05 s "
            "over the last 4 run(s)"
        ]


def test_small_recovery_times_jitter_by_ratio_without_a_flag() -> None:
    """0.5 s to 1.2 s is +140 % but only +0.7 s: not a regression."""
    history = [_run(i, p95=0.5) for i in range(1, 6)]
    assert regressions(history, _run(9, p95=1.2)) == []
    assert regressions(history, _run(9, p95=1.6)) != []


@pytest.mark.parametrize(("avail", "flagged"), [(98.6, True), (98.75, False), (100.0, False)])
def test_availability_regression_is_more_than_one_point_below_the_median(avail: float, flagged: bool) -> None:
    """Availability 99.7 % median: 98.6 is 1.1 points lower (flagged), 98.75 is 0.95 (not)."""
    found = regressions(HISTORY, _run(9, p95=2.0, avail=avail))
    assert found == (
        [
            f"WARNING: availability regressed: backend pod kill was {avail:.2f} % against a median of 99.70 % over "
            "the last 4 run(s)"
        ]
        if flagged
        else []
    )


def test_too_little_history_flags_nothing() -> None:
    """With fewer earlier runs than min_history, even a tenfold p95 is only shown, not flagged."""
    assert regressions(HISTORY[:2], _run(9, p95=30.0, avail=50.0)) == []
    assert regressions(HISTORY[:2], _run(9, p95=30.0), Tolerance(min_history=2)) != []


def test_new_and_missing_figures_are_shown_not_flagged() -> None:
    """A fault the history never saw, or one this run did not measure, has a trend row and no flag."""
    current = _run(9, p95=9.0, fault="worker node stop")
    rows = {(t.metric, t.key): t for t in trends(HISTORY, current)}
    assert rows[("recovery p95", "worker node stop (backend)")].values == [None] * 4
    assert rows[("recovery p95", "backend pod kill (backend)")].current is None
    assert not any(t.regressed for t in rows.values())
    assert regressions(HISTORY, current) == []


def test_tolerance_is_adjustable() -> None:
    """A stricter tolerance flags what the default lets through."""
    assert regressions(HISTORY, _run(9, p95=2.9)) == []
    assert regressions(HISTORY, _run(9, p95=2.9), Tolerance(recovery_ratio=0.2, recovery_s=0.5)) != []


def _write(folder: Path, run: Run, name: str) -> None:
    """A history file as remember() writes it."""
    (folder / name).write_text(run.model_dump_json(), encoding="utf-8")


def test_history_is_bounded_ordered_and_skips_what_it_cannot_read(tmp_path: Path) -> None:
    """The newest N readable runs, oldest first; this run excluded; old schemas and junk listed as skipped."""
    for i in range(1, 21):
        _write(tmp_path, _run(i, p95=2.0), f"202611{i:02d}T021700Z-run{i:03d}.json")
    (tmp_path / "20261121T021700Z-old.json").write_text(json.dumps({"schema_version": 1}), encoding="utf-8")
    (tmp_path / "20261122T021700Z-junk.json").write_text("{not json", encoding="utf-8")
    hist = load_history(tmp_path, limit=14, exclude_run_id="run020")
    assert [r.run_id for r in hist.runs] == [f"run{i:03d}" for i in range(6, 20)]
    assert len(hist.skipped) == 2
    assert any("written by an older suite" in s for s in hist.skipped)
    assert load_history(tmp_path / "absent").skipped[0].endswith("no such folder (no history yet)")


def test_remember_keeps_only_the_newest(build: BuildFn, tmp_path: Path) -> None:
    """remember() copies results.json in under the folder's name and prunes to the limit."""
    history = tmp_path / "history"
    history.mkdir()
    for i in range(1, 6):
        _write(history, _run(i), f"202611{i:02d}T021700Z-run{i:03d}.json")
    folder = seal(build(root=tmp_path / "results"))
    kept = remember(folder, history, limit=3)
    assert kept.name == f"{folder.name}.json"
    assert sorted(p.name for p in history.iterdir()) == [
        "20261104T021700Z-run004.json",
        "20261105T021700Z-run005.json",
        kept.name,
    ]


def test_report_shows_the_trend_and_warns_without_changing_the_verdict(build: BuildFn, tmp_path: Path) -> None:
    """A regressed recovery p95 is a WARNING in the banner and the history table; verdict and exit code stand."""
    history = tmp_path / "history"
    history.mkdir()
    for i in range(1, 5):
        _write(history, _run(i, p95=1.0, avail=100.0), f"202611{i:02d}T021700Z-run{i:03d}.json")
    folder = seal(build(root=tmp_path / "results"))  # backend pod kill p95 3.4 s: +240 %, +2.4 s
    done = subprocess.run(
        [sys.executable, "-m", "report", str(folder), "--history", str(history), "--remember", "--history-size", "4"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    warning = (
        "WARNING: recovery p95 regressed: backend pod kill (backend) took 3.40 s against a median of 1.00 s over "
        "the last 4 run(s)"
    )
    assert warning in done.stdout
    text = (folder / "report.html").read_text(encoding="utf-8")
    banner = text.split("</header>")[0]
    assert ">ACCEPTED<" in banner and "exit code 0" in banner and warning in banner
    assert '<section id="history">' in text and 'class="regressed"' in text
    assert json.loads((folder / "results.json").read_text(encoding="utf-8"))["verdict"] == "ACCEPTED"
    assert len(list(history.glob("*.json"))) == 4 and (history / f"{folder.name}.json").is_file()
    # Without --history the page has no history section (nothing is claimed about trends).
    assert '<section id="history">' not in render(json.loads((folder / "results.json").read_text(encoding="utf-8")))
