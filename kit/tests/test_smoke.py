"""Real smoke test of the kit: create the cluster from the built node image and check what the suite relies on.

Marked `cluster`: runs in `nox -s e2e` (and so in CI), never in the unit session. It creates its own cluster
(the suite's own, `todo-e2e` or --cluster-name, created here when it does not exist yet, so one cluster serves the
smoke checks and the suite) in a namespace of its own, on a NodePort of its own. It deletes the cluster at the end
only when it ran alone (no suite scenario in the session) and neither --keep-cluster nor KIT_KEEP_SMOKE=1 is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from common.names import DEFAULT_CLUSTER, FRONTEND_NODE_PORT
from kit.cluster import SMOKE_NODE_PORT
from kit.nodeimage import VOLUMES_BYTES
from kit.poll import poll

pytestmark = pytest.mark.cluster

NAME = DEFAULT_CLUSTER
NS = "kit-smoke"
HOST_PORT = SMOKE_NODE_PORT  # set by the fixture from the cluster's offset
SMOKE_PORT = SMOKE_NODE_PORT  # not the front end's 30080: the smoke namespace lives beside the suite's app


class Kubectl:
    """kubectl bound to one kubeconfig, failing with the command's output."""

    def __init__(self, binary: Path, kubeconfig: Path) -> None:
        self.base = [str(binary), "--kubeconfig", str(kubeconfig)]

    def __call__(self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120) -> str:
        proc = subprocess.run([*self.base, *args], input=stdin, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json"))

    def apply(self, *objects: dict[str, Any]) -> None:
        self("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def wait(what: str, check: Any, timeout: float, interval: float = 1.0) -> Any:
    """Poll `check` until truthy (the kit's own poll: names what, the budget and the last value/error)."""
    return poll(what, check, timeout=timeout, interval=interval)


def pod(name: str, node: str, command: str, image: str = "debian:bookworm-slim", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "nodeName": node,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {"name": "c", "image": image, "imagePullPolicy": "Never", "command": ["bash", "-c", command]}
            ],
            **spec,
        },
    }


def ready_endpoints(k: Kubectl, service: str) -> list[str]:
    """Addresses of the Service's ready endpoints (EndpointSlices), empty while none is ready."""
    slices = k.json("-n", NS, "get", "endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]
    return [
        a
        for s in slices
        for e in s.get("endpoints") or []
        if (e.get("conditions") or {}).get("ready")
        for a in e.get("addresses", [])
    ]


def finished(k: Kubectl, name: str) -> str | None:
    phase = k.json("-n", NS, "get", "pod", name)["status"].get("phase")
    if phase == "Failed":
        raise AssertionError(f"pod {name} failed: {k('-n', NS, 'logs', name, check=False)}")
    return k("-n", NS, "logs", name) if phase == "Succeeded" else None


@pytest.fixture(scope="module")
def smoke(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Kubectl, dict[str, Any]]]:
    from kit import api

    global HOST_PORT
    name = str(request.config.getoption("--cluster-name", default=None) or NAME)
    name = NAME if name == "pytest-kind" else name
    url = str(request.config.getoption("--frontend-url", default="") or "")
    front = urlsplit(url).port or FRONTEND_NODE_PORT
    HOST_PORT = SMOKE_PORT + front - FRONTEND_NODE_PORT
    started = time.monotonic()
    info = api.ensure_cluster(name, host_port=front)
    timings = {"create_s": round(time.monotonic() - started, 1), "created": info.created}
    tools = api.ensure_tools()
    k = Kubectl(tools.kubectl, info.kubeconfig)
    # A kept cluster may hold an earlier run's namespace: start clean (pods are immutable).
    k("delete", "namespace", NS, "--ignore-not-found", "--wait=true", timeout=180)
    try:
        yield info, k, timings
    finally:
        print(f"\nkit smoke timings: {json.dumps(timings)}")
        out = Path(os.environ.get("TODO_E2E_CACHE", Path.home() / ".cache/todo-e2e")) / "logs" / "smoke.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(timings))
        alone = not any("tests/e2e" in item.nodeid for item in request.session.items)
        keep = request.config.getoption("--keep-cluster", default=False) or os.environ.get("KIT_KEEP_SMOKE") == "1"
        if alone and not keep:
            api.delete_cluster(name)


