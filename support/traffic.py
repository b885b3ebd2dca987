"""Bounded background traffic (reader, writer) and the availability math per fault window.

The HTTP calls themselves are injected callables (built on the app client), so this module only
schedules, times and counts; it never opens a connection on its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

# The one nearest-rank percentile and summary live in common.stats; re-exported for the suite's callers.
from common.stats import percentile, summarize
from support.ledger import Outcome, WriteLedger

__all__ = [
    "BackgroundReader",
    "BackgroundWriter",
    "BoundedLoop",
    "FaultWindow",
    "Sample",
    "WindowStats",
    "percentile",
    "summarize",
    "window_stats",
]

R = TypeVar("R")

# How long __exit__ waits for the thread beyond one in-flight call; the callables carry their own
# request timeouts, so this only has to cover one of them.
_JOIN_GRACE_S = 30.0


@dataclass(frozen=True)
class Sample:
    """One request: start time relative to the loop's epoch, success, latency and what was seen."""

    t: float
    ok: bool
    latency: float
    status: int | None
    error: str | None


class BoundedLoop(threading.Thread, Generic[R]):
    """A daemon thread calling `action` every `interval` seconds until stopped or a bound is reached."""

    def __init__(
        self,
        action: Callable[[], R] | None = None,
        *,
        interval: float,
        max_requests: int,
        max_seconds: float,
        name: str = "bounded-loop",
        epoch: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        join_timeout: float = _JOIN_GRACE_S,
    ) -> None:
        """Configure the loop; both bounds are required so no loop can run forever."""
        if interval < 0:
            raise ValueError(f"interval must be >= 0, got {interval!r}")
        if max_requests < 1:
            raise ValueError(f"max_requests must be >= 1, got {max_requests!r}")
        if not 0 < max_seconds < math.inf:
            raise ValueError(f"max_seconds must be a positive finite number, got {max_seconds!r}")
        super().__init__(name=name, daemon=True)
        self._action = action
        self.interval = interval
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.join_timeout = join_timeout
        self._clock = clock
        self._epoch = epoch
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._results: list[R] = []
        self.stop_reason: str | None = None
        self.crash: BaseException | None = None
        self.windows: list[FaultWindow] = []

    @property
    def epoch(self) -> float:
        """Return the clock reading that sample times are relative to (the start, unless given)."""
        if self._epoch is None:
            raise RuntimeError(f"{self.name} has not started yet")
        return self._epoch

    def now(self) -> float:
        """Return the current time relative to the epoch (for marking fault windows)."""
        return self._clock() - self.epoch

    @property
    def results(self) -> list[R]:
        """Return a snapshot of the results collected so far."""
        with self._lock:
            return list(self._results)

    def start(self) -> None:
        """Fix the epoch (if not given) and start the thread."""
        if self._epoch is None:
            self._epoch = self._clock()
        super().start()

    def stop(self) -> None:
        """Ask the loop to end after the call in flight."""
        self._halt.set()

    def tick(self) -> R:
        """Do one unit of work; subclasses override this to time the call and catch its failures."""
        if self._action is None:
            raise TypeError(f"{type(self).__name__} needs an action or an overridden tick()")
        return self._action()

    def run(self) -> None:
        """Call tick on a fixed schedule until stop(), max_requests or max_seconds."""
        started = self._clock()
        deadline = started + self.max_seconds
        done = 0
        try:
            while True:
                if self._halt.is_set():
                    self.stop_reason = "stopped"
                    return
                if done >= self.max_requests:
                    self.stop_reason = "max_requests"
                    return
                if self._clock() >= deadline:
                    self.stop_reason = "max_seconds"
                    return
                result = self.tick()
                done += 1
                with self._lock:
                    self._results.append(result)
                # Fixed rate: the next call is due `interval` after the previous one was due,
                # so a slow call does not stretch the sampling; missed slots are skipped, not bunched.
                next_due = started + self.interval * done
                wait = min(next_due, deadline) - self._clock()
                if wait > 0:
                    self._halt.wait(wait)
        except BaseException as exc:  # the thread has no caller: keep the error for __exit__ to raise
            self.crash = exc
            self.stop_reason = "crashed"

    def __enter__(self) -> Self:
        """Start the loop."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the loop, join it with a timeout, and report a crash or a thread that will not end."""
        self.stop()
        self.join(self.join_timeout)
        if exc is not None:
            return  # the body's own error is the more important one
        if self.is_alive():
            raise RuntimeError(f"{self.name} did not stop within {self.join_timeout:g}s after stop()")
        if self.crash is not None:
            raise RuntimeError(f"{self.name} crashed: {self.crash!r}") from self.crash

    @contextmanager
    def window(self, name: str) -> Iterator[None]:
        """Record the time spent in the block as a fault window in self.windows (this loop's time frame)."""
        start = self.now()
        try:
            yield
        finally:
            with self._lock:
                self.windows.append(FaultWindow(name, start, self.now()))


