"""Typed records of results.json: the runner writes them, the report, the nightly job and the benchmarks read them.

Every time in a record is on the run's clock: seconds since the results folder was created (`Run.started_at`),
measured with a monotonic clock, so windows, faults and samples of different scenarios share one time axis.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SCHEMA_VERSION",
    "Availability",
    "Budget",
    "Check",
    "DeployFailure",
    "FailureClass",
    "InfraFailure",
    "Ledger",
    "LedgerEntry",
    "LedgerTotals",
    "Outcome",
    "Recovery",
    "RecoverySummary",
    "Run",
    "Sample",
    "Scenario",
    "Scope",
    "Step",
    "Summary",
    "VerdictName",
    "Window",
]

SCHEMA_VERSION: Literal[2] = 2

Outcome = Literal["passed", "failed", "skipped", "not_applicable"]
FailureClass = Literal["product", "infrastructure"]
VerdictName = Literal["ACCEPTED", "REJECTED", "INCONCLUSIVE", "PARTIAL"]


class _Record(BaseModel):
    """Strict records: an unknown key is a writer bug, not something a reader should guess about."""

    model_config = ConfigDict(extra="forbid")


class Step(_Record):
    """One Gherkin step as it ran."""

    name: str
    outcome: Literal["passed", "failed", "skipped"]
    duration_s: float
    error: str | None = None


class Scenario(_Record):
    """One scenario: outcome, steps, evidence of a failure, and why it did not run when it did not."""

    feature: str
    scenario: str
    nodeid: str = ""
    tags: list[str] = Field(default_factory=list)
    outcome: Outcome
    duration_s: float
    start_s: float | None = None
    failure_class: FailureClass | None = None
    reason: str | None = Field(
        default=None, description="why it was skipped or not applicable, or why it failed before its first step"
    )
    blocked_by: str | None = Field(default=None, description="a session-level failure that kept it from running")
    steps: list[Step] = Field(default_factory=list)
    evidence: dict[str, str] = Field(default_factory=dict)


class Budget(_Record):
    """One budget stated in a feature's text, enforced by its step: the limit, the measurement, the result."""

    scenario: str
    step: str
    metric: str = Field(description="recovery_s, availability_pct, availability_time_pct, longest_outage_s, ...")
    op: Literal["<=", ">="]
    limit: float
    measured: float | None
    unit: str = ""
    passed: bool
    subject: str = Field(default="", description="what was measured: the fault, tier or window")


class Recovery(_Record):
    """Fault to recovered (every replica new, Ready and serving), with the budget it had."""

    scenario: str = ""
    fault: str
    tier: str
    seconds: float
    budget_s: float
    passed: bool
    fault_s: float | None = Field(default=None, description="when the fault was injected")


class RecoverySummary(_Record):
    """Recovery measurements grouped by fault and tier against the strictest budget stated."""

    fault: str
    tier: str
    n: int
    p50: float | None
    p95: float | None
    max: float | None
    budget_s: float
    passed: bool


class Window(_Record):
    """Availability while one fault was in place: from injection until recovery and a settle period."""

    scenario: str = ""
    fault: str
    start_s: float
    end_s: float
    recovered_s: float | None = Field(default=None, description="when recovery was confirmed")
    traffic_start_s: float | None = None
    traffic_end_s: float | None = None
    concurrency: int = 1
    requests: int
    failed: int
    availability_pct: float | None = Field(description="share of requests that succeeded")
    availability_time_pct: float | None = Field(
        default=None, description="share of the window's time not spent in an outage (a hung request is down)"
    )
    longest_outage_s: float | None
    max_gap_s: float | None = Field(default=None, description="longest time without a request in flight")
    max_gap_allowed_s: float | None = None
    covered: bool = Field(default=True, description="traffic ran from before the fault until after recovery")
    coverage_problem: str | None = None
    p50_latency_s: float | None = None
    p95_latency_s: float | None = None
    max_latency_s: float | None = None
    min_availability_pct: float | None = None
    max_outage_s: float | None = None
    max_p95_latency_s: float | None = None
    max_latency_allowed_s: float | None = Field(default=None, description="the longest any one request may take")
    passed: bool | None = Field(default=None, description="None when the window states no budget")


