"""Host memory parsing, the memory sampler's bounds, and reading the newest e2e results folder."""

from __future__ import annotations

import json
from pathlib import Path

from bench.host import GIB, MemorySampler, e2e_wall_time, meminfo, newest_results, used_bytes

MEMINFO = """MemTotal:       24000000 kB
MemFree:         1000000 kB
MemAvailable:   20000000 kB
HugePages_Total:       0
"""


def test_meminfo_in_bytes_and_used_is_total_minus_available() -> None:
    """kB fields become bytes; counts without a unit stay as they are."""
    fields = meminfo(MEMINFO)
    assert fields["MemTotal"] == 24000000 * 1024
    assert fields["HugePages_Total"] == 0
    assert used_bytes(fields) == 4000000 * 1024


def test_sampler_reads_this_host_and_is_bounded() -> None:
    """A real /proc/meminfo sample lands within the host's memory; the loop stops at its count bound."""
    sampler = MemorySampler(max_seconds=2.0, interval=0.5)
    assert sampler.max_requests == 5
    sampler.start()
    sampler.join(10)
    assert not sampler.is_alive() and sampler.stop_reason in ("max_requests", "max_seconds")
    peak = sampler.peak_gib()
    total = meminfo(Path("/proc/meminfo").read_text())["MemTotal"] / GIB
    assert peak is not None and 0 < peak <= total


def _results(root: Path, name: str, started: str, finished: str, selection: dict[str, str] | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "started_at": started,
                "finished_at": finished,
                "verdict": "ACCEPTED",
                "summary": {"passed": 3, "failed": 0, "skipped": 0, "total": 3},
                "environment": {"selection": selection or {"markexpr": "cluster", "keyword": ""}},
            }
        )
    )
    return folder


def test_newest_results_folder_by_timestamped_name(tmp_path: Path) -> None:
    """The newest folder with a results.json wins; a newer folder without one is ignored."""
    _results(tmp_path, "20250101T000000Z-aaaa", "2025-01-01T00:00:00Z", "2025-01-01T00:09:00Z")
    newer = _results(tmp_path, "20250102T000000Z-bbbb", "2025-01-02T00:00:00Z", "2025-01-02T00:07:30Z")
    (tmp_path / "20250103T000000Z-cccc").mkdir()
    _results(
        tmp_path,
        "20250104T000000Z-dddd",
        "2025-01-04T00:00:00Z",
        "2025-01-04T00:01:00Z",
        {"markexpr": "cluster and pod_loss", "keyword": ""},
    )
    _results(
        tmp_path,
        "20250105T000000Z-eeee",
        "2025-01-05T00:00:00Z",
        "2025-01-05T00:01:00Z",
        {"markexpr": "cluster", "keyword": "database"},
    )
    assert newest_results(tmp_path) == newer, "partial runs (-m narrower than cluster, or -k) are not the figure"
    assert newest_results(tmp_path / "absent") is None


def test_e2e_wall_time_from_env_root(tmp_path: Path) -> None:
    """$TODO_E2E_RESULTS names the root; the duration is finished_at - started_at."""
    _results(tmp_path, "20250102T000000Z-bbbb", "2025-01-02T00:00:00Z", "2025-01-02T00:07:30Z")
    got = e2e_wall_time(Path("/nonexistent"), {"TODO_E2E_RESULTS": str(tmp_path)})
    assert not isinstance(got, str)
    seconds, detail = got
    assert seconds == 450.0 and detail["verdict"] == "ACCEPTED"


def test_e2e_wall_time_says_why_when_missing(tmp_path: Path) -> None:
    """No results folder: a reason naming where it looked, never a number."""
    got = e2e_wall_time(tmp_path, {})
    assert isinstance(got, str) and str(tmp_path / "results") in got
