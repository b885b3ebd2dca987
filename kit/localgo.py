"""Go programs of the kit's own (kit/recipes/<name>, standard library only), built and cached like the pinned ones.

Kept apart from kit/gobuild.py on purpose: that module's text is part of every pinned component's cache key, so a
change here never rebuilds Kubernetes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from kit.artifacts import artifact
from kit.gobuild import GoBuildError, go_env
from kit.images import RECIPES
from kit.log import phase
from kit.pins import input_key

__all__ = ["LOCAL_PROGRAMS", "build_local"]

# kit-delay: the latency fault where the kernel has no sch_netem (an NFQUEUE holder, support/netfaults.py).
LOCAL_PROGRAMS = ("kit-delay",)


def build_local(name: str, *, rebuild: bool = False) -> Path:
    """Build (or re-use) one of the kit's own Go programs; returns the binary."""
    src = RECIPES / name
    sources = sorted(p for p in src.iterdir() if p.suffix in (".go", ".mod"))
    if not sources:
        raise GoBuildError(f"no Go sources in {src}")
    try:
        go_version = subprocess.run(
            ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise GoBuildError(f"the Go toolchain does not answer `go env GOVERSION`: {exc}") from exc
    key = input_key("go-local", name, go_version, *sources, Path(__file__))

    def produce(out: Path) -> None:
        with phase(f"go build {name} (kit/recipes/{name})"):
            (out / "bin").mkdir()
            args = ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / "bin" / name), "."]
            proc = subprocess.run(args, cwd=src, env=go_env(), capture_output=True, text=True)
            if proc.returncode != 0:
                raise GoBuildError(f"{name}: `{' '.join(args)}` failed:\n{proc.stderr.strip()[-3000:]}")

    return artifact("go", name, key, produce, rebuild=rebuild) / "bin" / name
