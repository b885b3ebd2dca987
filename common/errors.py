"""One infrastructure exception hierarchy: a failure of the test bench (host, Docker, kind, images), not the product.

Classification is by type, never by message text: `is_infrastructure` walks an exception's cause and context
chain and answers True when any link is an `InfrastructureError`. A product failure that merely quotes an
infrastructure phrase ("No space left on device" in an app log) stays a product failure.

Timeouts follow the same rule. The kit's `PollTimeout` (a cluster or dockerd that never came up) subclasses
`InfrastructureError`; the suite's `WaitTimeout` (a scenario's Then-step check that did not hold in its budget) is
an `AssertionError` and deliberately not infrastructure: it is the product failing a requirement.
"""

from __future__ import annotations

__all__ = ["DockerError", "InfrastructureError", "is_infrastructure"]


class InfrastructureError(Exception):
    """The bench, not the product, failed; `phase` names the stage (preflight, docker, cluster, image-build, ...)."""

    # A class attribute so subclasses declare their phase once and keep their own constructors; an instance may
    # still narrow it (error.phase = "image-load") before raising.
    phase: str = "infrastructure"


class DockerError(InfrastructureError):
    """A docker CLI call failed or could not run; the message carries the command and the tail of its output."""

    phase = "docker"


def is_infrastructure(exc: BaseException | None) -> bool:
    """Whether exc, or any exception in its __cause__/__context__ chain, is an InfrastructureError."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc] if exc is not None else []
    while pending:
        current = pending.pop()
        if id(current) in seen:  # chains can loop (an exception re-raised inside its own handler)
            continue
        seen.add(id(current))
        if isinstance(current, InfrastructureError):
            return True
        pending.extend(link for link in (current.__cause__, current.__context__) if link is not None)
    return False
