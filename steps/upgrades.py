"""Steps that upgrade, roll back and reconfigure the app's tiers while users keep using it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_bdd import parsers, then, when

from support.adapters import WorkloadAdapter
from support.budgets import enforce_window, recovery_within
from support.cluster import ClusterHandle
from support.conditions import app_serving, pods_replaced, rolled_out
from support.faults import Fault, FaultLog
from support.results import Results
from support.rollouts import Rollouts, template_rolled, versions_reported
from support.safety import SafetyPolicy
from support.undo import UndoStack
from support.waits import Condition, all_of, until

__all__: list[str] = []

TIERS = {"back end": "backend", "front end": "frontend", "back-end": "backend", "front-end": "frontend"}
# An equivalent address of the same back-end Service: a real configuration change that must not break anything.
# The front end's setting the configuration rollout changes (where it finds the back end; the profile's wiring says
# which ConfigMap key feeds it).
FRONTEND_ADDRESS_VARIABLE = "SERVER_URI"
SETTLE_BUDGET_S = 240.0


@dataclass
class RolloutRun:
    """The scenario's rollouts: the version before the first one, and each rollout's closed window."""

    tier: str
    before: str = ""
    faults: list[Fault] = field(default_factory=list)
    windows: list[dict[str, Any]] = field(default_factory=list)
    recorded: int = 0
    new_value: str = ""  # the configuration rollout's new setting


@pytest.fixture(scope="session")
def rollout_undo() -> Iterator[UndoStack]:
    """Every version label and ConfigMap change of the run, put back at session end, Ctrl-C, SIGTERM, exit."""
    with UndoStack("rollouts") as stack:
        yield stack


@pytest.fixture
def rollouts(deployed: ClusterHandle, safety_policy: SafetyPolicy, rollout_undo: UndoStack) -> Iterator[Rollouts]:
    """Rollouts for one scenario; on teardown every change is put back and the app rolled out again."""
    handle = Rollouts(deployed, safety_policy, rollout_undo)
    yield handle
    problems = rollout_undo.restore_all()
    assert not problems, f"rollouts not undone: {problems}"
    until(rolled_out(deployed), timeout=SETTLE_BUDGET_S, interval=1.0)


def _close(run: RolloutRun, fault_log: FaultLog) -> None:
    """Close the open rollout window and keep it."""
    record = fault_log.close_and_measure()
    if record is not None:
        run.windows.append(record)


def _timed(
    rollouts: Rollouts, results: Results, run: RolloutRun, fault: Fault, condition: Condition, seconds: int
) -> None:
    """Time the raw `kubectl rollout status` (recorded beside it) and the full condition from the rollout's start."""
    raw = rollouts.rollout_status(run.tier, float(seconds))
    results.record_recovery(f"{fault.name} (kubectl rollout status)", run.tier, raw, float(seconds))
    recovery_within(results, fault, condition, float(seconds), run.tier, condition.name, interval=1.0)


# -- upgrades and rollbacks -------------------------------------------------------------------------------
@when(
    parsers.re(r'the (?P<tier>back end|front end) is upgraded to version "(?P<version>[\w.-]+)"'), target_fixture="run"
)
def _(rollouts: Rollouts, fault_log: FaultLog, tier: str, version: str) -> RolloutRun:
    """Change the version label of the tier's pod template (same image): a rolling update to a new ReplicaSet."""
    run = RolloutRun(TIERS[tier], before=rollouts.version(TIERS[tier]))
    run.faults.append(fault_log.add(rollouts.upgrade(version, TIERS[tier])))
    return run


@when(parsers.re(r"the (?P<tier>back end|front end) is rolled back"))
def _(rollouts: Rollouts, fault_log: FaultLog, run: RolloutRun, tier: str) -> None:
    """The Deployment's own rollback to the revision before the upgrade."""
    assert run.tier == TIERS[tier], f"the scenario upgraded the {run.tier}, not the {tier}"
    run.faults.append(fault_log.add(rollouts.rollback(run.tier)))


def _version_condition(deployed: ClusterHandle, app: WorkloadAdapter, tier: str, version: str) -> Condition:
    """Every replica of the tier on `version` (reported by the back end itself; labelled for the front end)."""
    replicas = deployed.profile.expected_replicas[tier]
    # An app that reports its version is asked pod by pod; otherwise the Ready pods' version label is the proof.
    reports = tier == "backend" and deployed.profile.promises.version_report
    rolled = (
        versions_reported(deployed, version, replicas)
        if reports
        else template_rolled(deployed, tier, version, replicas)
    )
    return all_of(f"{tier} on version {version!r} and serving", rolled, app_serving(app))


@then(
    parsers.re(
        r'every (?P<tier>back-end|front-end) replica (?:reports|runs) version "(?P<version>[\w.-]+)" '
        r"within (?P<seconds>\d+) seconds"
    )
)
def _(
    deployed: ClusterHandle,
    app: WorkloadAdapter,
    rollouts: Rollouts,
    fault_log: FaultLog,
    results: Results,
    run: RolloutRun,
    tier: str,
    version: str,
    seconds: str,
) -> None:
    """From the upgrade's start: rollout finished, every replica on the new version, the app serving."""
    condition = _version_condition(deployed, app, TIERS[tier], version)
    _timed(rollouts, results, run, run.faults[-1], condition, int(seconds))
    _close(run, fault_log)


