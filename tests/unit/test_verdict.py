"""The verdict rules, the exit codes, classification by type and the scope of a run (no cluster needed)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from common.errors import DockerError, InfrastructureError
from lifecycle.scope import scope_of
from record.model import Budget, Check, DeployFailure, InfraFailure, LedgerTotals, Scenario, Scope, Window
from record.verdict import EXIT_CODES, Evidence, decide, exit_code
from support.diagnose import DeploymentNotReady, TierProblem
from support.results import Results, classify, is_blocking
from support.waits import WaitTimeout

COMPLETE = Scope(complete=True, catalogue=3, ran=3)


def _scenario(name: str, outcome: str = "passed", **kw: object) -> Scenario:
    """A scenario record."""
    return Scenario(feature="F", scenario=name, outcome=outcome, duration_s=1.0, **kw)  # type: ignore[arg-type]


def _budget(passed: bool) -> Budget:
    """A recovery budget, met or missed."""
    return Budget(
        scenario="s",
        step="back in 30 s",
        metric="recovery_s",
        op="<=",
        limit=30,
        measured=10 if passed else 31,
        unit="s",
        passed=passed,
        subject="backend pod killed",
    )


def _window(covered: bool = True) -> Window:
    """A fault window."""
    return Window(
        scenario="s",
        fault="f",
        start_s=1,
        end_s=5,
        requests=40,
        failed=0,
        availability_pct=100.0,
        longest_outage_s=0.0,
        covered=covered,
        coverage_problem=None if covered else "traffic stopped",
    )


def test_complete_passing_run_is_accepted_and_says_only_what_it_checked() -> None:
    """ACCEPTED names the budgets and windows it checked, and says no ledger ran when none did."""
    verdict, reasons = decide(Evidence(scenarios=[_scenario("a")], budgets=[_budget(True)], scope=COMPLETE))
    assert verdict == "ACCEPTED"
    assert any("1 budget(s)" in r for r in reasons)
    assert any("no write ledger ran" in r for r in reasons)
    assert exit_code(verdict) == 0


def test_not_applicable_scenarios_are_named_and_do_not_keep_a_complete_run_from_acceptance() -> None:
    """A profile that makes no rename promise: its rename scenario is listed, not run, and the rest is ACCEPTED."""
    scope = Scope(
        complete=True, catalogue=4, ran=3, not_applicable=["Rename a to-do: not applicable: profile 'w' ... rename"]
    )
    ledger = LedgerTotals(entries=1, attempted=10, ok=10)
    verdict, reasons = decide(Evidence(scenarios=[_scenario("a")], ledger=ledger, scope=scope))
    assert verdict == "ACCEPTED"
    assert any("1 scenario(s) not applicable, not run and not accepted" in r and "Rename a to-do" in r for r in reasons)


def test_not_applicable_without_any_write_ledger_is_not_an_acceptance() -> None:
    """A profile cannot narrow acceptance down to nothing about data: with no ledger run, the verdict is PARTIAL."""
    scope = Scope(complete=True, catalogue=4, ran=2, not_applicable=["No write lost: not applicable: ..."])
    verdict, reasons = decide(Evidence(scenarios=[_scenario("a")], scope=scope))
    assert verdict == "PARTIAL" and "no acknowledged write was accounted for" in reasons[0]


def test_scope_lists_not_applicable_apart_and_skips_as_not_run(tmp_path: Path) -> None:
    na = _scenario("Rename", "not_applicable", reason="not applicable: profile 'w' does not make the promise rename")
    skipped = _scenario("Slow", "skipped", reason="no netem")
    scope = scope_of(
        tmp_path,
        collected=["kit/tests/test_smoke.py::t", "tests/e2e/x::a", "tests/selfcheck/y::b"],
        deselected=[],
        scenarios=[_scenario("a"), na],
        checks=[],
        staging=False,
        selection={},
    )
    assert scope.complete and scope.not_applicable == [
        "Rename: not applicable: profile 'w' does not make the promise rename"
    ]
    with_skip = scope_of(
        tmp_path,
        collected=["kit/tests/test_smoke.py::t", "tests/e2e/x::a", "tests/selfcheck/y::b"],
        deselected=[],
        scenarios=[_scenario("a"), skipped],
        checks=[],
        staging=False,
        selection={},
    )
    assert not with_skip.complete and with_skip.not_run == ["Slow: skipped: no netem"]


def test_scoped_run_is_partial_with_what_did_not_run() -> None:
    """A narrowed run is PARTIAL, names what did not run, and exits 12 (0 only when asked)."""
    scope = Scope(complete=False, catalogue=5, ran=1, not_run=["tests/e2e/x: left out by the selection (-m/-k)"])
    verdict, reasons = decide(Evidence(scenarios=[_scenario("a")], scope=scope))
    assert verdict == "PARTIAL" and "left out by the selection" in reasons[0]
    assert exit_code(verdict) == EXIT_CODES["PARTIAL"] == 12
    assert exit_code(verdict, accept_partial=True) == 0


def test_failed_scenario_rejects_and_is_named_first() -> None:
    """REJECTED lists the failed scenario before budgets and ledger problems, and exits 10."""
    failed = _scenario("b", "failed", failure_class="product")
    ev = Evidence(
        scenarios=[_scenario("a"), failed], budgets=[_budget(False)], ledger=LedgerTotals(lost=2), scope=COMPLETE
    )
    verdict, reasons = decide(ev)
    assert verdict == "REJECTED" and exit_code(verdict) == 10
    assert reasons[0].startswith("scenario failed: F / b")
    assert reasons[1].startswith("budget missed: s: recovery_s")
    assert any("ledger: 2 lost" in r for r in reasons)


def test_a_scenario_that_failed_before_its_first_step_names_its_cause() -> None:
    """A failure in a fixture (no step ran) is quoted from the scenario's reason, not left as a bare name."""
    failed = _scenario(
        "Alice adds a to-do", "failed", failure_class="product", reason="failed before its first step: KeyError: 'x'"
    )
    verdict, reasons = decide(Evidence(scenarios=[failed], scope=COMPLETE))
    assert verdict == "REJECTED"
    assert reasons[0] == "scenario failed: F / Alice adds a to-do (failed before its first step: KeyError: 'x')"


