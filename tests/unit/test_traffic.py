"""Bounded background loops and the availability math per fault window."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from support.ledger import Outcome, WriteLedger, reconcile, title_prefix
from support.traffic import (
    BackgroundReader,
    BackgroundWriter,
    BoundedLoop,
    FaultWindow,
    Sample,
    answer_kinds,
    longest_gap,
    window_stats,
)


def samples(pattern: str, latency: Callable[[int], float] = lambda i: 0.1) -> list[Sample]:
    """One sample per second from t=0: '.' ok, 'x' failed."""
    return [
        Sample(float(i), ch == ".", latency(i), 200 if ch == "." else None, None if ch == "." else "refused")
        for i, ch in enumerate(pattern)
    ]


# --- window statistics -------------------------------------------------------------------------------


def test_all_ok_window() -> None:
    """Ten good samples: 100 %, no outage, latency percentiles by nearest rank."""
    stats = window_stats(samples(".........."), FaultWindow("quiet", 0, 10))
    assert (stats.requests, stats.failed, stats.availability_pct, stats.availability_time_pct) == (10, 0, 100.0, 100.0)
    assert stats.longest_outage_s == 0.0
    assert (stats.p50_latency_s, stats.p95_latency_s, stats.max_latency_s) == (0.1, 0.1, 0.1)
    # One sequential sampler of 0.1 s requests every second leaves 0.9 s with nothing in flight.
    assert stats.max_gap_s == pytest.approx(0.9)


def test_outage_in_the_middle() -> None:
    """Failures at t=3,4,5 then success at 6: 70 % and an outage of 6 - 3 = 3 s."""
    stats = window_stats(samples("...xxx...."), FaultWindow("kill", 0, 10))
    assert (stats.requests, stats.failed) == (10, 3)
    assert stats.availability_pct == pytest.approx(70.0)
    assert stats.longest_outage_s == pytest.approx(3.0)


def test_outage_until_the_window_ends() -> None:
    """Failures from t=7 to the end of a window ending at 10: the outage is 10 - 7 = 3 s."""
    stats = window_stats(samples(".......xxx"), FaultWindow("kill", 0, 10))
    assert stats.longest_outage_s == pytest.approx(3.0)
    assert stats.availability_pct == pytest.approx(70.0)


def test_longest_of_several_outages() -> None:
    """Outages of 1 s (t=1..2) and 2 s (t=5..7): the longest is 2 s; 7 of 10 ok."""
    stats = window_stats(samples(".x...xx..."), FaultWindow("two", 0, 10))
    assert stats.longest_outage_s == pytest.approx(2.0)
    assert stats.failed == 3


def test_single_failure_counts_until_next_success() -> None:
    """One failed sample at t=4 with the next good one at t=5 is a 1 s outage."""
    assert window_stats(samples("....x....."), FaultWindow("w", 0, 10)).longest_outage_s == pytest.approx(1.0)


def test_window_is_half_open_and_filters_samples() -> None:
    """Only samples with start <= t < end count; an outage still open at the end runs to the end."""
    stats = window_stats(samples("..xx..xx.."), FaultWindow("middle", 2, 7))  # t = 2, 3, 4, 5, 6
    assert stats.requests == 5
    assert stats.failed == 3  # t = 2, 3 and 6
    assert stats.availability_pct == pytest.approx(40.0)
    assert stats.longest_outage_s == pytest.approx(2.0)  # 2 -> 4; the one at 6 runs to 7 (1 s)


def test_empty_window_has_no_numbers() -> None:
    """No samples: counts are zero and every derived number is None (never a fake 100 %)."""
    stats = window_stats(samples("...."), FaultWindow("later", 100, 110))
    assert (stats.requests, stats.failed) == (0, 0)
    assert stats.availability_pct is None and stats.availability_time_pct is None and stats.longest_outage_s is None
    assert stats.to_dict()["availability_pct"] is None


def test_latency_percentiles_include_failures() -> None:
    """Latencies 0.1 .. 1.0 s: p50 is the 5th value, p95 and max the 10th; unsorted samples are fine."""
    data = samples("........xx", latency=lambda i: (i + 1) / 10)
    stats = window_stats(list(reversed(data)), FaultWindow("lat", 0, 10))
    assert (stats.p50_latency_s, stats.p95_latency_s, stats.max_latency_s) == (0.5, 1.0, 1.0)
    assert stats.longest_outage_s == pytest.approx(2.0)


def test_all_failed_window() -> None:
    """Nothing succeeds: 0 % and the outage spans from the first sample to the end."""
    stats = window_stats(samples("xxxxx"), FaultWindow("down", 0, 6))
    assert stats.availability_pct == 0.0
    assert stats.availability_time_pct == pytest.approx(0.0)
    assert stats.longest_outage_s == pytest.approx(6.0)


def test_a_hung_request_is_an_outage_for_as_long_as_it_hangs() -> None:
    """One failed request that hung 4 s among quick successes: 1 failure by count, but 4 s down over time."""
    data = [Sample(float(t), True, 0.05, 200, None) for t in range(10) if t != 2]
    data.append(Sample(2.0, False, 4.0, None, "ReadTimeout"))
    stats = window_stats(data, FaultWindow("hang", 0, 10))
    assert stats.failed == 1 and stats.availability_pct == pytest.approx(90.0)
    # Down from t=2 until the hung request ended at t=6 (later successes do not shorten it).
    assert stats.longest_outage_s == pytest.approx(4.0)
    assert stats.availability_time_pct == pytest.approx(60.0)


def test_concurrent_readers_leave_no_gap() -> None:
    """Two staggered readers of 0.6 s requests every second keep a request in flight almost always."""
    data = [Sample(t + off, True, 0.6, 200, None) for t in range(10) for off in (0.0, 0.5)]
    assert window_stats(data, FaultWindow("w", 0, 10)).max_gap_s == pytest.approx(0.0)
    assert longest_gap(data[::2], 0, 10) == pytest.approx(0.4)


# --- bounded loops (tiny real intervals) ----------------------------------------------------------------


def test_loop_stops_at_max_requests() -> None:
    """With a generous time bound, the loop makes exactly max_requests calls."""
    calls = iter(range(1000))
    loop = BoundedLoop(lambda: next(calls), interval=0.001, max_requests=5, max_seconds=5)
    with loop:
        loop.join(5)
    assert loop.results == [0, 1, 2, 3, 4]
    assert loop.stop_reason == "max_requests"
    assert loop.daemon


def test_loop_stops_at_max_seconds() -> None:
    """With a generous request bound, the loop ends when its time is up."""
    loop = BoundedLoop(lambda: None, interval=0.01, max_requests=100_000, max_seconds=0.15)
    begin = time.monotonic()
    with loop:
        loop.join(5)
    assert time.monotonic() - begin < 1.0
    assert loop.stop_reason == "max_seconds"
    assert 3 <= len(loop.results) <= 17  # ~15 at 10 ms; a loaded 2-core host may fall behind


def test_stop_interrupts_the_wait_between_calls() -> None:
    """stop() ends the loop at once even while it waits a long interval."""
    first = threading.Event()
    loop = BoundedLoop(first.set, interval=30, max_requests=10, max_seconds=60)
    begin = time.monotonic()
    with loop:
        assert first.wait(5)
    assert time.monotonic() - begin < 2
    assert not loop.is_alive()
    assert loop.stop_reason == "stopped"
    assert len(loop.results) == 1


def test_both_bounds_are_required_and_checked() -> None:
    """A loop without both bounds, or with senseless ones, cannot be made."""
    with pytest.raises(TypeError):
        BoundedLoop(lambda: None, interval=1, max_requests=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        BoundedLoop(lambda: None, interval=1, max_seconds=1)  # type: ignore[call-arg]
    for bad in ({"max_requests": 0, "max_seconds": 1}, {"max_requests": 1, "max_seconds": float("inf")}):
        with pytest.raises(ValueError):
            BoundedLoop(lambda: None, interval=1, **bad)


def test_a_crashing_action_is_reported_on_exit() -> None:
    """An exception in the thread is kept and raised by __exit__, not lost."""

    def boom() -> None:
        """Fail."""
        raise KeyError("nope")

    loop = BoundedLoop(boom, interval=0.001, max_requests=3, max_seconds=5)
    with pytest.raises(RuntimeError, match="crashed: KeyError"), loop:
        loop.join(5)
    assert loop.stop_reason == "crashed"


def test_reader_turns_probe_results_into_samples() -> None:
    """2xx without error is ok; no status, an error, a 503 or a raising probe are failures."""
    answers: list[tuple[int | None, str | None] | Exception] = [
        (200, None),
        (None, "ConnectionRefusedError"),
        (503, None),
        (200, "body did not parse"),
        RuntimeError("probe bug"),
    ]
    now = [10.0]

    def probe() -> tuple[int | None, str | None]:
        """Answer the next canned response, taking 0.25 s of fake time."""
        now[0] += 0.25
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    reader = BackgroundReader(probe, interval=1, max_requests=5, max_seconds=5, epoch=8.0, clock=lambda: now[0])
    got = [reader.tick() for _ in range(5)]
    assert [s.ok for s in got] == [True, False, False, False, False]
    assert got[0] == Sample(2.0, True, 0.25, 200, None)
    assert got[4].error == "RuntimeError('probe bug')"
    assert got[4].t == pytest.approx(3.0)


def test_a_reader_wired_to_a_bool_probe_stops_instead_of_scoring_zero() -> None:
    """adapter.probe answers (True, summary): as a reader's probe every sample would be 'failed' (the benchmark
    once measured 0 % availability that way); the reader crashes with the reason and the loop keeps it."""
    reader = BackgroundReader(lambda: (True, "3 to-dos"), interval=0.01, max_requests=3, max_seconds=2)
    with pytest.raises(TypeError, match=r"pass adapter\.sample, not adapter\.probe"):
        reader.tick()
    reader.run()
    assert reader.stop_reason == "crashed" and isinstance(reader.crash, TypeError)
    assert reader.samples == []


def test_reader_and_windows_end_to_end() -> None:
    """A reader sampling a flaky probe during a marked window sees the outage in that window only."""
    down = threading.Event()

    def probe() -> tuple[int | None, str | None]:
        """Fail while 'down' is set."""
        return (None, "refused") if down.is_set() else (200, None)

    with BackgroundReader(probe, interval=0.005, max_requests=400, max_seconds=3) as reader:
        time.sleep(0.05)
        with reader.window("fault"):
            down.set()
            time.sleep(0.08)
            down.clear()
            time.sleep(0.04)
        time.sleep(0.03)
    (window,) = reader.windows
    assert window.name == "fault" and window.end > window.start
    stats = window_stats(reader.samples, window)
    assert stats.requests > 0
    assert stats.failed > 0
    assert stats.availability_pct is not None and stats.availability_pct < 100
    assert stats.longest_outage_s is not None and 0.03 < stats.longest_outage_s < 0.5
    before = window_stats(reader.samples, FaultWindow("before", 0, window.start))
    assert before.failed == 0 and before.requests > 0


def test_writer_records_every_attempt_in_the_ledger() -> None:
    """Each write gets a fresh title and a ledger record; a raising write is recorded as unknown."""
    stored: list[str] = []
    plan: list[Outcome | Exception] = ["ok", "failed", "unknown", TimeoutError("read timed out"), "ok"]

    def write(title: str) -> tuple[int | None, str | None, Outcome]:
        """Follow the plan; 'ok' and 'unknown' writes reach the store."""
        step = plan.pop(0)
        if isinstance(step, Exception):
            stored.append(title)  # it did commit, but the client never heard back
            raise step
        if step != "failed":
            stored.append(title)
        return {"ok": (201, None, step), "failed": (None, "refused", step), "unknown": (504, None, step)}[step]

    ledger = WriteLedger()
    with BackgroundWriter(write, ledger, "w1", interval=0.001, max_requests=5, max_seconds=5) as writer:
        writer.join(5)
    records = ledger.records
    assert [r.outcome for r in records] == ["ok", "failed", "unknown", "unknown", "ok"]
    assert records[3].error == "TimeoutError('read timed out')"
    assert all(r.finished >= r.started >= 0 for r in records)
    assert [s.ok for s in writer.samples] == [True, False, False, False, True]
    verdict = reconcile(ledger, stored, title_prefix("w1"))
    assert verdict.ok_property
    assert len(verdict.unknown_present) == 2


def test_shared_epoch_puts_writer_and_reader_in_one_time_frame() -> None:
    """A writer given the reader's epoch reports sample times on the same axis."""
    with BackgroundReader(lambda: (200, None), interval=0.01, max_requests=3, max_seconds=2) as reader:
        writer = BackgroundWriter(
            lambda t: (201, None, "ok"),
            WriteLedger(),
            "e",
            interval=0.01,
            max_requests=2,
            max_seconds=2,
            epoch=reader.epoch,
        )
        with writer:
            writer.join(3)
    assert writer.epoch == reader.epoch
    assert writer.samples[0].t >= reader.samples[0].t