class Sample(_Record):
    """One request of the background traffic."""

    t: float
    ok: bool
    latency_s: float | None
    window: int | None = Field(default=None, description="index into availability.windows")
    kind: Literal["read", "write"] = "read"


class Availability(_Record):
    """Windows and their raw samples."""

    windows: list[Window] = Field(default_factory=list)
    samples: list[Sample] = Field(default_factory=list)


class LedgerEntry(_Record):
    """One scenario's acknowledged-operation ledger reconciled against the API and SQL."""

    scenario: str = ""
    attempted: int = 0
    ok: int = 0
    failed: int = 0
    unknown: int = 0
    lost: int = 0
    phantom: int = 0
    duplicate: int = 0
    unknown_present: int = 0
    unknown_absent: int = 0
    updates_acknowledged: int = 0
    lost_updates: int = 0
    deletes_acknowledged: int = 0
    resurrected: int = 0
    sources: list[str] = Field(default_factory=list, description="where reconciled: api, sql")
    titles: dict[str, list[str]] = Field(default_factory=dict)
    raw: str | None = None


class LedgerTotals(_Record):
    """Ledger counts summed over the run."""

    entries: int = 0
    attempted: int = 0
    ok: int = 0
    failed: int = 0
    unknown: int = 0
    lost: int = 0
    phantom: int = 0
    duplicate: int = 0
    unknown_present: int = 0
    unknown_absent: int = 0
    updates_acknowledged: int = 0
    lost_updates: int = 0
    deletes_acknowledged: int = 0
    resurrected: int = 0


class Ledger(_Record):
    """Every ledger of the run and their totals."""

    entries: list[LedgerEntry] = Field(default_factory=list)
    totals: LedgerTotals = Field(default_factory=LedgerTotals)


class InfraFailure(_Record):
    """A failure of the machinery (cluster, images, Docker) outside any scenario."""

    phase: str
    type: str
    message: str


class DeployFailure(_Record):
    """The deployment never became ready: which tier, how far it got, and the last thing its pods said."""

    tier: str
    ready: int
    desired: int
    pods: list[str] = Field(default_factory=list)
    message: str


class Check(_Record):
    """A check around the scenarios: the kit smoke test, the self-check entries, teardown restores."""

    kind: Literal["smoke", "selfcheck", "teardown"]
    name: str
    outcome: Literal["passed", "failed", "skipped"]
    detail: str = ""
    duration_s: float = 0.0


class Scope(_Record):
    """What the run covered against the mode's full catalogue."""

    mode: Literal["kind", "staging"] = "kind"
    complete: bool
    catalogue: int = Field(description="scenarios and checks in the mode's full catalogue")
    ran: int
    not_run: list[str] = Field(default_factory=list, description="'name: why' for everything that did not run")
    not_applicable: list[str] = Field(
        default_factory=list,
        description="'scenario: why' for scenarios needing a promise the target's profile does not make: not run, "
        "listed with the verdict, and not counted against completeness (the profile states what the app promises)",
    )
    selection: dict[str, str] = Field(default_factory=dict)


class Summary(_Record):
    """Scenario counts."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    not_applicable: int = 0
    total: int = 0


class Run(_Record):
    """The whole of results.json."""

    schema_version: Literal[2] = SCHEMA_VERSION
    run_id: str
    started_at: str
    finished_at: str
    verdict: VerdictName
    exit_code: int
    reasons: list[str]
    scope: Scope
    summary: Summary
    environment: dict[str, object] = Field(default_factory=dict)
    scenarios: list[Scenario] = Field(default_factory=list)
    deploy_failures: list[DeployFailure] = Field(default_factory=list)
    infrastructure_failures: list[InfraFailure] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    budgets: list[Budget] = Field(default_factory=list)
    recovery: list[Recovery] = Field(default_factory=list)
    recovery_summary: list[RecoverySummary] = Field(default_factory=list)
    availability: Availability = Field(default_factory=Availability)
    ledger: Ledger = Field(default_factory=Ledger)
    files: list[str] = Field(default_factory=list)
