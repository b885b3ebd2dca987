"""bench/results.json (versioned) and the short bench/RESULTS.md table, both from the same document (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.figures import NOT_MEASURED, Figure

__all__ = ["SCHEMA", "SCHEMA_VERSION", "build_document", "format_value", "render_markdown", "write"]

SCHEMA = "todo-bench"
SCHEMA_VERSION = 1


def build_document(
    figures: Sequence[Figure],
    *,
    started_at: str,
    finished_at: str,
    command: list[str],
    options: dict[str, Any],
    host: dict[str, Any],
    pins: dict[str, Any],
    errors: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The results.json content: schema, run facts, host, pins, every figure, what failed."""
    verdicts = [v for f in figures for _, _, v in f.verdicts()]
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "started_at": started_at,
        "finished_at": finished_at,
        "command": command,
        "options": options,
        "host": host,
        "pins": pins,
        "figures": [f.to_dict() for f in figures],
        "targets_summary": {v: verdicts.count(v) for v in sorted(set(verdicts))},
        "errors": list(errors),
        "notes": list(notes),
    }


def _num(value: float | None, unit: str) -> str:
    """A number with a sensible precision for its unit."""
    if value is None:
        return "-"
    if unit in ("ms", "%") or abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_value(fig: dict[str, Any]) -> str:
    """The table cell for one figure (its JSON form): distribution, median of n, or a single value."""
    unit = fig["unit"]
    suffix = f" {unit}" if unit else ""
    stats = fig.get("stats") or {}
    if fig.get("value") is None:
        return "not measured"
    if fig["headline"] == "p50" and "p95" in stats:
        return (
            f"p50 {_num(stats['p50'], unit)} / p95 {_num(stats['p95'], unit)} / "
            f"max {_num(stats.get('max'), unit)}{suffix}"
        )
    text = f"{_num(fig['value'], unit)}{suffix}"
    if fig["headline"] == "median" and fig["n"] > 1:
        text += f" (median; {_num(stats.get('min'), unit)}..{_num(stats.get('max'), unit)})"
    return text


def _target_cells(fig: dict[str, Any]) -> tuple[str, str]:
    """The target and status cells: one entry per target, in order."""
    targets = fig.get("targets") or []
    if not targets:
        return "-", "-"
    unit = fig["unit"]
    text = ", ".join(f"{t['stat']} {t['op']} {t['value']:g}{(' ' + unit) if unit else ''}" for t in targets)
    status = ", ".join(t["verdict"] for t in targets)
    return text, status


def render_markdown(doc: dict[str, Any]) -> str:
    """A short Markdown table of every figure, with the run's facts above it."""
    host = doc["host"]
    opts = doc["options"]
    flags = (
        " ".join(
            f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}")
            for k, v in sorted(opts.items())
            if v not in (False, None)
        )
        or "(defaults)"
    )
    lines = [
        "# Benchmark results",
        "",
        f"Run {doc['started_at']} .. {doc['finished_at']} on commit `{str(host.get('suite_commit'))[:12]}`"
        f"{' (uncommitted changes)' if host.get('dirty') else ''}; host: {host.get('cores')} cores, "
        f"{host.get('memory_gib')} GiB, {host.get('host_os')}, load average at start "
        f"{host.get('loadavg_start')}; other kind clusters running: {host.get('other_clusters') or 'none'}.",
        f"Pins: kind {doc['pins'].get('kind', '?')}, Kubernetes {doc['pins'].get('kubernetes', '?')}. "
        f"Options: `{flags}`.",
        "",
        "Times are reported, never asserted (the hosts are noisy); targets are compared below (MET / MISSED).",
        "Full data with raw values: `results.json` next to this file.",
        "",
        "| group | figure | value | n | target | status |",
        "|---|---|---|---|---|---|",
    ]
    for fig in doc["figures"]:
        target, status = _target_cells(fig)
        value = format_value(fig)
        if fig.get("not_measured_reason"):
            value = f"not measured: {fig['not_measured_reason']}"
            status = NOT_MEASURED if fig.get("targets") else "-"
        lines.append(f"| {fig['group']} | {fig['label']} | {value} | {fig['n']} | {target} | {status} |")
    summary = doc.get("targets_summary") or {}
    lines += ["", "Targets: " + (", ".join(f"{k} {v}" for k, v in summary.items()) or "none compared")]
    if doc.get("notes"):
        lines += ["", "Notes:", *[f"- {n}" for n in doc["notes"]]]
    if doc.get("errors"):
        lines += ["", "Errors (these figures are missing):", *[f"- {e}" for e in doc["errors"]]]
    return "\n".join(lines) + "\n"


def write(doc: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write results.json and RESULTS.md into out_dir; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / "results.json", out_dir / "RESULTS.md"
    js.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    md.write_text(render_markdown(doc), encoding="utf-8")
    return js, md
