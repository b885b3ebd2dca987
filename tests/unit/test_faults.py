"""Node faults without a cluster: the guard's refusals and its always-restore promise (recording docker)."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Sequence

import pytest

from support.faults import DockerCli, Fault, FaultLog, NodeGuard, UnsafeNode
from support.traffic import Sample

SUITE = "todo-e2e"


class FakeDocker:
    """Records docker CLI calls and keeps container states; labels per container are given."""

    def __init__(self, labels: dict[str, dict[str, str]]) -> None:
        self.labels = labels
        self.state = dict.fromkeys(labels, "running")
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Answer one docker CLI call."""
        argv = list(args)[1:]
        self.calls.append(argv)
        verb, target = argv[0], argv[-1]
        out = ""
        if verb == "inspect" and "{{json .Config.Labels}}" in argv:
            out = json.dumps(self.labels[target])
        elif verb == "inspect":
            out = self.state[target] + "\n"
        elif verb in ("stop", "pause"):
            self.state[target] = "exited" if verb == "stop" else "paused"
        elif verb in ("start", "unpause"):
            self.state[target] = "running"
        return subprocess.CompletedProcess(argv, 0, out, "")


def _kind(cluster: str, role: str) -> dict[str, str]:
    """The labels kind puts on its node containers."""
    return {"io.x-k8s.kind.cluster": cluster, "io.x-k8s.kind.role": role}


@pytest.fixture
def docker() -> FakeDocker:
    """A suite cluster (control plane + 2 workers) and a worker of someone else's cluster."""
    return FakeDocker(
        {
            "todo-e2e-control-plane": _kind(SUITE, "control-plane"),
            "todo-e2e-worker": _kind(SUITE, "worker"),
            "todo-e2e-worker2": _kind(SUITE, "worker"),
            "other-worker": _kind("other", "worker"),
        }
    )


def test_refuses_other_clusters_and_the_control_plane(docker: FakeDocker) -> None:
    """Only workers labelled with the suite's cluster are ever touched."""
    guard = NodeGuard(DockerCli(runner=docker), SUITE)
    with pytest.raises(UnsafeNode, match="not the suite cluster"):
        guard.stop("other-worker")
    with pytest.raises(UnsafeNode, match="only worker nodes"):
        guard.pause("todo-e2e-control-plane")
    assert not any(call[0] in ("stop", "pause") for call in docker.calls)


def test_restores_everything_when_the_body_fails(docker: FakeDocker) -> None:
    """A stopped and a paused worker are back to running after an exception in the guarded block."""
    with (
        pytest.raises(RuntimeError, match="scenario failed"),
        NodeGuard(DockerCli(runner=docker), SUITE) as guard,
    ):
        guard.stop("todo-e2e-worker")
        guard.pause("todo-e2e-worker2")
        assert docker.state["todo-e2e-worker"] == "exited" and docker.state["todo-e2e-worker2"] == "paused"
        raise RuntimeError("scenario failed")
    assert docker.state == dict.fromkeys(docker.labels, "running")
    assert guard.touched == {}


def test_started_nodes_are_forgotten(docker: FakeDocker) -> None:
    """A node the scenario started itself needs no restore."""
    guard = NodeGuard(DockerCli(runner=docker), SUITE)
    guard.stop("todo-e2e-worker")
    guard.start("todo-e2e-worker")
    assert guard.touched == {}
    assert guard.restore_all() == []


def test_signal_restores_then_hands_on(docker: FakeDocker) -> None:
    """SIGTERM while a node is stopped: it is started again, then the previous handler runs."""
    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        guard = NodeGuard(DockerCli(runner=docker), SUITE)
        guard.install()
        guard.stop("todo-e2e-worker2")
        signal.raise_signal(signal.SIGTERM)
        assert docker.state["todo-e2e-worker2"] == "running"
        assert seen == [signal.SIGTERM]
        guard.uninstall()
        assert signal.getsignal(signal.SIGTERM) is not guard._on_signal
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_restore_reports_what_failed(docker: FakeDocker) -> None:
    """A node that cannot be restored is reported, and the others are still restored."""
    guard = NodeGuard(DockerCli(runner=docker), SUITE)
    guard.stop("todo-e2e-worker")
    guard.stop("todo-e2e-worker2")
    del docker.state["todo-e2e-worker"]  # inspect now raises KeyError, as if the container vanished
    problems = guard.restore_all()
    assert len(problems) == 1 and problems[0].startswith("todo-e2e-worker ")
    assert docker.state["todo-e2e-worker2"] == "running"


class _Loop:
    """The part of a traffic loop FaultLog uses."""

    def __init__(self, samples: list[Sample]) -> None:
        self.epoch = 100.0
        self.results = samples
        self._now = 0.0

    def now(self) -> float:
        """Current loop time."""
        return self._now

    def is_alive(self) -> bool:
        """Never running."""
        return False


def test_fault_window_measures_the_samples_inside_it() -> None:
    """A fault opens a window at its t0 in the reader's frame; recovery closes it with stats and samples."""
    samples = [
        Sample(t, ok, 0.01, 200 if ok else 502, None if ok else "bad gateway")
        for t, ok in [(0.5, True), (1.5, False), (2.0, False), (3.0, True), (9.0, True)]
    ]
    log = FaultLog(reader=_Loop(samples))  # type: ignore[arg-type]
    log.add(Fault("backend pod killed (immediate)", "backend", ["p"], t0=101.0, wall_t0=0.0))
    log.reader._now = 5.0  # type: ignore[union-attr]
    record = log.close_and_measure()
    assert record is not None
    assert record["fault"] == "backend pod killed (immediate)"
    assert (record["requests"], record["failed"]) == (3, 2)
    assert record["longest_outage_s"] == pytest.approx(1.5)
    assert [s["t"] for s in record["samples"]] == [1.5, 2.0, 3.0]
    assert log.close_and_measure() is None
