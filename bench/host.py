"""Host facts, peak memory sampled from /proc/meminfo, and the newest e2e results folder's wall time."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from common.docker import docker
from common.errors import DockerError
from support.results import ENV_RESULTS_ROOT, host_environment
from support.traffic import BoundedLoop

__all__ = ["MemorySampler", "e2e_wall_time", "host_facts", "meminfo", "newest_results", "used_bytes"]

GIB = 1024**3


def meminfo(text: str) -> dict[str, int]:
    """Parse /proc/meminfo text into bytes per field (values are given in kB)."""
    fields: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            fields[name.strip()] = int(parts[0]) * (1024 if parts[1:2] == ["kB"] else 1)
    return fields


def used_bytes(fields: dict[str, int]) -> int:
    """Memory in use as the kernel sees it: MemTotal - MemAvailable."""
    return fields["MemTotal"] - fields["MemAvailable"]


def _read_used() -> int:
    """Current used bytes of the host."""
    return used_bytes(meminfo(Path("/proc/meminfo").read_text()))


class MemorySampler(BoundedLoop[int]):
    """Samples host memory in use once a second, bounded in samples and time like every loop here."""

    def __init__(self, max_seconds: float = 4 * 3600.0, interval: float = 1.0) -> None:
        """Bounded by time and by count (one sample per interval)."""
        super().__init__(
            _read_used,
            interval=interval,
            max_requests=int(max_seconds / interval) + 1,
            max_seconds=max_seconds,
            name="memory-sampler",
        )

    def peak_gib(self) -> float | None:
        """The highest sample so far, in GiB."""
        samples = self.results
        return max(samples) / GIB if samples else None


def _other_kind_clusters(own: set[str]) -> list[str]:
    """Kind clusters running on this Docker engine that the benchmark did not make (noise sources)."""
    try:
        out = docker(
            "ps",
            "--filter",
            "label=io.x-k8s.kind.cluster",
            "--format",
            '{{.Label "io.x-k8s.kind.cluster"}}',
            timeout=30,
        ).stdout
    except DockerError:
        return []
    return sorted({line.strip() for line in out.splitlines() if line.strip()} - own)


def host_facts(repo_root: Path, own_clusters: set[str]) -> dict[str, Any]:
    """Cores, memory, OS, commit (and whether the tree is dirty), load and concurrent kind clusters."""
    facts = host_environment(repo_root)
    fields = meminfo(Path("/proc/meminfo").read_text())
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo_root, capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    facts.update(
        {
            "memory_bytes": fields.get("MemTotal"),
            "memory_gib": round(fields.get("MemTotal", 0) / GIB, 1),
            "dirty": bool(dirty),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "other_clusters": _other_kind_clusters(own_clusters),
        }
    )
    return facts


def newest_results(root: Path) -> Path | None:
    """The newest results folder (by its timestamped name) under root of a *full* run.

    A run narrowed with -k, or with a marker expression other than the e2e session's `cluster`, is not the
    figure the benchmark reports (the conftest records the selection in the environment).
    """
    if not root.is_dir():
        return None
    for folder in sorted((p.parent for p in root.glob("*/results.json")), reverse=True):
        try:
            env = json.loads((folder / "results.json").read_text(encoding="utf-8")).get("environment", {})
        except (OSError, ValueError):
            continue
        selection = env.get("selection")
        if (
            isinstance(selection, dict)
            and not selection.get("keyword")
            and selection.get("markexpr") in ("", "cluster")
        ):
            return folder
    return None


def _parse_time(text: str) -> dt.datetime:
    """ISO 8601 with a trailing Z, as support.results writes it."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def e2e_wall_time(repo_root: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]] | str:
    """Seconds from started_at to finished_at of the newest e2e results folder, or why there is none."""
    root = Path(env.get(ENV_RESULTS_ROOT) or repo_root / "results")
    folder = newest_results(root)
    if folder is None:
        return f"no results folder of a full run under {root} (run `nox -s e2e` first)"
    try:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        seconds = (_parse_time(data["finished_at"]) - _parse_time(data["started_at"])).total_seconds()
    except (OSError, ValueError, KeyError) as exc:
        return f"{folder}/results.json unreadable: {type(exc).__name__}: {exc}"
    summary = data.get("summary") or {}
    return seconds, {
        "folder": str(folder),
        "verdict": data.get("verdict"),
        "summary": summary,
        "started_at": data["started_at"],
    }
