"""The acknowledged-write ledger: every attempted write, its outcome, and the reconciliation afterwards.

Classification (the rule the durability verdict rests on):

* ``ok``: the server acknowledged the write (HTTP 201, the contract's answer to ``POST /api/todos``).
  An ok write must be present afterwards, or it is *lost*.
* ``failed``: the write certainly did not happen: the connection was refused before any byte was sent,
  or an explicit 4xx answer (validation, bad request, too large: nothing reaches the database).
  A failed write found afterwards is a *phantom*.
* ``unknown``: anything that may or may not have committed: timeouts, resets, a closed connection,
  every 5xx (a 502/504 from the front end or a 503 from the back end can follow a commit whose answer
  was lost), any other status. Unknown writes may be present or absent; both are counted, neither fails.

Being conservative here is the point: calling an ambiguous write "failed" would turn a correct
system's committed write into a false phantom; calling it "unknown" costs nothing.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "ChangeKind",
    "ChangeRecord",
    "ChangeVerdict",
    "ClientFailure",
    "LedgerVerdict",
    "Outcome",
    "WriteLedger",
    "WriteRecord",
    "classify_change",
    "classify_exception",
    "classify_status",
    "client_failure",
    "reconcile",
    "reconcile_changes",
    "title_prefix",
]

Outcome = Literal["ok", "failed", "unknown"]
_OUTCOMES: tuple[Outcome, ...] = ("ok", "failed", "unknown")

# The contract limits titles to 200 characters; keep room for the sequence number.
_MAX_RUN_ID = 150


def title_prefix(run_id: str) -> str:
    """Return the title prefix shared by every ledger write of one run."""
    if not run_id or len(run_id) > _MAX_RUN_ID or any(ch.isspace() for ch in run_id):
        raise ValueError(f"run id must be 1..{_MAX_RUN_ID} characters without whitespace, got {run_id!r}")
    return f"ledger-{run_id}-"


def _belongs(title: str, prefix: str) -> bool:
    """Tell whether title is prefix + sequence digits (so run "a" never claims run "a-b"'s titles)."""
    rest = title[len(prefix) :]
    return title.startswith(prefix) and rest.isascii() and rest.isdigit()


def classify_status(status: int) -> Outcome:
    """Classify an HTTP answer to a create request."""
    if status == 201:
        return "ok"
    if 400 <= status < 500:
        return "failed"
    return "unknown"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """Walk an exception and everything it wraps (cause, context, urllib3's .reason, exception args)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        todo.extend(item for item in linked if isinstance(item, BaseException))


class ClientFailure(str):
    """The one-line account of a request that got no HTTP answer, which also says whether the client's own timeout
    fired (the user waited and got nothing) or the request ended at once (refused, closed: an error the user sees
    promptly). A `str`, so every (status, error) reader protocol carries it unchanged."""

    timed_out: bool

    def __new__(cls, text: str, *, timed_out: bool = False) -> ClientFailure:
        """The text, marked."""
        failure = super().__new__(cls, text)
        failure.timed_out = timed_out
        return failure

    def prefixed(self, prefix: str) -> ClientFailure:
        """The same failure with its text prefixed (which request it was)."""
        return ClientFailure(prefix + str(self), timed_out=self.timed_out)


def client_failure(exc: BaseException) -> ClientFailure:
    """A client exception as a ClientFailure: timed out when anything it wraps is a timeout (requests' Timeout,
    urllib3's TimeoutError, the socket's TimeoutError); a read timeout after the headers arrives wrapped in a
    ConnectionError, so the whole chain is looked at, by type, never by message."""
    import requests
    import urllib3.exceptions

    timeouts = (TimeoutError, requests.Timeout, urllib3.exceptions.TimeoutError)
    # urllib3's NewConnectionError (a refused or unreachable connect) subclasses its ConnectTimeoutError for
    # backwards compatibility: it is an error the user saw at once, not a timeout.
    prompt = urllib3.exceptions.NewConnectionError
    timed_out = any(isinstance(item, timeouts) and not isinstance(item, prompt) for item in _chain(exc))
    return ClientFailure(f"{type(exc).__name__}: {exc}"[:300], timed_out=timed_out)


def classify_exception(exc: BaseException) -> Outcome:
    """Classify a client exception: "failed" only if the connection was refused, else "unknown"."""
    # requests wraps urllib3 wraps the socket error; a refused connect means nothing was ever sent.
    # Connect timeouts stay "unknown" on purpose: a retrying client layer could have sent a request.
    if any(isinstance(item, ConnectionRefusedError) for item in _chain(exc)):
        return "failed"
    return "unknown"


@dataclass(frozen=True)
class WriteRecord:
    """One attempted write: its key, title, outcome, timing (seconds) and what the client saw."""

    key: str
    title: str
    outcome: Outcome
    started: float
    finished: float
    status: int | None
    error: str | None

    def __post_init__(self) -> None:
        """Reject an outcome outside the three defined ones."""
        if self.outcome not in _OUTCOMES:
            raise ValueError(f"outcome must be one of {_OUTCOMES}, got {self.outcome!r}")


ChangeKind = Literal["complete", "delete"]


@dataclass(frozen=True)
class ChangeRecord:
    """One attempted change of an acknowledged to-do: completing or deleting it, and the outcome."""

    kind: ChangeKind
    title: str
    todo_id: int
    outcome: Outcome
    started: float
    finished: float
    status: int | None
    error: str | None


def classify_change(kind: ChangeKind, status: int) -> Outcome:
    """Classify an HTTP answer to a change: 200 (complete) and 204 (delete) acknowledge it."""
    if status == (200 if kind == "complete" else 204):
        return "ok"
    if 400 <= status < 500:
        return "failed"
    return "unknown"


class WriteLedger:
    """Thread-safe list of attempted writes with unique titles, and of the changes made to them."""

    def __init__(self) -> None:
        """Start an empty ledger."""
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._records: list[WriteRecord] = []
        self._titles: set[str] = set()
        self._changes: list[ChangeRecord] = []
        self.ids: dict[str, int] = {}  # title -> id the server gave an acknowledged create

    def record_change(self, change: ChangeRecord) -> None:
        """Add the outcome of one change attempt (each acknowledged to-do is changed at most once)."""
        with self._lock:
            if any(c.title == change.title for c in self._changes):
                raise ValueError(f"{change.title!r} was already changed once; the ledger changes each to-do once")
            self._changes.append(change)

    @property
    def changes(self) -> list[ChangeRecord]:
        """Return a snapshot of the change records."""
        with self._lock:
            return list(self._changes)

    def changeable(self) -> list[tuple[str, int]]:
        """Acknowledged creates with a known id that were not changed yet, oldest first."""
        with self._lock:
            changed = {c.title for c in self._changes}
            return [
                (r.title, self.ids[r.title])
                for r in self._records
                if r.outcome == "ok" and r.title in self.ids and r.title not in changed
            ]

    def new_title(self, run_id: str) -> str:
        """Return a fresh title, unique within this ledger, carrying the run's prefix."""
        with self._lock:
            seq = next(self._seq)
        return f"{title_prefix(run_id)}{seq:06d}"

    def record(
        self,
        title: str,
        outcome: Outcome,
        *,
        started: float,
        finished: float,
        status: int | None = None,
        error: str | None = None,
        key: str | None = None,
    ) -> WriteRecord:
        """Add the outcome of one write attempt; each title may be recorded once."""
        rec = WriteRecord(key or title, title, outcome, started, finished, status, error)
        self._add(rec)
        return rec

    def _add(self, rec: WriteRecord) -> None:
        """Append a record, refusing a title recorded before (a retry must use a new title)."""
        with self._lock:
            if rec.title in self._titles:
                raise ValueError(f"title {rec.title!r} is already in the ledger; retries need a new title")
            self._titles.add(rec.title)
            self._records.append(rec)

    @property
    def records(self) -> list[WriteRecord]:
        """Return a snapshot of the records in the order they were made."""
        with self._lock:
            return list(self._records)

    def counts(self) -> dict[str, int]:
        """Return attempted/ok/failed/unknown counts."""
        by_outcome = Counter(rec.outcome for rec in self.records)
        return {"attempted": sum(by_outcome.values()), **{o: by_outcome.get(o, 0) for o in _OUTCOMES}}

    def to_jsonl(self, path: str | Path) -> None:
        """Write one JSON object per record (creates), then one per change (with "change": kind)."""
        with Path(path).open("w", encoding="utf-8") as out:
            for rec in self.records:
                out.write(json.dumps(asdict(rec), sort_keys=True) + "\n")
            for change in self.changes:
                out.write(json.dumps({"change": change.kind, **asdict(change)}, sort_keys=True) + "\n")

    @classmethod
    def from_jsonl(cls, path: str | Path) -> WriteLedger:
        """Read a ledger written by to_jsonl."""
        ledger = cls()
        with Path(path).open(encoding="utf-8") as src:
            for number, line in enumerate(src, 1):
                if not line.strip():
                    continue
                try:
                    data: dict[str, Any] = json.loads(line)
                    if "change" in data:
                        data.pop("change")
                        ledger.record_change(ChangeRecord(**data))
                    else:
                        ledger._add(WriteRecord(**data))
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{path}:{number}: not a ledger record: {exc}") from exc
        # Continue numbering after what was read, so new titles do not collide with old ones.
        ledger._seq = itertools.count(len(ledger._records) + 1)
        return ledger


@dataclass(frozen=True)
class LedgerVerdict:
    """The reconciliation of a ledger with what the system holds afterwards."""

    attempted: int
    ok: int
    failed: int
    unknown: int
    lost: list[str] = field(default_factory=list)
    phantom: list[str] = field(default_factory=list)
    duplicate: list[str] = field(default_factory=list)
    unknown_present: list[str] = field(default_factory=list)
    unknown_absent: list[str] = field(default_factory=list)

    @property
    def ok_property(self) -> bool:
        """The durability property: nothing acknowledged lost, nothing invented, nothing doubled."""
        return not (self.lost or self.phantom or self.duplicate)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: counts, the offending titles, and the property."""
        lists = ("lost", "phantom", "duplicate", "unknown_present", "unknown_absent")
        return {
            "attempted": self.attempted,
            "ok": self.ok,
            "failed": self.failed,
            "unknown": self.unknown,
            **{name: len(getattr(self, name)) for name in lists},
            "titles": {name: list(getattr(self, name)) for name in lists},
            "ok_property": self.ok_property,
        }

    def summary(self) -> str:
        """Return a one-line account for assertion messages and progress output."""
        text = (
            f"{self.attempted} writes attempted: {self.ok} ok, {self.failed} failed, {self.unknown} unknown "
            f"({len(self.unknown_present)} present, {len(self.unknown_absent)} absent); "
            f"lost {len(self.lost)}, phantom {len(self.phantom)}, duplicate {len(self.duplicate)}"
        )
        for name in ("lost", "phantom", "duplicate"):
            titles: list[str] = getattr(self, name)
            if titles:
                shown = ", ".join(titles[:5]) + (" ..." if len(titles) > 5 else "")
                text += f"; {name}: {shown}"
        return text


def reconcile(ledger: WriteLedger, observed_titles: Iterable[str], prefix: str) -> LedgerVerdict:
    """Compare a ledger with the titles found afterwards; only titles of this run (prefix + digits) count."""
    records = ledger.records
    strangers = [rec.title for rec in records if not _belongs(rec.title, prefix)]
    if strangers:
        # A wrong prefix would silently turn every acknowledged write into a "lost" one; refuse instead.
        raise ValueError(f"{len(strangers)} ledger title(s) do not match prefix {prefix!r}, e.g. {strangers[0]!r}")
    seen = Counter(title for title in observed_titles if _belongs(title, prefix))
    deleted = {c.title for c in ledger.changes if c.kind == "delete" and c.outcome in ("ok", "unknown")}
    outcome = {rec.title: rec.outcome for rec in records}
    by_outcome = Counter(outcome.values())
    return LedgerVerdict(
        attempted=len(records),
        ok=by_outcome["ok"],
        failed=by_outcome["failed"],
        unknown=by_outcome["unknown"],
        # A to-do whose deletion was acknowledged (or may have happened) is rightly absent.
        lost=sorted(t for t, o in outcome.items() if o == "ok" and t not in seen and t not in deleted),
        phantom=sorted(t for t in seen if outcome.get(t) in (None, "failed")),
        duplicate=sorted(t for t, n in seen.items() if n > 1),
        unknown_present=sorted(t for t, o in outcome.items() if o == "unknown" and t in seen),
        unknown_absent=sorted(t for t, o in outcome.items() if o == "unknown" and t not in seen),
    )


@dataclass(frozen=True)
class ChangeVerdict:
    """Acknowledged changes against the final state: a lost update, or a deleted to-do that came back."""

    updates_acknowledged: int
    deletes_acknowledged: int
    lost_updates: list[str] = field(default_factory=list)
    resurrected: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Counts and titles, to merge into the ledger record."""
        return {
            "updates_acknowledged": self.updates_acknowledged,
            "deletes_acknowledged": self.deletes_acknowledged,
            "lost_updates": len(self.lost_updates),
            "resurrected": len(self.resurrected),
        }

    def summary(self) -> str:
        """One line for assertion messages."""
        text = (
            f"{self.updates_acknowledged} completion(s) and {self.deletes_acknowledged} deletion(s) acknowledged; "
            f"lost updates {len(self.lost_updates)}, resurrected {len(self.resurrected)}"
        )
        for name in ("lost_updates", "resurrected"):
            titles: list[str] = getattr(self, name)
            if titles:
                text += f"; {name}: " + ", ".join(titles[:5])
        return text


def reconcile_changes(ledger: WriteLedger, observed: dict[str, bool]) -> ChangeVerdict:
    """Compare acknowledged changes with what is stored (title -> completed): each must hold, or a later state."""
    done = [c for c in ledger.changes if c.outcome == "ok"]
    completes = [c for c in done if c.kind == "complete"]
    deletes = [c for c in done if c.kind == "delete"]
    return ChangeVerdict(
        updates_acknowledged=len(completes),
        deletes_acknowledged=len(deletes),
        # Completed is the last state the ledger ever gives a to-do: present and open means the update was lost.
        # Absent is counted by the create reconciliation as lost, not twice here.
        lost_updates=sorted(c.title for c in completes if observed.get(c.title) is False),
        resurrected=sorted(c.title for c in deletes if c.title in observed),
    )
