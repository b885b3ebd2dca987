"""The acknowledged-write ledger: a bounded writer during faults, reconciled through the API and in SQL."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_bdd import given, parsers, then, when

from support.app import TodoApp
from support.cluster import ClusterHandle
from support.conditions import all_tiers_ready, app_serving, node_ready, serving_without_node
from support.faults import Fault, FaultInjector, FaultLog, measure_recovery
from support.ledger import LedgerVerdict, WriteLedger, reconcile, title_prefix
from support.results import Results
from support.traffic import BackgroundWriter
from support.waits import all_of

__all__: list[str] = []

WRITE_INTERVAL_S = 0.2
WRITE_MAX_REQUESTS = 4000
WRITE_MAX_SECONDS = 1200.0
SETTLE_WRITES = 5  # acknowledged writes after the last recovery show the writer really resumed


@dataclass(frozen=True)
class WriterRun:
    """The scenario's writer: its run id (title prefix) and ledger."""

    run_id: str
    ledger: WriteLedger
    writer: BackgroundWriter


@dataclass(frozen=True)
class Verdicts:
    """The ledger reconciled against what the app lists and what the table holds."""

    api: LedgerVerdict
    sql: LedgerVerdict


@given("a writer that keeps adding uniquely named to-dos through the front end", target_fixture="writer_run")
def _(deployed: ClusterHandle, app: TodoApp, fault_log: FaultLog, results: Results) -> WriterRun:
    """Start a bounded background writer whose every attempt is recorded as ok, failed or unknown."""
    run_id = f"{results.run_id}-{uuid.uuid4().hex[:6]}"
    ledger = WriteLedger()
    writer = BackgroundWriter(
        app.write,
        ledger,
        run_id,
        interval=WRITE_INTERVAL_S,
        max_requests=WRITE_MAX_REQUESTS,
        max_seconds=WRITE_MAX_SECONDS,
    )
    writer.start()
    fault_log.writer = writer
    return WriterRun(run_id, ledger, writer)


def _inject(phrase: str, faults: FaultInjector, fault_log: FaultLog) -> Fault:
    """Inject the fault the table row names (the same words as the single-fault steps)."""
    actions: dict[str, Callable[[], Fault]] = {
        "one back-end pod is killed immediately": lambda: faults.kill_pod("backend", 0),
        "one back-end pod is stopped gracefully": lambda: faults.kill_pod("backend", None),
        "all back-end pods are killed at once": lambda: faults.kill_all("backend", 0),
        "the database pod is killed": lambda: faults.kill_pod("database", 0),
        "the database server is killed abruptly": faults.kill_mysqld,
        "a worker node hosting back-end replicas is stopped": lambda: faults.stop_node(
            faults.pick_worker("backend", avoid_tier="database")
        ),
        "the stopped node is started again": lambda: faults.start_node(
            fault_log.last_node("worker node stopped")
        ),
    }
    if phrase not in actions:
        raise KeyError(f"unknown fault {phrase!r}; known: {sorted(actions)}")
    return fault_log.add(actions[phrase]())


@when(
    parsers.parse(
        "these faults happen one after another, each followed by recovery within {seconds:d} seconds:"
    )
)
def _(
    deployed: ClusterHandle,
    app: TodoApp,
    faults: FaultInjector,
    fault_log: FaultLog,
    results: Results,
    writer_run: WriterRun,
    datatable: list[list[str]],
    seconds: int,
) -> None:
    """Each fault, then the desired state and serving again (timed), before the next one."""
    header, *rows = datatable
    assert header == ["fault"], f"the table needs one column 'fault', got {header}"
    for (phrase,) in rows:
        fault = _inject(phrase.strip(), faults, fault_log)
        conditions = [all_tiers_ready(deployed), app_serving(app)]
        if fault.name == "worker node started":
            conditions.insert(0, node_ready(deployed, fault.targets[0]))
        elif fault.tier == "node":
            # A lost node still looks Ready for a while: wait for Kubernetes to notice and move the replicas.
            conditions = [serving_without_node(deployed, app, fault.targets[0])]
        took = measure_recovery(fault, all_of(f"recovered from {fault.name}", *conditions), float(seconds))
        results.record_recovery(fault.name, fault.tier, took, float(seconds))
        record = fault_log.close_and_measure()
        if record is not None:
            results.record_availability(record)
        assert writer_run.writer.is_alive(), f"the writer stopped early: {writer_run.writer.stop_reason}"


@when("the writer stops")
def _(writer_run: WriterRun) -> None:
    """Let a few more writes be acknowledged, then stop the writer and wait for it (bounded)."""
    before = writer_run.ledger.counts().get("ok", 0)
    deadline_writes = [0]

    def resumed() -> bool:
        """Enough acknowledged writes after the last recovery."""
        deadline_writes[0] = writer_run.ledger.counts().get("ok", 0) - before
        return deadline_writes[0] >= SETTLE_WRITES

    from support.waits import wait_for

    wait_for(resumed, what=f"{SETTLE_WRITES} acknowledged writes after the faults", timeout=60, interval=0.5)
    writer_run.writer.stop()
    writer_run.writer.join(30)
    assert not writer_run.writer.is_alive(), "the writer did not stop within 30 s"


@then(
    "every write the app confirmed is stored, both as the app lists it and in the database itself",
    target_fixture="verdicts",
)
def _(deployed: ClusterHandle, app: TodoApp, results: Results, writer_run: WriterRun) -> Verdicts:
    """No acknowledged write lost: checked through the API and with SQL in the database pod."""
    prefix = title_prefix(writer_run.run_id)
    verdicts = Verdicts(
        api=reconcile(writer_run.ledger, app.titles(), prefix),
        sql=reconcile(writer_run.ledger, deployed.database_titles(prefix), prefix),
    )
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / f"ledger-{writer_run.run_id}.jsonl"
        writer_run.ledger.to_jsonl(raw)
        results.record_ledger(
            {**verdicts.sql.to_dict(), "checked_via": "sql", "api": verdicts.api.to_dict()}, raw
        )
    for source, verdict in (("API", verdicts.api), ("SQL", verdicts.sql)):
        assert verdict.ok > 0, f"no write was acknowledged at all ({source}): {verdict.summary()}"
        assert not verdict.lost, f"acknowledged writes lost ({source}): {verdict.summary()}"
    return verdicts


@then("no to-do is stored that was never written")
def _(verdicts: Verdicts) -> None:
    """No phantom: nothing present that was never attempted or that certainly failed."""
    for source, verdict in (("API", verdicts.api), ("SQL", verdicts.sql)):
        assert not verdict.phantom, f"phantom to-dos ({source}): {verdict.summary()}"


@then("no to-do is stored twice")
def _(verdicts: Verdicts) -> None:
    """No duplicate titles."""
    for source, verdict in (("API", verdicts.api), ("SQL", verdicts.sql)):
        assert not verdict.duplicate, f"duplicated to-dos ({source}): {verdict.summary()}"
