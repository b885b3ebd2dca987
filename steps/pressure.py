"""Steps that fill the database's volume and starve the back end of CPU, from inside the app's own pods."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_bdd import parsers, then, when

from support.adapters import WorkloadAdapter
from support.app import Owner
from support.budgets import enforce_window, latency_metric, recovery_within
from support.cluster import ClusterHandle
from support.conditions import app_serving, replicas_ready
from support.faults import Fault, FaultLog
from support.pressure import PressureInjector, VolumeTooLarge
from support.results import Results
from support.safety import SafetyPolicy
from support.undo import UndoStack
from support.waits import Condition, all_of, hold_for

__all__: list[str] = []

HOLD_POLL_S = 0.5
# Writes to a full volume until one is refused: bounded in count and time (each is one small row).
MAX_PROBE_WRITES = 300
REFUSAL_WITHIN_S = 90.0


@dataclass
class Pressure:
    """A pressure fault in place (or held and ended): its clock, when it ended, its window."""

    fault: Fault
    ended_at: float = 0.0
    window: dict[str, Any] | None = None
    refused: str = ""
    confirmed: list[str] = field(default_factory=list)


def _probe_title(owner: Owner, text: str) -> str:
    """A to-do of the scenario's probe user: tagged apart from the owner's, so her own count stays hers."""
    return f"{owner.tag}-probe {text}"


@pytest.fixture(scope="session")
def pressure_undo() -> Iterator[UndoStack]:
    """Every fill file and CPU hog of the run, removed at session end, on Ctrl-C, SIGTERM and exit too."""
    with UndoStack("resource pressure") as stack:
        yield stack


@pytest.fixture
def pressure(
    deployed: ClusterHandle, safety_policy: SafetyPolicy, pressure_undo: UndoStack
) -> Iterator[PressureInjector]:
    """Pressure faults for one scenario; on teardown all are undone and none may be left."""
    injector = PressureInjector(deployed, safety_policy, pressure_undo)
    yield injector
    problems = pressure_undo.restore_all()
    hogs = injector.hogs_left("backend")
    fill = injector.fill_left()
    assert not problems and not hogs and not fill, (
        f"pressure not undone: {problems}; CPU hogs left {hogs}; fill file left: {fill}"
    )


# -- recording: the one place results are written -----------------------------------------------------------
def _window(held: Pressure, fault_log: FaultLog) -> dict[str, Any]:
    """The fault's availability window (closed now if still open), which must hold samples."""
    if held.window is None:
        held.window = fault_log.close_and_measure()
    assert held.window is not None, "no reader or writer watched the fault"
    assert held.window["requests"] > 0, f"no request was made during {held.fault.name}"
    return held.window


# -- a full volume ----------------------------------------------------------------------------------------
@when("the database's volume fills up", target_fixture="held")
def _(pressure: PressureInjector, fault_log: FaultLog) -> Pressure:
    """Fill the data directory's filesystem (bounded); a volume too large to fill is a reasoned skip."""
    try:
        return Pressure(fault_log.add(pressure.fill_volume()))
    except VolumeTooLarge as exc:
        pytest.skip(f"not run: {exc}")


@then("a new to-do is refused with an error while the volume is full, and it is not stored")
def _(owner: Owner, held: Pressure) -> None:
    """New to-dos are written until one is refused (bounded); none is confirmed without being stored.

    A full filesystem does not refuse every write at once: InnoDB keeps storing rows in the pages its files
    already hold, and refuses ("table is full") only when a file must grow. So the probe writes (another user's,
    not Alice's) go on until the first refusal; every one confirmed before it must be listed, the refused one not.
    """
    deadline = time.monotonic() + REFUSAL_WITHIN_S
    for attempt in range(1, MAX_PROBE_WRITES + 1):
        title = _probe_title(owner, f"written to a full disk {attempt}")
        status, error, outcome = owner.app.write(title)
        if outcome == "ok":
            held.confirmed.append(title)
        else:
            assert status is not None, f"a write to a full volume got no answer (it must be refused): {error}"
            held.refused = title
            break
        if time.monotonic() > deadline:
            break
    assert held.refused, (
        f"the database's volume is full ({held.fault.detail}), yet {len(held.confirmed)} new to-dos in a row "
        f"were confirmed within {REFUSAL_WITHIN_S:.0f} s and none refused: is the data directory on that volume?"
    )
    listed = set(owner.app.titles())
    lost = [t for t in held.confirmed if t not in listed]
    assert not lost, f"{len(lost)} of {len(held.confirmed)} to-dos confirmed on the full volume are not stored: {lost}"
    assert held.refused not in listed, f"the refused to-do {held.refused!r} is stored after all"


