"""Node faults without a cluster: the guard's refusals and its always-restore promise (recording docker)."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

import support.faults as faults_module
from support.faults import DockerCli, Fault, FaultLog, NodeGuard, UnsafeNode
from support.results import Results
from support.traffic import Sample

SUITE = "todo-e2e"


class FakeDocker:
    """Records docker CLI calls and keeps container states; labels per container are given."""

    def __init__(self, labels: dict[str, dict[str, str]]) -> None:
        self.labels = labels
        self.state = dict.fromkeys(labels, "running")
        self.calls: list[list[str]] = []

    def __call__(
        self, args: Sequence[str], timeout: float | None, input_text: str | None = None, /
    ) -> subprocess.CompletedProcess[str]:
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
    """The part of a traffic loop FaultLog uses (samples already on the run's clock)."""

    name = "reader-1"
    stop_reason = None

    def __init__(self, samples: list[Sample]) -> None:
        self.results = samples

    def is_alive(self) -> bool:
        """Still sampling."""
        return True


class _Clock:
    """A settable monotonic clock for Results."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _log(tmp_path: Path, samples: list[Sample]) -> tuple[FaultLog, _Clock, Results]:
    """A fault log on a results folder whose clock the test moves."""
    clock = _Clock()
    results = Results(root=tmp_path, clock=clock)
    log = FaultLog(results, readers=[_Loop(samples)])  # type: ignore[list-item]
    return log, clock, results


def test_fault_window_is_measured_on_the_run_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault opens a window at its t0 (run clock); recovery closes it, recorded with stats and coverage."""
    monkeypatch.setattr(faults_module, "SETTLE_S", 0.0)
    samples = [
        Sample(t / 10, ok, 0.05, 200 if ok else 502, None if ok else "bad gateway")
        for t, ok in ((i, not 15 <= i < 25) for i in range(0, 60))
    ]
    log, clock, results = _log(tmp_path, samples)
    log.add(Fault("backend pod killed (immediate)", "backend", ["p"], t0=1001.0, wall_t0=0.0))
    clock.t = 1005.0
    index = log.close_window()
    assert index == 0 and log.last_window == 0
    w = results.window(0)
    assert (w.start_s, w.end_s, w.fault) == (1.0, 5.0, "backend pod killed (immediate)")
    assert (w.requests, w.failed) == (40, 10)
    assert w.longest_outage_s == pytest.approx(1.0)
    assert w.covered and w.coverage_problem is None
    assert log.close_window() is None


def test_a_window_the_traffic_did_not_cover_is_not_proof(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Traffic that began after the fault, or paused for seconds, cannot prove availability."""
    monkeypatch.setattr(faults_module, "SETTLE_S", 0.0)
    late = [Sample(2.0 + t / 10, True, 0.05, 200, None) for t in range(30)]
    log, clock, results = _log(tmp_path, late)
    log.add(Fault("f", "backend", ["p"], t0=1001.0, wall_t0=0.0))
    clock.t = 1005.0
    log.close_window()
    assert not results.window(0).covered
    assert "after the fault" in str(results.window(0).coverage_problem)
    # One sequential loop may pause up to 5 s between requests (a busy host); 6 s is a gap no window survives.
    gappy = [Sample(t, True, 0.05, 200, None) for t in (0.5, 1.0, 7.5, 7.9)]
    log, clock, results = _log(tmp_path / "b", gappy)
    log.add(Fault("f", "backend", ["p"], t0=1001.0, wall_t0=0.0))
    clock.t = 1008.0
    log.close_window()
    assert "no request in flight" in str(results.window(0).coverage_problem)
