"""The kind node image, assembled like `kind build node-image` does it, without any registry.

kind's own builder `ctr content fetch`es every image it cannot find in the Kubernetes image tarballs, which needs a
registry. The kit repeats kind's steps itself: copy the Kubernetes binaries into a container of the kind base image,
write /kind/version and the default CNI/storage manifests, import every preloaded image into the node's containerd
from the local Docker engine, and `docker commit` the result.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from common.docker import DockerCli
from common.errors import InfrastructureError
from kit import docker as d
from kit.images import RECIPES, ImageSpec, kit_net_image
from kit.log import info, phase
from kit.pins import Pins, input_key
from kit.poll import PollTimeout, poll

__all__ = [
    "VOLUMES_BYTES",
    "VOLUMES_DIR",
    "NodeImageError",
    "build_node_image",
    "kind_const",
    "node_image_tag",
    "node_sysctls",
]

_docker = DockerCli()

# Every node mounts a filesystem of this size (sparse) where kind's local-path provisioner keeps its volumes, so
# the database's volume can be filled without filling the host's disk (recipes/bounded-volumes).
VOLUMES_BYTES = 1 << 30
VOLUMES_DIR = "/var/local-path-provisioner"
VOLUMES_RECIPE = RECIPES / "bounded-volumes"
# Kernel settings every node boots with (recipes/node-sysctl): the key = value lines of its files.
SYSCTL_RECIPE = RECIPES / "node-sysctl"


def node_sysctls() -> dict[str, str]:
    """The settings the node image's sysctl.d files make, as sysctl prints them."""
    wanted: dict[str, str] = {}
    for conf in sorted(SYSCTL_RECIPE.iterdir()):
        for line in conf.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                wanted[key.strip()] = value.strip()
    return wanted


class NodeImageError(InfrastructureError, RuntimeError):
    """The node image could not be assembled."""

    phase = "image-build"


def node_image_tag(pins: Pins) -> str:
    """Local tag of the node image, without its input key (the built image's tag carries it as a suffix)."""
    return f"localhost/kit/node:{pins.kubernetes}"


def kind_const(go_source: str, name: str) -> str:
    """Evaluate a Go string const of kind's source: a raw string possibly concatenated with other consts."""
    consts = dict(re.findall(r'^const (\w+)\s*=\s*"([^"]*)"', go_source, re.M))
    match = re.search(rf"^const {name} = `(.*?)^`$", go_source, re.M | re.S)
    if not match:
        raise NodeImageError(f"const {name} not found in kind's source (kind version changed its layout?)")
    body = match.group(1)
    return re.sub(r"` \+ (\w+) \+ `", lambda m: consts[m.group(1)], body)


def build_node_image(
    pins: Pins,
    base_tag: str,
    base_key: str,
    k8s_bin: Path,
    kind_src: Path,
    images: list[ImageSpec],
    image_keys: list[str],
    programs: list[Path],
    *,
    rebuild: bool = False,
) -> str:
    """Build (or re-use) the node image; returns its tag."""
    tag = node_image_tag(pins)
    storage = kind_const((kind_src / "pkg/build/nodeimage/const_storage.go").read_text(), "defaultStorageManifest")
    cni = (RECIPES / "kit-net" / "default-cni.yaml").read_text().replace("__KIT_NET_IMAGE__", kit_net_image(pins))
    binaries = [k8s_bin / b for b in ("kubeadm", "kubelet", "kubectl")]
    volumes = sorted(VOLUMES_RECIPE.iterdir())
    sysctls = sorted(SYSCTL_RECIPE.iterdir())
    key = input_key(
        "node",
        base_key,
        pins.kubernetes,
        storage,
        cni,
        *binaries,
        *volumes,
        *sysctls,
        *programs,
        *image_keys,
        Path(__file__),
    )
    # The key is in the tag: two checkouts of different kit versions on one host keep one node image each
    # instead of re-tagging (and rebuilding) one name back and forth.
    tag = f"{tag}-{key[:12]}"
    if not rebuild and d.image_key(tag) == key:
        return tag
    name = f"kit-node-build-{secrets.token_hex(4)}"
    with phase(f"assembling node image {tag}"):
        d.docker(
            "run",
            "-d",
            "--entrypoint=sleep",
            f"--name={name}",
            "--security-opt",
            "seccomp=unconfined",
            base_tag,
            "infinity",
        )
        try:
            for binary in binaries:
                d.docker("cp", str(binary), f"{name}:/usr/bin/{binary.name}")
                d.docker("exec", name, "chmod", "0755", f"/usr/bin/{binary.name}")
            for program in programs:  # the kit's own (kit/localgo.py), used by the suite's faults from the node
                d.docker("cp", str(program), f"{name}:/usr/local/bin/{program.name}")
                d.docker("exec", name, "chmod", "0755", f"/usr/local/bin/{program.name}")
            _write(name, "/kind/version", pins.kubernetes)
            _write(name, "/kind/manifests/default-cni.yaml", cni)
            _write(name, "/kind/manifests/default-storage.yaml", storage)
            _install_bounded_volumes(name)
            for conf in sysctls:
                _write(name, f"/etc/sysctl.d/{conf.name}", conf.read_text())
            d.docker("exec", name, "bash", "-c", "nohup containerd > /var/log/containerd-build.log 2>&1 &")
            _wait_containerd(name)
            for spec in images:
                _import(name, spec.tag)
            _check_required(name, pins)
            d.docker("exec", name, "pkill", "containerd", check=False)
            time.sleep(1)
            d.docker(
                "commit",
                "--change",
                'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]',
                "--change",
                f"LABEL {d.KEY_LABEL}={key}",
                name,
                tag,
            )
        finally:
            d.docker("rm", "-f", "-v", name, check=False)
    return tag


