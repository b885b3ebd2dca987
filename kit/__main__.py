"""Command line: python -m kit {preflight,base,build,up,down,config,status,kubectl}."""

from __future__ import annotations

import argparse
import json
import sys

from common.names import DEFAULT_CLUSTER
from kit.pins import cache_dir


def main(argv: list[str] | None = None) -> int:
    """Run one kit command; errors are printed as one actionable message, exit code 1."""
    parser = argparse.ArgumentParser(prog="python -m kit", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("preflight", help="make Docker reachable and able to run kind nodes")
    b = sub.add_parser("build", help="build or verify every artifact (cached under the cache directory)")
    b.add_argument("--rebuild", action="store_true", help="ignore the cache and build everything again")
    for name, text in (("up", "create or re-use the cluster"), ("down", "delete the cluster")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--name", default=DEFAULT_CLUSTER)
    cfg = sub.add_parser("config", help="print the kind config")
    cfg.add_argument("--name", default=DEFAULT_CLUSTER)
    sub.add_parser(
        "base", help="make Docker reachable and build or verify the Debian base image only (what the app tests need)"
    )
    sub.add_parser("status", help="print pins, cache directory and clusters")
    sub.add_parser("kubectl", help="print the path of the kit-built kubectl (builds only the Go part; no Docker)")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "preflight":
            from kit.preflight import ensure_docker, report_network_fault_kernel

            ensure_docker()
            report_network_fault_kernel()
        elif args.cmd == "base":
            from kit.images import BASE_TAG, ensure_base
            from kit.pins import load_pins
            from kit.preflight import ensure_docker

            ensure_docker()
            print(f"{BASE_TAG} input key {ensure_base(load_pins())}")
        elif args.cmd == "build":
            from kit.api import ensure_tools

            tools = ensure_tools(rebuild=args.rebuild)
            print(
                json.dumps(
                    {"kind": str(tools.kind), "kubectl": str(tools.kubectl), "node_image": tools.node_image},
                    indent=1,
                )
            )
        elif args.cmd == "up":
            from kit.api import ensure_cluster

            info = ensure_cluster(args.name)
            print(
                f"cluster {info.name} ready: KUBECONFIG={info.kubeconfig} context {info.context}; "
                f"front end NodePort at {info.frontend_url}"
            )
        elif args.cmd == "down":
            from kit.api import delete_cluster

            delete_cluster(args.name)
        elif args.cmd == "config":
            from kit.cluster import ClusterSpec, kind_config

            print(kind_config(ClusterSpec(name=args.name)))
        elif args.cmd == "kubectl":
            from kit.gobuild import components, go_build
            from kit.lock import host_lock
            from kit.pins import load_pins

            pins = load_pins()
            (k8s,) = [c for c in components(pins) if c.name == "kubernetes"]
            with host_lock("build", "the kit build"):
                kubectl = go_build(k8s, pins) / "bin" / "kubectl"
            print(kubectl)
        elif args.cmd == "status":
            from kit.pins import load_pins

            print(json.dumps({"cache_dir": str(cache_dir()), "pins": load_pins().as_dict()}, indent=1))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear message, not a traceback, for every kit failure
        print(f"kit {args.cmd}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
