"""results.json document and the Markdown table rendered from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.figures import Figure, Target
from bench.output import SCHEMA_VERSION, build_document, format_value, render_markdown, write


def _doc() -> dict[str, Any]:
    """A small document with a distribution, a median, a ratio and a missing figure."""
    figures = [
        Figure.from_values(
            "recovery_backend_pod",
            "recovery",
            "backend pod kill",
            "s",
            [1.0, 3.0, 6.0],
            headline="p50",
            targets=[Target("p50", "<=", 2.0), Target("p95", "<=", 5.0)],
        ),
        Figure.from_values("deploy_suite", "deploy", "suite deploy", "s", [40.0, 42.0, 50.0]),
        Figure.from_stats(
            "deploy_ratio",
            "deploy",
            "suite / raw",
            "x",
            {"value": 1.05},
            3,
            headline="value",
            targets=[Target("value", "<=", 1.1)],
        ),
        Figure.missing("node_loss_defaults", "node loss", "defaults", "s", "opt-in: --node-defaults"),
    ]
    return build_document(
        figures,
        started_at="2025-01-01T00:00:00Z",
        finished_at="2025-01-01T00:30:00Z",
        command=["python", "-m", "bench", "--quick"],
        options={"quick": True, "kills": 3, "seed": None},
        host={
            "cores": 2,
            "memory_gib": 23.4,
            "suite_commit": "abcdef1234567890",
            "dirty": True,
            "host_os": "Debian",
            "loadavg_start": [2.0, 1.0, 1.0],
        },
        pins={"kind": "v0.30.0", "kubernetes": "v1.34.4"},
        errors=["x: boom"],
        notes=["seed 1"],
    )


def test_document_is_versioned_and_counts_verdicts() -> None:
    """The schema is named and versioned; verdicts are tallied over every target."""
    doc = _doc()
    assert doc["schema"] == "todo-bench" and doc["schema_version"] == SCHEMA_VERSION == 1
    assert doc["targets_summary"] == {"MET": 1, "MISSED": 2}
    assert json.loads(json.dumps(doc)) == doc


def test_markdown_table_rows_and_statuses() -> None:
    """Each figure is one row: a distribution as p50/p95/max, a median with its range, statuses in order."""
    md = render_markdown(_doc())
    assert (
        "| recovery | backend pod kill | p50 3.00 / p95 6.00 / max 6.00 s | 3 | p50 <= 2 s, p95 <= 5 s | "
        "MISSED, MISSED |"
    ) in md
    assert "| deploy | suite deploy | 42.00 s (median; 40.00..50.00) | 3 | - | - |" in md
    assert "| deploy | suite / raw | 1.05 x | 3 | value <= 1.1 x | MET |" in md
    assert "not measured: opt-in: --node-defaults" in md
    assert "2 cores" in md and "(uncommitted changes)" in md and "`--kills 3 --quick`" in md
    assert "- x: boom" in md


def test_format_value_of_single_and_missing() -> None:
    """A single value has no range; a figure without value says so."""
    single = Figure.from_values("c", "kit", "create", "s", [61.234]).to_dict()
    assert format_value(single) == "61.23 s"
    assert format_value(Figure.missing("m", "g", "l", "s", "r").to_dict()) == "not measured"


def test_write_creates_both_files(tmp_path: Path) -> None:
    """Both outputs land in the chosen folder and agree."""
    js, md = write(_doc(), tmp_path / "out")
    assert json.loads(js.read_text())["figures"][0]["id"] == "recovery_backend_pod"
    assert md.read_text().startswith("# Benchmark results")