class BackgroundReader(BoundedLoop[Sample]):
    """Samples a read probe returning (status, error); a sample is ok when there is a 2xx and no error."""

    def __init__(
        self,
        probe: Callable[[], tuple[int | None, str | None]],
        *,
        interval: float,
        max_requests: int,
        max_seconds: float,
        name: str = "background-reader",
        epoch: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure the reader; bounds as for BoundedLoop."""
        super().__init__(
            None,
            interval=interval,
            max_requests=max_requests,
            max_seconds=max_seconds,
            name=name,
            epoch=epoch,
            clock=clock,
        )
        self._probe = probe

    def tick(self) -> Sample:
        """Call the probe once, timing it; a raising probe counts as a failed sample."""
        begin = self._clock()
        try:
            status, error = self._probe()
        except Exception as exc:  # a probe bug must show as failure, not kill the sampler
            status, error = None, repr(exc)
        end = self._clock()
        ok = error is None and status is not None and 200 <= status < 300
        return Sample(begin - self.epoch, ok, end - begin, status, error)

    @property
    def samples(self) -> list[Sample]:
        """Return the samples collected so far."""
        return self.results


class BackgroundWriter(BoundedLoop[Sample]):
    """Creates uniquely titled writes, records each in the ledger, and keeps a Sample per write."""

    def __init__(
        self,
        write: Callable[[str], tuple[int | None, str | None, Outcome]],
        ledger: WriteLedger,
        run_id: str,
        *,
        interval: float,
        max_requests: int,
        max_seconds: float,
        name: str = "background-writer",
        epoch: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure the writer; the ledger receives one record per attempt, timed relative to the epoch."""
        super().__init__(
            None,
            interval=interval,
            max_requests=max_requests,
            max_seconds=max_seconds,
            name=name,
            epoch=epoch,
            clock=clock,
        )
        self._write = write
        self.ledger = ledger
        self.run_id = run_id

    def tick(self) -> Sample:
        """Write one new title; a raising write is recorded as "unknown" (it may have been sent)."""
        title = self.ledger.new_title(self.run_id)
        begin = self._clock()
        status: int | None
        error: str | None
        outcome: Outcome
        try:
            status, error, outcome = self._write(title)
        except Exception as exc:  # unknown is the only safe reading of a crashed write
            status, error, outcome = None, repr(exc), "unknown"
        end = self._clock()
        self.ledger.record(
            title, outcome, started=begin - self.epoch, finished=end - self.epoch, status=status, error=error
        )
        return Sample(begin - self.epoch, outcome == "ok", end - begin, status, error)

    @property
    def samples(self) -> list[Sample]:
        """Return one sample per write attempt (ok means acknowledged)."""
        return self.results


@dataclass(frozen=True)
class FaultWindow:
    """A named span of time (relative seconds, same frame as the samples): [start, end)."""

    name: str
    start: float
    end: float


@dataclass(frozen=True)
class WindowStats:
    """Availability of one fault window; the derived numbers are None when no sample fell in it."""

    name: str
    requests: int
    failed: int
    availability_pct: float | None
    longest_outage_s: float | None
    p50_latency_s: float | None
    p95_latency_s: float | None
    max_latency_s: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


def window_stats(samples: Sequence[Sample], window: FaultWindow) -> WindowStats:
    """Compute availability, longest outage and latency percentiles for the samples started in the window."""
    inside = sorted((s for s in samples if window.start <= s.t < window.end), key=lambda s: s.t)
    if not inside:
        return WindowStats(window.name, 0, 0, None, None, None, None, None)
    failed = sum(1 for s in inside if not s.ok)
    # An outage runs from its first failed sample to the next success, or to the window's end.
    longest = 0.0
    outage_start: float | None = None
    for s in inside:
        if not s.ok and outage_start is None:
            outage_start = s.t
        elif s.ok and outage_start is not None:
            longest = max(longest, s.t - outage_start)
            outage_start = None
    if outage_start is not None:
        longest = max(longest, window.end - outage_start)
    # Failed requests' latencies count too: a request that hangs until its timeout is a wait the user sees.
    latencies = [s.latency for s in inside]
    return WindowStats(
        name=window.name,
        requests=len(inside),
        failed=failed,
        availability_pct=100.0 * (len(inside) - failed) / len(inside),
        longest_outage_s=longest,
        p50_latency_s=percentile(latencies, 50),
        p95_latency_s=percentile(latencies, 95),
        max_latency_s=max(latencies),
    )
