"""`python -m bench`: run every measurement on bench-owned clusters, then write results.json and RESULTS.md."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from bench import deploy
from bench import measure as m
from bench import newfaults as nf
from bench.figures import Figure, Target, ratio
from bench.host import GIB, MemorySampler, e2e_wall_time, host_facts
from bench.output import build_document, write
from common.names import BACKEND, DATABASE, FRONTEND
from kit import api as kit
from support.netfaults import NetFault

__all__ = ["main", "parse_args"]

REPO_ROOT = Path(__file__).resolve().parent.parent
# Never the suite's cluster (common.names: DEFAULT_CLUSTER on FRONTEND_NODE_PORT) nor the smoke test's (30081).
FAST_CLUSTER, FAST_PORT = "todo-bench", 30082
DEFAULTS_CLUSTER, DEFAULTS_PORT = "todo-bench-defaults", 30083
T = TypeVar("T")

# Targets from issue 13 ("Faster to a verdict"); issue 6's where 13 sets none (availability through a pod kill,
# defaults / fast failover). Absolute times are compared and reported, never asserted.
BACKEND_RECOVERY = [Target("p50", "<=", 1.5), Target("p95", "<=", 3.0)]
FRONTEND_RECOVERY = [Target("p50", "<=", 1.0)]
DEPLOY_RATIO_MAX = 1.05
NODE_LOSS_MEDIAN_MAX_S = 10.0
NODE_STOP_AVAILABILITY_MIN_PCT = 99.5
E2E_WALL_MAX_S = 300.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options (also reachable as `nox -s bench -- <options>`)."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--kills", type=int, default=10, help="pod kills per tier (default 10)")
    p.add_argument(
        "--mysqld-kills",
        type=int,
        default=None,
        help="mysqld SIGKILLs (default min(kills, 3): kubelet's crash-loop back-off doubles each time)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="repeats of the warm kit build, deploy pairs and fast node losses (default 3)",
    )
    p.add_argument("--quick", action="store_true", help="kills=3, repeats=1, fewer latency requests")
    p.add_argument("--skip-kit", action="store_true", help="skip the timed `python -m kit build` runs")
    p.add_argument("--skip-node", action="store_true", help="skip node-loss figures")
    p.add_argument(
        "--skip-new-faults",
        action="store_true",
        help="skip the network, full-volume and rollout figures (faults beyond kills)",
    )
    p.add_argument(
        "--node-defaults",
        action="store_true",
        help="also measure node loss with Kubernetes defaults on a second cluster (about 6 min)",
    )
    p.add_argument(
        "--cold",
        action="store_true",
        help="also time a cold `python -m kit build --rebuild` per phase (about 20 min on 2 cores)",
    )
    p.add_argument("--keep-cluster", action="store_true", help="keep the bench clusters afterwards")
    p.add_argument("--seed", type=int, default=None, help="victim-selection seed (default: random, recorded)")
    p.add_argument("--latency-requests", type=int, default=None, help="timed requests per operation (200)")
    p.add_argument(
        "--out", type=Path, default=REPO_ROOT / "bench", help="where results.json and RESULTS.md go (default bench/)"
    )
    args = p.parse_args(argv)
    if args.quick:
        args.kills, args.repeats = 3, 1
    if args.mysqld_kills is None:
        args.mysqld_kills = min(args.kills, 3)
    if args.latency_requests is None:
        args.latency_requests = 50 if args.quick else 200
    for name in ("kills", "repeats", "latency_requests"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


class Run:
    """Collects figures, errors and notes; each measurement runs guarded so one failure does not end the run."""

    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.errors: list[str] = []
        self.notes: list[str] = []

    def attempt(self, what: str, fn: Callable[[], T]) -> T | None:
        """Run one measurement; on failure record the error (with what it was) and return None."""
        m.say(f"{what} ...")
        try:
            return fn()
        except Exception as exc:
            self.errors.append(f"{what}: {type(exc).__name__}: {str(exc)[:600]}")
            m.say(f"{what} FAILED: {type(exc).__name__}: {str(exc)[:300]}")
            return None

    def add(self, fig: Figure) -> Figure:
        """Keep a figure (in table order)."""
        self.figures.append(fig)
        return fig

    def get(self, fig_id: str) -> Figure | None:
        """A figure by id."""
        return next((f for f in self.figures if f.id == fig_id), None)


def _bind(fn: Callable[..., T], *args: Any) -> Callable[[], T]:
    """fn with its arguments fixed now (a lambda in a loop would see the loop's last values)."""
    return lambda: fn(*args)


def _kit_figures(run: Run, args: argparse.Namespace) -> None:
    """Cold (on request) and warm `python -m kit build`, timed in a subprocess."""
    if args.skip_kit:
        run.add(Figure.missing("kit_warm_build", "kit", "warm `python -m kit build`", "s", "--skip-kit"))
        return
    if args.cold:
        cold = run.attempt("cold kit build (--rebuild)", lambda: m.kit_build(True, 4 * 3600))
        if cold is not None:
            run.add(
                Figure.from_values(
                    "kit_cold_build",
                    "kit",
                    "cold `python -m kit build --rebuild`",
                    "s",
                    [cold[0]],
                    detail={"phases_s": cold[1]},
                )
            )
            for phase, seconds in cold[1].items():
                run.add(
                    Figure.from_values(f"kit_cold_{phase.replace(' ', '_')}", "kit", f"cold: {phase}", "s", [seconds])
                )
    warm: list[float] = []
    phases: dict[str, float] = {}
    for _ in range(args.repeats):
        res = run.attempt("warm kit build", lambda: m.kit_build(False, 1800))
        if res is not None:
            warm.append(res[0])
            phases = res[1]
    run.add(
        Figure.from_values(
            "kit_warm_build", "kit", "warm `python -m kit build`", "s", warm, detail={"phases_s_last": phases}
        )
        if warm
        else Figure.missing("kit_warm_build", "kit", "warm `python -m kit build`", "s", "every attempt failed")
    )


def _deploy_figures(run: Run, bc: m.BenchCluster, images: dict[str, str], args: argparse.Namespace) -> None:
    """Suite vs raw kubectl deploy, side by side, and their ratio."""
    res = run.attempt("deploy: suite vs raw kubectl", lambda: m.deploy_pairs(bc, images, args.repeats, 300.0))
    suite, raw = res if res is not None else ([], [])
    a = run.add(
        Figure.from_values(
            "deploy_suite",
            "deploy",
            "apply -> all tiers Ready (suite's code)",
            "s",
            suite,
            note="render + kubectl apply + poll rolled_out every 2 s",
        )
    )
    b = run.add(Figure.from_values("deploy_raw", "deploy", "kubectl apply -k + rollout status", "s", raw))
    within = [Target("value", "<=", DEPLOY_RATIO_MAX)]
    run.add(ratio("deploy_ratio", "deploy", "suite / raw deploy time", a, b, targets=within))


def _fault_figures(run: Run, bc: m.BenchCluster, args: argparse.Namespace) -> None:
    """Latency, availability through pod kills, recovery per tier, and node loss with fast failover."""
    lat = run.attempt(
        "back-end latency through the front end",
        lambda: m.latency(bc.info.frontend_url, args.latency_requests, 10, 120.0),
    )
    for op in ("list", "create"):
        part = (lat or {}).get(op) or {}
        if part.get("count"):
            stats = {"p50": part["p50_ms"], "p95": part["p95_ms"], "max": part["max_ms"], "mean": part["mean_ms"]}
            run.add(
                Figure.from_stats(
                    f"latency_{op}",
                    "back end",
                    f"{op} latency via front end",
                    "ms",
                    stats,
                    part["count"],
                    headline="p50",
                    detail={"errors": part.get("errors", 0), "rows_listed": part.get("rows_listed")},
                )
            )
            run.add(
                Figure.from_stats(
                    f"throughput_{op}",
                    "back end",
                    f"{op} throughput (sequential, 1 conn)",
                    "req/s",
                    {"value": 1000.0 / part["mean_ms"]},
                    part["count"],
                    headline="value",
                    note="1000 / mean latency of sequential requests",
                )
            )
        else:
            run.add(
                Figure.missing(
                    f"latency_{op}",
                    "back end",
                    f"{op} latency via front end",
                    "ms",
                    f"no successful request ({part.get('errors', 'no')} errors)",
                )
            )
    for grace, fig_id, label in (
        (0, "availability_backend_kill", "through one back-end pod kill (no grace)"),
        (None, "availability_backend_graceful", "through one back-end pod stop (graceful)"),
    ):
        w = run.attempt(f"availability {label}", _bind(m.availability_pod_kill, bc, grace, 180.0))
        if w and w.get("availability_pct") is not None:
            run.add(
                Figure.from_stats(
                    fig_id,
                    "availability",
                    label,
                    "%",
                    {"value": w["availability_pct"]},
                    w["requests"],
                    headline="value",
                    targets=[Target("value", ">=", 100.0)],
                    detail=w,
                )
            )
        else:
            run.add(
                Figure.missing(
                    fig_id, "availability", label, "%", "measurement failed", targets=[Target("value", ">=", 100.0)]
                )
            )
    for tier, budget, targets in (
        (BACKEND, 180.0, BACKEND_RECOVERY),
        (FRONTEND, 180.0, FRONTEND_RECOVERY),
        (DATABASE, 300.0, []),
    ):
        took: list[float] = []
        run.attempt(f"{tier} pod kills x{args.kills}", _bind(m.pod_recoveries, bc, tier, args.kills, budget, took))
        run.add(
            Figure.from_values(
                f"recovery_{tier}_pod",
                "recovery",
                f"{tier} pod kill -> Ready + serving",
                "s",
                took,
                headline="p50",
                targets=targets,
            )
        )
    mk: list[tuple[float, int]] = []
    run.attempt(f"mysqld SIGKILL x{args.mysqld_kills}", _bind(m.mysqld_recoveries, bc, args.mysqld_kills, 600.0, mk))
    run.add(
        Figure.from_values(
            "recovery_mysqld",
            "recovery",
            "mysqld SIGKILL -> restarted + serving",
            "s",
            [s for s, _ in mk],
            headline="p50",
            note="repeated kills meet kubelet's crash-loop back-off (10 s, doubling)",
            detail={"restarts_before_each_kill": [r for _, r in mk]},
        )
    )
    if args.skip_node:
        return
    lost: list[float] = []
    windows: list[dict[str, Any]] = []
    run.attempt(
        f"node loss (fast failover) x{args.repeats}", _bind(m.node_losses, bc, args.repeats, 180.0, lost, windows)
    )
    run.add(
        Figure.from_values(
            "node_loss_fast",
            "node loss",
            "worker stop -> served elsewhere (fast failover)",
            "s",
            lost,
            targets=[Target("median", "<=", NODE_LOSS_MEDIAN_MAX_S)],
            detail={"windows": windows},
        )
    )
    pct = [w["availability_pct"] for w in windows if w.get("availability_pct") is not None]
    run.add(
        Figure.from_values(
            "availability_node_stop",
            "availability",
            "through a worker stop (fast failover)",
            "%",
            pct,
            targets=[Target("median", ">=", NODE_STOP_AVAILABILITY_MIN_PCT)],
            note="window from the stop to replicas serving elsewhere",
        )
    )


NETWORK_FAULTS = (
    ("partition_db", "back end cut off from the database (15 s)", NetFault("back end cut off", "drop", (3306,)), 15.0),
    ("latency_db", "200 ms to the database (15 s)", NetFault("database latency", "delay", (3306,), delay_ms=200), 15.0),
    (
        "loss_db",
        "20 % packet loss to the database (15 s)",
        NetFault("database packet loss", "loss", (3306,), loss_pct=20.0),
        15.0,
    ),
)


def _new_fault_figures(run: Run, bc: m.BenchCluster, seed: int) -> None:
    """Faults beyond kills: heal -> serving and availability per network fault, volume free -> stored, rollouts."""
    for fig_id, label, spec, seconds in NETWORK_FAULTS:
        w = run.attempt(label, _bind(nf.network_heal, bc, spec, seconds, 120.0, seed))
        if not w:
            run.add(Figure.missing(f"heal_{fig_id}", "faults beyond kills", f"{label}: heal -> serving", "s", "failed"))
            continue
        run.add(
            Figure.from_values(
                f"heal_{fig_id}",
                "faults beyond kills",
                f"{label}: heal -> every tier Ready and serving",
                "s",
                [w["heal_to_serving_s"]],
                detail={
                    k: w.get(k)
                    for k in ("detail", "requests", "failed", "p95_latency_s", "max_latency_s", "longest_outage_s")
                },
            )
        )
        if w.get("availability_pct") is not None:
            run.add(
                Figure.from_values(
                    f"availability_{fig_id}",
                    "faults beyond kills",
                    f"{label}: availability of reads through the window",
                    "%",
                    [w["availability_pct"]],
                    note="window from the fault to serving after the heal",
                )
            )
    v = run.attempt("full database volume", _bind(nf.volume_free, bc, 120.0))
    if v:
        run.add(
            Figure.from_values(
                "volume_free_to_stored",
                "faults beyond kills",
                "full database volume: space freed -> a new to-do stored",
                "s",
                [v["free_to_stored_s"]],
                detail=v,
            )
        )
    r = run.attempt("back-end upgrade and rollback, suite and raw kubectl", _bind(nf.rollout_pair, bc, 300.0))
    if r:
        for what in ("upgrade", "rollback"):
            suite = run.add(
                Figure.from_values(
                    f"rollout_{what}_suite",
                    "faults beyond kills",
                    f"back-end {what} through the suite (all replicas new, Ready and serving)",
                    "s",
                    [r[f"suite_{what}_s"]],
                    detail={
                        "raw_kubectl_s": r[f"raw_{what}_s"],
                        "ratio_to_raw": round(r[f"suite_{what}_s"] / r[f"raw_{what}_s"], 2),
                    },
                    note="raw: the same change with kubectl patch/rollout undo + kubectl rollout status, same run",
                )
            )
            raw = run.add(
                Figure.from_values(
                    f"rollout_{what}_raw",
                    "faults beyond kills",
                    f"back-end {what}, the same change with raw kubectl (rollout status)",
                    "s",
                    [r[f"raw_{what}_s"]],
                )
            )
            run.add(ratio(f"rollout_{what}_ratio", "faults beyond kills", f"suite / raw {what} time", suite, raw))


def _node_defaults(run: Run, args: argparse.Namespace, seed: int) -> None:
    """Node loss on a second cluster with Kubernetes' default failure detection and tolerations."""

    took: list[float] = []
    windows: list[dict[str, Any]] = []
    removed = 0

    def measure() -> None:
        """Create, deploy without the short tolerations, stop a worker once, delete."""
        bc, _ = m.open_cluster(DEFAULTS_CLUSTER, fast_failover=False, host_port=DEFAULTS_PORT, seed=seed)
        try:
            with bc.guard:
                images, _, _ = m.build_and_load(bc)
                nonlocal removed
                rendered, removed = deploy.without_fast_tolerations(bc.cluster.render(m.KIND_OVERLAY, images))
                deploy.deploy_rendered(bc.cluster, rendered, 300.0)
                m.node_losses(bc, 1, 900.0, took, windows)
        finally:
            if not args.keep_cluster:
                kit.delete_cluster(DEFAULTS_CLUSTER)

    run.attempt("node loss with Kubernetes defaults (second cluster)", measure)
    run.add(
        Figure.from_values(
            "node_loss_defaults",
            "node loss",
            "worker stop -> served elsewhere (defaults)",
            "s",
            took,
            detail={"windows": windows, "tolerations_removed": removed},
            note="kit fast_failover=False; no short not-ready/unreachable tolerations",
        )
    )


def _run(args: argparse.Namespace, run: Run, seed: int) -> None:
    """Every measurement in order; bench clusters are deleted at the end unless --keep-cluster."""
    _kit_figures(run, args)
    opened = run.attempt(
        f"create cluster {FAST_CLUSTER} (1 control plane + 2 workers)",
        lambda: m.open_cluster(FAST_CLUSTER, fast_failover=True, host_port=FAST_PORT, seed=seed),
    )
    if opened is None:
        return
    bc, create_s = opened
    run.add(
        Figure.from_values(
            "cluster_create",
            "kit",
            "cluster create (1 control plane + 2 workers)",
            "s",
            [create_s],
            note="kit.api.ensure_cluster, fast failover, nodes Ready + marker",
        )
    )
    try:
        with bc.guard:  # restores any stopped worker on every exit path, Ctrl-C and SIGTERM included
            loaded = run.attempt("app images: build (warm) and load", lambda: m.build_and_load(bc))
            if loaded is None:
                return
            images, built, load = loaded
            run.add(
                Figure.from_values(
                    "image_build_warm",
                    "kit",
                    "app images build (warm, 3 images)",
                    "s",
                    [sum(built.values())],
                    detail={"per_image_s": built, "images": images},
                )
            )
            run.add(
                Figure.from_values(
                    "image_load",
                    "kit",
                    "app images load (3 images, 3 nodes)",
                    "s",
                    [sum(load.values())],
                    detail={"per_image_s": load},
                )
            )
            _deploy_figures(run, bc, images, args)
            if run.attempt("app serving after deploy", lambda: m.settle(bc)) is None:
                return
            _fault_figures(run, bc, args)
            if not args.skip_new_faults:
                _new_fault_figures(run, bc, seed)
    finally:
        bc.app.close()
        if args.keep_cluster:
            m.say(f"keeping cluster {FAST_CLUSTER} (--keep-cluster): {bc.info.kubeconfig}")
        else:
            run.attempt(f"delete cluster {FAST_CLUSTER}", lambda: kit.delete_cluster(FAST_CLUSTER))


def _utc() -> str:
    """Now, UTC, ISO 8601 with a Z."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit so cleanup (node restore, cluster delete) runs."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a measurement failed (targets never decide the exit code)."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    started_at = _utc()
    own = {FAST_CLUSTER, DEFAULTS_CLUSTER}
    host = host_facts(REPO_ROOT, own)
    sampler = MemorySampler()
    sampler.start()
    run = Run()
    t0 = time.monotonic()
    try:
        _run(args, run, seed)
        if args.skip_node or not args.node_defaults:
            run.add(
                Figure.missing(
                    "node_loss_defaults",
                    "node loss",
                    "worker stop -> served elsewhere (defaults)",
                    "s",
                    "--skip-node" if args.skip_node else "opt-in: --node-defaults (about 6 min)",
                )
            )
        else:
            _node_defaults(run, args, seed)
    finally:
        sampler.stop()
        sampler.join(10)
    fast, slow = run.get("node_loss_fast"), run.get("node_loss_defaults")
    if fast is not None and slow is not None:
        run.add(
            ratio(
                "node_loss_ratio",
                "node loss",
                "defaults / fast failover",
                slow,
                fast,
                targets=[Target("value", ">=", 8.0)],
            )
        )
    e2e = e2e_wall_time(REPO_ROOT, dict(os.environ))
    if isinstance(e2e, str):
        run.add(
            Figure.missing(
                "e2e_wall",
                "suite",
                "`nox -s e2e` wall time (newest results folder)",
                "s",
                e2e,
                targets=[Target("value", "<=", E2E_WALL_MAX_S)],
            )
        )
    else:
        run.add(
            Figure.from_stats(
                "e2e_wall",
                "suite",
                "`nox -s e2e` wall time (newest results folder)",
                "s",
                {"value": e2e[0]},
                1,
                headline="value",
                targets=[Target("value", "<=", E2E_WALL_MAX_S)],
                detail=e2e[1],
                note="read from results.json, not re-run by the benchmark",
            )
        )
    peak = sampler.peak_gib()
    run.add(
        Figure.from_stats(
            "peak_memory",
            "suite",
            "peak host memory in use during this benchmark",
            "GiB",
            {"peak": peak} if peak is not None else {},
            len(sampler.results),
            headline="peak",
            note="MemTotal - MemAvailable from /proc/meminfo, sampled every second",
        )
    )
    run.notes.append(
        f"seed {seed}; wall time {time.monotonic() - t0:.0f} s; load average at end "
        f"{[round(x, 2) for x in os.getloadavg()]}"
    )
    if args.quick:
        run.notes.append("--quick: 3 kills per tier and single repeats; p95 of 3 values is their maximum")
    pins: dict[str, Any] = {}
    try:
        from kit.pins import load_pins

        pins = load_pins().as_dict()
    except Exception as exc:
        run.errors.append(f"pins: {exc}")
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    doc = build_document(
        run.figures,
        started_at=started_at,
        finished_at=_utc(),
        command=["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)],
        options=options,
        host={
            **host,
            "peak_memory_gib": peak and round(peak, 2),
            "memory_total_gib": round((host.get("memory_bytes") or 0) / GIB, 1),
        },
        pins=pins,
        errors=run.errors,
        notes=run.notes,
    )
    js, md = write(doc, args.out)
    m.say(f"wrote {js} and {md}")
    print(md.read_text())
    return 1 if run.errors else 0
