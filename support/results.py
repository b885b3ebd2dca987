"""The results folder: one per run, the single source the report, the nightly job and the benchmarks read."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import json
import math
import os
import platform
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "ENV_RESULTS_ROOT",
    "INFRA_EXCEPTIONS",
    "INFRA_PATTERNS",
    "INFRA_PHASES",
    "MASK",
    "PRODUCT_EXCEPTIONS",
    "SCHEMA_VERSION",
    "FailureClass",
    "KubeconfigRefusedError",
    "Results",
    "classify_failure",
    "compute_verdict",
    "host_environment",
    "looks_like_kubeconfig",
    "percentile",
    "redact_folder",
    "redact_text",
    "secret_variants",
    "summarize_values",
]

SCHEMA_VERSION = 1
ENV_RESULTS_ROOT = "TODO_E2E_RESULTS"
MASK = "***"

FailureClass = Literal["product", "infrastructure"]
Outcome = Literal["passed", "failed", "skipped"]

# Phases that belong to the machinery around the product: a failure there says nothing about the app.
INFRA_PHASES = frozenset({"preflight", "docker", "cluster", "cluster-create", "image-build", "image-load", "kit"})
# A scenario's own checks: assertions and support.waits.WaitTimeout (an AssertionError subclass).
PRODUCT_EXCEPTIONS = frozenset({"AssertionError", "WaitTimeout"})
_INFRA_PHASE_WORDS = frozenset({"preflight", "docker", "cluster", "image", "kit"})
# Exception names raised by the kit and the Docker/kind wrappers (by name: results.py imports nothing).
INFRA_EXCEPTIONS = frozenset(
    {"PreflightError", "DockerError", "KindError", "ClusterCreateError", "ImageBuildError", "ImageLoadError"}
)
# Messages that only the container engine, kind or the host produce.
INFRA_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"cannot connect to the docker daemon",
        r"is the docker daemon running",
        r"error response from daemon",
        r"OCI runtime (create|exec|start) failed",
        r"failed to create cluster",
        r"kind create cluster",
        r"failed to load image",
        r"kind load (docker-image|image-archive)",
        r"no space left on device",
        r"No such file or directory: '(docker|kind)'",
    )
)

_KUBECONFIG_MARKERS = (
    re.compile(r"""^\s*["']?apiVersion["']?\s*:\s*["']?v1["']?\s*,?\s*$""", re.MULTILINE),
    re.compile(r"""^\s*["']?kind["']?\s*:\s*["']?Config["']?\s*,?\s*$""", re.MULTILINE),
    re.compile(r"""^\s*["']?clusters["']?\s*:""", re.MULTILINE),
)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class KubeconfigRefusedError(ValueError):
    """Raised when something that looks like a kubeconfig would be written into the results folder."""


def classify_failure(exc_type_name: str, message: str, phase: str) -> FailureClass:
    """Class a failure as infrastructure or product; rules are documented in docs/results-schema.md."""
    # Rule 1: the phase names the machinery (cluster creation, image build/load, Docker, preflight); the first
    # word decides, so free-form phases such as "cluster creation" or "image build/load" match too.
    words = re.split(r"[\s/_:]+", phase.strip().lower())
    if phase.strip().lower() in INFRA_PHASES or words[0] in _INFRA_PHASE_WORDS:
        return "infrastructure"
    # Rule 2: an assertion (or the waits' timeout, an AssertionError too) is the product's check failing.
    if exc_type_name in PRODUCT_EXCEPTIONS:
        return "product"
    # Rule 3: exception types raised only by the kit and the engine wrappers.
    if exc_type_name in INFRA_EXCEPTIONS:
        return "infrastructure"
    # Rule 4: messages only the container engine, kind or the host produce.
    if any(p.search(message) for p in INFRA_PATTERNS):
        return "infrastructure"
    # Rule 5: everything else blames the product, so nothing unexplained can hide as a flake.
    return "product"


def looks_like_kubeconfig(text: str) -> bool:
    """True when text carries the three markers of a kubeconfig (apiVersion v1, kind Config, clusters)."""
    return all(m.search(text) for m in _KUBECONFIG_MARKERS)


