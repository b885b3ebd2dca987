"""The verdict rules and the exit codes: one place, read by the runner, the report and the docs' table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from record.model import (
    Budget,
    Check,
    DeployFailure,
    InfraFailure,
    LedgerTotals,
    Scenario,
    Scope,
    VerdictName,
    Window,
)

__all__ = ["EXIT_CODES", "Evidence", "decide", "exit_code"]

# Distinct from pytest's own codes (1 tests failed, 2 interrupted, 3 internal error, 4 usage, 5 nothing collected),
# so a wrapper script can tell a rejection from a crash. ACCEPTED is the only 0 (PARTIAL too with --accept-partial).
EXIT_CODES: dict[VerdictName, int] = {"ACCEPTED": 0, "REJECTED": 10, "INCONCLUSIVE": 11, "PARTIAL": 12}

LEDGER_PROBLEMS = ("lost", "phantom", "duplicate", "lost_updates", "resurrected")


@dataclass
class Evidence:
    """Everything the verdict reads, as recorded."""

    scenarios: Sequence[Scenario] = ()
    budgets: Sequence[Budget] = ()
    windows: Sequence[Window] = ()
    ledger: LedgerTotals = field(default_factory=LedgerTotals)
    deploy_failures: Sequence[DeployFailure] = ()
    infrastructure_failures: Sequence[InfraFailure] = ()
    checks: Sequence[Check] = ()
    scope: Scope | None = None


def exit_code(verdict: VerdictName, *, accept_partial: bool = False) -> int:
    """The process exit code of a verdict (PARTIAL exits 0 only when the user asked for it)."""
    if verdict == "PARTIAL" and accept_partial:
        return 0
    return EXIT_CODES[verdict]


def _first_error(s: Scenario) -> str:
    """' (step ...: first error line)' of a failed scenario, or ''."""
    for step in s.steps:
        if step.outcome == "failed" and step.error:
            return f" (step '{step.name}': {step.error.splitlines()[0][:240]})"
    if s.outcome == "failed" and s.reason:
        return f" ({s.reason.splitlines()[0][:240]})"
    return ""


def _product_reasons(ev: Evidence) -> list[str]:
    """Every product problem, most important first."""
    reasons = [f"deployment failed: {d.tier}: {d.ready} of {d.desired} ready; {d.message}" for d in ev.deploy_failures]
    blocked = [s for s in ev.scenarios if s.blocked_by]
    failed = [s for s in ev.scenarios if s.outcome == "failed" and not s.blocked_by]
    reasons += [
        f"scenario failed: {s.feature} / {s.scenario}{_first_error(s)}"
        for s in failed
        if s.failure_class != "infrastructure"
    ]
    if blocked and ev.deploy_failures:
        reasons.append(f"{len(blocked)} scenario(s) could not run: the deployment never became ready")
    for b in ev.budgets:
        if not b.passed:
            measured = "not measured" if b.measured is None else f"{b.measured:g}{b.unit}"
            reasons.append(
                f"budget missed: {b.scenario}: {b.metric} of {b.subject or b.step} was {measured}, "
                f"budget {b.op} {b.limit:g}{b.unit}"
            )
    for w in ev.windows:
        if not w.covered:
            reasons.append(f"availability not proven: {w.scenario} / {w.fault}: {w.coverage_problem}")
    for key in LEDGER_PROBLEMS:
        count = int(getattr(ev.ledger, key))
        if count:
            reasons.append(f"ledger: {count} {key.replace('_', ' ')} (acknowledged operations not accounted for)")
    return reasons


def _infra_reasons(ev: Evidence) -> list[str]:
    """Failures of the machinery and of the checks around the scenarios."""
    reasons = [
        f"infrastructure failure: {f.phase}: {f.message.splitlines()[0][:240]}" for f in ev.infrastructure_failures
    ]
    reasons += [
        f"infrastructure failure in scenario: {s.feature} / {s.scenario}{_first_error(s)}"
        for s in ev.scenarios
        if s.outcome == "failed" and s.failure_class == "infrastructure" and not s.blocked_by
    ]
    reasons += [
        f"{c.kind} check failed: {c.name}: {c.detail.splitlines()[0][:240] if c.detail else ''}"
        for c in ev.checks
        if c.outcome == "failed"
    ]
    return reasons


def decide(ev: Evidence) -> tuple[VerdictName, list[str]]:
    """The run's verdict and its reasons (rules in docs/results-schema.md, section "The verdict")."""
    product = _product_reasons(ev)
    infra = _infra_reasons(ev)
    if product:
        # Product problems are real even when the infrastructure also stumbled; those come after them.
        return "REJECTED", product + infra
    if infra:
        return "INCONCLUSIVE", [*infra, "no product verdict: the machinery around the app failed, not the app"]
    passed = [s for s in ev.scenarios if s.outcome == "passed"]
    if not passed:
        return "INCONCLUSIVE", ["no scenario ran to completion: an empty run is not an acceptance"]
    claims = _claims(ev, passed)
    if ev.scope is None or not ev.scope.complete:
        not_run = ev.scope.not_run if ev.scope is not None else ["the run's scope was not recorded"]
        not_run = [*not_run, *(ev.scope.not_applicable if ev.scope is not None else [])]
        shown = "; ".join(not_run[:8]) + (f"; and {len(not_run) - 8} more" if len(not_run) > 8 else "")
        return "PARTIAL", [
            f"scoped run: {len(not_run)} of the catalogue's items did not run ({shown})",
            *claims,
            "not an acceptance: only a complete run of the catalogue can be ACCEPTED",
        ]
    accepted = [f"the full catalogue ran: {len(passed)} scenario(s) passed", *claims]
    if ev.scope.not_applicable:
        n = len(ev.scope.not_applicable)
        if not ev.ledger.entries:
            # A profile may narrow what the app promises, never what acceptance means: writes must be accounted for.
            return "PARTIAL", [
                f"{n} scenario(s) not applicable to the target's profile, and among them every scenario with a "
                "write ledger: no acknowledged write was accounted for",
                *claims,
                "not an acceptance: an acceptance needs the write ledger (the profile's sql_reconciliation and "
                "completed_flag promises)",
            ]
        accepted.append(
            f"{n} scenario(s) not applicable, not run and not accepted: the target's profile does not make the "
            "promise they test ("
            + "; ".join(ev.scope.not_applicable[:4])
            + (f"; and {n - 4} more" if n > 4 else "")
            + ")"
        )
    return "ACCEPTED", accepted


def _claims(ev: Evidence, passed: Sequence[Scenario]) -> list[str]:
    """What the passing scenarios actually showed, and nothing more."""
    out = []
    if ev.budgets:
        out.append(f"{len(ev.budgets)} budget(s) from the features' text enforced and met")
    else:
        out.append("no budget was exercised")
    covered = [w for w in ev.windows if w.covered]
    if covered:
        out.append(f"{len(covered)} availability window(s) covered by traffic from fault to recovery")
    t = ev.ledger
    if t.entries:
        out.append(
            f"ledger: {t.ok} acknowledged write(s), {t.updates_acknowledged} update(s) and "
            f"{t.deletes_acknowledged} delete(s) in {t.entries} scenario(s) all accounted for"
        )
    else:
        out.append("no write ledger ran: nothing is claimed about lost writes")
    checks = [c for c in ev.checks if c.outcome == "passed"]
    if checks:
        out.append(
            f"{len(checks)} check(s) around the scenarios passed ({', '.join(sorted({c.kind for c in checks}))})"
        )
    return out
