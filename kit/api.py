"""The kit's public entry: build every artifact (cached), create or re-use the suite's cluster, load images.

The suite calls only this module. Everything here is idempotent: a warm run verifies the cache and returns.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.names import DEFAULT_CLUSTER
from kit import cluster as c
from kit import docker as d
from kit.gobuild import components, go_build, module_dir
from kit.images import ensure_base, ensure_image, kind_base_spec, preloaded_images
from kit.localgo import LOCAL_PROGRAMS, build_local
from kit.lock import host_lock
from kit.log import info, phase, timings
from kit.nodeimage import VOLUMES_BYTES, build_node_image, node_sysctls
from kit.pins import Pins, cache_dir, input_key, load_pins
from kit.preflight import ensure_docker

__all__ = [
    "ClusterInfo",
    "Tools",
    "build_image",
    "delete_cluster",
    "ensure_cluster",
    "ensure_tools",
    "load_image",
    "node_containers",
]


@dataclass(frozen=True)
class Tools:
    """What the kit built: binaries for the host and the node image."""

    kind: Path
    kubectl: Path
    node_image: str
    node_image_id: str
    kind_version: str
    k8s_version: str
    pins: Pins
    base_key: str


@dataclass
class ClusterInfo:
    """A running cluster made by the kit."""

    name: str
    kubeconfig: Path
    context: str
    node_image: str
    frontend_url: str
    kind: Any  # pytest_kind.KindCluster
    marker_token: str
    created: bool
    create_seconds: float


_tools: Tools | None = None


def ensure_tools(*, rebuild: bool = False) -> Tools:
    """Preflight, then build (or verify) every artifact; a warm run takes seconds."""
    global _tools
    if _tools is not None and not rebuild:
        return _tools
    # One build at a time on this host: a second process waits (bounded) instead of compiling the same again.
    with host_lock("build", "the kit build"):
        _tools = _build_tools(rebuild=rebuild)
    return _tools


def _build_tools(*, rebuild: bool) -> Tools:
    started = time.monotonic()
    with phase("host preflight"):
        ensure_docker()
    pins = load_pins()
    with phase("base image"):
        base_key = ensure_base(pins, rebuild=rebuild)
    go = {}
    with phase("Go builds"):
        for component in components(pins):
            go[component.name] = go_build(component, pins, rebuild=rebuild)
        programs = [build_local(name, rebuild=rebuild) for name in LOCAL_PROGRAMS]
    k8s_bin = go["kubernetes"] / "bin"
    kind_src = module_dir("sigs.k8s.io/kind", pins.kind)
    pause_src = module_dir("k8s.io/kubernetes", pins.kubernetes) / "build" / "pause" / "linux" / "pause.c"
    specs = preloaded_images(pins, k8s_bin, go, pause_src)
    with phase("preloaded images"):
        for spec in specs:
            ensure_image(spec, base_key, rebuild=rebuild)
    base_spec = kind_base_spec(pins, kind_src, go)
    with phase("kind base image"):
        ensure_image(base_spec, base_key, rebuild=rebuild)
    with phase("node image"):
        node = build_node_image(
            pins,
            base_spec.tag,
            base_spec.key(base_key),
            k8s_bin,
            kind_src,
            specs,
            [s.key(base_key) for s in specs],
            programs,
            rebuild=rebuild,
        )
    tools = Tools(
        kind=go["kind"] / "bin" / "kind",
        kubectl=k8s_bin / "kubectl",
        node_image=node,
        node_image_id=d.image_id(node),
        kind_version=pins.kind,
        k8s_version=pins.kubernetes,
        pins=pins,
        base_key=base_key,
    )
    info(
        f"tools ready in {time.monotonic() - started:.1f}s: kind {pins.kind}, Kubernetes {pins.kubernetes}, "
        f"node image {node}"
    )
    _record_timings()
    # Rebuilt images leave their predecessors untagged: drop those of the kit (never anyone else's images).
    d.docker("image", "prune", "-f", "--filter", f"label={d.KEY_LABEL}", check=False)
    return tools


def _record_timings() -> None:
    path = cache_dir() / "logs" / "last-build-timings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(timings, indent=1))


def _kind_cluster(name: str, tools: Tools, kubeconfig: Path) -> Any:
    from pytest_kind import KindCluster  # pytest-kind drives kind, with the kit's binaries (no downloads)

    return KindCluster(
        name, kubeconfig=kubeconfig, image=tools.node_image, kind_path=tools.kind, kubectl_path=tools.kubectl
    )


def _create(name: str, tools: Tools, kubeconfig: Path, config: Path) -> Any:
    """Create (or attach to) the cluster through pytest-kind; its failures become KindError (infrastructure)."""
    kind = _kind_cluster(name, tools, kubeconfig)
    try:
        kind.create(config_file=config)
    except (OSError, subprocess.SubprocessError) as exc:
        raise c.KindError(f"kind could not create cluster {name!r} (config {config}): {exc}") from exc
    return kind


def ensure_cluster(
    name: str = DEFAULT_CLUSTER, *, fast_failover: bool = True, host_port: int = c.FRONTEND_NODE_PORT
) -> ClusterInfo:
    """Create the suite's cluster, or re-use a healthy one this kit made from the same node image."""
    tools = ensure_tools()
    cdir = c.cluster_dir(name)
    kubeconfig = cdir / "kubeconfig"
    config = cdir / "kind-config.yaml"
    wanted = c.kind_config(c.ClusterSpec(name=name, fast_failover=fast_failover, host_port=host_port))
    before = config.read_text() if config.is_file() else None
    config.write_text(wanted)
    token_file = cdir / "marker-token"
    created = False
    started = time.monotonic()
    if name in c.existing_clusters(tools.kind):
        nodes = c.node_containers(name)
        cp = (nodes.get("control-plane") or [""])[0]
        image, image_id = (
            d.docker("inspect", "--format", "{{.Config.Image}} {{.Image}}", cp, check=False)
            .stdout.strip()
            .partition(" ")[::2]
        )
        if image != tools.node_image and token_file.exists() and image.startswith(tools.node_image.rsplit("-", 1)[0]):
            # The kit's own cluster on another build of the node image: replace it, or the suite would test
            # another Kubernetes build than the one it was given.
            info(f"cluster {name} runs node image {image}, not {tools.node_image}: deleting it to create it anew")
            delete_cluster(name)
            return ensure_cluster(name, fast_failover=fast_failover, host_port=host_port)
        if image != tools.node_image:
            raise c.ClusterError(
                f"a kind cluster named {name!r} exists but runs node image {image or 'unknown'}, not this kit's "
                f"{tools.node_image} (made by someone else?). Delete it "
                f"(`python -m kit down --name {name}`) or choose another name (--cluster-name)."
            )
        if before is not None and before != wanted and token_file.exists():
            # The kit's own cluster made from another config (port mappings, failover settings): those are fixed
            # at creation, so it is replaced.
            info(f"cluster {name} was created from another kind config: deleting it to create it anew")
            delete_cluster(name)
            return ensure_cluster(name, fast_failover=fast_failover, host_port=host_port)
        if image_id != tools.node_image_id and token_file.exists():
            # The kit's own cluster, kept from a run before the node image was rebuilt: replace it, or the suite
            # would test yesterday's Kubernetes.
            info(f"cluster {name} runs an older build of {image}: deleting it to create a fresh one")
            delete_cluster(name)
            return ensure_cluster(name, fast_failover=fast_failover, host_port=host_port)
        stopped = [
            n
            for ns in nodes.values()
            for n in ns
            if d.docker("inspect", "--format", "{{.State.Running}}", n).stdout.strip() != "true"
        ]
        for node in stopped:
            info(f"re-using cluster {name}: starting stopped node {node}")
            d.docker("start", node)
        c.run_kind(tools.kind, "export", "kubeconfig", f"--name={name}", f"--kubeconfig={kubeconfig}", timeout=120)
        kind = _create(name, tools, kubeconfig, config)
        info(f"re-using cluster {name}")
    else:
        token_file.unlink(missing_ok=True)
        kubeconfig.unlink(missing_ok=True)
        with phase(f"kind create cluster {name} (1 control plane + 2 workers)"):
            kind = _create(name, tools, kubeconfig, config)
        created = True
    c.wait_nodes_ready(tools.kubectl, kubeconfig, expected=3)
    c.check_bounded_volumes(name, VOLUMES_BYTES)
    c.check_node_sysctls(name, node_sysctls())
    ns, cm = c.MARKER
    token = token_file.read_text().strip() if token_file.exists() else ""
    if not token and not created:
        # Re-used cluster whose host-side token was lost (an interrupted run): keep the marker it already has.
        proc = subprocess.run(
            [
                str(tools.kubectl),
                "--kubeconfig",
                str(kubeconfig),
                "-n",
                ns,
                "get",
                "configmap",
                cm,
                "-o",
                "jsonpath={.data.cluster} {.data.token}",
            ],
            capture_output=True,
            text=True,
        )
        owner, _, found = proc.stdout.partition(" ")
        if proc.returncode == 0 and owner == name and found:
            token = found
    token = token or c.new_marker_token()
    manifest = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": cm,
                "namespace": ns,
                "labels": {"app.kubernetes.io/managed-by": "todo-e2e-kit"},
            },
            "data": {"cluster": name, "token": token},
        }
    )
    applied = subprocess.run(
        [str(tools.kubectl), "--kubeconfig", str(kubeconfig), "apply", "-f", "-"],
        input=manifest,
        text=True,
        capture_output=True,
        timeout=120,
    )
    if applied.returncode != 0:
        raise c.ClusterError(f"cannot write the cluster marker {ns}/{cm}: {applied.stderr.strip()[-800:]}")
    token_file.write_text(token)
    seconds = time.monotonic() - started
    if created:
        info(f"cluster {name} ready in {seconds:.1f}s")
    return ClusterInfo(
        name=name,
        kubeconfig=kubeconfig,
        context=f"kind-{name}",
        node_image=tools.node_image,
        frontend_url=f"http://127.0.0.1:{host_port}",
        kind=kind,
        marker_token=token,
        created=created,
        create_seconds=seconds,
    )


