"""Version pins (kit/pins.toml) and the cache directory layout."""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.errors import InfrastructureError

__all__ = ["KIT_DIR", "Pins", "PinsError", "cache_dir", "input_key", "load_pins"]

KIT_DIR = Path(__file__).resolve().parent


class PinsError(InfrastructureError, ValueError):
    """The pins file is malformed or incomplete; names the file and the missing or bad pin."""

    phase = "kit"


def cache_dir() -> Path:
    """The one cache directory: $TODO_E2E_CACHE, else $XDG_CACHE_HOME/todo-e2e, else ~/.cache/todo-e2e."""
    explicit = os.environ.get("TODO_E2E_CACHE")
    if explicit:
        return Path(explicit).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().resolve() / "todo-e2e"


@dataclass(frozen=True)
class Pins:
    """Every version the kit builds, read from kit/pins.toml."""

    kind: str
    cni: str
    kubernetes: str
    etcd: str
    etcd_module: str
    coredns: str
    pause: str
    debian: str
    containerd: str
    runc: str
    crictl: str
    cni_plugins: str
    local_path_provisioner: str

    @property
    def staging(self) -> str:
        """Version of the published k8s.io staging modules matching the Kubernetes pin (v1.34.4 -> v0.34.4)."""
        major, minor, patch = self.kubernetes.lstrip("v").split(".")
        if major != "1":
            raise PinsError(f"kubernetes pin {self.kubernetes!r}: only 1.x is supported")
        return f"v0.{minor}.{patch}"

    @property
    def minor(self) -> int:
        """Kubernetes minor version (34 for v1.34.4)."""
        return int(self.kubernetes.lstrip("v").split(".")[1])

    def as_dict(self) -> dict[str, str]:
        """All pins as a flat mapping (for cache keys and the environment fingerprint)."""
        return dict(self.__dict__)


def load_pins(path: Path | None = None) -> Pins:
    """Read and validate the pins file; a malformed or incomplete file fails naming the missing key."""
    path = path or KIT_DIR / "pins.toml"
    data = tomllib.loads(path.read_text())
    flat: dict[str, Any] = {}
    for section in ("kind", "kubernetes", "node"):
        if section not in data:
            raise PinsError(f"{path}: missing section [{section}]")
        flat.update(data[section])
    flat["kind"] = data["kind"]["version"]
    flat["kubernetes"] = data["kubernetes"]["version"]
    flat.pop("version", None)
    fields = set(Pins.__dataclass_fields__)
    missing = sorted(fields - set(flat))
    if missing:
        raise PinsError(f"{path}: missing pins: {', '.join(missing)}")
    unknown = sorted(set(flat) - fields)
    if unknown:
        raise PinsError(f"{path}: unknown pins: {', '.join(unknown)}")
    pins = Pins(**{k: str(v) for k, v in flat.items()})
    for name in (
        "kind",
        "kubernetes",
        "etcd_module",
        "coredns",
        "containerd",
        "crictl",
        "cni_plugins",
        "local_path_provisioner",
    ):
        value = getattr(pins, name)
        if not value.startswith("v") or value.count(".") != 2:
            raise PinsError(f"{path}: pin {name}={value!r} is not a vX.Y.Z version")
    return pins


def input_key(*parts: Any) -> str:
    """A short stable hash of everything an artifact is built from (pins, recipe files, kit version)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            if part.is_dir():
                for file in sorted(p for p in part.rglob("*") if p.is_file()):
                    digest.update(str(file.relative_to(part)).encode())
                    digest.update(file.read_bytes())
            else:
                digest.update(part.read_bytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