def secret_variants(value: str) -> list[str]:
    """Every form of a secret that may land in a file: raw, base64 (padded, unpadded, url-safe), escaped."""
    if not value:
        return []
    raw = value.encode()
    forms = {
        value,
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        html.escape(value, quote=True),
        html.escape(value, quote=False),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    # Longest first, so a secret that contains another one is masked whole.
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Mask every variant of every secret in text."""
    variants = sorted({v for s in secrets for v in secret_variants(s)}, key=len, reverse=True)
    for v in variants:
        text = text.replace(v, MASK)
    return text


def redact_folder(path: str | Path, secrets: Iterable[str]) -> list[Path]:
    """Rewrite every text file under path in place with secrets masked; returns the files changed."""
    secret_list = [s for s in secrets if s]
    changed: list[Path] = []
    if not secret_list:
        return changed
    for file in sorted(Path(path).rglob("*")):
        if not file.is_file() or file.is_symlink():
            continue
        data = file.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            # Binary files (screenshots) are rendered from already-redacted text; they are left as they are.
            continue
        new = redact_text(text, secret_list)
        if new != text:
            file.write_text(new, encoding="utf-8")
            changed.append(file)
    return changed


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of values, None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def summarize_values(values: Iterable[float]) -> dict[str, float | int | None]:
    """p50, p95, max and n of values (nearest rank), the shape used throughout results.json."""
    vals = list(values)
    return {
        "n": len(vals),
        "p50": percentile(vals, 50),
        "p95": percentile(vals, 95),
        "max": max(vals) if vals else None,
    }


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
    """A ledger field as a count: ints as they are, lists and sets by length."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, list | tuple | set | frozenset | dict):
        return len(value)
    return 0


LEDGER_FIELDS = (
    "attempted",
    "ok",
    "failed",
    "unknown",
    "lost",
    "phantom",
    "duplicate",
    "unknown_present",
    "unknown_absent",
)


def _ledger_totals(ledgers: list[dict[str, Any]]) -> dict[str, int]:
    """Sum ledger counts over every recorded verdict (a field may be a count or a list of titles)."""
    totals = dict.fromkeys(LEDGER_FIELDS, 0)
    for entry in ledgers:
        verdict = entry.get("verdict", {})
        for key in LEDGER_FIELDS:
            totals[key] += _count(verdict.get(key, verdict.get(f"{key}_count", 0)))
    return totals


def _recovery_summary(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group recovery measurements by (fault, tier): n, p50/p95/max against the strictest budget stated."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["fault"], r["tier"]), []).append(r)
    out = []
    for (fault, tier), rows in groups.items():
        stats = summarize_values(float(r["seconds"]) for r in rows)
        budget = min(float(r["budget_s"]) for r in rows)
        # Every single recovery must meet the budget the feature states, so max is compared, not p95.
        passed = stats["max"] is not None and float(stats["max"]) <= budget
        out.append({"fault": fault, "tier": tier, **stats, "budget_s": budget, "passed": passed})
    return out


def _window_failed(window: Mapping[str, Any]) -> bool:
    """True when a window says it failed (passed false) or misses the minimums it states."""
    if window.get("passed") is False:
        return True
    budget = window.get("min_availability_pct")
    avail = window.get("availability_pct")
    if isinstance(budget, int | float) and isinstance(avail, int | float) and avail < budget:
        return True
    max_outage = window.get("max_outage_s")
    outage = window.get("longest_outage_s")
    return isinstance(max_outage, int | float) and isinstance(outage, int | float) and outage > max_outage


def compute_verdict(data: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The run's verdict and its reasons, most important first; the rules are in docs/results-schema.md."""
    scenarios: list[dict[str, Any]] = list(data.get("scenarios", []))
    infra_failures: list[dict[str, Any]] = list(data.get("infrastructure_failures", []))
    failed = [s for s in scenarios if s["outcome"] == "failed"]
    product = [s for s in failed if s.get("failure_class") != "infrastructure"]
    infra = [s for s in failed if s.get("failure_class") == "infrastructure"]
    reasons: list[str] = []
    for s in product:
        reasons.append(f"scenario failed: {s['feature']} / {s['scenario']}" + _first_error(s))
    for r in data.get("recovery_summary", []):
        if not r["passed"]:
            reasons.append(
                f"budget exceeded: {r['fault']} ({r['tier']}) recovery max {r['max']:.1f} s "
                f"> budget {r['budget_s']:.1f} s"
            )
    for w in data.get("availability", {}).get("windows", []):
        if _window_failed(w):
            reasons.append(f"budget exceeded: availability during {w.get('fault', '?')} " + _window_text(w))
    totals = data.get("ledger", {}).get("totals", {})
    for key in ("lost", "phantom", "duplicate"):
        if totals.get(key, 0):
            reasons.append(f"ledger: {totals[key]} {key} write(s)")
    infra_reasons = [
        f"infrastructure failure: {f['phase']}: {f['message'].splitlines()[0][:200]}" for f in infra_failures
    ]
    infra_reasons += [f"infrastructure failure in scenario: {s['feature']} / {s['scenario']}" for s in infra]
    if reasons:
        # Product problems are real even when infrastructure also stumbled; those are listed after them.
        return "REJECTED", reasons + infra_reasons
    if infra_reasons:
        return "INCONCLUSIVE", [*infra_reasons, "no product verdict: the infrastructure failed, not the app"]
    passed = [s for s in scenarios if s["outcome"] == "passed"]
    if not passed:
        return "INCONCLUSIVE", ["no scenario ran to completion: an empty run is not an acceptance"]
    notes = [f"{len(passed)} scenario(s) passed, every budget met, no acknowledged write lost"]
    skipped = [s for s in scenarios if s["outcome"] == "skipped"]
    if skipped:
        notes.append(f"{len(skipped)} scenario(s) skipped: " + "; ".join(s["scenario"] for s in skipped[:5]))
    return "ACCEPTED", notes


def _first_error(scenario: Mapping[str, Any]) -> str:
    """': <first line of the failed step's error>' or ''."""
    for step in scenario.get("steps", []):
        if step.get("outcome") == "failed" and step.get("error"):
            return f" (step '{step['name']}': {str(step['error']).splitlines()[0][:200]})"
    return ""


def _window_text(w: Mapping[str, Any]) -> str:
    """Short text of an availability window's numbers."""
    parts = []
    if "availability_pct" in w:
        parts.append(f"{w['availability_pct']}% available")
    if "longest_outage_s" in w:
        parts.append(f"longest outage {w['longest_outage_s']} s")
    return ", ".join(parts) or "(window reported failed)"


def _slug(text: str) -> str:
    """A file-name-safe slug of text."""
    return _SAFE_NAME.sub("-", text).strip("-").lower()[:80] or "x"


class Results:
    """One run's results folder: created at construction, filled during the run, sealed by finish()."""

    def __init__(self, root: str | Path | None = None, run_id: str | None = None) -> None:
        """Create results/<UTC timestamp>-<short id>/ under root (default $TODO_E2E_RESULTS or ./results)."""
        base = Path(root or os.environ.get(ENV_RESULTS_ROOT) or "results")
        now = dt.datetime.now(dt.UTC)
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.path = (base / f"{now:%Y%m%dT%H%M%SZ}-{self.run_id}").resolve()
        self.path.mkdir(parents=True, exist_ok=False)
        self.started_at = _utc_now()
        self._environment: dict[str, Any] = {}
        self._scenarios: list[dict[str, Any]] = []
        self._recoveries: list[dict[str, Any]] = []
        self._windows: list[dict[str, Any]] = []
        self._samples: list[dict[str, Any]] = []
        self._ledgers: list[dict[str, Any]] = []
        self._infra: list[dict[str, Any]] = []
        self._files: list[str] = []
        # Held in memory only: never written anywhere, so the folder cannot leak them.
        self._secrets: set[str] = set()

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

    def add_secret_values(self, values: Iterable[str]) -> None:
        """Register secret values; they and their base64 forms are masked in every file of the folder."""
        self._secrets.update(v for v in values if v)

    def set_environment(self, env: Mapping[str, Any]) -> None:
        """Merge in the environment fingerprint (suite commit, versions, image ids, manifest hash, seed)."""
        self._environment.update(env)

    def record_scenario(
        self,
        feature: str,
        scenario: str,
        steps: Iterable[Mapping[str, Any]],
        outcome: Outcome,
        duration_s: float,
        evidence: Mapping[str, str] | None = None,
        failure_class: FailureClass | None = None,
    ) -> None:
        """Record one scenario with its steps ({name, outcome, duration_s, error?}) and failure evidence."""
        if outcome not in ("passed", "failed", "skipped"):
            raise ValueError(f"scenario outcome must be passed/failed/skipped, got {outcome!r}")
        if outcome == "failed" and failure_class is None:
            failure_class = "product"  # unexplained failures blame the product (classification rule 5)
        clean_evidence: dict[str, str] = {}
        for name, text in (evidence or {}).items():
            if looks_like_kubeconfig(text):
                # Evidence is gathered on failure paths: replacing it beats raising in the middle of teardown.
                text = "[refused: this evidence looks like a kubeconfig and is never kept in the results]"
            clean_evidence[name] = text
        entry = {
            "feature": feature,
            "scenario": scenario,
            "outcome": outcome,
            "duration_s": round(float(duration_s), 3),
            "failure_class": failure_class if outcome == "failed" else None,
            "steps": [
                {
                    "name": s["name"],
                    "outcome": s["outcome"],
                    "duration_s": round(float(s.get("duration_s", 0.0)), 3),
                    **({"error": str(s["error"])} if s.get("error") else {}),
                }
                for s in steps
            ],
            "evidence": clean_evidence,
        }
        self._scenarios.append(entry)
        if clean_evidence:
            folder = f"evidence/{len(self._scenarios):03d}-{_slug(scenario)}"
            for name, text in clean_evidence.items():
                self.add_file(f"{folder}/{_slug(name)}.txt", text)

    def record_infrastructure_failure(self, phase: str, exc_type_name: str, message: str) -> None:
        """Record a failure outside any scenario (cluster creation, image load, Docker) for the verdict."""
        self._infra.append({"phase": phase, "type": exc_type_name, "message": message})

    def record_recovery(self, fault: str, tier: str, seconds: float, budget_s: float) -> None:
        """Record one time-to-recovery measurement (fault to Ready and serving) and the budget it had."""
        self._recoveries.append(
            {"fault": fault, "tier": tier, "seconds": round(float(seconds), 3), "budget_s": float(budget_s)}
        )

    def record_availability(self, window: Mapping[str, Any]) -> None:
        """Record one fault window's availability (WindowStats.to_dict()); its "samples" feed the plot."""
        w = dict(window)
        samples = w.pop("samples", None)
        if samples:
            self.record_samples(samples, fault=str(w.get("fault", "")))
        if "passed" not in w and ("min_availability_pct" in w or "max_outage_s" in w):
            w["passed"] = not _window_failed(w)
        self._windows.append(w)

    def record_samples(self, samples: Iterable[Any], fault: str = "") -> None:
        """Record raw availability samples: dicts {t, ok, latency_s} or tuples (t, ok, latency_s)."""
        for s in samples:
            if isinstance(s, Mapping):
                t, ok, lat = s.get("t"), s.get("ok"), s.get("latency_s")
            else:
                t, ok, lat = [*list(s), None, None, None][:3]
            if t is None:
                continue
            self._samples.append(
                {
                    "t": float(t),
                    "ok": bool(ok),
                    "latency_s": None if lat is None else float(lat),
                    "fault": fault,
                }
            )

    def record_ledger(self, verdict: Mapping[str, Any], raw_jsonl_path: str | Path | None = None) -> None:
        """Record an acknowledged-write ledger verdict (LedgerVerdict.to_dict()) and keep its raw journal."""
        entry: dict[str, Any] = {"verdict": dict(verdict)}
        if raw_jsonl_path is not None:
            src = Path(raw_jsonl_path)
            name = f"ledger/{len(self._ledgers) + 1:02d}-{_slug(src.stem)}.jsonl"
            self.add_file(name, src.read_text(encoding="utf-8"))
            entry["raw"] = name
        self._ledgers.append(entry)

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
        data = source.read_bytes()
        target = self.add_file(name or source.name, data)
        shutil.copystat(source, target)
        return target

    def to_dict(self) -> dict[str, Any]:
        """The results.json content (schema version 1), with the verdict computed and secrets masked."""
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": _utc_now(),
            "environment": dict(self._environment),
            "scenarios": list(self._scenarios),
            "infrastructure_failures": list(self._infra),
            "recovery": list(self._recoveries),
            "recovery_summary": _recovery_summary(self._recoveries),
            "availability": {"windows": list(self._windows), "samples": list(self._samples)},
            "ledger": {"entries": list(self._ledgers), "totals": _ledger_totals(self._ledgers)},
            "files": sorted({*self._files, "results.json", "report.html"}),
        }
        counts = {k: 0 for k in ("passed", "failed", "skipped")}
        for s in self._scenarios:
            counts[s["outcome"]] += 1
        data["summary"] = {**counts, "total": len(self._scenarios)}
        data["verdict"], data["reasons"] = compute_verdict(data)
        # Masking the structure before serialising also catches secrets JSON or HTML escaping would disguise.
        redacted: dict[str, Any] = _redact_tree(data, self._secrets)
        return redacted

    def finish(self) -> Path:
        """Write results.json and report.html, mask secrets in every file; returns the folder path."""
        from report import render  # imported late: the report package is optional for recording

        data = self.to_dict()
        (self.path / "results.json").write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        (self.path / "report.html").write_text(render(data), encoding="utf-8")
        self.redact()
        return self.path

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


def _redact_tree(node: Any, secrets: Iterable[str]) -> Any:
    """A copy of a JSON-like tree with every string redacted."""
    secret_list = list(secrets)
    if not secret_list:
        return node
    if isinstance(node, str):
        return redact_text(node, secret_list)
    if isinstance(node, dict):
        return {redact_text(str(k), secret_list): _redact_tree(v, secret_list) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_redact_tree(v, secret_list) for v in node]
    return node
