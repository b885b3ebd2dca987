"""The cache never re-uses a half-written artifact and says so on a full disk."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from kit.artifacts import PRUNE_AFTER_S, CacheError, artifact, verify


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TODO_E2E_CACHE", str(tmp_path / "cache"))


def test_artifact_is_built_once_then_reused() -> None:
    calls = []

    def produce(out: Path) -> None:
        calls.append(out)
        (out / "bin").mkdir()
        (out / "bin" / "tool").write_text("v1")

    first = artifact("go", "tool", "k1", produce)
    again = artifact("go", "tool", "k1", produce)
    assert first == again and len(calls) == 1
    assert verify(first, deep=True)
    artifact("go", "tool", "k1", produce, rebuild=True)
    assert len(calls) == 2, "--rebuild forces a fresh build"


def test_failed_build_leaves_nothing_behind() -> None:
    def produce(out: Path) -> None:
        (out / "half").write_text("partial")
        raise RuntimeError("compiler crashed")

    with pytest.raises(RuntimeError, match="compiler crashed"):
        artifact("go", "tool", "k2", produce)
    root = Path(__import__("os").environ["TODO_E2E_CACHE"]) / "artifacts" / "go"
    assert list(root.iterdir()) == []


def test_out_of_disk_is_reported_and_not_cached() -> None:
    def produce(out: Path) -> None:
        (out / "half").write_text("partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(CacheError, match=r"out of disk space.*nothing was cached"):
        artifact("go", "tool", "k3", produce)
    root = Path(__import__("os").environ["TODO_E2E_CACHE"]) / "artifacts" / "go"
    assert list(root.iterdir()) == []


def test_truncated_or_tampered_entry_is_not_reused() -> None:
    def produce(out: Path) -> None:
        (out / "tool").write_text("complete binary")

    entry = artifact("go", "tool", "k4", produce)
    (entry / "tool").write_text("trunc")
    assert not verify(entry)
    rebuilt = artifact("go", "tool", "k4", produce)
    assert (rebuilt / "tool").read_text() == "complete binary"
    (rebuilt / "tool").write_text("tampere binary!")  # same size, other content
    assert verify(rebuilt) and not verify(rebuilt, deep=True)


def test_empty_result_is_an_error() -> None:
    with pytest.raises(CacheError, match="produced no files"):
        artifact("go", "tool", "k5", lambda out: None)


def test_a_new_key_replaces_the_old_entry_of_the_same_artifact_only_once_unused() -> None:
    def produce(out: Path) -> None:
        (out / "tool").write_text("bits")

    old = artifact("go", "tool", "0" * 16, produce)
    other = artifact("go", "tool-extra", "1" * 16, produce)
    recent = artifact("go", "tool", "3" * 16, produce)
    week_ago = time.time() - PRUNE_AFTER_S - 60
    os.utime(old, (week_ago, week_ago))
    os.utime(other, (week_ago, week_ago))
    new = artifact("go", "tool", "2" * 16, produce)
    assert new.is_dir() and not old.exists(), "the superseded build of the same artifact, unused for a week, is pruned"
    assert recent.is_dir(), "a build another checkout used recently is kept"
    assert other.is_dir(), "an artifact whose name merely starts the same is kept"