@pytest.mark.parametrize("field", ["lost", "phantom", "duplicate", "lost_updates", "resurrected"])
def test_every_ledger_problem_rejects(field: str) -> None:
    """Any lost, phantom, duplicate write, lost update or resurrected delete rejects on its own."""
    verdict, reasons = decide(Evidence(scenarios=[_scenario("a")], ledger=LedgerTotals(**{field: 1}), scope=COMPLETE))
    assert verdict == "REJECTED" and field.replace("_", " ") in reasons[0]


def test_a_budget_missed_rejects_even_when_every_scenario_passed() -> None:
    """A budget record that failed is enough (the step that measured it may have been lenient)."""
    verdict, _ = decide(Evidence(scenarios=[_scenario("a")], budgets=[_budget(False)], scope=COMPLETE))
    assert verdict == "REJECTED"


def test_an_uncovered_window_rejects() -> None:
    """Availability that traffic did not cover is not proven."""
    verdict, reasons = decide(Evidence(scenarios=[_scenario("a")], windows=[_window(False)], scope=COMPLETE))
    assert verdict == "REJECTED" and "not proven" in reasons[0]


def test_deployment_failure_is_named_once_by_tier_and_blocked_scenarios_are_not_blamed() -> None:
    """A deployment that never became ready is the first reason; the scenarios it blocked are counted, not named."""
    blocked = [_scenario(n, "failed", failure_class="product", blocked_by="deployment") for n in ("x", "y")]
    dep = DeployFailure(tier="database", ready=0, desired=1, message="readiness probe failed: durability")
    verdict, reasons = decide(Evidence(scenarios=blocked, deploy_failures=[dep], scope=COMPLETE))
    assert verdict == "REJECTED"
    assert reasons[0] == "deployment failed: database: 0 of 1 ready; readiness probe failed: durability"
    assert not any(r.startswith("scenario failed") for r in reasons)
    assert "2 scenario(s) could not run" in reasons[1]


def test_infrastructure_only_failure_is_inconclusive() -> None:
    """A cluster that never came up gives no product verdict."""
    infra = InfraFailure(phase="cluster creation", type="ClusterError", message="kind create failed")
    verdict, reasons = decide(Evidence(infrastructure_failures=[infra], scope=COMPLETE))
    assert verdict == "INCONCLUSIVE" and exit_code(verdict) == 11
    assert reasons[0].startswith("infrastructure failure: cluster creation")


@pytest.mark.parametrize("kind", ["smoke", "selfcheck", "teardown"])
def test_a_failed_check_keeps_the_run_from_accepted(kind: str) -> None:
    """The smoke test, a self-check entry or a teardown restore that failed: never ACCEPTED."""
    check = Check(kind=kind, name="c", outcome="failed", detail="node todo-e2e-worker still stopped")  # type: ignore[arg-type]
    verdict, reasons = decide(Evidence(scenarios=[_scenario("a")], checks=[check], scope=COMPLETE))
    assert verdict == "INCONCLUSIVE" and any(f"{kind} check failed" in r for r in reasons)