def test_cluster_is_ready_and_serves_what_the_suite_needs(smoke: tuple[Any, Kubectl, dict[str, Any]]) -> None:
    from kit import api

    info, k, timings = smoke
    nodes = k.json("get", "nodes")["items"]
    roles = sorted(
        "control-plane" if "node-role.kubernetes.io/control-plane" in n["metadata"]["labels"] else "worker"
        for n in nodes
    )
    assert roles == ["control-plane", "worker", "worker"]
    assert all(c["status"] == "True" for n in nodes for c in n["status"]["conditions"] if c["type"] == "Ready")
    assert {n["status"]["nodeInfo"]["kubeletVersion"] for n in nodes} == {api.ensure_tools().k8s_version}
    workers = sorted(
        n["metadata"]["name"] for n in nodes if "node-role.kubernetes.io/control-plane" not in n["metadata"]["labels"]
    )

    # kind load docker-image: the Debian base is loaded into every node and used with imagePullPolicy Never.
    started = time.monotonic()
    api.load_image(info, "debian:bookworm-slim")
    timings["load_image_s"] = round(time.monotonic() - started, 1)

    k("create", "namespace", NS, check=False)
    server = pod(
        "web",
        workers[0],
        "exec etcd --data-dir /tmp/etcd --listen-client-urls http://0.0.0.0:2379 "
        "--advertise-client-urls http://web:2379",
        image=f"registry.k8s.io/etcd:{api.ensure_tools().pins.etcd}",
    )
    server["spec"]["containers"][0]["readinessProbe"] = {
        "httpGet": {"path": "/health", "port": 2379},
        "periodSeconds": 1,
    }
    # The Service and its one server first; the clients start only once the Service has a ready endpoint, so no
    # connection is made to a ClusterIP that kube-proxy has not programmed yet (such a packet would leave the node
    # by its default route: on the CI hosts an intercepting proxy answers it with "426 Upgrade Required").
    k.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "web"},
                "ports": [{"port": 2379, "targetPort": 2379, "nodePort": SMOKE_PORT}],
            },
        },
        server,
    )
    wait("a ready endpoint behind Service web", lambda: ready_endpoints(k, "web"), 120)
    # A client pod on each worker; CoreDNS answers for the Service name from both (cross-node pod networking
    # included). Each client retries until etcd's own health answer comes back: any other answer is not success.
    k.apply(
        *[
            pod(
                f"dns-{i}",
                w,
                "for i in $(seq 60); do if getent hosts web.kit-smoke.svc.cluster.local && "
                "bash -c 'exec 3<>/dev/tcp/web.kit-smoke.svc.cluster.local/2379 && "
                'printf "GET /health HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3\' > /tmp/out; then cat /tmp/out;'
                ' if grep -q \'"health":"true"\' /tmp/out; then exit 0; fi; fi; sleep 1; done; exit 1',
            )
            for i, w in enumerate(workers)
        ],
    )
    for i, w in enumerate(workers):
        out = wait(f"DNS + HTTP to the Service from {w}", lambda i=i: finished(k, f"dns-{i}"), 120)
        assert '"health":"true"' in out, out
    # The NodePort is reachable from the host on 127.0.0.1 (kind extraPortMappings on the control plane).
    body = wait(
        f"NodePort {SMOKE_PORT} on 127.0.0.1:{HOST_PORT}",
        lambda: urllib.request.urlopen(f"http://127.0.0.1:{HOST_PORT}/health", timeout=3).read().decode(),
        60,
    )
    assert '"health":"true"' in body


def test_pvc_binds_and_data_survives_a_worker_stop_start(smoke: tuple[Any, Kubectl, dict[str, Any]]) -> None:
    _, k, timings = smoke
    k("create", "namespace", NS, check=False)
    k.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": NS},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}},
        }
    )
    volume: dict[str, Any] = {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}
    # df: the volume is the node's bounded filesystem (kit/recipes/bounded-volumes), not the host's disk.
    writer = pod("writer", "", "echo kept-$(date +%s) > /data/f && cat /data/f && df -Pk /data | tail -n 1", **volume)
    del writer["spec"]["nodeName"]
    writer["spec"]["containers"][0]["volumeMounts"] = [{"name": "d", "mountPath": "/data"}]
    k.apply(writer)
    written, df_before = wait("the writer pod on a fresh PVC", lambda: finished(k, "writer"), 120).strip().split("\n")
    assert 0 < int(df_before.split()[1]) * 1024 <= VOLUMES_BYTES, f"the PVC is not on a bounded volume: {df_before}"
    assert k.json("-n", NS, "get", "pvc", "data")["status"]["phase"] == "Bound"
    node = k.json("-n", NS, "get", "pod", "writer")["spec"]["nodeName"]
    ip_before = next(
        a["address"] for a in k.json("get", "node", node)["status"]["addresses"] if a["type"] == "InternalIP"
    )

    from kit import docker as d

    t0 = time.monotonic()
    d.docker("stop", node)
    try:
        wait(
            f"{node} NotReady",
            lambda: any(
                c["type"] == "Ready" and c["status"] != "True"
                for c in k.json("get", "node", node)["status"]["conditions"]
            ),
            60,
        )
        timings["not_ready_after_stop_s"] = round(time.monotonic() - t0, 1)
    finally:
        d.docker("start", node)
    t1 = time.monotonic()
    wait(
        f"{node} Ready again",
        lambda: all(
            c["status"] == "True" for c in k.json("get", "node", node)["status"]["conditions"] if c["type"] == "Ready"
        ),
        120,
    )
    timings["ready_after_start_s"] = round(time.monotonic() - t1, 1)
    ip_after = next(
        a["address"] for a in k.json("get", "node", node)["status"]["addresses"] if a["type"] == "InternalIP"
    )
    timings["node_ip_changed"] = ip_before != ip_after
    reader = pod("reader", "", "cat /data/f && df -Pk /data | tail -n 1", **volume)
    del reader["spec"]["nodeName"]
    reader["spec"]["containers"][0]["volumeMounts"] = [{"name": "d", "mountPath": "/data"}]
    k.apply(reader)
    read, df_after = wait("the reader pod after the restart", lambda: finished(k, "reader"), 120).strip().split("\n")
    assert read == written
    # Mounted again at boot before kubelet started the pod: the data was read from the bounded filesystem.
    assert 0 < int(df_after.split()[1]) * 1024 <= VOLUMES_BYTES, f"after the restart the PVC is on {df_after}"
    # Networking still works across nodes after a restart (kit-net re-routes on IP changes).
    k("-n", NS, "delete", "pod", "dns-0", "dns-1", "--ignore-not-found", "--wait=false")
    probe = pod(
        "dns-after",
        node,
        "for i in $(seq 60); do getent hosts kubernetes.default.svc.cluster.local && exit 0; sleep 1; done; exit 1",
    )
    k.apply(probe)
    wait("service DNS from the restarted node", lambda: finished(k, "dns-after"), 120)