def test_answer_kinds_separates_hung_requests_from_prompt_refusals_and_http_errors() -> None:
    """A timeout or a request slower than the budget hung; a connection refused or closed at once is a prompt
    error (a Service without ready endpoints); any HTTP status within the budget is an answer."""
    samples = [
        Sample(1.0, False, 5.01, None, "front-end page: ReadTimeout: read timed out", timed_out=True),
        Sample(2.0, False, 3.0, None, "ConnectTimeout: connect timeout=3", timed_out=True),
        Sample(3.0, False, 0.01, None, "ConnectionError: RemoteDisconnected('Remote end closed connection')"),
        Sample(4.0, False, 0.02, None, "ConnectionError: [Errno 111] Connection refused"),
        Sample(5.0, False, 1.5, 503, "503: database unavailable"),
        Sample(6.0, True, 0.1, 200, None),
        Sample(7.0, False, 6.0, 502, "502: bad gateway"),
        # The text is never read: a message that mentions a timeout is not one.
        Sample(8.0, False, 0.01, None, "ConnectionError: the back end said 'upstream timed out'"),
    ]
    kinds = answer_kinds(samples, 5.0)
    assert [s.t for s in kinds["hung"]] == [1.0, 2.0, 7.0]
    assert [s.t for s in kinds["refused"]] == [3.0, 4.0, 8.0]
    assert [s.t for s in kinds["answered"]] == [5.0, 6.0]


