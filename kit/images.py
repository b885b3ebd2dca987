"""Every image the kit needs, built here: the Debian base, the images the node preloads, kind's base image.

Each image's Dockerfile is generated from the pins and built from binaries the Go builds produced, so the recipe and
its inputs are hashed into one key recorded as a label; an image whose label matches is re-used as is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from kit import docker as d
from kit.artifacts import artifact
from kit.log import phase
from kit.pins import KIT_DIR, Pins, input_key
from kit.preflight import PreflightError

__all__ = [
    "BASE_TAG",
    "ImageSpec",
    "ensure_base",
    "ensure_image",
    "kind_base_spec",
    "kit_net_image",
    "preloaded_images",
]

BASE_TAG = "debian:bookworm-slim"
RECIPES = KIT_DIR / "recipes"
APT = (
    "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
    "{pkgs} && rm -rf /var/lib/apt/lists/*"
)


@dataclass
class ImageSpec:
    """One image: its tag, a generated Dockerfile and the files its build context needs."""

    tag: str
    dockerfile: str
    files: dict[str, Path] = field(default_factory=dict)
    inputs: list[object] = field(default_factory=list)

    def key(self, base_key: str) -> str:
        """Input key: base image, Dockerfile text, and every context file's name and content.

        Only names inside the build context count, never where the files live on the host: a fresh clone in
        another folder (CI) or a binary relinked into a new cache entry must hit the same key.
        """
        return input_key(
            base_key,
            self.dockerfile,
            sorted(self.files),
            *[p for _, p in sorted(self.files.items())],
            *self.inputs,
        )


def _debian_mirror() -> list[str]:
    """Where mmdebstrap fetches from: $TODO_E2E_DEBIAN_MIRROR, else the host's own apt sources on a Debian host,
    else Debian's archive (an Ubuntu CI runner's sources would give the wrong distribution)."""
    explicit = os.environ.get("TODO_E2E_DEBIAN_MIRROR")
    if explicit:
        return [explicit]
    os_release = Path("/etc/os-release").read_text() if Path("/etc/os-release").exists() else ""
    return [] if "\nID=debian" in "\n" + os_release else ["http://deb.debian.org/debian"]


def ensure_base(pins: Pins, *, rebuild: bool = False) -> str:
    """The Debian base image every other image builds FROM, made with mmdebstrap from Debian's archive."""
    key = input_key("base", pins.debian, "minbase", "ca-certificates")
    if not rebuild and d.image_key(BASE_TAG) == key:
        return key

    def produce(out: Path) -> None:
        if not shutil.which("mmdebstrap"):
            raise PreflightError(
                "mmdebstrap is missing: `apt-get install mmdebstrap` (the kit seeds its Debian base "
                "image from Debian's archive with it)"
            )
        with phase(f"mmdebstrap {pins.debian} minbase"):
            proc = subprocess.run(
                [
                    "mmdebstrap",
                    "--variant=minbase",
                    "--include=ca-certificates",
                    "--quiet",
                    pins.debian,
                    str(out / "rootfs.tar"),
                    *_debian_mirror(),
                ],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise d.ImageBuildError(
                    f"mmdebstrap {pins.debian} failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}"
                )

    entry = artifact("base", f"debian-{pins.debian}", key, produce, rebuild=rebuild)
    with phase(f"docker import {BASE_TAG}"):
        d.docker(
            "import",
            "--change",
            f"LABEL {d.KEY_LABEL}={key}",
            "--change",
            'CMD ["bash"]',
            "--change",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            str(entry / "rootfs.tar"),
            BASE_TAG,
        )
    return key


def ensure_image(spec: ImageSpec, base_key: str, *, rebuild: bool = False) -> bool:
    """Build `spec` unless an image with its key exists; returns True when it built."""
    key = spec.key(base_key)
    if rebuild:
        d.docker("rmi", "-f", spec.tag, check=False)
    with tempfile.TemporaryDirectory(prefix="kit-img-") as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(spec.dockerfile)
        return d.build(ctx, spec.tag, key, extra_files=spec.files)


def _binary_image(
    tag: str,
    binaries: list[Path],
    *,
    packages: str = "",
    entrypoint: list[str] | None = None,
    extra: str = "",
    files: dict[str, Path] | None = None,
) -> ImageSpec:
    lines = [f"FROM {BASE_TAG}"]
    if packages:
        lines.append(APT.format(pkgs=packages))
    ctx_files = {f"bin/{b.name}": b for b in binaries}
    ctx_files.update(files or {})
    if binaries:
        lines.append("COPY bin/ /usr/local/bin/")
    if extra:
        lines.append(extra)
    if entrypoint:
        lines.append("ENTRYPOINT [" + ", ".join(f'"{e}"' for e in entrypoint) + "]")
    return ImageSpec(tag, "\n".join(lines) + "\n", ctx_files)


IPTABLES_WRAPPER = (
    "COPY iptables-wrapper /usr/sbin/iptables-wrapper\n"
    "RUN chmod 0755 /usr/sbin/iptables-wrapper && for t in iptables ip6tables; do "
    "update-alternatives --install /usr/sbin/$t $t /usr/sbin/iptables-wrapper 100 "
    "--slave /usr/sbin/$t-save $t-save /usr/sbin/iptables-wrapper "
    "--slave /usr/sbin/$t-restore $t-restore /usr/sbin/iptables-wrapper && "
    "update-alternatives --set $t /usr/sbin/iptables-wrapper; done"
)


def kit_net_image(pins: Pins) -> str:
    """The tag of the kit's CNI daemon image (referenced by the node's default CNI manifest)."""
    return f"localhost/kit/kit-net:{pins.cni}"


def preloaded_images(pins: Pins, k8s_bin: Path, go: dict[str, Path], pause_src: Path) -> list[ImageSpec]:
    """Every image `kubeadm init/join` and kind's default manifests need, tagged with the names they ask for."""
    reg = "registry.k8s.io"
    v = pins.kubernetes
    wrapper = {"iptables-wrapper": RECIPES / "iptables-wrapper"}
    images = [
        _binary_image(f"{reg}/kube-apiserver:{v}", [k8s_bin / "kube-apiserver"]),
        _binary_image(f"{reg}/kube-controller-manager:{v}", [k8s_bin / "kube-controller-manager"]),
        _binary_image(f"{reg}/kube-scheduler:{v}", [k8s_bin / "kube-scheduler"]),
        _binary_image(
            f"{reg}/kube-proxy:{v}",
            [k8s_bin / "kube-proxy"],
            packages="iptables nftables conntrack ipset kmod",
            extra=IPTABLES_WRAPPER,
            files=wrapper,
        ),
        _binary_image(
            f"{reg}/etcd:{pins.etcd}",
            [go["etcd"] / "bin" / "server"],
            extra=("RUN mv /usr/local/bin/server /usr/local/bin/etcd && etcd --version"),
        ),
        _binary_image(
            f"{reg}/coredns/coredns:{pins.coredns}",
            [go["coredns"] / "bin" / "coredns"],
            extra="RUN ln -s /usr/local/bin/coredns /coredns",
            entrypoint=["/coredns"],
        ),
        _binary_image(
            "docker.io/kindest/local-path-provisioner:v20250214-acbabc1a",
            [go["local-path-provisioner"] / "bin" / "local-path-provisioner"],
        ),
        ImageSpec("docker.io/kindest/local-path-helper:v20241212-8ac705d0", f"FROM {BASE_TAG}\n"),
        _binary_image(
            kit_net_image(pins),
            [],
            packages="iptables iproute2 curl jq ca-certificates",
            extra=IPTABLES_WRAPPER + "\nCOPY kit-net.sh /usr/local/bin/kit-net\nRUN chmod 0755 /usr/local/bin/kit-net",
            entrypoint=["/usr/local/bin/kit-net"],
            files={**wrapper, "kit-net.sh": RECIPES / "kit-net" / "kit-net.sh"},
        ),
        ImageSpec(
            f"{reg}/pause:{pins.pause}",
            f"FROM {BASE_TAG} AS build\n" + APT.format(pkgs="gcc libc6-dev") + "\n"
            "COPY pause.c /pause.c\n"
            f"RUN gcc -Os -Wall -Werror -static -DVERSION=v{pins.pause}-kit -o /pause /pause.c && strip /pause\n"
            'FROM scratch\nCOPY --from=build /pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n',
            {"pause.c": pause_src},
        ),
    ]
    return images


NODE_PACKAGES = (
    "systemd conntrack iptables nftables iproute2 ethtool util-linux mount kmod libseccomp2 pigz "
    "nfs-common e2fsprogs bash ca-certificates curl jq procps runc"
)


def kind_base_spec(pins: Pins, kind_src: Path, go: dict[str, Path]) -> ImageSpec:
    """kind's base image (images/base in kind's module), rebuilt from Debian packages and Go-built binaries."""
    files: dict[str, Path] = {"files": kind_src / "images" / "base" / "files"}
    for name in ("containerd", "ctr", "containerd-shim-runc-v2"):
        files[f"bin/{name}"] = go["containerd"] / "bin" / name
    files["bin/crictl"] = go["crictl"] / "bin" / "crictl"
    for name in ("host-local", "loopback", "ptp", "portmap"):
        files[f"cni/{name}"] = go["cni-plugins"] / "bin" / name
    dockerfile = f"""FROM {BASE_TAG}
# Packages first: copying /etc in before installing makes dpkg fail (verified on the build hosts).
{APT.format(pkgs=NODE_PACKAGES)}
COPY files/ /
COPY bin/ /usr/local/bin/
COPY cni/ /opt/cni/bin/
RUN chmod 0755 /usr/local/bin/* /kind/bin/* /opt/cni/bin/* \\
    && find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete \\
    && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \\
       /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \\
       /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \\
    && echo "ReadKMsg=no" >> /etc/systemd/journald.conf \\
    && ln -sf "$(which systemd)" /sbin/init \\
    && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \\
    && systemctl mask systemd-binfmt.service \\
    && mkdir -p /etc/kubernetes/manifests \\
    && ctr oci spec \\
       | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + \\
             {{"path": "/kind/bin/mount-product-files.sh"}}' \\
       | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \\
    && sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml \\
    && grep -q 'restrict_oom_score_adj = true' /etc/containerd/config.toml \\
    && grep -q 'sandbox_image = "registry.k8s.io/pause:{pins.pause}"' /etc/containerd/config.toml \\
    && containerd --version && runc --version && crictl --version
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
"""
    return ImageSpec(f"localhost/kit/kind-base:{pins.kind}", dockerfile, files)
