"""The kit's image helpers over the one docker CLI wrapper (common.docker): input keys, builds with the host CA."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from common.docker import DockerCli, docker
from common.errors import DockerError, InfrastructureError
from kit.log import info

__all__ = [
    "KEY_LABEL",
    "DockerError",
    "ImageBuildError",
    "ImageLoadError",
    "build",
    "docker",
    "host_ca_bundle",
    "image_id",
    "image_key",
]

KEY_LABEL = "io.todo-e2e.kit.key"

_cli = DockerCli()


class ImageBuildError(DockerError):
    """An image could not be built (docker build, the Debian base, a missing Dockerfile); names the image."""

    phase = "image-build"


class ImageLoadError(InfrastructureError, RuntimeError):
    """An image could not be loaded into the cluster's nodes (absent locally, or `kind load` failed)."""

    phase = "image-load"


def image_key(tag: str) -> str | None:
    """The kit input key recorded on a local image, or None when the image is absent or not the kit's."""
    return _cli.image_label(tag, KEY_LABEL)


def image_id(tag: str) -> str:
    """The local image ID of a tag."""
    return _cli.image_id(tag)


def host_ca_bundle() -> Path | None:
    """The CA bundle the host trusts (a TLS-intercepting proxy's CA is in it), if any."""
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT"):
        value = os.environ.get(var)
        if value and Path(value).is_file():
            return Path(value)
    default = Path("/etc/ssl/certs/ca-certificates.crt")
    return default if default.is_file() else None


def build(
    context: Path,
    tag: str,
    key: str,
    *,
    extra_files: dict[str, Path] | None = None,
    build_args: dict[str, str] | None = None,
    log: Path | None = None,
) -> bool:
    """Build `context` as `tag` unless an image with the same input key exists; returns True if it built.

    The context is staged in a temporary directory with the host CA bundle as `_build-ca.crt` (empty when the host
    has none), so Dockerfiles can trust a TLS-intercepting proxy during the build without it being in the tree.
    """
    if image_key(tag) == key:
        return False
    with tempfile.TemporaryDirectory(prefix="kit-ctx-") as tmp:
        stage = Path(tmp) / "ctx"
        shutil.copytree(context, stage, symlinks=True)
        ca = host_ca_bundle()
        (stage / "_build-ca.crt").write_bytes(ca.read_bytes() if ca else b"")
        for name, src in (extra_files or {}).items():
            dest = stage / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dest, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dest)
        args = ["build", "--network", "host", "--label", f"{KEY_LABEL}={key}", "-t", tag]
        for name, value in (build_args or {}).items():
            args += ["--build-arg", f"{name}={value}"]
        info(f"docker build {tag} (from {context})")
        proc = docker(*args, str(stage), check=False)
        if log:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise ImageBuildError(f"building {tag} from {context} failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return True
