"""The acknowledged-write ledger: classification, reconciliation and the jsonl round trip."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
import requests

from support.ledger import (
    LedgerVerdict,
    Outcome,
    WriteLedger,
    classify_exception,
    classify_status,
    reconcile,
    title_prefix,
)

RUN = "r1"
PREFIX = title_prefix(RUN)


def ledger_with(*outcomes: Outcome) -> tuple[WriteLedger, list[str]]:
    """A ledger holding one write per outcome given, in order; returns it and the titles."""
    ledger = WriteLedger()
    titles = []
    for i, outcome in enumerate(outcomes):
        title = ledger.new_title(RUN)
        ledger.record(title, outcome, started=float(i), finished=i + 0.1, status=None, error=None)
        titles.append(title)
    return ledger, titles


# --- classification -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (201, "ok"),
        (200, "unknown"),  # the contract answers 201; anything else is not an acknowledgement
        (204, "unknown"),
        (302, "unknown"),
        (400, "failed"),
        (404, "failed"),
        (413, "failed"),
        (422, "failed"),
        (500, "unknown"),
        (502, "unknown"),  # nginx lost the back end: it may have committed first
        (503, "unknown"),
        (504, "unknown"),
    ],
)
def test_status_classification(status: int, outcome: Outcome) -> None:
    """Only 201 is an acknowledgement; only 4xx is a definite rejection; 5xx is ambiguous."""
    assert classify_status(status) == outcome


def test_outcome_literal_matches_the_documented_three() -> None:
    """The Outcome type has exactly the three documented values."""
    assert set(get_args(Outcome)) == {"ok", "failed", "unknown"}


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hang_up_server() -> Iterator[int]:
    """A loopback server that reads each request and closes the connection without answering."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        """Serve until the test ends, at most 5 s (bounded)."""
        deadline = time.monotonic() + 5
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _addr = srv.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(srv.getsockname()[1])
    stop.set()
    thread.join(6)
    srv.close()


def post(port: int, timeout: float = 2.0) -> BaseException:
    """POST a to-do to a loopback port and return the exception requests raised."""
    try:
        requests.post(f"http://127.0.0.1:{port}/api/todos", json={"title": "t"}, timeout=timeout)
    except requests.RequestException as exc:
        return exc
    raise AssertionError("the request unexpectedly succeeded")


def test_refused_connection_is_failed() -> None:
    """A refused connect (nothing listens) is a real requests error whose write cannot have happened."""
    exc = post(free_port())
    assert isinstance(exc, requests.ConnectionError)
    assert classify_exception(exc) == "failed"


def test_connection_closed_after_sending_is_unknown(hang_up_server: int) -> None:
    """The server took the request and hung up without answering: it may have committed."""
    exc = post(hang_up_server)
    assert isinstance(exc, requests.ConnectionError)
    assert classify_exception(exc) == "unknown"


def test_read_timeout_is_unknown() -> None:
    """A timeout waiting for the answer is ambiguous (the kernel accepts; nobody ever answers)."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        exc = post(int(silent.getsockname()[1]), timeout=0.2)
    finally:
        silent.close()
    assert isinstance(exc, requests.Timeout)
    assert classify_exception(exc) == "unknown"


def test_plain_exceptions_are_unknown_unless_refused() -> None:
    """Classification walks causes: a wrapped ConnectionRefusedError is failed, anything else unknown."""
    try:
        try:
            raise ConnectionRefusedError(111, "refused")
        except OSError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert classify_exception(outer) == "failed"
    assert classify_exception(ConnectionResetError(104, "reset")) == "unknown"
    assert classify_exception(TimeoutError()) == "unknown"


# --- the ledger -------------------------------------------------------------------------------------


def test_titles_are_unique_prefixed_and_within_the_contract() -> None:
    """new_title gives distinct titles carrying the run prefix and fitting the 200-character limit."""
    ledger = WriteLedger()
    titles = [ledger.new_title(RUN) for _ in range(50)]
    assert len(set(titles)) == 50
    assert titles[0] == "ledger-r1-000001"
    assert all(t.startswith(PREFIX) for t in titles)
    assert len(WriteLedger().new_title("x" * 150)) <= 200