def test_empty_run_is_inconclusive() -> None:
    """Nothing ran: never an acceptance."""
    assert decide(Evidence(scope=COMPLETE))[0] == "INCONCLUSIVE"


class _KitError(InfrastructureError):
    """Stands for any kit exception (they all subclass InfrastructureError; see test_infra_errors)."""


def test_classification_is_by_type_never_by_message() -> None:
    """An app error quoting a disk message is the product's; a kit error is infrastructure, also when wrapped."""
    assert classify(RuntimeError("OSError: No space left on device"), "scenario") == "product"
    assert classify(DockerError("docker stop failed"), "scenario") == "infrastructure"
    try:
        try:
            raise _KitError("cluster gone")
        except _KitError as inner:
            raise RuntimeError("step failed") from inner
    except RuntimeError as outer:
        assert classify(outer, "scenario") == "infrastructure"
    # A scenario's own check stays the product's even when the kit is in its chain.
    timeout = WaitTimeout("2 Ready backend replicas", 30, 31)
    timeout.__cause__ = _KitError("x")
    assert classify(timeout, "scenario") == "product"
    assert classify(AssertionError("x"), "cluster creation") == "infrastructure"


def test_blocking_failures_are_recognised() -> None:
    """Scenarios that errored in setup on a deployment or infrastructure failure are blocked, not failed."""
    problem = TierProblem("backend", 0, 2, [], "CrashLoopBackOff")
    assert is_blocking(DeploymentNotReady([problem], 300)) == "deployment"
    assert is_blocking(_KitError("x")) == "infrastructure (_KitError)"
    assert is_blocking(AssertionError("x")) is None


def test_scope_counts_deselected_skipped_and_missing_parts(tmp_path: Path) -> None:
    """Everything that did not run is named; a run without the smoke and self-check parts is not complete."""
    scope = scope_of(
        tmp_path,
        collected=["tests/e2e/test_features.py::test_a", "tests/e2e/test_features.py::test_b"],
        deselected=["tests/e2e/test_features.py::test_b"],
        scenarios=[_scenario("a"), _scenario("c", "skipped", reason="kind-only")],
        checks=[],
        staging=False,
        selection={"markexpr": "pod_loss"},
    )
    assert not scope.complete
    text = "\n".join(scope.not_run)
    assert "test_b: left out by the selection" in text
    assert "c: skipped: kind-only" in text
    assert "the kit smoke checks: not in this run" in text and "the self-check catalogue: not in this run" in text


def test_budget_records_carry_measurement_and_result(tmp_path: Path) -> None:
    """record_budget fails a missing measurement; a recovery is a budget too; windows take their budgets."""
    res = Results(root=tmp_path)
    res.scenario = "s"
    assert res.record_budget("st", "time_s", "<=", 5, None).passed is False
    rec = res.record_recovery("backend pod killed", "backend", 31.0, 30.0, step="back in 30 s")
    assert rec.passed is False
    index = res.record_window(_window())
    budget = res.check_window(index, "at least 95 percent", "availability_pct", ">=", 95, "%")
    assert budget.passed and res.window(index).min_availability_pct == 95 and res.window(index).passed
    run = res.build()
    assert [b.metric for b in run.budgets] == ["time_s", "recovery_s", "availability_pct"]
    assert run.verdict == "REJECTED"


def test_an_item_is_named_by_its_scenario_even_before_the_first_hook() -> None:
    """A scenario that fails in a fixture is still named as the feature file says, not by its test function."""
    from pytest_bdd import scenario

    from lifecycle.scope import first_line, scenario_names

    feature = Path(__file__).resolve().parents[2] / "features" / "todos" / "manage_todos.feature"
    text = feature.read_text(encoding="utf-8")
    feature_name = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Feature:"))
    first = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("Scenario:"))

    @scenario(str(feature), first)
    def test_it() -> None:
        """The test function pytest-bdd generates a scenario for."""

    item = SimpleNamespace(obj=test_it, nodeid="tests/e2e/test_features.py::test_it", name="test_it")
    assert scenario_names(item) == (feature_name, first)
    item.obj = lambda: None
    assert scenario_names(item) == ("tests/e2e/test_features.py", "test_it")
    assert first_line(RuntimeError("\n\ntimed out waiting for x\nmore")) == "timed out waiting for x"
    assert first_line(RuntimeError("")) == "(no message)"
