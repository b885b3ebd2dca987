"""The faults beyond kills, measured on the bench cluster with the suite's own injectors and conditions.

Per fault: seconds from the heal (or the rollout's start) until every tier is Ready and the app serves, and the
availability of a bounded reader through the fault's window. Upgrade and rollback through the suite against the
same change made with raw kubectl (`kubectl patch` + `kubectl rollout status`, `kubectl rollout undo`), in one run.
Every change is on an UndoStack, undone on every exit path.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.measure import READERS, BenchCluster, _closed, _window_log, say, settle
from common.names import BACKEND
from support.conditions import all_tiers_ready, app_serving
from support.faults import DockerCli, Fault, measure_recovery
from support.netfaults import NetFault, NetFaultInjector
from support.pressure import PressureInjector
from support.rollouts import VERSION_LABEL, Rollouts, label_patch, template_rolled
from support.undo import UndoStack
from support.victims import Victims
from support.waits import Condition, all_of

__all__ = ["DATABASE_PORT", "network_heal", "rollout_pair", "volume_free"]

DATABASE_PORT = 3306
READ_INTERVAL_S = 0.2
# Writes to a full volume until the first refusal: bounded in count (each is one small row).
MAX_PROBE_WRITES = 300


def _serving(bc: BenchCluster) -> Any:
    return all_of("every tier Ready and serving", all_tiers_ready(bc.cluster), app_serving(bc.app))


def _healed(fault: Fault, what: str) -> Fault:
    """A fault whose clock starts at the heal, for heal-to-serving times."""
    return Fault(f"{fault.name} healed", fault.tier, fault.targets, time.monotonic(), time.time(), detail=what)


def _watched(
    bc: BenchCluster, seconds: float, inject: Callable[[], Fault], heal: Callable[[Fault], object], budget: float
) -> dict[str, Any]:
    """A bounded reader through inject, hold, heal and recovery; the window's record plus heal-to-serving seconds."""
    settle(bc)
    log = _window_log()
    log.start_readers(
        bc.app.sample,
        concurrency=READERS,
        interval=READ_INTERVAL_S,
        max_requests=int((seconds + budget + 30) / READ_INTERVAL_S),
        max_seconds=seconds + budget + 30,
    )
    try:
        time.sleep(1.0)  # samples before the fault show the reader itself works
        fault = log.add(inject())
        time.sleep(seconds)
        heal(fault)
        healed = _healed(fault, f"{fault.name} ({fault.detail})")
        took = measure_recovery(healed, _serving(bc), budget)
        record = _closed(log)
    finally:
        log.stop_traffic()
    return {**record, "heal_to_serving_s": round(took, 3), "fault": fault.name, "detail": fault.detail}


def network_heal(bc: BenchCluster, spec: NetFault, seconds: float, budget: float, seed: int) -> dict[str, Any]:
    """One network fault on every back-end pod, held for `seconds`, healed: the window and heal-to-serving."""
    with UndoStack(f"bench {spec.name}") as undo:
        injector = NetFaultInjector(bc.cluster, bc.env.safety_policy(), Victims(seed), undo, DockerCli(), bc.info.name)
        result = _watched(
            bc,
            seconds,
            lambda: injector.apply(spec, BACKEND, bc.cluster.ready_pods(BACKEND)),
            lambda fault: injector.heal(fault.name),
            budget,
        )
        left = injector.leftovers()
    if left:
        raise RuntimeError(f"{spec.name} left in pods after heal: {left}")
    say(
        f"{spec.name}: heal -> serving {result['heal_to_serving_s']:.2f} s, "
        f"availability {result.get('availability_pct')} %"
    )
    return result


def volume_free(bc: BenchCluster, budget: float) -> dict[str, Any]:
    """Fill the database's volume, write until refused, free it: seconds until a write is stored again."""
    settle(bc)
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    with UndoStack("bench full volume") as undo:
        pressure = PressureInjector(bc.cluster, bc.env.safety_policy(), undo)
        fault = pressure.fill_volume()
        confirmed = 0
        refused = False
        for i in range(MAX_PROBE_WRITES):
            _, _, outcome = bc.app.write(f"{tag} full {i}")
            if outcome != "ok":
                refused = True
                break
            confirmed += 1
        pressure.free_volume(fault)
        healed = _healed(fault, "fill file removed")
        attempt = [0]

        def stores() -> bool:
            attempt[0] += 1
            return bc.app.write(f"{tag} freed {attempt[0]}")[2] == "ok"

        took = measure_recovery(healed, Condition("a new to-do stored", stores), budget, interval=0.5)
        left = pressure.fill_left()
    if left:
        raise RuntimeError("the fill file is still on the database's volume after the bench")
    say(f"full volume: refused after {confirmed} more confirmed writes; freed -> stored in {took:.2f} s")
    return {
        "free_to_stored_s": round(took, 3),
        "confirmed_before_refusal": confirmed,
        "refused": refused,
        "detail": fault.detail,
    }


def _kubectl(bc: BenchCluster, *args: str, timeout: float = 120) -> None:
    done = subprocess.run(
        bc.cluster.kubectl_cmd("--namespace", bc.cluster.namespace, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {(done.stderr or done.stdout).strip()[:400]}")


def rollout_pair(bc: BenchCluster, budget: float) -> dict[str, float]:
    """Back-end upgrade and rollback through the suite, then the same change with raw kubectl: seconds each."""
    settle(bc)
    replicas = bc.cluster.profile.expected_replicas[BACKEND]
    deployment = bc.cluster.tier(BACKEND).deployment
    out: dict[str, float] = {}
    with UndoStack("bench rollouts") as undo:
        rollouts = Rollouts(bc.cluster, bc.env.safety_policy(), undo)
        before = rollouts.version(BACKEND)
        suite_version, raw_version = f"bench-{uuid.uuid4().hex[:6]}", f"bench-{uuid.uuid4().hex[:6]}"

        def rolled(version: str) -> Any:
            return all_of(
                f"every back-end replica on version {version!r}, Ready and serving",
                template_rolled(bc.cluster, BACKEND, version, replicas),
                _serving(bc),
            )

        fault = rollouts.upgrade(suite_version, BACKEND)
        out["suite_upgrade_s"] = measure_recovery(fault, rolled(suite_version), budget)
        fault = rollouts.rollback(BACKEND)
        out["suite_rollback_s"] = measure_recovery(fault, rolled(before), budget)
        settle(bc)
        started = time.monotonic()
        patch = label_patch(VERSION_LABEL, raw_version)
        _kubectl(bc, "patch", f"deployment/{deployment}", "--type=strategic", "-p", json.dumps(patch))
        _kubectl(bc, "rollout", "status", f"deployment/{deployment}", f"--timeout={int(budget)}s", timeout=budget + 30)
        out["raw_upgrade_s"] = time.monotonic() - started
        started = time.monotonic()
        _kubectl(bc, "rollout", "undo", f"deployment/{deployment}")
        _kubectl(bc, "rollout", "status", f"deployment/{deployment}", f"--timeout={int(budget)}s", timeout=budget + 30)
        out["raw_rollback_s"] = time.monotonic() - started
    settle(bc)
    say("back-end rollouts: " + ", ".join(f"{k} {v:.1f}" for k, v in out.items()))
    return {k: round(v, 3) for k, v in out.items()}
