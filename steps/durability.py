"""The acknowledged-operation ledger: a bounded writer during faults, reconciled through the API and in SQL."""

from __future__ import annotations

import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from pytest_bdd import given, parsers, then, when

from support.adapters import WorkloadAdapter
from support.budgets import enforce_window, recovery_within, within
from support.cluster import ClusterHandle
from support.conditions import all_tiers_ready, app_serving, node_ready, serving_without_node
from support.faults import FaultInjector, FaultLog
from support.ledger import ChangeVerdict, LedgerVerdict, WriteLedger, reconcile, reconcile_changes, title_prefix
from support.results import Results
from support.traffic import BackgroundWriter
from support.vocabulary import inject
from support.waits import Condition, all_of

__all__: list[str] = []

WRITE_INTERVAL_S = 0.2
WRITE_MAX_REQUESTS = 6000
WRITE_MAX_SECONDS = 1200.0
CHANGE_EVERY = 4  # every 4th operation completes or deletes an acknowledged to-do
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
    api_changes: ChangeVerdict
    sql_changes: ChangeVerdict


@given("a writer that keeps adding uniquely named to-dos through the front end", target_fixture="writer_run")
def _(deployed: ClusterHandle, app: WorkloadAdapter, fault_log: FaultLog, results: Results) -> WriterRun:
    """A bounded background writer: creates, and completes or deletes some acknowledged to-dos, all recorded."""
    run_id = f"{results.run_id}-{uuid.uuid4().hex[:6]}"
    ledger = WriteLedger()
    writer = BackgroundWriter(
        app.create,
        ledger,
        run_id,
        interval=WRITE_INTERVAL_S,
        max_requests=WRITE_MAX_REQUESTS,
        max_seconds=WRITE_MAX_SECONDS,
        epoch=results.epoch,
        change=app.change,
        change_every=CHANGE_EVERY,
    )
    writer.start()
    fault_log.writer = writer
    return WriterRun(run_id, ledger, writer)


def _recovery(
    deployed: ClusterHandle, app: WorkloadAdapter, fault_name: str, node: str, held_database: bool
) -> Condition:
    """What "recovered" means after each kind of fault."""
    if fault_name == "worker node started":
        return all_of(
            "node back and every tier serving", node_ready(deployed, node), all_tiers_ready(deployed), app_serving(app)
        )
    if fault_name == "worker node stopped" and held_database:
        # The database's volume lives on that node: nothing can serve until it is back (the back end is not
        # ready without its database either); what Kubernetes must do meanwhile is notice the loss.
        return node_ready(deployed, node, ready=False)
    if fault_name == "worker node stopped":
        return serving_without_node(deployed, app, node)
    return all_of(f"recovered from {fault_name}", all_tiers_ready(deployed), app_serving(app))


@when(parsers.parse("these faults happen one after another, each followed by recovery within {seconds:d} seconds:"))
def _(
    deployed: ClusterHandle,
    app: WorkloadAdapter,
    faults: FaultInjector,
    fault_log: FaultLog,
    results: Results,
    writer_run: WriterRun,
    datatable: list[list[str]],
    seconds: int,
) -> None:
    """Each fault, then the desired state and serving again (timed), its outage within the row's budget."""
    header, *rows = datatable
    assert header == ["fault", "longest outage"], f"the table needs columns 'fault', 'longest outage', got {header}"
    for phrase, outage in rows:
        match = re.fullmatch(r"(\d+) seconds", outage.strip())
        assert match, f"'longest outage' must read 'N seconds', got {outage!r}"
        db_nodes = {p.node for p in deployed.ready_pods("database")}
        fault = inject(phrase.strip(), faults, fault_log)
        node = fault.targets[0] if fault.tier == "node" else ""
        condition = _recovery(deployed, app, fault.name, node, node in db_nodes)
        recovery_within(results, fault, condition, float(seconds), fault.tier, f"{phrase.strip()}: recovery")
        fault_log.close_window()
        step = f"{phrase.strip()}: longest outage {outage.strip()}"
        enforce_window(results, fault_log, step, "longest_outage_s", "<=", float(match.group(1)), "s")
        assert writer_run.writer.is_alive(), f"the writer stopped early: {writer_run.writer.stop_reason}"


@when("the writer stops")
def _(writer_run: WriterRun, results: Results) -> None:
    """Let a few more writes be acknowledged, then stop the writer and wait for it (bounded)."""
    before = writer_run.ledger.counts().get("ok", 0)
    resumed = Condition(
        f"{SETTLE_WRITES} acknowledged writes after the faults",
        lambda: writer_run.ledger.counts().get("ok", 0) - before >= SETTLE_WRITES,
    )
    within(results, "the writer resumes after the faults", resumed, 60)
    writer_run.writer.stop()
    writer_run.writer.join(30)
    assert not writer_run.writer.is_alive(), "the writer did not stop within 30 s"


@then(
    "every write the app confirmed is stored, both as the app lists it and in the database itself",
    target_fixture="verdicts",
)
def _(deployed: ClusterHandle, app: WorkloadAdapter, results: Results, writer_run: WriterRun) -> Verdicts:
    """No acknowledged write lost: checked through the API and with SQL in the database pod."""
    prefix = title_prefix(writer_run.run_id)
    listed = {t.title: t.completed for t in app.list() if t.title.startswith(prefix)}
    stored = {title: completed for _, title, completed in deployed.database_rows(prefix)}
    listed_titles = [t.title for t in app.list() if t.title.startswith(prefix)]
    stored_titles = deployed.database_titles(prefix)
    verdicts = Verdicts(
        api=reconcile(writer_run.ledger, listed_titles, prefix),
        sql=reconcile(writer_run.ledger, stored_titles, prefix),
        api_changes=reconcile_changes(writer_run.ledger, listed),
        sql_changes=reconcile_changes(writer_run.ledger, stored),
    )
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / f"ledger-{writer_run.run_id}.jsonl"
        writer_run.ledger.to_jsonl(raw)
        worst = {
            **verdicts.sql.to_dict(),
            **verdicts.sql_changes.to_dict(),
            "titles": {
                **verdicts.sql.to_dict()["titles"],
                "lost_updates": verdicts.sql_changes.lost_updates,
                "resurrected": verdicts.sql_changes.resurrected,
            },
            "sources": ["api", "sql"],
        }
        # The API's view counts too: whichever view is worse is what the record keeps.
        for key in ("lost", "phantom", "duplicate"):
            worst[key] = max(worst[key], len(getattr(verdicts.api, key)))
        for key in ("lost_updates", "resurrected"):
            worst[key] = max(worst[key], len(getattr(verdicts.api_changes, key)))
        results.record_ledger(worst, raw)
    for source, verdict in (("API", verdicts.api), ("SQL", verdicts.sql)):
        assert verdict.ok > 0, f"no write was acknowledged at all ({source}): {verdict.summary()}"
        assert not verdict.lost, f"acknowledged writes lost ({source}): {verdict.summary()}"
    return verdicts


@then("every completion and deletion the app confirmed holds")
def _(verdicts: Verdicts) -> None:
    """Completed to-dos are still completed; deleted ones did not come back (API and SQL)."""
    for source, changes in (("API", verdicts.api_changes), ("SQL", verdicts.sql_changes)):
        assert changes.updates_acknowledged > 0 and changes.deletes_acknowledged > 0, (
            f"the writer's changes were never acknowledged ({source}): {changes.summary()}"
        )
        assert not changes.lost_updates, f"acknowledged completions lost ({source}): {changes.summary()}"
        assert not changes.resurrected, f"deleted to-dos came back ({source}): {changes.summary()}"


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
