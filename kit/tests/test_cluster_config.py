"""The pinned kind config: topology, port mapping on loopback, fast failover settings."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from kit import cluster as c
from kit.cluster import FAILOVER, FRONTEND_NODE_PORT, NODE_PORTS, ClusterSpec, kind_config
from kit.nodeimage import kind_const, node_sysctls


def test_one_control_plane_two_workers_and_loopback_port() -> None:
    cfg = yaml.safe_load(kind_config(ClusterSpec(name="todo-e2e")))
    assert cfg["name"] == "todo-e2e"
    roles = [n["role"] for n in cfg["nodes"]]
    assert roles == ["control-plane", "worker", "worker"]
    mappings = cfg["nodes"][0]["extraPortMappings"]
    assert mappings[0] == {
        "containerPort": FRONTEND_NODE_PORT,
        "hostPort": FRONTEND_NODE_PORT,
        "listenAddress": "127.0.0.1",
        "protocol": "TCP",
    }
    assert [m["containerPort"] for m in mappings] == list(NODE_PORTS)
    assert all(m["listenAddress"] == "127.0.0.1" for m in mappings)


def test_another_front_end_port_shifts_every_mapping() -> None:
    """A second cluster on --frontend-url ...:30090 asks for host ports 30090, 30091, 30092: no collision."""
    cfg = yaml.safe_load(kind_config(ClusterSpec(name="x", host_port=FRONTEND_NODE_PORT + 10)))
    hosts = [m["hostPort"] for m in cfg["nodes"][0]["extraPortMappings"]]
    assert hosts == [p + 10 for p in NODE_PORTS]


def test_fast_failover_patches_controller_manager_and_kubelet() -> None:
    cfg = yaml.safe_load(kind_config(ClusterSpec(name="x")))
    patches = [yaml.safe_load(p) for p in cfg["kubeadmConfigPatches"]]
    cm = next(p for p in patches if p["kind"] == "ClusterConfiguration")["controllerManager"]["extraArgs"]
    kubelet = next(p for p in patches if p["kind"] == "KubeletConfiguration")
    assert cm["node-monitor-grace-period"] == "10s"
    # the lease must be renewed well inside the grace period, or healthy nodes flap NotReady
    renew = kubelet["nodeLeaseDurationSeconds"] / 4
    assert renew * 3 <= int(cm["node-monitor-grace-period"].rstrip("s"))
    assert kubelet["nodeStatusUpdateFrequency"] == FAILOVER["nodeStatusUpdateFrequency"]


def test_default_failover_has_no_patches() -> None:
    cfg = yaml.safe_load(kind_config(ClusterSpec(name="x", fast_failover=False)))
    assert "kubeadmConfigPatches" not in cfg


def test_kind_const_evaluates_concatenated_raw_strings() -> None:
    src = 'const img = "docker.io/x/y:v1"\n\nconst manifest = `\nimage: ` + img + `\nend\n`\n'
    assert kind_const(src, "manifest") == "\nimage: docker.io/x/y:v1\nend\n"


def test_nodes_boot_with_icmp_refusals_unlimited() -> None:
    """Refusals of a Service without ready endpoints reach every concurrent client (recipes/node-sysctl)."""
    assert node_sysctls() == {"net.ipv4.icmp_ratelimit": "0"}


def test_a_node_without_the_kit_settings_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """check_node_sysctls reads each node's value and names the node, the key and both values."""
    seen = {"kind-a-control-plane": "0", "kind-a-worker": "1000"}

    def fake_docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        node = args[1]
        return subprocess.CompletedProcess(list(args), 0, stdout=seen[node] + "\n", stderr="")

    monkeypatch.setattr(
        c, "node_containers", lambda name: {"control-plane": [f"{name}-control-plane"], "worker": [f"{name}-worker"]}
    )
    monkeypatch.setattr("kit.docker.docker", fake_docker)
    with pytest.raises(c.ClusterError, match=r"kind-a-worker: net.ipv4.icmp_ratelimit is 1000, the node image sets 0"):
        c.check_node_sysctls("kind-a", {"net.ipv4.icmp_ratelimit": "0"})
    seen["kind-a-worker"] = "0"
    c.check_node_sysctls("kind-a", {"net.ipv4.icmp_ratelimit": "0"})