@when("the space is freed again")
def _(pressure: PressureInjector, held: Pressure) -> None:
    """Remove the fill file."""
    pressure.free_volume(held.fault)
    held.ended_at = time.monotonic()


@then(parsers.parse("the service stores new to-dos again within {seconds:d} seconds"))
def _(owner: Owner, results: Results, held: Pressure, seconds: int) -> None:
    """From freeing the space: a new (probe) to-do is confirmed and listed; the refused one never appears."""
    freed = Fault("database volume freed", "database", held.fault.targets, held.ended_at, time.time())
    attempt = [0]

    def stores() -> bool:
        """One create through the front end is confirmed."""
        attempt[0] += 1
        _, _, outcome = owner.app.write(_probe_title(owner, f"after the disk was freed {attempt[0]}"))
        return outcome == "ok"

    step = f"the service stores new to-dos again within {seconds} seconds"
    condition = Condition("a new to-do confirmed", stores)
    recovery_within(results, freed, condition, float(seconds), "database", step, interval=1.0)
    assert held.refused not in owner.app.titles(), f"the refused to-do {held.refused!r} was stored after all"


@then("the database finds no damage in the stored to-dos")
def _(deployed: ClusterHandle) -> None:
    """The server's own CHECK TABLE of the to-do table reports it OK after the full disk."""
    problems = deployed.database_table_check()
    assert not problems, f"CHECK TABLE reports the to-do table damaged after the full disk: {problems}"


@then("the fill file is gone from the database's volume")
def _(pressure: PressureInjector) -> None:
    """No file of the suite left taking space on the volume."""
    assert not pressure.fill_left(), "the fill file is still on the database's volume"


# -- CPU starvation ---------------------------------------------------------------------------------------
@when(parsers.parse("the back end's containers are starved of CPU for {seconds:d} seconds"), target_fixture="held")
def _(pressure: PressureInjector, fault_log: FaultLog, seconds: int) -> Pressure:
    """Busy loops in every back-end container for the duration (they also end by themselves), then stopped."""
    held = Pressure(fault_log.add(pressure.starve_cpu("backend", seconds + 5.0)))
    try:
        hold_for(seconds, interval=HOLD_POLL_S)
    finally:
        pressure.end_starvation(held.fault)
        held.ended_at = time.monotonic()
    return held


@then(
    parsers.re(
        r"the service answers within (?P<seconds>[\d.]+) seconds for (?P<percent>\d+) percent of requests "
        r"while the back end is starved"
    )
)
def _(fault_log: FaultLog, results: Results, held: Pressure, seconds: str, percent: str) -> None:
    """The latency percentile of the requests in the window is within the budget (recorded on the window)."""
    window = _window(held, fault_log)
    step = (
        f"the service answers within {seconds} seconds for {percent} percent of requests while the back end is starved"
    )
    enforce_window(results, fault_log, step, latency_metric(percent), "<=", float(seconds), "s", index=window["index"])


@then("no back-end replica was restarted")
def _(deployed: ClusterHandle, app: WorkloadAdapter, held: Pressure) -> None:
    """Same pods, same restart counts: liveness probes did not kill the busy replicas."""
    from support.waits import until

    until(all_of("back end serving", replicas_ready(deployed, "backend", 2), app_serving(app)), timeout=30)
    pods = deployed.pods("backend")
    now = {p.name: p.restarts for p in pods}
    assert {p.uid for p in pods} == held.fault.old_uids, f"back-end pods were replaced: {sorted(now)}"
    assert now == held.fault.old_restarts, f"restart counts changed: before {held.fault.old_restarts}, now {now}"


@then("no CPU hog is left in any back-end replica")
def _(pressure: PressureInjector) -> None:
    """Every busy loop is gone."""
    left = pressure.hogs_left("backend")
    assert not left, f"CPU hogs still running: {left}"
