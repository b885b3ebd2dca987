"""The measurements: each drives the kit or the suite's support code and returns raw seconds (or stats)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import deploy
from common.names import BACKEND, DATABASE, FRONTEND
from kit import api as kit
from kit.pins import cache_dir
from lifecycle.env import Environment, Options
from support.adapters import WorkloadAdapter
from support.cluster import ClusterHandle
from support.conditions import (
    all_tiers_ready,
    app_serving,
    node_ready,
    recovered,
    restarted,
    serving_without_node,
)
from support.faults import FaultInjector, FaultLog, NodeGuard, measure_recovery
from support.results import Results
from support.waits import all_of, until

__all__ = [
    "BenchCluster",
    "availability_pod_kill",
    "build_and_load",
    "deploy_pairs",
    "kit_build",
    "latency",
    "mysqld_recoveries",
    "node_losses",
    "open_cluster",
    "pod_recoveries",
    "say",
    "settle",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
KIND_OVERLAY = REPO_ROOT / "manifests" / "overlays" / "kind"
# Availability sampling: the suite's own reader rate (steps/availability.py), bounded in count and time.
READ_INTERVAL_S = 0.1
_started = time.monotonic()


def say(message: str) -> None:
    """One progress line on stderr, stamped with the time since the benchmark started."""
    print(f"[bench {time.monotonic() - _started:7.1f}s] {message}", file=sys.stderr, flush=True)


def kit_build(rebuild: bool, timeout: float) -> tuple[float, dict[str, float]]:
    """`python -m kit build [--rebuild]` in a subprocess: wall seconds and the kit's per-phase timings."""
    args = [sys.executable, "-m", "kit", "build", *(["--rebuild"] if rebuild else [])]
    started = time.monotonic()
    done = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[1:])} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    phases_file = cache_dir() / "logs" / "last-build-timings.json"
    phases = {k: float(v) for k, v in json.loads(phases_file.read_text()).items()}
    return seconds, phases


@dataclass
class BenchCluster:
    """A bench-owned kind cluster: the suite's own lifecycle environment, and its handle, client, guard, faults."""

    env: Environment
    info: kit.ClusterInfo
    cluster: ClusterHandle
    app: WorkloadAdapter
    guard: NodeGuard
    faults: FaultInjector


def open_cluster(name: str, *, fast_failover: bool, host_port: int, seed: int) -> tuple[BenchCluster, float]:
    """Create the cluster fresh through the suite's lifecycle (a leftover is deleted first); creation seconds."""
    if kit.node_containers(name):
        say(f"deleting leftover bench cluster {name}")
        kit.delete_cluster(name)
    kit.ensure_tools()  # verified before the clock starts: creation time is kind + nodes Ready only
    options = Options(
        cluster_name=name,
        keep_cluster=True,  # the benchmark deletes its clusters itself, when it is done with them
        frontend_url=f"http://127.0.0.1:{host_port}",
        seed=seed,
        fast_failover=fast_failover,
    )
    env = Environment(options, Results(root=Path(tempfile.mkdtemp(prefix="bench-env-"))), say)
    info = env.target.info
    if info is None or not info.created:
        raise RuntimeError(f"cluster {name} was re-used, not created: its creation time is not measurable")
    guard = env.guard
    assert guard is not None  # a kind cluster always has one
    return BenchCluster(env, info, env.cluster, env.app, guard, env.faults), env.timings["cluster"]


def build_and_load(bc: BenchCluster) -> tuple[dict[str, str], dict[str, float], dict[str, float]]:
    """Build (cached) and load every app image through the lifecycle: the names and seconds per image and step."""
    images = bc.env.images
    built = {name: bc.env.timings.get(f"build {name}", 0.0) for name in images}
    loaded = {name: bc.env.timings.get(f"load {name}", 0.0) for name in images}
    return images, built, loaded


def settle(bc: BenchCluster, timeout: float = 300.0) -> Any:
    """Wait for the desired state (every tier Ready) and a served request, so each fault starts clean."""
    return until(
        all_of("desired state and serving", all_tiers_ready(bc.cluster), app_serving(bc.app)),
        timeout=timeout,
        interval=1.0,
    )


def deploy_pairs(
    bc: BenchCluster, images: dict[str, str], pairs: int, timeout: float
) -> tuple[list[float], list[float]]:
    """Suite deploys and raw kubectl deploys, alternating which goes first; the app is deployed at the end."""
    suite: list[float] = []
    raw: list[float] = []
    with tempfile.TemporaryDirectory(prefix="todo-bench-kustomize-") as tmp:
        kdir = deploy.raw_kustomization(KIND_OVERLAY, images, Path(tmp))
        runs: list[tuple[str, Callable[[], float]]] = [
            ("suite", lambda: deploy.deploy_suite(bc.cluster, KIND_OVERLAY, images, timeout)),
            ("raw", lambda: deploy.deploy_raw(bc.cluster, kdir, timeout)),
        ]
        for i in range(pairs):
            for label, run in runs if i % 2 == 0 else runs[::-1]:
                gone = deploy.delete_namespace(bc.cluster)
                seconds = run()
                (suite if label == "suite" else raw).append(seconds)
                say(
                    f"deploy {label} #{i + 1}: all tiers Ready in {seconds:.1f} s (namespace deleted in "
                    f"{gone:.1f} s before)"
                )
    settle(bc)
    return suite, raw