def test_a_real_timeout_and_a_real_refusal_are_told_apart_by_type() -> None:
    """On loopback: a server that accepts and never answers times the client out; a closed port refuses at once.
    The reader marks the first timed out; a probe that raised (no reason known) is never counted as answered."""
    import socket

    import requests

    from support.ledger import ClientFailure, client_failure

    silent = socket.create_server(("127.0.0.1", 0))
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        with pytest.raises(requests.RequestException) as hung:
            requests.get(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=0.3)
        with pytest.raises(requests.RequestException) as refused:
            requests.get(f"http://127.0.0.1:{closed_port}/", timeout=0.3)
    finally:
        silent.close()
    assert client_failure(hung.value).timed_out is True
    assert client_failure(refused.value).timed_out is False
    assert client_failure(hung.value).prefixed("front-end page: ").timed_out is True
    answers = iter([(None, client_failure(hung.value)), (None, client_failure(refused.value)), (200, None)])
    loop = BackgroundReader(lambda: next(answers), interval=0, max_requests=3, max_seconds=5, epoch=0.0)
    samples = [loop.tick() for _ in range(3)]
    assert [s.timed_out for s in samples] == [True, False, False]

    def bug() -> tuple[int | None, str | None]:
        raise KeyError("a probe bug")

    assert BackgroundReader(bug, interval=0, max_requests=1, max_seconds=5, epoch=0.0).tick().timed_out is True
    assert isinstance(ClientFailure("x"), str) and ClientFailure("x").timed_out is False