def _write(container: str, path: str, content: str) -> None:
    d.docker(
        "exec",
        "-i",
        container,
        "bash",
        "-c",
        f"mkdir -p $(dirname {path}) && cat > {path}",
        input_text=content,
    )


def _install_bounded_volumes(container: str) -> None:
    """The boot-time mount of a bounded filesystem under the local-path volumes, ordered before kubelet."""
    unit = (VOLUMES_RECIPE / "todo-e2e-volumes.service").read_text().replace("__SIZE__", str(VOLUMES_BYTES))
    _write(container, "/usr/local/bin/todo-e2e-volumes", (VOLUMES_RECIPE / "todo-e2e-volumes.sh").read_text())
    d.docker("exec", container, "chmod", "0755", "/usr/local/bin/todo-e2e-volumes")
    _write(container, "/etc/systemd/system/todo-e2e-volumes.service", unit)
    _write(
        container,
        "/etc/systemd/system/kubelet.service.d/05-todo-e2e-volumes.conf",
        (VOLUMES_RECIPE / "kubelet-volumes.conf").read_text(),
    )


def _wait_containerd(container: str) -> None:
    try:
        poll(
            "containerd in the build container",
            lambda: d.docker("exec", container, "ctr", "version", check=False, timeout=10).returncode,
            timeout=30,
            interval=0.5,
            done=lambda code: code == 0,
        )
    except PollTimeout as exc:
        log = d.docker("exec", container, "cat", "/var/log/containerd-build.log", check=False).stdout
        raise NodeImageError(f"{exc}\n{log[-2000:]}") from exc


def _import(container: str, tag: str) -> None:
    importer = ["ctr", "--namespace=k8s.io", "images", "import", "--label=io.cri-containerd.pinned=pinned"]
    try:
        _docker.pipe(
            ["save", tag], ["exec", "-i", container, *importer, "--all-platforms", "--no-unpack", "--digests", "-"]
        )
    except d.DockerError as exc:
        raise NodeImageError(f"importing {tag} into the node image failed: {exc}") from exc
    info(f"preloaded {tag}")


def _check_required(container: str, pins: Pins) -> None:
    """Every image kubeadm and the default manifests will ask for must be in the node's containerd."""
    listed = set(d.docker("exec", container, "ctr", "--namespace=k8s.io", "images", "list", "-q").stdout.split())
    required = d.docker(
        "exec", container, "kubeadm", "config", "images", "list", "--kubernetes-version", pins.kubernetes
    ).stdout.split()
    required = [r for r in required if "/pause:" not in r] + [f"registry.k8s.io/pause:{pins.pause}"]
    manifests = d.docker(
        "exec", container, "cat", "/kind/manifests/default-cni.yaml", "/kind/manifests/default-storage.yaml"
    ).stdout
    required += re.findall(r"image: (\S+)", manifests) + re.findall(r"--helper-image\s+- (\S+)", manifests)
    missing = [r for r in dict.fromkeys(required) if _normal(r) not in {_normal(x) for x in listed}]
    if missing:
        raise NodeImageError(
            "the node image would need a registry for: "
            + ", ".join(missing)
            + f". Check the pins in kit/pins.toml (kubeadm {pins.kubernetes} asks for these tags)."
        )


def _normal(ref: str) -> str:
    if ref.count("/") == 0:
        return "docker.io/library/" + ref
    first = ref.split("/", 1)[0]
    if "." not in first and ":" not in first and first != "localhost":
        return "docker.io/" + ref
    return ref