def latency(url: str, requests: int, warmup: int, budget: float) -> dict[str, Any]:
    """app/backend/bench_latency.py against the front end (list and create, sequential, bounded)."""
    script = REPO_ROOT / "app" / "backend" / "bench_latency.py"
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--url",
            url,
            "--requests",
            str(requests),
            "--warmup",
            str(warmup),
            "--budget",
            str(budget),
        ],
        capture_output=True,
        text=True,
        timeout=budget + 60,
        env=env,
        check=False,
    )
    if not done.stdout.strip():
        raise RuntimeError(f"bench_latency.py printed nothing ({done.returncode}): {done.stderr.strip()[-500:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    result["exit_code"] = done.returncode
    return result


READERS = 4  # as the availability feature: requests in flight at once


def _window_log() -> FaultLog:
    """A fault log on a scratch results folder (the benchmark keeps only the window's numbers)."""
    return FaultLog(Results(root=Path(tempfile.mkdtemp(prefix="bench-window-"))))


def _closed(log: FaultLog) -> dict[str, Any]:
    """Close the fault window and return its record without the samples."""
    index = log.close_window()
    return {} if index is None else log.results.window(index).model_dump(mode="json")


def availability_pod_kill(bc: BenchCluster, grace_seconds: int | None, budget: float) -> dict[str, Any]:
    """A bounded reader through the front end while one back-end pod is deleted; the window's stats."""
    settle(bc)
    log = _window_log()
    log.start_readers(
        bc.app.sample,
        concurrency=READERS,
        interval=READ_INTERVAL_S,
        max_requests=int((budget + 30) / READ_INTERVAL_S),
        max_seconds=budget + 30,
    )
    try:
        time.sleep(1.0)  # a few samples before the fault show the reader itself works
        fault = log.add(bc.faults.kill_pod(BACKEND, grace_seconds=grace_seconds))
        took = measure_recovery(
            fault,
            recovered(bc.cluster, bc.app, BACKEND, bc.cluster.profile.expected_replicas[BACKEND], fault.old_uids),
            budget,
        )
        record = _closed(log)
    finally:
        log.stop_traffic()
    return {**record, "recovery_s": took, "victim": fault.detail}


def pod_recoveries(bc: BenchCluster, tier: str, kills: int, budget: float, took: list[float]) -> list[float]:
    """Kill one pod of the tier (no grace) `kills` times: seconds until replaced, Ready and serving.

    Values are appended to `took` as they come, so a later failure keeps the earlier measurements.
    """
    for i in range(kills):
        settle(bc)
        fault = bc.faults.kill_pod(tier, grace_seconds=0)
        took.append(
            measure_recovery(
                fault,
                recovered(bc.cluster, bc.app, tier, bc.cluster.profile.expected_replicas[tier], fault.old_uids),
                budget,
            )
        )
        say(f"{tier} pod kill {i + 1}/{kills}: recovered and serving in {took[-1]:.2f} s ({fault.detail})")
    return took


def mysqld_recoveries(
    bc: BenchCluster, kills: int, budget: float, took: list[tuple[float, int]]
) -> list[tuple[float, int]]:
    """SIGKILL mysqld `kills` times: (seconds until restarted, Ready and serving; restarts before the kill)."""
    for i in range(kills):
        settle(bc)
        fault = bc.faults.kill_mysqld()
        before = next(iter(fault.old_restarts.values()))
        condition = all_of(
            "database server restarted and serving",
            restarted(bc.cluster, DATABASE, fault.old_restarts),
            app_serving(bc.app),
        )
        took.append((measure_recovery(fault, condition, budget), before))
        say(
            f"mysqld SIGKILL {i + 1}/{kills}: restarted and serving in {took[-1][0]:.2f} s "
            f"(container had restarted {before} time(s) before)"
        )
    return took


def node_losses(
    bc: BenchCluster, repeats: int, budget: float, took: list[float], windows: list[dict[str, Any]]
) -> tuple[list[float], list[dict[str, Any]]]:
    """Stop a worker with back-end replicas (not the database's): seconds until served from elsewhere.

    A bounded reader watches each loss (availability through a node stop); the node is started again and
    the app settles before the next repeat. The NodeGuard restores any node still down on every exit path.
    """
    for i in range(repeats):
        settle(bc)
        for tier in (BACKEND, FRONTEND):
            bc.faults.spread(tier)
        node = bc.faults.pick_worker(BACKEND, avoid_tier=DATABASE)
        log = _window_log()
        interval = 0.2
        log.start_readers(
            bc.app.sample,
            concurrency=READERS,
            interval=interval,
            max_requests=int((budget + 30) / interval),
            max_seconds=budget + 30,
        )
        try:
            time.sleep(1.0)
            fault = log.add(bc.faults.stop_node(node))
            took.append(measure_recovery(fault, serving_without_node(bc.cluster, bc.app, node), budget, interval=0.5))
            record = _closed(log)
        finally:
            log.stop_traffic()
        windows.append({**record, "node": node, "recovery_s": took[-1]})
        say(
            f"node stop {i + 1}/{repeats}: {node} lost, served from elsewhere in {took[-1]:.1f} s, "
            f"availability {record.get('availability_pct')} %"
        )
        bc.faults.start_node(node)
        until(node_ready(bc.cluster, node), timeout=300, interval=1.0)
    settle(bc)
    return took, windows