@pytest.mark.parametrize("run_id", ["", "has space", "x" * 151])
def test_bad_run_ids_are_refused(run_id: str) -> None:
    """Run ids that would make ambiguous or over-long titles are refused."""
    with pytest.raises(ValueError):
        title_prefix(run_id)


def test_recording_counts_and_refuses_a_reused_title() -> None:
    """counts() tallies outcomes; a title can be recorded only once."""
    ledger, titles = ledger_with("ok", "ok", "failed", "unknown")
    assert ledger.counts() == {"attempted": 4, "ok": 2, "failed": 1, "unknown": 1}
    with pytest.raises(ValueError, match="already in the ledger"):
        ledger.record(titles[0], "ok", started=0, finished=1)
    with pytest.raises(ValueError, match="outcome"):
        ledger.record("ledger-r1-999999", "maybe", started=0, finished=1)  # type: ignore[arg-type]


def test_records_are_safe_from_many_threads() -> None:
    """Concurrent writers never get the same title and every record is kept."""
    ledger = WriteLedger()

    def work() -> None:
        """Make 200 writes."""
        for _ in range(200):
            ledger.record(ledger.new_title(RUN), "ok", started=0, finished=0)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert ledger.counts()["attempted"] == 800


def test_jsonl_round_trip(tmp_path: Path) -> None:
    """to_jsonl/from_jsonl keep every field, and new titles continue after the old ones."""
    ledger, _ = ledger_with("ok", "failed", "unknown")
    ledger.record(ledger.new_title(RUN), "unknown", started=3, finished=33.5, status=504, error="gateway timeout")
    path = tmp_path / "ledger.jsonl"
    ledger.to_jsonl(path)
    back = WriteLedger.from_jsonl(path)
    assert back.records == ledger.records
    assert back.new_title(RUN) == "ledger-r1-000005"
    assert len(path.read_text().splitlines()) == 4


def test_from_jsonl_names_the_bad_line(tmp_path: Path) -> None:
    """A corrupt line is reported with its number."""
    path = tmp_path / "ledger.jsonl"
    good = '{"key": "k", "title": "t", "outcome": "ok", "started": 0, "finished": 1, "status": 201, '
    good += '"error": null}'
    path.write_text(good + '\n{"oops": 1}\n')
    with pytest.raises(ValueError, match=r"ledger.jsonl:2"):
        WriteLedger.from_jsonl(path)


# --- reconciliation ---------------------------------------------------------------------------------


def test_everything_in_order() -> None:
    """ok writes present, failed absent, unknown either way: the property holds and counts add up."""
    ledger, (a, b, c, d, e) = ledger_with("ok", "ok", "failed", "unknown", "unknown")
    verdict = reconcile(ledger, [a, b, d, "someone else's to-do"], PREFIX)
    assert verdict == LedgerVerdict(attempted=5, ok=2, failed=1, unknown=2, unknown_present=[d], unknown_absent=[e])
    assert verdict.ok_property
    assert c not in verdict.phantom


def test_a_lost_acknowledged_write_breaks_the_property() -> None:
    """An ok write missing afterwards is lost."""
    ledger, (a, b, _) = ledger_with("ok", "ok", "failed")
    verdict = reconcile(ledger, [a], PREFIX)
    assert verdict.lost == [b]
    assert not verdict.ok_property
    assert "lost 1" in verdict.summary() and b in verdict.summary()


def test_phantoms_never_attempted_or_failed() -> None:
    """A present title that was never attempted, or that was classified failed, is a phantom."""
    ledger, (a, failed) = ledger_with("ok", "failed")
    invented = PREFIX + "000077"
    verdict = reconcile(ledger, [a, failed, invented], PREFIX)
    assert verdict.phantom == sorted([failed, invented])
    assert not verdict.ok_property


def test_duplicates_are_reported() -> None:
    """A title seen twice (a retried insert, a replayed transaction) is a duplicate, even if unknown."""
    ledger, (a, u) = ledger_with("ok", "unknown")
    verdict = reconcile(ledger, [a, a, u, u, u], PREFIX)
    assert verdict.duplicate == [a, u]
    assert verdict.lost == [] and verdict.phantom == []
    assert not verdict.ok_property