def delete_cluster(name: str = DEFAULT_CLUSTER) -> None:
    """Delete the cluster and its host-side state (kubeconfig, marker token)."""
    tools = ensure_tools()
    if name in c.existing_clusters(tools.kind):
        with phase(f"kind delete cluster {name}"):
            c.run_kind(tools.kind, "delete", "cluster", f"--name={name}", timeout=300)
    cdir = c.cluster_dir(name)
    for f in ("kubeconfig", "marker-token"):
        (cdir / f).unlink(missing_ok=True)


def build_image(context_dir: Path, repository: str) -> str:
    """Build an app image from `context_dir` (FROM debian:bookworm-slim), tagged by a hash of its content."""
    context_dir = Path(context_dir)
    if not (context_dir / "Dockerfile").is_file():
        raise d.ImageBuildError(f"no Dockerfile in {context_dir}: cannot build image {repository!r}")
    tools = ensure_tools()
    key = input_key("app", tools.base_key, context_dir)
    tag = f"{repository}:{key[:12]}"
    with phase(f"image {tag}"):
        d.build(context_dir, tag, key, log=cache_dir() / "logs" / f"build-{repository}.log")
    return tag


def _nodes_without(image: str, nodes: list[str]) -> list[str]:
    """The node containers whose containerd does not hold this image yet (a kept cluster keeps its images)."""
    missing = []
    for node in nodes:
        probe = d.docker("exec", node, "crictl", "inspecti", "-q", image, check=False)
        if probe.returncode != 0:
            missing.append(node)
    return missing


def load_image(info_: ClusterInfo, image: str) -> None:
    """Load a local image into the nodes of the cluster that lack it (`kind load docker-image --nodes`)."""
    if d.docker("image", "inspect", image, check=False).returncode != 0:
        raise ValueError(f"image {image!r} is not in the local Docker engine: build it or check the name")
    tools = ensure_tools()
    nodes = [n for names in c.node_containers(info_.name).values() for n in names]
    missing = _nodes_without(image, nodes) if nodes else []
    if nodes and not missing:
        info(f"image {image} already on every node of {info_.name}")
        return
    with phase(f"kind load {image} into {', '.join(missing) or 'every node'}"):
        subprocess.run(
            [str(tools.kind), "load", "docker-image", image, f"--name={info_.name}"]
            + ([f"--nodes={','.join(missing)}"] if missing else []),
            check=True,
            capture_output=True,
        )


def node_containers(name: str = DEFAULT_CLUSTER) -> dict[str, list[str]]:
    """Docker container names of the cluster's nodes by role ("control-plane", "worker")."""
    return c.node_containers(name)
