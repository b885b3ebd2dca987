"""Go binaries from the Go module proxy: one small wrapper module per component, builds cached by their inputs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InfrastructureError
from kit.artifacts import artifact
from kit.log import phase
from kit.pins import Pins, cache_dir, input_key

__all__ = ["GoBuildError", "GoComponent", "components", "go_build", "go_env", "module_dir"]

BUILD_DATE = "2026-01-01T00:00:00Z"  # fixed, so identical inputs give identical binaries


class GoBuildError(InfrastructureError, RuntimeError):
    """A Go component could not be fetched or built; names the component and version."""

    phase = "kit"


@dataclass(frozen=True)
class GoComponent:
    """One Go build: the modules to require, the main packages to build and how."""

    name: str
    requires: dict[str, str]
    packages: list[str]
    tags: list[str] = field(default_factory=list)
    ldflags: list[str] = field(default_factory=list)
    replace_staging_of: str | None = None  # a module whose go.mod replaces staging modules with ./staging paths


def go_env() -> dict[str, str]:
    """Environment for every go command: module and build caches inside the kit's cache directory."""
    go_root = cache_dir() / "go"
    return {
        **os.environ,
        "GOMODCACHE": str(go_root / "mod"),
        "GOCACHE": str(go_root / "build"),
        "GOFLAGS": "-modcacherw",
        "CGO_ENABLED": "0",
        "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local"),
    }


def _go(args: list[str], cwd: Path, what: str) -> str:
    proc = subprocess.run(["go", *args], cwd=cwd, env=go_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise GoBuildError(f"{what}: `go {' '.join(args)[:160]}` failed:\n{proc.stderr.strip()[-3000:]}")
    return proc.stdout


def module_dir(module: str, version: str) -> Path:
    """Download one module version and return its extracted directory (fails naming module and version)."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            ["go", "mod", "download", "-json", f"{module}@{version}"],
            cwd=tmp,
            env=go_env(),
            capture_output=True,
            text=True,
        )
    try:
        info = json.loads(proc.stdout)
    except ValueError:
        info = {"Error": proc.stderr.strip()[-1500:] or f"go exited {proc.returncode}"}
    if "Error" in info or proc.returncode != 0:
        raise GoBuildError(
            f"pin {module}@{version} is not available from the Go module proxy: "
            f"{info.get('Error', proc.stderr.strip()[-1500:])}"
        )
    return Path(info["Dir"])


def _staging_replaces(module: str, version: str, staging_version: str) -> list[str]:
    """Turn `k8s.io/x => ./staging/src/k8s.io/x` lines of kubernetes' go.mod into published-version replaces."""
    gomod = module_dir(module, version).parent / f"{module.rsplit('/', 1)[-1]}@{version}" / "go.mod"
    text = gomod.read_text()
    return [f"\t{m} => {m} {staging_version}" for m in re.findall(r"^\s*(\S+) => \./staging/\S+", text, re.M)]


def _k8s_ldflags(version: str) -> list[str]:
    major, minor = version.lstrip("v").split(".")[:2]
    flags = []
    for pkg in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.gitCommit=0000000000000000000000000000000000000000",
            f"-X {pkg}.buildDate={BUILD_DATE}",
        ]
    return flags


def components(pins: Pins) -> list[GoComponent]:
    """Every Go component the kit needs, at the pinned versions."""
    k8s = "k8s.io/kubernetes"
    return [
        GoComponent("kind", {"sigs.k8s.io/kind": pins.kind}, ["sigs.k8s.io/kind"]),
        GoComponent(
            "kubernetes",
            {k8s: pins.kubernetes},
            [
                f"{k8s}/cmd/{c}"
                for c in (
                    "kubeadm",
                    "kubelet",
                    "kubectl",
                    "kube-apiserver",
                    "kube-controller-manager",
                    "kube-scheduler",
                    "kube-proxy",
                )
            ],
            tags=["selinux", "notest"],
            ldflags=_k8s_ldflags(pins.kubernetes),
            replace_staging_of=k8s,
        ),
        GoComponent("etcd", {"go.etcd.io/etcd/server/v3": pins.etcd_module}, ["go.etcd.io/etcd/server/v3"]),
        GoComponent("coredns", {"github.com/coredns/coredns": pins.coredns}, ["github.com/coredns/coredns"]),
        GoComponent(
            "local-path-provisioner",
            {"github.com/rancher/local-path-provisioner": pins.local_path_provisioner},
            ["github.com/rancher/local-path-provisioner"],
        ),
        GoComponent("crictl", {"sigs.k8s.io/cri-tools": pins.crictl}, ["sigs.k8s.io/cri-tools/cmd/crictl"]),
        GoComponent(
            "containerd",
            {"github.com/containerd/containerd/v2": pins.containerd},
            [f"github.com/containerd/containerd/v2/cmd/{c}" for c in ("containerd", "ctr", "containerd-shim-runc-v2")],
            tags=["no_aufs", "no_zfs", "no_btrfs", "no_devmapper"],
            ldflags=[f"-X github.com/containerd/containerd/v2/version.Version={pins.containerd}"],
        ),
        GoComponent(
            "cni-plugins",
            {"github.com/containernetworking/plugins": pins.cni_plugins},
            [
                f"github.com/containernetworking/plugins/plugins/{p}"
                for p in ("ipam/host-local", "main/loopback", "main/ptp", "meta/portmap")
            ],
        ),
    ]


def go_build(component: GoComponent, pins: Pins, *, rebuild: bool = False) -> Path:
    """Build (or re-use) one component; returns the cache entry holding its binaries under bin/."""
    try:
        go_version = subprocess.run(
            ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise GoBuildError(f"the Go toolchain does not answer `go env GOVERSION`: {exc}") from exc
    key = input_key("go", component.__dict__, go_version, Path(__file__))

    def produce(out: Path) -> None:
        with phase(f"go build {component.name} ({', '.join(f'{m}@{v}' for m, v in component.requires.items())})"):
            work = cache_dir() / "work" / f"go-{component.name}"
            work.mkdir(parents=True, exist_ok=True)
            for module, version in component.requires.items():
                module_dir(module, version)  # fails early, naming the pin, if the proxy lacks it
            lines = [f"module kitbuild/{component.name}", "", "go 1.24", "", "require ("]
            lines += [f"\t{m} {v}" for m, v in component.requires.items()] + [")"]
            if component.replace_staging_of:
                mod = component.replace_staging_of
                lines += ["", "replace (", *_staging_replaces(mod, component.requires[mod], pins.staging), ")"]
            (work / "go.mod").write_text("\n".join(lines) + "\n")
            (work / "go.sum").unlink(missing_ok=True)
            imports = "\n".join(f'\t_ "{p}"' for p in component.packages)
            (work / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n")
            _go(["mod", "tidy", "-e"], work, component.name)
            (out / "bin").mkdir()
            args = ["build", "-trimpath", "-o", str(out / "bin") + "/"]
            if component.tags:
                args += ["-tags", ",".join(component.tags)]
            args += ["-ldflags", " ".join(["-s", "-w", *component.ldflags])]
            _go(args + component.packages, work, component.name)

    return artifact("go", component.name, key, produce, rebuild=rebuild)
