"""A record of every change a fault made, undone on heal, scenario teardown, failure, Ctrl-C, SIGTERM and exit."""

from __future__ import annotations

import atexit
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

__all__ = ["Change", "UndoStack"]


@dataclass(frozen=True)
class Change:
    """One applied change: a key (what and where), which fault made it, and how to undo it."""

    key: str
    fault: str
    undo: Callable[[], None]


class UndoStack:
    """Changes in the order they were made; undo runs newest first and never stops at a failing one.

    Like support.faults.NodeGuard, but for changes inside the cluster (qdiscs, packet filters, fill files,
    CPU hogs, patched Deployments): each is recorded *before* it is applied, so a change interrupted half-way
    is still undone.
    """

    def __init__(self, name: str = "faults") -> None:
        self.name = name
        self._changes: dict[str, Change] = {}
        self._lock = threading.Lock()
        self._previous: dict[int, Any] = {}
        self._atexit_registered = False

    @property
    def pending(self) -> list[Change]:
        """Changes still in place, oldest first."""
        with self._lock:
            return list(self._changes.values())

    def record(self, key: str, fault: str, undo: Callable[[], None]) -> Change:
        """Remember a change about to be applied (a second record under the same key keeps the first undo)."""
        with self._lock:
            change = self._changes.setdefault(key, Change(key, fault, undo))
        return change

    def forget(self, key: str) -> None:
        """Drop a change that is known to be gone (undone, or vanished with its pod)."""
        with self._lock:
            self._changes.pop(key, None)

    def undo(self, *, fault: str | None = None) -> list[str]:
        """Undo pending changes (of one fault, or all), newest first; return the failures (never raises)."""
        problems: list[str] = []
        for change in reversed(self.pending):
            if fault is not None and change.fault != fault:
                continue
            try:
                change.undo()
            except Exception as exc:  # one failing undo must not leave the others in place
                problems.append(f"{change.key} ({change.fault}): {type(exc).__name__}: {exc}")
                continue
            self.forget(change.key)
        return problems

    def restore_all(self) -> list[str]:
        """Undo everything still in place; return what failed (never raises)."""
        return self.undo()

    # -- lifecycle ---------------------------------------------------------------------------------
    def install(self) -> None:
        """Undo on interpreter exit and on SIGINT/SIGTERM (then hand the signal on)."""
        if not self._atexit_registered:
            atexit.register(self.restore_all)
            self._atexit_registered = True
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread; atexit still covers us
        for sig in (signal.SIGINT, signal.SIGTERM):
            if sig not in self._previous:
                self._previous[sig] = signal.signal(sig, self._on_signal)

    def uninstall(self) -> None:
        """Put the previous signal handlers back."""
        if threading.current_thread() is threading.main_thread():
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)
        self._previous.clear()
        if self._atexit_registered:
            atexit.unregister(self.restore_all)
            self._atexit_registered = False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """Undo first, then behave as the previous handler would."""
        self.restore_all()
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        else:
            raise SystemExit(128 + signum)

    def __enter__(self) -> UndoStack:
        self.install()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        problems = self.restore_all()
        self.uninstall()
        if problems and exc is None:
            raise RuntimeError(f"could not undo {self.name}: " + "; ".join(problems))
