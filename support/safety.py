"""Is this the suite's own cluster? The pure decision whether a fault may be injected, with reasons.

The facts (current context, API server URL, marker lookup, kind cluster name) are gathered elsewhere;
this module only decides, so every rule is testable without a cluster.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["FaultScope", "SafetyPolicy", "TargetFacts", "UnsafeTarget", "check", "is_loopback_url"]

FaultScope = Literal["pod", "node"]


class UnsafeTarget(RuntimeError):
    """The target is not one the suite may disturb; the message says why and what to do."""


@dataclass(frozen=True)
class TargetFacts:
    """What was observed about the target: kube context, API server URL, suite marker, kind cluster name."""

    context: str
    api_server: str
    marker_ok: bool
    marker_detail: str
    kind_cluster: str | None


@dataclass(frozen=True)
class SafetyPolicy:
    """The suite's own cluster name, an optional explicitly allowed existing context, and option names."""

    suite_cluster: str
    allowed_context: str | None = None
    # Named in refusals so the user knows what to type; the conftest owns the real option names.
    cluster_option: str = "--cluster-name"
    context_option: str = "--existing-context"


def is_loopback_url(url: str) -> tuple[bool, str]:
    """Tell whether the URL's host is loopback (127.0.0.0/8, ::1, localhost); also return the host seen."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname  # lower-cased, brackets and user info removed
    except ValueError:
        return False, "unparseable URL"
    if parts.scheme not in ("http", "https") or not host:
        return False, f"no http(s) host in {url!r}"
    if host == "localhost":
        return True, host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False, host  # a DNS name other than localhost could resolve anywhere
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback, host


def check(facts: TargetFacts, policy: SafetyPolicy, scope: FaultScope) -> None:
    """Return if a fault of this scope may be injected into the target, else raise UnsafeTarget."""
    if scope not in ("pod", "node"):
        raise ValueError(f"scope must be 'pod' or 'node', got {scope!r}")
    if not policy.suite_cluster:
        raise ValueError("the policy names no suite cluster")
    expected_context = f"kind-{policy.suite_cluster}"
    loopback, host = is_loopback_url(facts.api_server)
    failures: list[str] = []
    if facts.context != expected_context:
        failures.append(f"kube context is {facts.context!r}, expected {expected_context!r}")
    if not loopback:
        failures.append(f"API server {facts.api_server!r} is not on loopback (host {host})")
    if not facts.marker_ok:
        failures.append(f"suite marker not found: {facts.marker_detail}")
    if facts.kind_cluster is not None and facts.kind_cluster != policy.suite_cluster:
        failures.append(f"kind cluster is {facts.kind_cluster!r}, expected {policy.suite_cluster!r}")
    if not failures:
        return
    if policy.allowed_context is not None and facts.context == policy.allowed_context:
        if scope == "pod":
            return
        raise UnsafeTarget(
            f"refusing a node fault on the explicitly allowed context {facts.context!r}: node faults stop "
            f"docker containers of kind nodes, so they run only on the suite's own kind cluster "
            f"{policy.suite_cluster!r} (context {expected_context!r}); pod faults remain allowed here"
        )
    allowed = (
        f"; {policy.context_option} {policy.allowed_context!r} is set but does not match"
        if policy.allowed_context is not None
        else ""
    )
    raise UnsafeTarget(
        f"refusing a {scope} fault: the target is not the suite's own cluster {policy.suite_cluster!r}: "
        + "; ".join(failures)
        + allowed
        + f". Point the kube context at the suite's cluster (or pick it with {policy.cluster_option} NAME), "
        f"or, for pod faults on an existing cluster, name that context with {policy.context_option} CONTEXT."
    )
