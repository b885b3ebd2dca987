"""Evidence formatting and collection: every piece independent, a failing collector never hides the rest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from support.cluster import NodeInfo, PodInfo
from support.evidence import collect, format_nodes, format_pods
from support.faults import find_mysqld_script

POD = PodInfo(
    name="todo-backend-1",
    uid="u1",
    tier="backend",
    node="todo-e2e-worker",
    phase="Running",
    ready=False,
    terminating=False,
    restarts=2,
    ip="10.244.1.5",
    container_ids={"backend": "containerd://a"},
    conditions={"Ready": "False", "PodScheduled": "True"},
    waiting={"backend": "CrashLoopBackOff: back-off 10s"},
)
NODE = NodeInfo(
    name="todo-e2e-worker",
    ready=False,
    control_plane=False,
    unschedulable=True,
    conditions={"Ready": "Unknown"},
    taints=("node.kubernetes.io/unreachable:NoExecute",),
)


def test_pod_summary_reads_like_describe() -> None:
    """Name, node, readiness, restarts, conditions and waiting reasons."""
    text = format_pods([POD])
    for part in (
        "pod todo-backend-1",
        "node: todo-e2e-worker",
        "restarts: 2",
        "Ready=False",
        "waiting backend: CrashLoopBackOff",
    ):
        assert part in text


def test_node_summary() -> None:
    """Readiness, role, cordon and taints per node."""
    assert format_nodes([NODE]) == (
        "todo-e2e-worker [worker] NotReady cordoned; Ready=Unknown; taints: node.kubernetes.io/unreachable:NoExecute"
    )


class BrokenEventsCluster:
    """Answers like a ClusterHandle, except that events cannot be read."""

    def events(self) -> list[str]:
        """Fail as an unreachable API server would."""
        raise ConnectionError("API server unreachable")

    def all_pods(self) -> list[PodInfo]:
        """One restarted pod."""
        return [POD]

    def logs(self, pod: str, *, container: str | None = None, previous: bool = False, tail: int = 200) -> str:
        """A log line naming which instance it came from."""
        return f"{'previous' if previous else 'current'} log of {pod}/{container} (tail {tail})"

    def nodes(self) -> list[NodeInfo]:
        """One lost node."""
        return [NODE]


def test_collect_survives_a_failing_collector() -> None:
    """Events fail, everything else is still collected, previous logs only for restarted pods."""
    evidence = collect(BrokenEventsCluster())  # type: ignore[arg-type]
    assert evidence["events"].startswith("(could not collect events: ConnectionError")
    assert "pod todo-backend-1" in evidence["pods"]
    assert "current log of todo-backend-1/backend (tail 200)" in evidence["logs todo-backend-1"]
    assert "previous log" in evidence["previous logs todo-backend-1"]
    assert "NotReady" in evidence["nodes"]


def test_mysqld_finder_sees_only_the_server(tmp_path: Path) -> None:
    """The /proc scan finds a process called mysqld, and none when the cgroup filter does not match."""
    fake = tmp_path / "mysqld"
    shutil.copy("/bin/sleep", fake)
    proc = subprocess.Popen([str(fake), "30"])
    try:
        found = subprocess.run(["sh", "-c", find_mysqld_script, "find"], capture_output=True, text=True, timeout=30)
        assert str(proc.pid) in found.stdout.split()
        filtered = subprocess.run(
            ["sh", "-c", find_mysqld_script, "find", "no-such-container-id"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert str(proc.pid) not in filtered.stdout.split()
    finally:
        proc.kill()
        proc.wait(10)


def test_server_finder_takes_the_profiles_process_names(tmp_path: Path) -> None:
    """Given other server names (a profile's server_processes), the scan finds those and no longer mysqld."""
    fake = tmp_path / "pgserver"
    shutil.copy("/bin/sleep", fake)
    proc = subprocess.Popen([str(fake), "30"])
    try:
        script = ["sh", "-c", find_mysqld_script, "find", ""]
        found = subprocess.run([*script, "other pgserver"], capture_output=True, text=True, timeout=30)
        assert str(proc.pid) in found.stdout.split()
        default = subprocess.run(script, capture_output=True, text=True, timeout=30)
        assert str(proc.pid) not in default.stdout.split()
    finally:
        proc.kill()
        proc.wait(10)
