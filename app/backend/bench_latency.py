"""Back-end latency benchmark: p50/p95 of list and create against a real MariaDB; prints one JSON object.

Without --url it starts its own private MariaDB and back end (the same helpers as app/conftest.py) and
stops them afterwards. With --url it measures an already running back end (e.g. a port-forward).
Every loop is bounded by a request count and an overall deadline.

    /tmp/probe-venv/bin/python app/backend/bench_latency.py --requests 200
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import requests

APP_DIR = Path(__file__).resolve().parents[1]
# Run as a script from anywhere: the repository root makes the shared `common` package importable.
sys.path.insert(0, str(APP_DIR.parent))
from common.stats import summarize  # noqa: E402 -- needs the path above


def _fixtures() -> ModuleType:
    """app/conftest.py loaded under its own name (it is a plain module apart from the pytest fixtures)."""
    spec = importlib.util.spec_from_file_location("todo_app_fixtures", APP_DIR / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@contextmanager
def self_hosted() -> Iterator[tuple[str, dict[str, Any]]]:
    """A private MariaDB plus one back end; yields the base URL and a description of the target."""
    fixtures = _fixtures()
    missing = fixtures.mariadb_missing()
    if missing:
        raise SystemExit(f"bench_latency: {missing}")
    with tempfile.TemporaryDirectory(prefix="todo-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "db").mkdir()
        db = fixtures.start_private_mariadb(workdir / "db")
        try:
            # Access logging stays on: the benchmark measures the back end as deployed.
            backend = fixtures.spawn_backend(db.backend_env(), workdir / "backend.log")
            try:
                backend.wait_ready()
                version = db.admin("SELECT VERSION()").splitlines()[-1]
                yield backend.base_url, {"mode": "self-hosted", "db": f"MariaDB {version} on 127.0.0.1"}
            finally:
                backend.terminate()
        finally:
            db.stop()


def measure(call: Callable[[], requests.Response], expected: int, count: int, deadline: float) -> dict[str, Any]:
    """Run `call` up to `count` times (stopping at `deadline`); latency stats in milliseconds."""
    samples: list[float] = []
    errors = 0
    for _ in range(count):
        if time.monotonic() >= deadline:
            break
        started = time.perf_counter()
        try:
            ok = call().status_code == expected
        except requests.RequestException:
            ok = False
        elapsed = (time.perf_counter() - started) * 1000
        if ok:
            samples.append(elapsed)
        else:
            errors += 1
    stats = summarize(samples)
    if not samples or stats["p50"] is None or stats["p95"] is None:
        return {"count": 0, "errors": errors}
    return {
        "count": len(samples),
        "errors": errors,
        "p50_ms": round(stats["p50"], 2),
        "p95_ms": round(stats["p95"], 2),
        "mean_ms": round(statistics.fmean(samples), 2),
        "max_ms": round(max(samples), 2),
    }


def run(base_url: str, count: int, warmup: int, budget: float) -> dict[str, Any]:
    """Warm up, then time sequential list and create requests over one keep-alive connection."""
    deadline = time.monotonic() + budget
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    with requests.Session() as http:
        counter = iter(range(10**9))

        def create() -> requests.Response:
            return http.post(f"{base_url}/api/todos", json={"title": f"{prefix}-{next(counter)}"}, timeout=10)

        def list_all() -> requests.Response:
            return http.get(f"{base_url}/api/todos", timeout=10)

        measure(create, 201, warmup, deadline)
        measure(list_all, 200, warmup, deadline)
        rows = len(list_all().json())
        listed = measure(list_all, 200, count, deadline)
        created = measure(create, 201, count, deadline)
    return {"list": {**listed, "rows_listed": rows}, "create": created}


def main() -> None:
    """Parse arguments, run the benchmark, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="base URL of a running back end (default: start a private one)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per operation")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per operation first")
    parser.add_argument("--budget", type=float, default=120.0, help="overall deadline in seconds")
    args = parser.parse_args()
    started = time.monotonic()
    if args.url:
        stats = run(args.url.rstrip("/"), args.requests, args.warmup, args.budget)
        target: dict[str, Any] = {"mode": "external", "url": args.url}
    else:
        with self_hosted() as (url, target):
            stats = run(url, args.requests, args.warmup, args.budget)
    result = {
        "schema": "todo-backend-latency/1",
        "target": target,
        "requests_per_operation": args.requests,
        "sequential": True,
        "host": {"python": platform.python_version(), "machine": platform.machine()},
        "elapsed_s": round(time.monotonic() - started, 2),
        **stats,
    }
    print(json.dumps(result, indent=2))
    failed = any(stats[op].get("errors", 0) or stats[op].get("count", 0) == 0 for op in ("list", "create"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
