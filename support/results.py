"""The results folder: one per run, written through typed records (record.model), read by everything else."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from common.errors import InfrastructureError
from common.stats import summarize
from record.model import (
    Availability,
    Budget,
    Check,
    DeployFailure,
    FailureClass,
    InfraFailure,
    Ledger,
    LedgerEntry,
    LedgerTotals,
    Outcome,
    Recovery,
    RecoverySummary,
    Run,
    Sample,
    Scenario,
    Scope,
    Step,
    Summary,
    Window,
)
from record.verdict import Evidence, decide, exit_code
from support.diagnose import DeploymentNotReady
from support.redaction import (
    MASK,
    KubeconfigRefusedError,
    looks_like_kubeconfig,
    redact_folder,
    redact_text,
    redact_tree,
    secret_variants,
    slug,
)

__all__ = [
    "ENV_RESULTS_ROOT",
    "MASK",
    "KubeconfigRefusedError",
    "Results",
    "classify",
    "host_environment",
    "is_blocking",
    "is_infrastructure",
    "looks_like_kubeconfig",
    "redact_folder",
    "redact_text",
    "secret_variants",
]

ENV_RESULTS_ROOT = "TODO_E2E_RESULTS"
# Every count of a ledger record: the model holds the list, the writer sums what it names.
LEDGER_COUNTS = tuple(name for name in LedgerTotals.model_fields if name != "entries")
_OPS: dict[str, Callable[[float, float], bool]] = {"<=": lambda m, lim: m <= lim, ">=": lambda m, lim: m >= lim}
# Budget metric -> the window field that states it.
_WINDOW_BUDGETS = {
    "availability_pct": "min_availability_pct",
    "availability_time_pct": "min_availability_pct",
    "longest_outage_s": "max_outage_s",
    "p95_latency_s": "max_p95_latency_s",
    "max_latency_s": "max_latency_allowed_s",
}


# Phases that belong to the machinery around the product: a failure there says nothing about the app.
INFRA_PHASES = frozenset({"preflight", "docker", "cluster creation", "image build/load", "kit", "interrupted"})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes and contexts, each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [e.__cause__, e.__context__]


def is_infrastructure(exc: BaseException) -> bool:
    """Raised by the kit or an engine wrapper (common.errors.InfrastructureError), anywhere in its chain."""
    return any(isinstance(e, InfrastructureError) for e in _chain(exc))


def classify(exc: BaseException | None, phase: str) -> FailureClass:
    """Infrastructure or product, by the phase and the exception's type (never by its message)."""
    if phase in INFRA_PHASES:
        return "infrastructure"
    if exc is None:
        return "product"
    first = next(iter(_chain(exc)))
    # A scenario's own check (an assertion, a wait's timeout) is the product's, whatever it wraps.
    if isinstance(first, AssertionError):
        return "product"
    return "infrastructure" if is_infrastructure(exc) else "product"


def is_blocking(exc: BaseException | None) -> str | None:
    """The session-level failure that kept a scenario from running (a deployment never ready, no cluster)."""
    if exc is None:
        return None
    for e in _chain(exc):
        if isinstance(e, DeploymentNotReady):
            return "deployment"
        if isinstance(e, InfrastructureError):
            return f"infrastructure ({type(e).__name__})"
    return None


