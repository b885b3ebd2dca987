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
from support.ledger import ChangeKind, ChangeRecord, Outcome, WriteLedger

__all__ = [
    "BackgroundReader",
    "BackgroundWriter",
    "BoundedLoop",
    "FaultWindow",
    "Sample",
    "WindowStats",
    "answer_kinds",
    "longest_gap",
    "outage_spans",
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
    # No HTTP answer because the client's own timeout fired (the user waited and got nothing), as the reader
    # reported it (support.ledger.ClientFailure); also set when no answer came and nothing says why (a crashed
    # probe): what cannot be shown to have been answered is not counted as answered.
    timed_out: bool = False


def _timed_out(status: int | None, error: str | None) -> bool:
    """Whether a sample got no answer because it hung (see Sample.timed_out)."""
    if status is not None:
        return False
    return bool(getattr(error, "timed_out", True))


def answer_kinds(samples: Sequence[Sample], budget_s: float) -> dict[str, list[Sample]]:
    """Sort samples by how the user was answered: "hung" (no answer: the client's timeout fired, or the request
    took longer than the budget), "refused" (no HTTP answer, but the connection was refused or closed at once,
    within the budget: an error the user sees promptly, as when a Service has no ready endpoint), "answered"
    (an HTTP status, whatever it was, within the budget)."""
    kinds: dict[str, list[Sample]] = {"hung": [], "refused": [], "answered": []}
    for s in samples:
        if (s.status is None and s.timed_out) or s.latency > budget_s:
            kinds["hung"].append(s)
        elif s.status is None:
            kinds["refused"].append(s)
        else:
            kinds["answered"].append(s)
    return kinds


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
        if isinstance(status, bool):
            # A (bool, summary) probe type-checks as (status, error) (bool is an int) and scores every sample
            # failed: the benchmark measured 0 % availability that way. The wrong wiring stops the reader.
            raise TypeError(f"{self.name}: the probe returned a bool status; pass adapter.sample, not adapter.probe")
        ok = error is None and status is not None and 200 <= status < 300
        return Sample(begin - self.epoch, ok, end - begin, status, error, _timed_out(status, error))

    @property
    def samples(self) -> list[Sample]:
        """Return the samples collected so far."""
        return self.results


class BackgroundWriter(BoundedLoop[Sample]):
    """Creates uniquely titled writes, records each in the ledger, and keeps a Sample per write."""

    def __init__(
        self,
        write: Callable[[str], tuple[Any, ...]],
        ledger: WriteLedger,
        run_id: str,
        *,
        interval: float,
        max_requests: int,
        max_seconds: float,
        name: str = "background-writer",
        epoch: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        change: Callable[[ChangeKind, int], tuple[int | None, str | None, Outcome]] | None = None,
        change_every: int = 0,
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
        self._change = change
        self.change_every = change_every
        self._ticks = 0
        self.ledger = ledger
        self.run_id = run_id

    def tick(self) -> Sample:
        """Every `change_every`-th tick changes an acknowledged to-do (complete, then delete); else one create."""
        self._ticks += 1
        if self._change is not None and self.change_every and self._ticks % self.change_every == 0:
            candidates = self.ledger.changeable()
            if candidates:
                kind: ChangeKind = "complete" if (self._ticks // self.change_every) % 2 else "delete"
                return self._tick_change(kind, *candidates[0])
        return self._tick_create()

    def _tick_create(self) -> Sample:
        """Write one new title; a raising write is recorded as "unknown" (it may have been sent)."""
        title = self.ledger.new_title(self.run_id)
        begin = self._clock()
        status: int | None
        error: str | None
        outcome: Outcome
        todo_id: int | None = None
        try:
            answer = self._write(title)
            status, error, outcome = answer[0], answer[1], answer[2]
            todo_id = answer[3] if len(answer) > 3 else None
        except Exception as exc:  # unknown is the only safe reading of a crashed write
            status, error, outcome = None, repr(exc), "unknown"
        end = self._clock()
        self.ledger.record(
            title, outcome, started=begin - self.epoch, finished=end - self.epoch, status=status, error=error
        )
        if outcome == "ok" and todo_id is not None:
            self.ledger.ids[title] = int(todo_id)
        return Sample(begin - self.epoch, outcome == "ok", end - begin, status, error, _timed_out(status, error))

    def _tick_change(self, kind: ChangeKind, title: str, todo_id: int) -> Sample:
        """Complete or delete one acknowledged to-do; record the attempt and its outcome."""
        assert self._change is not None
        begin = self._clock()
        try:
            status, error, outcome = self._change(kind, todo_id)
        except Exception as exc:
            status, error, outcome = None, repr(exc), "unknown"
        end = self._clock()
        self.ledger.record_change(
            ChangeRecord(kind, title, todo_id, outcome, begin - self.epoch, end - self.epoch, status, error)
        )
        return Sample(begin - self.epoch, outcome == "ok", end - begin, status, error, _timed_out(status, error))

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
    """Availability of one fault window, by count and over time; the numbers are None when no request fell in it."""

    name: str
    requests: int
    failed: int
    availability_pct: float | None
    availability_time_pct: float | None
    longest_outage_s: float | None
    max_gap_s: float | None
    p50_latency_s: float | None
    p95_latency_s: float | None
    max_latency_s: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


def _merge(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of time spans, as sorted disjoint spans."""
    merged: list[tuple[float, float]] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def _clip(spans: Sequence[tuple[float, float]], start: float, end: float) -> list[tuple[float, float]]:
    """Spans cut to [start, end], empty ones dropped."""
    return [(max(b, start), min(e, end)) for b, e in spans if min(e, end) > max(b, start)]


def outage_spans(samples: Sequence[Sample]) -> list[tuple[float, float]]:
    """When the service was down: from a failed request's start until the next success began (or it ended).

    A request that hangs is an outage for as long as it hangs; several requests in flight at once all count, so
    with concurrent traffic the service is down only while failures overlap nothing that succeeded in between.
    """
    ordered = sorted(samples, key=lambda s: s.t)
    spans: list[tuple[float, float]] = []
    next_ok: float | None = None
    # Walk backwards so each failure knows when the next successful request began.
    for s in reversed(ordered):
        if s.ok:
            next_ok = s.t
            continue
        # Until the next success is seen the service is not known to be back (to the window's end, if none).
        end = max(s.t + s.latency, next_ok) if next_ok is not None else math.inf
        spans.append((s.t, end))
    return _merge(spans)


def longest_gap(samples: Sequence[Sample], start: float, end: float) -> float:
    """The longest time inside [start, end] with no request in flight (sampling coverage)."""
    busy = _merge(_clip([(s.t, s.t + max(s.latency, 0.0)) for s in samples], start, end))
    gap, cursor = 0.0, start
    for begin, stop in busy:
        gap = max(gap, begin - cursor)
        cursor = max(cursor, stop)
    return max(gap, end - cursor)


def window_stats(samples: Sequence[Sample], window: FaultWindow) -> WindowStats:
    """Availability by count and by time, longest outage, sampling gap and latency for one window."""
    inside = sorted((s for s in samples if window.start <= s.t < window.end), key=lambda s: s.t)
    length = window.end - window.start
    if not inside or length <= 0:
        return WindowStats(window.name, 0, 0, None, None, None, length if length > 0 else None, None, None, None)
    failed = sum(1 for s in inside if not s.ok)
    # Requests that started before the window but hung into it count for the time-based figures too.
    touching = [s for s in samples if s.t < window.end and s.t + s.latency > window.start]
    down = _clip(outage_spans(touching), window.start, window.end)
    down_s = sum(e - b for b, e in down)
    # Failed requests' latencies count too: a request that hangs until its timeout is a wait the user sees.
    latencies = [s.latency for s in inside]
    return WindowStats(
        name=window.name,
        requests=len(inside),
        failed=failed,
        availability_pct=100.0 * (len(inside) - failed) / len(inside),
        availability_time_pct=100.0 * (length - down_s) / length,
        longest_outage_s=max((e - b for b, e in down), default=0.0),
        max_gap_s=longest_gap(touching, window.start, window.end),
        p50_latency_s=percentile(latencies, 50),
        p95_latency_s=percentile(latencies, 95),
        max_latency_s=max(latencies),
    )
