"""Cache entries that are never half-written: build into a temp dir, verify, then rename into place."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common.errors import InfrastructureError
from kit.pins import cache_dir

__all__ = ["CacheError", "artifact", "verify"]

MANIFEST = ".kit-complete.json"


class CacheError(InfrastructureError, RuntimeError):
    """A cache entry could not be produced (the partial result was discarded)."""

    phase = "kit"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(entry: Path, *, deep: bool = False) -> bool:
    """True when `entry` is complete: its manifest exists and every file has the recorded size (and hash if deep)."""
    manifest = entry / MANIFEST
    if not manifest.is_file():
        return False
    try:
        files: dict[str, dict[str, object]] = json.loads(manifest.read_text())["files"]
    except (ValueError, KeyError):
        return False
    for rel, meta in files.items():
        path = entry / rel
        if not path.is_file() or path.stat().st_size != meta["size"]:
            return False
        if deep and _digest(path) != meta["sha256"]:
            return False
    return True


# An entry for other inputs is removed only once unused this long: another checkout on the same host (a branch
# with another kit version) may still be using it, and pruning it under its feet breaks that run.
PRUNE_AFTER_S = 7 * 24 * 3600


def _prune_older(root: Path, name: str, keep: Path) -> None:
    """Remove this artifact's entries for other keys that nothing used for a week."""
    pattern = re.compile(rf"{re.escape(name)}-[0-9a-f]{{16}}")
    now = time.time()
    for old in root.iterdir():
        if old != keep and pattern.fullmatch(old.name) and now - old.stat().st_mtime > PRUNE_AFTER_S:
            shutil.rmtree(old, ignore_errors=True)


def artifact(kind: str, name: str, key: str, produce: Callable[[Path], None], *, rebuild: bool = False) -> Path:
    """Return cache/artifacts/<kind>/<name>-<key>, producing it with `produce(tmpdir)` when missing or broken."""
    root = cache_dir() / "artifacts" / kind
    entry = root / f"{name}-{key}"
    if not rebuild and verify(entry):
        os.utime(entry)  # in use: not to be pruned by a build for other inputs
        return entry
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-{key}.", dir=root))
    try:
        produce(tmp)
        files = {
            str(p.relative_to(tmp)): {"size": p.stat().st_size, "sha256": _digest(p)}
            for p in sorted(tmp.rglob("*"))
            if p.is_file()
        }
        if not files:
            raise CacheError(f"building {kind}/{name} produced no files")
        (tmp / MANIFEST).write_text(json.dumps({"key": key, "files": files}, indent=1))
        if entry.exists():
            shutil.rmtree(entry)
        os.replace(tmp, entry)
        _prune_older(root, name, entry)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno == 28:
            raise CacheError(
                f"out of disk space while building {kind}/{name} in {root}; nothing was cached. "
                "Free space (docker system prune, or remove old entries) and re-run."
            ) from exc
        raise
    return entry
