"""Helpers shared by the app's tests (back end, front end, database image); test modules import this, not conftest."""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_port"]


def free_port() -> int:
    """Return a free 127.0.0.1 port below the ephemeral range, where outgoing connections cannot take it."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    candidates = random.Random().sample(range(10000, max(low, 10100)), k=50)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found below the ephemeral range in 50 tries")