def _git_commit(cwd: Path) -> str | None:
    """The suite's git commit, or None outside a work tree."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def host_environment(repo_root: str | Path | None = None) -> dict[str, Any]:
    """The host part of the environment fingerprint (OS, cores, Python, suite commit), stdlib only."""
    root = Path(repo_root) if repo_root else Path(__file__).resolve().parent.parent
    os_release: dict[str, str] = {}
    with contextlib.suppress(OSError):
        os_release = platform.freedesktop_os_release()
    return {
        "host_os": os_release.get("PRETTY_NAME", platform.system()),
        "kernel": platform.release(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "suite_commit": _git_commit(root),
    }


def _utc_now() -> str:
    """Current UTC time as ISO 8601 with a Z."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _count(value: Any) -> int:
    """A ledger field as a count: ints as they are, lists by length."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, list | tuple | set | frozenset | dict):
        return len(value)
    return 0


class Results:
    """One run's results folder: created at construction, filled during the run, sealed by finish()."""

    def __init__(
        self,
        root: str | Path | None = None,
        run_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create results/<UTC timestamp>-<short id>/ under root (default $TODO_E2E_RESULTS or ./results)."""
        base = Path(root or os.environ.get(ENV_RESULTS_ROOT) or "results")
        now = dt.datetime.now(dt.UTC)
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.path = (base / f"{now:%Y%m%dT%H%M%SZ}-{self.run_id}").resolve()
        self.path.mkdir(parents=True, exist_ok=False)
        self.started_at = _utc_now()
        self._clock = clock
        self.epoch = clock()
        self.scenario = ""  # the scenario now running, set by the conftest; records name it
        self.accept_partial = False
        self._environment: dict[str, Any] = {}
        self._scenarios: list[Scenario] = []
        self._budgets: list[Budget] = []
        self._recoveries: list[Recovery] = []
        self._windows: list[Window] = []
        self._samples: list[Sample] = []
        self._ledgers: list[LedgerEntry] = []
        self._infra: list[InfraFailure] = []
        self._deploy: list[DeployFailure] = []
        self._checks: list[Check] = []
        self._scope: Scope | None = None
        self._files: list[str] = []
        # Held in memory only: never written anywhere, so the folder cannot leak them.
        self._secrets: set[str] = set()

    # -- the run's clock --------------------------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since the run started (monotonic)."""
        return round(self._clock() - self.epoch, 3)

    def run_time(self, monotonic_t: float) -> float:
        """A monotonic timestamp on the run's clock."""
        return round(monotonic_t - self.epoch, 3)

    @property
    def junit_path(self) -> Path:
        """Where pytest should write junit.xml (--junitxml)."""
        return self.path / "junit.xml"

    @property
    def cucumber_path(self) -> Path:
        """Where pytest-bdd should write cucumber.json (--cucumberjson)."""
        return self.path / "cucumber.json"

    @property
    def secrets(self) -> frozenset[str]:
        """The registered secret values (for redact_folder after pytest wrote its reports)."""
        return frozenset(self._secrets)

    @property
    def scenarios(self) -> list[Scenario]:
        """The scenarios recorded so far."""
        return list(self._scenarios)

    @property
    def checks(self) -> list[Check]:
        """The checks recorded so far."""
        return list(self._checks)

    def add_secret_values(self, values: Iterable[str]) -> None:
        """Register secret values; they and their base64 forms are masked in every file of the folder."""
        self._secrets.update(v for v in values if v)

    def set_environment(self, env: Mapping[str, Any]) -> None:
        """Merge in the environment fingerprint (suite commit, versions, image ids, manifest hash, seed)."""
        self._environment.update(env)

    # -- records ----------------------------------------------------------------------------------------------
    def record_scenario(
        self,
        feature: str,
        scenario: str,
        steps: Iterable[Mapping[str, Any]],
        outcome: Outcome,
        duration_s: float,
        evidence: Mapping[str, str] | None = None,
        failure_class: FailureClass | None = None,
        *,
        nodeid: str = "",
        tags: Iterable[str] = (),
        reason: str | None = None,
        blocked_by: str | None = None,
        start_s: float | None = None,
    ) -> Scenario:
        """Record one scenario with its steps ({name, outcome, duration_s, error?}) and failure evidence."""
        if outcome == "failed" and failure_class is None:
            failure_class = "product"  # unexplained failures blame the product (classification rule 4)
        clean_evidence: dict[str, str] = {}
        for name, text in (evidence or {}).items():
            if looks_like_kubeconfig(text):
                # Evidence is gathered on failure paths: replacing it beats raising in the middle of teardown.
                text = "[refused: this evidence looks like a kubeconfig and is never kept in the results]"
            clean_evidence[name] = text
        entry = Scenario(
            feature=feature,
            scenario=scenario,
            nodeid=nodeid,
            tags=sorted(tags),
            outcome=outcome,
            duration_s=round(float(duration_s), 3),
            start_s=start_s,
            failure_class=failure_class if outcome == "failed" else None,
            reason=reason,
            blocked_by=blocked_by,
            steps=[
                Step(
                    name=s["name"],
                    outcome=s["outcome"],
                    duration_s=round(float(s.get("duration_s", 0.0)), 3),
                    error=str(s["error"]) if s.get("error") else None,
                )
                for s in steps
            ],
            evidence=clean_evidence,
        )
        self._scenarios.append(entry)
        if clean_evidence:
            folder = f"evidence/{len(self._scenarios):03d}-{slug(scenario)}"
            for name, text in clean_evidence.items():
                self.add_file(f"{folder}/{slug(name)}.txt", text)
        return entry

    def record_infrastructure_failure(self, phase: str, exc_type_name: str, message: str) -> None:
        """Record a failure outside any scenario (cluster creation, image load, Docker) for the verdict."""
        self._infra.append(InfraFailure(phase=phase, type=exc_type_name, message=message))

    def record_deploy_failure(self, tier: str, ready: int, desired: int, pods: Iterable[str], message: str) -> None:
        """Record once that a tier never became ready, with what its pods said last."""
        self._deploy.append(DeployFailure(tier=tier, ready=ready, desired=desired, pods=list(pods), message=message))

    def record_check(
        self,
        kind: Literal["smoke", "selfcheck", "teardown"],
        name: str,
        outcome: Literal["passed", "failed", "skipped"],
        detail: str = "",
        duration_s: float = 0.0,
    ) -> Check:
        """Record a check around the scenarios (kit smoke test, a self-check entry, a teardown restore)."""
        check = Check(kind=kind, name=name, outcome=outcome, detail=detail, duration_s=round(duration_s, 3))
        self._checks.append(check)
        return check

    def record_budget(
        self,
        step: str,
        metric: str,
        op: Literal["<=", ">="],
        limit: float,
        measured: float | None,
        unit: str = "",
        subject: str = "",
    ) -> Budget:
        """Record one budget of the feature text with its measurement; a missing measurement fails it."""
        passed = measured is not None and _OPS[op](float(measured), float(limit))
        budget = Budget(
            scenario=self.scenario,
            step=step,
            metric=metric,
            op=op,
            limit=float(limit),
            measured=None if measured is None else round(float(measured), 3),
            unit=unit,
            passed=passed,
            subject=subject,
        )
        self._budgets.append(budget)
        return budget

    def record_recovery(
        self, fault: str, tier: str, seconds: float, budget_s: float, *, step: str = "", fault_t0: float | None = None
    ) -> Recovery:
        """Record one time-to-recovery (fault to Ready and serving) and its budget; the budget is recorded too."""
        rec = Recovery(
            scenario=self.scenario,
            fault=fault,
            tier=tier,
            seconds=round(float(seconds), 3),
            budget_s=float(budget_s),
            passed=float(seconds) <= float(budget_s),
            fault_s=None if fault_t0 is None else self.run_time(fault_t0),
        )
        self._recoveries.append(rec)
        self.record_budget(
            step or f"recovery of {tier}", "recovery_s", "<=", budget_s, seconds, "s", f"{fault} ({tier})"
        )
        return rec

    def record_window(self, window: Window, samples: Iterable[Sample] = ()) -> int:
        """Record one fault window with its samples; returns its index for the budget steps that check it."""
        index = len(self._windows)
        self._windows.append(window.model_copy(update={"scenario": window.scenario or self.scenario}))
        self._samples.extend(s.model_copy(update={"window": index}) for s in samples)
        return index

    def window(self, index: int) -> Window:
        """A recorded window."""
        return self._windows[index]

    def window_samples(self, index: int) -> list[Sample]:
        """The samples kept with a recorded window that fell inside it."""
        w = self._windows[index]
        return [s for s in self._samples if s.window == index and w.start_s <= s.t < w.end_s]

    def check_window(
        self,
        index: int,
        step: str,
        metric: str,
        op: Literal["<=", ">="],
        limit: float,
        unit: str = "",
    ) -> Budget:
        """Check one of a window's numbers against a budget: recorded as a budget and on the window itself."""
        w = self._windows[index]
        measured = getattr(w, metric)
        budget = self.record_budget(step, metric, op, limit, measured, unit, w.fault)
        update: dict[str, Any] = {"passed": budget.passed and w.passed is not False and w.covered}
        if metric in _WINDOW_BUDGETS:
            update[_WINDOW_BUDGETS[metric]] = float(limit)
        self._windows[index] = w.model_copy(update=update)
        return budget

    def record_ledger(self, verdict: Mapping[str, Any], raw_jsonl_path: str | Path | None = None) -> LedgerEntry:
        """Record a reconciled ledger (LedgerVerdict.to_dict()) and keep its raw journal."""
        raw = None
        if raw_jsonl_path is not None:
            src = Path(raw_jsonl_path)
            raw = f"ledger/{len(self._ledgers) + 1:02d}-{slug(src.stem)}.jsonl"
            self.add_file(raw, src.read_text(encoding="utf-8"))
        titles = verdict.get("titles") or {}
        entry = LedgerEntry(
            scenario=self.scenario,
            **{k: _count(verdict.get(k, 0)) for k in LEDGER_COUNTS},
            sources=list(verdict.get("sources", [])),
            titles={str(k): [str(t) for t in v] for k, v in titles.items() if v},
            raw=raw,
        )
        self._ledgers.append(entry)
        return entry

    def set_scope(self, scope: Scope) -> None:
        """What the run covered against the mode's catalogue (set by the conftest at session end)."""
        self._scope = scope

    # -- files ------------------------------------------------------------------------------------------------
    def add_file(self, name: str, content: bytes | str) -> Path:
        """Write a file into the folder (journals, logs, samples); refuses kubeconfigs and outside paths."""
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"results file name must be relative and inside the folder, got {name!r}")
        text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
        if looks_like_kubeconfig(text) or (rel.name in ("kubeconfig", "config") and "clusters:" in text):
            raise KubeconfigRefusedError(
                f"refusing to write {name!r} into the results folder: its content looks like a kubeconfig "
                "(apiVersion: v1, kind: Config, clusters:); cluster credentials never belong in the results"
            )
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(redact_text(content, self._secrets), encoding="utf-8")
        if name not in self._files:
            self._files.append(name)
        return target

    def add_path(self, src: str | Path, name: str | None = None) -> Path:
        """Copy an existing file (a chaostoolkit journal, a log) into the folder under name."""
        source = Path(src)
        target = self.add_file(name or source.name, source.read_bytes())
        shutil.copystat(source, target)
        return target

    # -- sealing ----------------------------------------------------------------------------------------------
    def _recovery_summary(self) -> list[RecoverySummary]:
        """Recovery grouped by (fault, tier): n, p50/p95/max against the strictest budget stated."""
        groups: dict[tuple[str, str], list[Recovery]] = {}
        for r in self._recoveries:
            groups.setdefault((r.fault, r.tier), []).append(r)
        out = []
        for (fault, tier), rows in groups.items():
            stats = summarize([r.seconds for r in rows])
            budget = min(r.budget_s for r in rows)
            # Every single recovery must meet the budget the feature states, so max is compared, not p95.
            worst = stats["max"]
            out.append(
                RecoverySummary(
                    fault=fault,
                    tier=tier,
                    n=len(rows),
                    p50=stats["p50"],
                    p95=stats["p95"],
                    max=worst,
                    budget_s=budget,
                    passed=worst is not None and float(worst) <= budget,
                )
            )
        return out

    def _ledger_totals(self) -> LedgerTotals:
        """Ledger counts summed over the run."""
        sums = {k: sum(int(getattr(e, k)) for e in self._ledgers) for k in LEDGER_COUNTS}
        return LedgerTotals(entries=len(self._ledgers), **sums)

    def build(self) -> Run:
        """The whole record with the verdict decided from it (secrets masked)."""
        counts = {k: sum(1 for s in self._scenarios if s.outcome == k) for k in Summary.model_fields if k != "total"}
        scope = self._scope or Scope(complete=False, catalogue=0, ran=0, not_run=["the run's scope was not recorded"])
        totals = self._ledger_totals()
        verdict, reasons = decide(
            Evidence(
                scenarios=self._scenarios,
                budgets=self._budgets,
                windows=self._windows,
                ledger=totals,
                deploy_failures=self._deploy,
                infrastructure_failures=self._infra,
                checks=self._checks,
                scope=scope,
            )
        )
        run = Run(
            run_id=self.run_id,
            started_at=self.started_at,
            finished_at=_utc_now(),
            verdict=verdict,
            exit_code=exit_code(verdict, accept_partial=self.accept_partial),
            reasons=reasons,
            scope=scope,
            summary=Summary(**counts, total=len(self._scenarios)),
            environment=dict(self._environment),
            scenarios=self._scenarios,
            deploy_failures=self._deploy,
            infrastructure_failures=self._infra,
            checks=self._checks,
            budgets=self._budgets,
            recovery=self._recoveries,
            recovery_summary=self._recovery_summary(),
            availability=Availability(windows=self._windows, samples=self._samples),
            ledger=Ledger(entries=self._ledgers, totals=totals),
            files=sorted({*self._files, "results.json", "report.html"}),
        )
        # Masking the structure before serialising also catches secrets JSON or HTML escaping would disguise.
        return Run.model_validate(redact_tree(run.model_dump(mode="json"), self._secrets))

    def to_dict(self) -> dict[str, Any]:
        """The results.json content."""
        data: dict[str, Any] = self.build().model_dump(mode="json")
        return data

    def finish(self, render: Callable[[Run], str] | None = None) -> Run:
        """Write results.json (and report.html when given a renderer), mask secrets in every file."""
        run = self.build()
        (self.path / "results.json").write_text(run.model_dump_json(indent=2) + "\n", encoding="utf-8")
        if render is not None:
            (self.path / "report.html").write_text(render(run), encoding="utf-8")
        self.redact()
        return run

    def write_json(self, data: Mapping[str, Any], name: str) -> Path:
        """Write a JSON file into the folder (raw samples, journals)."""
        return self.add_file(name, json.dumps(dict(data), indent=2) + "\n")

    def redact(self) -> list[Path]:
        """Mask secrets in every text file of the folder (call again after pytest wrote junit/cucumber)."""
        self._refuse_kubeconfigs()
        return redact_folder(self.path, self._secrets)

    def _refuse_kubeconfigs(self) -> None:
        """Delete any kubeconfig-looking file something else wrote into the folder, then say so loudly."""
        found = []
        for file in self.path.rglob("*"):
            if file.is_file() and file.stat().st_size < 5_000_000:
                text = file.read_bytes().decode("utf-8", errors="replace")
                if looks_like_kubeconfig(text):
                    file.unlink()
                    found.append(str(file.relative_to(self.path)))
        if found:
            raise KubeconfigRefusedError(
                f"removed kubeconfig-looking file(s) from the results folder {self.path}: {', '.join(found)}"
            )