def test_only_this_runs_titles_count() -> None:
    """Titles of other runs, including runs whose id extends this one ("r1-b"), are ignored."""
    ledger, (a,) = ledger_with("ok")
    other_run = WriteLedger().new_title("r1-b")  # "ledger-r1-b-000001" starts with "ledger-r1-"
    verdict = reconcile(ledger, [a, other_run, other_run, "ledger-r2-000001", "ledger-r1-000002x"], PREFIX)
    assert verdict.ok_property
    assert verdict.phantom == [] and verdict.duplicate == []


def test_wrong_prefix_is_refused_not_reported_as_loss() -> None:
    """Reconciling with another run's prefix raises instead of calling every write lost."""
    ledger, (a,) = ledger_with("ok")
    with pytest.raises(ValueError, match="do not match prefix"):
        reconcile(ledger, [a], title_prefix("r2"))


def test_empty_ledger_and_nothing_observed() -> None:
    """No writes and nothing found: zero counts, the property holds."""
    verdict = reconcile(WriteLedger(), [], PREFIX)
    assert verdict.attempted == 0 and verdict.ok_property


def test_verdict_to_dict_is_json_ready() -> None:
    """to_dict carries counts, titles and the property."""
    ledger, (a, b, c) = ledger_with("ok", "ok", "unknown")
    data = reconcile(ledger, [a, c, PREFIX + "000099"], PREFIX).to_dict()
    assert data["attempted"] == 3 and data["ok"] == 2 and data["unknown"] == 1
    assert data["lost"] == 1 and data["phantom"] == 1 and data["duplicate"] == 0
    assert data["unknown_present"] == 1 and data["unknown_absent"] == 0
    assert data["titles"]["lost"] == [b]
    assert data["ok_property"] is False


def test_acknowledged_changes_are_reconciled_against_the_final_state() -> None:
    """A completion that did not stick is a lost update; a deleted to-do that is back is resurrected."""
    from support.ledger import ChangeRecord, reconcile_changes

    ledger = WriteLedger()
    for n in range(1, 5):
        ledger.record(f"ledger-r-00000{n}", "ok", started=0, finished=0.1)
    ledger.record_change(ChangeRecord("complete", "ledger-r-000001", 1, "ok", 1, 1.1, 200, None))
    ledger.record_change(ChangeRecord("complete", "ledger-r-000002", 2, "ok", 1, 1.1, 200, None))
    ledger.record_change(ChangeRecord("delete", "ledger-r-000003", 3, "ok", 1, 1.1, 204, None))
    ledger.record_change(ChangeRecord("delete", "ledger-r-000004", 4, "unknown", 1, 6.1, None, "ReadTimeout"))
    observed = {"ledger-r-000001": True, "ledger-r-000002": False, "ledger-r-000003": False}
    verdict = reconcile_changes(ledger, observed)
    assert (verdict.updates_acknowledged, verdict.deletes_acknowledged) == (2, 1)
    assert verdict.lost_updates == ["ledger-r-000002"]
    assert verdict.resurrected == ["ledger-r-000003"]
    # The acknowledged and the possible deletion both explain an absence: neither counts as a lost create.
    creates = reconcile(ledger, list(observed), "ledger-r-")
    assert creates.lost == []


def test_a_change_is_made_once_per_to_do() -> None:
    """The ledger changes each acknowledged to-do at most once, so its final state is known."""
    from support.ledger import ChangeRecord

    ledger = WriteLedger()
    ledger.record("ledger-r-000001", "ok", started=0, finished=0.1)
    ledger.ids["ledger-r-000001"] = 7
    assert ledger.changeable() == [("ledger-r-000001", 7)]
    ledger.record_change(ChangeRecord("complete", "ledger-r-000001", 7, "ok", 1, 1.1, 200, None))
    assert ledger.changeable() == []
    with pytest.raises(ValueError, match="already changed"):
        ledger.record_change(ChangeRecord("delete", "ledger-r-000001", 7, "ok", 2, 2.1, 204, None))