@then(
    parsers.re(
        r"every (?P<tier>back-end|front-end) replica (?:reports|runs) its previous version again "
        r"within (?P<seconds>\d+) seconds"
    )
)
def _(
    deployed: ClusterHandle,
    app: WorkloadAdapter,
    rollouts: Rollouts,
    fault_log: FaultLog,
    results: Results,
    run: RolloutRun,
    tier: str,
    seconds: str,
) -> None:
    """From the rollback's start: every replica back on the version from before the upgrade."""
    condition = _version_condition(deployed, app, TIERS[tier], run.before)
    _timed(rollouts, results, run, run.faults[-1], condition, int(seconds))
    _close(run, fault_log)


@then(parsers.re(r"no request failed during the (?P<what>upgrade and the rollback|rollout)"))
def _(results: Results, fault_log: FaultLog, run: RolloutRun, what: str) -> None:
    """Every sampled request in every rollout window succeeded."""
    assert run.windows, "no rollout window was closed: the version step must run before this one"
    for window in run.windows:
        assert window["requests"] > 0, f"no request was made during {window['fault']}"
    failures = []
    for window in run.windows:  # every window recorded and judged, even after one failed
        try:
            enforce_window(
                results,
                fault_log,
                f"no request failed during the {what}",
                "availability_pct",
                ">=",
                100.0,
                "%",
                index=window["index"],
            )
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "; ".join(failures)


# -- the database's restart -------------------------------------------------------------------------------
@when("the database is restarted for an upgrade", target_fixture="run")
def _(rollouts: Rollouts, fault_log: FaultLog) -> RolloutRun:
    """Restart the database Deployment (strategy Recreate: the old server stops before the new one starts)."""
    run = RolloutRun("database")
    run.faults.append(fault_log.add(rollouts.restart("database")))
    return run


@then(parsers.parse("the database serves again within {seconds:d} seconds"))
def _(
    deployed: ClusterHandle,
    app: WorkloadAdapter,
    rollouts: Rollouts,
    fault_log: FaultLog,
    results: Results,
    run: RolloutRun,
    seconds: int,
) -> None:
    """A new database pod Ready and the app serving, timed from the restart."""
    fault = run.faults[-1]
    condition = all_of(
        "database restarted and serving", pods_replaced(deployed, "database", fault.old_uids), app_serving(app)
    )
    _timed(rollouts, results, run, fault, condition, seconds)
    _close(run, fault_log)


@then(parsers.parse("the service was unavailable for at most {seconds:d} seconds during the restart"))
def _(results: Results, fault_log: FaultLog, run: RolloutRun, seconds: int) -> None:
    """The longest run of failed requests in the restart's window stays within the budget."""
    window = run.windows[-1]
    assert window["requests"] > 0, f"no request was made during {window['fault']}"
    step = f"the service was unavailable for at most {seconds} seconds during the restart"
    enforce_window(results, fault_log, step, "longest_outage_s", "<=", float(seconds), "s", index=window["index"])


# -- configuration ----------------------------------------------------------------------------------------
@when("the front end's configuration changes and the front end is rolled out", target_fixture="run")
def _(rollouts: Rollouts, fault_log: FaultLog) -> RolloutRun:
    """Give the front end's back-end address an equivalent spelling (the profile's wiring) and restart it."""
    run = RolloutRun("frontend")
    fault, run.new_value = rollouts.change_frontend_config(FRONTEND_ADDRESS_VARIABLE)
    run.faults.append(fault_log.add(fault))
    return run


@then(parsers.parse("every front-end replica runs the new configuration within {seconds:d} seconds"))
def _(
    deployed: ClusterHandle,
    app: WorkloadAdapter,
    rollouts: Rollouts,
    fault_log: FaultLog,
    results: Results,
    run: RolloutRun,
    seconds: int,
) -> None:
    """Rollout finished, new pods only, each with the new value in its environment, and the app serving."""
    fault = run.faults[-1]

    def configured() -> dict[str, str] | None:
        """Front-end pod -> its server address, once every Ready one has the new one."""
        seen = rollouts.frontend_env(FRONTEND_ADDRESS_VARIABLE)
        replicas = deployed.profile.expected_replicas["frontend"]
        return seen if len(seen) == replicas and set(seen.values()) == {run.new_value} else None

    condition = all_of(
        "front end on its new configuration",
        pods_replaced(deployed, "frontend", fault.old_uids),
        Condition(f"every front-end replica with {FRONTEND_ADDRESS_VARIABLE} {run.new_value}", configured),
        app_serving(app),
    )
    _timed(rollouts, results, run, fault, condition, seconds)
    _close(run, fault_log)
