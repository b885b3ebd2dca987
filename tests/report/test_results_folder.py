"""The results folder end to end: verdict rules and their reason order, exit codes, the schema, the report's HTML."""

from __future__ import annotations

import base64
import html.parser
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from results_factory import CATALOGUE, FAILED_SCENARIO, HOSTILE_SCENARIO, ROOT, BuildFn, seal

from record.model import SCHEMA_VERSION, Run, Scope, Window
from record.verdict import EXIT_CODES
from report import render
from report.load import ResultsReadError
from support.results import KubeconfigRefusedError, Results, redact_folder

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTi
    server: https://127.0.0.1:40123
  name: kind-todo-e2e
contexts: []
users: []
"""


def _json(folder: Path) -> dict[str, Any]:
    """The folder's results.json."""
    data: dict[str, Any] = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return data


def _html(folder: Path) -> str:
    """The folder's report.html."""
    return (folder / "report.html").read_text(encoding="utf-8")


# -- the verdict rules, in record.verdict's order --------------------------------------------------------------
def test_complete_passing_run_is_accepted_and_claims_only_what_it_exercised(build: BuildFn) -> None:
    """ACCEPTED (exit 0): the full catalogue ran; each claim names what was exercised, in the rule's order."""
    data = _json(seal(build()))
    assert (data["verdict"], data["exit_code"]) == ("ACCEPTED", 0), data["reasons"]
    assert data["reasons"] == [
        "the full catalogue ran: 6 scenario(s) passed",
        "8 budget(s) from the features' text enforced and met",
        "2 availability window(s) covered by traffic from fault to recovery",
        "ledger: 398 acknowledged write(s), 120 update(s) and 40 delete(s) in 1 scenario(s) all accounted for",
        "3 check(s) around the scenarios passed (selfcheck, smoke, teardown)",
    ]
    assert data["scope"]["complete"] is True


def test_failed_run_is_rejected_with_reasons_in_the_rules_order(build: BuildFn) -> None:
    """REJECTED (exit 10): the failed scenario first, then missed budgets, then ledger problems."""
    folder = seal(build(fail=True, slow_recovery=True, lost=2, lost_updates=1))
    data = _json(folder)
    assert (data["verdict"], data["exit_code"]) == ("REJECTED", 10)
    reasons = data["reasons"]
    assert reasons[0].startswith(
        f"scenario failed: Pod loss / {FAILED_SCENARIO} (step 'Then Alice still sees her 3 to-dos within 20 seconds': "
        "WaitTimeout: todo_visible('buy milk')"
    ), reasons
    assert reasons[1:] == [
        "budget missed: The database pod is killed: recovery_s of database pod kill (database) was 61.5s, "
        "budget <= 60s",
        "budget missed: Writes come back after the database pod is killed: longest_outage_s of database pod kill "
        "was 11.3s, budget <= 10s",
        "ledger: 2 lost (acknowledged operations not accounted for)",
        "ledger: 1 lost updates (acknowledged operations not accounted for)",
    ]
    banner = _html(folder).split("</header>")[0]
    assert ">REJECTED<" in banner and FAILED_SCENARIO in banner and "exit code 10" in banner


def test_uncovered_window_rejects_after_the_budgets(build: BuildFn) -> None:
    """A window traffic did not cover is a product reason, listed after missed budgets."""
    res = build(slow_recovery=True)
    res.scenario = "Reads stay available through a worker stop"
    res.record_window(
        Window(
            fault="worker node stop",
            start_s=70.0,
            end_s=90.0,
            requests=10,
            failed=0,
            availability_pct=100.0,
            longest_outage_s=0.0,
            covered=False,
            coverage_problem="the reader stopped at 74.2 s (connection pool exhausted), 15.8 s before the end",
        )
    )
    data = _json(seal(res))
    assert data["verdict"] == "REJECTED"
    assert data["reasons"][-1] == (
        "availability not proven: Reads stay available through a worker stop / worker node stop: the reader stopped "
        "at 74.2 s (connection pool exhausted), 15.8 s before the end"
    )
    assert data["reasons"][0].startswith("budget missed:")


def test_deploy_failure_is_named_once_and_blocks_the_scenarios(build: BuildFn) -> None:
    """The tier that never became ready comes first; the scenarios it blocked are counted, not blamed."""
    folder = seal(build(deploy=True))
    data = _json(folder)
    assert (data["verdict"], data["exit_code"]) == ("REJECTED", 10)
    assert data["reasons"] == [
        "deployment failed: database: 0 of 1 ready; readiness probe: durability settings not in effect",
        "2 scenario(s) could not run: the deployment never became ready",
    ]
    text = _html(folder)
    assert '<section id="deployment"' in text and "mysql-7d9c-x2: Running, not Ready (restarts 3)" in text
    assert "blocked by: deployment never became ready" in text


def test_infrastructure_only_failure_is_inconclusive(build: BuildFn) -> None:
    """INCONCLUSIVE (exit 11): the machinery failed, the app was never judged."""
    folder = seal(build(infra=True))
    data = _json(folder)
    assert (data["verdict"], data["exit_code"]) == ("INCONCLUSIVE", 11)
    assert data["reasons"] == [
        'infrastructure failure: cluster: ERROR: failed to create cluster: command "docker run --name '
        'todo-e2e-worker" failed',
        "no product verdict: the machinery around the app failed, not the app",
    ]
    assert '<section id="infrastructure"' in _html(folder)


def test_product_failure_wins_over_infrastructure_and_failed_checks(build: BuildFn) -> None:
    """Product problems decide REJECTED; infrastructure and failed checks are listed after them."""
    res = build(fail=True)
    res.record_infrastructure_failure("image-load", "ImageLoadError", "failed to load image todo-mysql")
    res.record_check("teardown", "node todo-e2e-worker started again", "failed", "still Exited after 60 s")
    reasons = _json(seal(res))["reasons"]
    assert reasons[0].startswith("scenario failed:")
    assert reasons[-2:] == [
        "infrastructure failure: image-load: failed to load image todo-mysql",
        "teardown check failed: node todo-e2e-worker started again: still Exited after 60 s",
    ]


def test_a_failed_check_keeps_a_passing_run_from_acceptance(build: BuildFn) -> None:
    """A node not restored at teardown (or a failed smoke test or self-check entry) is never ACCEPTED."""
    res = build()
    res.record_check("selfcheck", "broken: one back-end replica", "failed", "ACCEPTED, expected REJECTED")
    data = _json(seal(res))
    assert data["verdict"] == "INCONCLUSIVE"
    assert data["reasons"][0] == "selfcheck check failed: broken: one back-end replica: ACCEPTED, expected REJECTED"


def test_infrastructure_class_scenario_is_inconclusive(build: BuildFn) -> None:
    """A scenario failed by the machinery (classed infrastructure) gives no product verdict."""
    res = build()
    res.record_scenario(
        "Node loss",
        "A worker is stopped",
        [{"name": "When a worker is stopped", "outcome": "failed", "duration_s": 1.0, "error": "DockerError: gone"}],
        "failed",
        1.0,
        failure_class="infrastructure",
    )
    data = _json(seal(res))
    assert data["verdict"] == "INCONCLUSIVE"
    assert data["reasons"][0] == (
        "infrastructure failure in scenario: Node loss / A worker is stopped (step 'When a worker is stopped': "
        "DockerError: gone)"
    )


def test_empty_run_is_inconclusive(build: BuildFn, tmp_path: Path) -> None:
    """No scenario ran to completion (nothing, or everything skipped): never an acceptance."""
    assert _json(seal(build(empty=True)))["reasons"] == [
        "no scenario ran to completion: an empty run is not an acceptance"
    ]
    res = Results(root=tmp_path / "skipped")
    res.record_scenario("Node loss", "A worker is stopped", [], "skipped", 0.0, reason="not selected")
    res.set_scope(Scope(complete=True, catalogue=1, ran=1))
    assert _json(seal(res))["verdict"] == "INCONCLUSIVE"


def test_partial_run_says_what_did_not_run_and_exits_12(build: BuildFn) -> None:
    """PARTIAL (exit 12): the scope first, then the claims, then why it is no acceptance; the banner shows it."""
    res = build(partial=True)
    folder = seal(res)
    data = _json(folder)
    assert (data["verdict"], data["exit_code"]) == ("PARTIAL", 12)
    assert data["reasons"][0] == (
        "scoped run: 2 of the catalogue's items did not run (Node loss / A worker is stopped and the app moves: not "
        "selected (-m pod_loss); Experiments / The chaos experiment for a node pause: not applicable in staging mode)"
    )
    assert data["reasons"][-1] == "not an acceptance: only a complete run of the catalogue can be ACCEPTED"
    banner = _html(folder).split("</header>")[0]
    assert "Scope: PARTIAL" in banner and "not selected (-m pod_loss)" in banner and "exit code 12" in banner
    assert f"of {CATALOGUE + 2} items" in banner
    # The skipped and not-applicable scenarios carry their reasons in the page.
    text = _html(folder)
    assert "staging mode: node faults need the suite&#39;s own kind cluster" in text
    assert 'class="scenario not_applicable"' in text and 'class="scenario skipped"' in text


def test_accept_partial_changes_the_exit_code_only(build: BuildFn) -> None:
    """The local option lets a passing scoped run exit 0; the verdict still says PARTIAL."""
    res = build(partial=True)
    res.accept_partial = True
    data = _json(seal(res))
    assert (data["verdict"], data["exit_code"]) == ("PARTIAL", 0)


def test_unrecorded_scope_is_partial_and_claims_nothing_unexercised(tmp_path: Path) -> None:
    """No scope recorded: PARTIAL; with no budget or ledger exercised, the reasons say so instead of claiming them."""
    res = Results(root=tmp_path)
    res.record_scenario("Todos", "Alice adds a to-do", [], "passed", 0.2)
    assert _json(seal(res))["reasons"] == [
        "scoped run: 1 of the catalogue's items did not run (the run's scope was not recorded)",
        "no budget was exercised",
        "no write ledger ran: nothing is claimed about lost writes",
        "not an acceptance: only a complete run of the catalogue can be ACCEPTED",
    ]


@pytest.mark.parametrize(("verdict", "code"), sorted(EXIT_CODES.items()))
def test_exit_codes_are_distinct_and_documented(verdict: str, code: int) -> None:
    """Each verdict has its own exit code, none of pytest's own (1-5), and the docs' table states it."""
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)
    assert code == 0 if verdict == "ACCEPTED" else code >= 10
    doc = (ROOT / "docs/results-schema.md").read_text(encoding="utf-8")
    assert f"| `{verdict}` | {code} |" in doc


# -- the schema ----------------------------------------------------------------------------------------------------
def test_results_json_validates_against_the_committed_schema(build: BuildFn) -> None:
    """Every shape of results.json validates against docs/results-schema.json, which is up to date with the model."""
    schema = json.loads((ROOT / "docs/results-schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    shapes: list[dict[str, Any]] = [{}, {"fail": True, "slow_recovery": True, "lost": 1}, {"partial": True}]
    shapes += [{"infra": True}, {"deploy": True}]
    for flags in shapes:
        data = _json(seal(build(**flags)))
        assert data["schema_version"] == SCHEMA_VERSION == 2
        errors = [e.message for e in validator.iter_errors(data)]
        assert not errors, (flags, errors[:3])
        Run.model_validate(data)
    # The validator is not vacuous: a verdict the model does not know is caught.
    assert list(validator.iter_errors({**data, "verdict": "MAYBE"}))
    done = subprocess.run(
        [sys.executable, "-m", "record.schema", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_every_record_and_top_level_key_is_documented(build: BuildFn) -> None:
    """docs/results-schema.md names every top-level key and every record of the model."""
    data = _json(seal(build(fail=True)))
    doc = (ROOT / "docs/results-schema.md").read_text(encoding="utf-8")
    for key in data:
        assert f"`{key}`" in doc, f"top-level key {key!r} is not documented in docs/results-schema.md"
    for record in ("Run", "Scope", "Scenario", "Step", "Budget", "Recovery", "RecoverySummary", "Window", "Sample"):
        assert f"`{record}`" in doc, record
    for record in ("LedgerEntry", "LedgerTotals", "Check", "DeployFailure", "InfraFailure", "Summary"):
        assert f"`{record}`" in doc, record


def test_recovery_summary_and_windows_on_the_runs_clock(build: BuildFn) -> None:
    """The summary groups by fault and tier; fault times and samples are on the run's clock."""
    data = _json(seal(build()))
    rec = {(r["fault"], r["tier"]): r for r in data["recovery_summary"]}
    assert rec[("backend pod kill", "backend")] == {
        "fault": "backend pod kill", "tier": "backend", "n": 3, "p50": 3.1, "p95": 3.4, "max": 3.4,
        "budget_s": 30.0, "passed": True,
    }  # fmt: skip
    assert {r["fault_s"] for r in data["recovery"]} == {12.0, 40.0}
    windows = data["availability"]["windows"]
    assert [(w["start_s"], w["recovered_s"], w["end_s"]) for w in windows] == [(12.0, 21.5, 27.0), (40.0, 46.0, 62.0)]
    assert windows[0]["passed"] is True and windows[0]["min_availability_pct"] == 99.0
    assert {s["window"] for s in data["availability"]["samples"]} == {0, 1}


# -- the page ------------------------------------------------------------------------------------------------------
class _Page(html.parser.HTMLParser):
    """Collects links, tag names, and the elements inside each window plot."""

    def __init__(self) -> None:
        """Start empty."""
        super().__init__()
        self.links: list[str] = []
        self.tags: list[str] = []
        self.plots: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self._plot: str | None = None
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record the tag, its links, and plot elements."""
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        self.links += [v for k, v in a.items() if k in ("src", "href", "xlink:href", "action")]
        if tag == "svg" and "window-plot" in a.get("class", ""):
            self._plot = a["id"]
            self.plots[self._plot] = []
        elif self._plot is not None:
            self.plots[self._plot].append((tag, a))
            if tag == "text":
                self._text = []

    def handle_data(self, data: str) -> None:
        """Text of a plot's <text> element (axis labels)."""
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        """Close the plot or its text element."""
        if tag == "svg":
            self._plot = None
        elif tag == "text" and self._plot is not None and self._text is not None:
            self.plots[self._plot][-1][1]["_text"] = "".join(self._text)
            self._text = None


def _page(folder: Path) -> _Page:
    """The parsed report."""
    page = _Page()
    page.feed(_html(folder))
    return page


def test_report_is_self_contained_and_escaped(build: BuildFn) -> None:
    """No external resource; a scenario name and evidence holding markup are shown as text, never run."""
    folder = seal(build(fail=True))
    text = _html(folder)
    page = _page(folder)
    assert page.links, "expected relative links to the folder's files"
    for link in page.links:
        assert "://" not in link and not link.startswith("//"), f"external reference {link!r}"
    assert page.tags.count("script") == 1 and page.tags.count("style") == 1
    assert HOSTILE_SCENARIO not in text
    assert "Alice adds &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in text
    assert "<script>alert" not in text and "&lt;script&gt;alert(&#39;not run&#39;)" in text
    assert text.count('<details class="evidence">') == 4
    assert "n/a" not in text


def test_each_window_has_its_own_plot_with_the_fault_shaded_on_the_runs_clock(build: BuildFn) -> None:
    """One panel per window; read back through its own axis, the shading spans fault to recovered, then settle."""
    folder = seal(build(slow_recovery=True))
    windows = _json(folder)["availability"]["windows"]
    plots = _page(folder).plots
    assert sorted(plots) == [f"window-plot-{i}" for i in range(len(windows))]
    for i, w in enumerate(windows):
        elements = plots[f"window-plot-{i}"]
        ticks = [
            (float(a["x"]), float(a["_text"].removesuffix(" s")))
            for t, a in elements
            if a.get("_text", "")[-2:] == " s"
        ]
        (x1, t1), (x2, t2) = ticks[0], ticks[-1]

        def clock(x: float, x1: float = x1, t1: float = t1, x2: float = x2, t2: float = t2) -> float:
            """An x pixel back to run-clock seconds, from the axis labels alone."""
            return t1 + (x - x1) * (t2 - t1) / (x2 - x1)

        (fault,) = [a for t, a in elements if t == "rect" and a.get("class") == "fault"]
        (settle,) = [a for t, a in elements if t == "rect" and a.get("class") == "settle"]
        start, width = float(fault["x"]), float(fault["width"])
        assert clock(start) == pytest.approx(w["start_s"], abs=0.1)
        assert clock(start + width) == pytest.approx(w["recovered_s"], abs=0.1)
        assert clock(float(settle["x"]) + float(settle["width"])) == pytest.approx(w["end_s"], abs=0.1)
        failed = [a for t, a in elements if t == "rect" and a.get("class") == "failed"]
        assert bool(failed) == (w["failed"] > 0), (i, w["failed"])


def test_every_window_number_shows_its_budget_and_result(build: BuildFn) -> None:
    """Budgeted numbers show the budget and pass/FAIL; the others say 'no budget stated', never 'n/a'."""
    folder = seal(build(slow_recovery=True))
    text = _html(folder)
    second = text[text.index('id="window-1"') :].split('<svg class="window-plot"')[0]
    assert "<td>longest outage</td>" in second
    row = second[second.index("<td>longest outage</td>") :].split("</tr>")[0]
    assert "11.3 s" in row and "≤ 10 s" in row and "FAIL" in row
    assert 'data-result="failed"' in text[text.index('id="window-1"') - 80 :]
    first = text[text.index('id="window-0"') : text.index('id="window-1"')]
    assert "≥ 99%" in first and "no budget stated" in first and "Coverage: traffic ran from 8 s to 29 s" in first


def test_ledger_and_checks_are_shown(build: BuildFn) -> None:
    """Lost updates and resurrected deletes stand next to lost writes; every check is listed."""
    text = _html(seal(build(lost_updates=3)))
    assert '<td class="n alarm" data-count="lost_updates">3</td>' in text
    assert '<td class="n" data-count="resurrected">0</td>' in text
    assert "kit smoke test: nodes Ready, DNS, NodePort, volume, worker restart" in text
    assert "broken: database on an emptyDir" in text and "every stopped node started again" in text


def test_render_takes_a_run_or_its_json_and_refuses_other_versions(build: BuildFn) -> None:
    """The same page from a Run and from its results.json; schema 1 is refused as an older suite's."""
    res = build()
    run = res.build()
    data = run.model_dump(mode="json")
    assert render(run) == render(data)
    with pytest.raises(ResultsReadError, match="written by an older suite"):
        render({**data, "schema_version": 1})
    with pytest.raises(ResultsReadError, match="does not know that version"):
        render({**data, "schema_version": 3})


# -- secrets and files ---------------------------------------------------------------------------------------------
def test_canary_secret_and_its_base64_never_reach_any_file(build: BuildFn, canary: str) -> None:
    """Every file of the folder, including junit/cucumber written after finish(), is free of the canary."""
    res = build(fail=True)
    folder = seal(res)
    # pytest writes these after the session; the conftest then calls redact_folder again.
    (folder / "junit.xml").write_text(f'<testsuite><failure message="pw={canary}"/></testsuite>', encoding="utf-8")
    (folder / "cucumber.json").write_text(json.dumps([{"doc": base64.b64encode(canary.encode()).decode()}]))
    changed = redact_folder(folder, res.secrets)
    assert {p.name for p in changed} == {"junit.xml", "cucumber.json"}
    raw = canary.encode()
    forms = {
        raw,
        base64.b64encode(raw),
        base64.b64encode(raw).rstrip(b"="),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
        json.dumps("p&ss<wörd>\"quoted'").encode()[1:-1],
        "p&ss<wörd>".encode(),
        b"p&amp;ss&lt;w",
    }
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) >= 10, files  # the folder really holds json, html, logs, journals, evidence, ledger
    for path in files:
        data = path.read_bytes()
        for form in forms:
            assert form not in data, f"{form!r} leaked into {path.relative_to(folder)}"
    assert "***" in (folder / "logs/backend.log").read_text(encoding="utf-8")
    # Masking must not eat the evidence around it.
    assert "Access denied for user &#39;todo&#39; (***)" in _html(folder)


def test_kubeconfig_is_refused(tmp_path: Path) -> None:
    """add_file refuses a kubeconfig; one smuggled in by other code is removed at finish, loudly."""
    res = Results(root=tmp_path)
    with pytest.raises(KubeconfigRefusedError, match="looks like a kubeconfig"):
        res.add_file("kind-config.yaml", KUBECONFIG)
    with pytest.raises(KubeconfigRefusedError):
        res.add_file("evidence/cfg.json", json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": []}, indent=1))
    res.record_scenario(
        "Safety",
        "s",
        [{"name": "x", "outcome": "failed", "duration_s": 1}],
        "failed",
        1.0,
        {"kubeconfig": KUBECONFIG},
    )
    (res.path / "stray").mkdir()
    (res.path / "stray" / "config").write_text(KUBECONFIG, encoding="utf-8")
    with pytest.raises(KubeconfigRefusedError, match=r"stray/config"):
        res.finish(render=render)
    assert not (res.path / "stray" / "config").exists()
    for path in res.path.rglob("*"):
        if path.is_file():
            assert "certificate-authority-data" not in path.read_text(encoding="utf-8"), path


def test_files_cannot_escape_the_folder(tmp_path: Path) -> None:
    """Relative names only; the root comes from $TODO_E2E_RESULTS when not given."""
    res = Results(root=tmp_path)
    for bad in ("../x.txt", "/etc/x", "a/../../x"):
        with pytest.raises(ValueError, match="inside the folder"):
            res.add_file(bad, "x")


def test_results_root_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$TODO_E2E_RESULTS names the root; folders are <UTC timestamp>-<run id>."""
    monkeypatch.setenv("TODO_E2E_RESULTS", str(tmp_path / "from-env"))
    res = Results()
    assert res.path.parent == (tmp_path / "from-env").resolve()
    assert res.path.name.endswith(res.run_id) and res.path.name[8] == "T"


# -- the CLI -------------------------------------------------------------------------------------------------------
def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """python -m report from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "report", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_cli_rerenders_and_compares(build: BuildFn, tmp_path: Path) -> None:
    """`python -m report PATH` rewrites report.html; `--compare OTHER` says what changed (compare.md)."""
    good = seal(build(root=tmp_path / "a"))
    bad = seal(build(root=tmp_path / "b", fail=True, slow_recovery=True, lost=1))
    (good / "report.html").unlink()
    done = _run(str(good))
    assert done.returncode == 0, done.stderr
    assert ">ACCEPTED<" in _html(good)
    done = _run(str(bad), "--compare", str(good))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out == (bad / "compare.md").read_text(encoding="utf-8")
    assert "## Verdict: ACCEPTED -> REJECTED" in out
    assert "- exit code: 0 -> 10" in out
    assert f"- new: scenario failed: Pod loss / {FAILED_SCENARIO}" in out
    assert "| database pod kill | database | 60.00 | 4.00 -> 4.60 (+0.60) | 4.60 -> 61.50 (+56.90)" in out
    assert "pass -> FAIL" in out
    assert "| lost | 0 | 1 **changed** |" in out
    assert f"- Pod loss / {FAILED_SCENARIO}: absent -> failed" in out
    assert "longest_outage_s of database pod kill: pass (3.60) -> FAIL (11.30)" in out


def test_cli_refuses_missing_and_older_folders(build: BuildFn, tmp_path: Path) -> None:
    """A folder without results.json, or one written by an older suite (schema 1), is refused with the reason."""
    missing = _run(str(tmp_path))
    assert missing.returncode == 2 and "results.json not found" in missing.stderr
    old = tmp_path / "old"
    old.mkdir()
    (old / "results.json").write_text(json.dumps({"schema_version": 1, "verdict": "ACCEPTED"}), encoding="utf-8")
    good = seal(build(root=tmp_path / "a"))
    for args in ((str(old),), (str(good), "--compare", str(old))):
        done = _run(*args)
        assert done.returncode == 2, done
        assert "schema_version 1" in done.stderr and "written by an older suite" in done.stderr, done.stderr


def test_a_window_without_samples_or_recovery_still_has_its_panel(tmp_path: Path) -> None:
    """No recovery time: the fault is shaded to the window's end; no samples: the panel says so."""
    res = Results(root=tmp_path)
    res.scenario = "Reads through a worker stop"
    res.record_window(
        Window(fault="worker node stop", start_s=5.0, end_s=25.0, requests=0, failed=0, availability_pct=None,
               longest_outage_s=None, covered=False, coverage_problem="no traffic was recorded")
    )  # fmt: skip
    res.record_scenario("Node loss", res.scenario, [], "passed", 1.0)
    folder = seal(res)
    (plot,) = _page(folder).plots.values()
    (fault,) = [a for t, a in plot if t == "rect" and a.get("class") == "fault"]
    assert not [a for t, a in plot if t == "rect" and a.get("class") == "settle"]
    assert any(a.get("_text") == "no samples recorded for this window" for t, a in plot)
    text = _html(folder)
    assert "Not covered: no traffic was recorded" in text and 'data-result="failed"' in text
    assert float(fault["width"]) > 100  # 20 of the plot's ~21 seconds


def test_a_time_based_budget_is_not_shown_as_a_count_budget(tmp_path: Path) -> None:
    """check_window stores a time-based limit in min_availability_pct too; the page puts it on the time row only."""
    res = Results(root=tmp_path)
    res.scenario = "Reads through a worker stop"
    i = res.record_window(
        Window(fault="worker node stop", start_s=5.0, recovered_s=15.0, end_s=20.0, requests=100, failed=3,
               availability_pct=97.0, availability_time_pct=96.0, longest_outage_s=0.6)
    )  # fmt: skip
    res.check_window(i, "Then reads are available 95 % of the time", "availability_time_pct", ">=", 95.0, "%")
    res.record_scenario("Node loss", res.scenario, [], "passed", 1.0)
    text = _html(seal(res))
    rows = {r.split("</td>")[0]: r for r in text[text.index('id="window-0"') :].split("<svg")[0].split("<tr><td>")[1:]}
    assert "≥ 95%" in rows["availability (over time)"] and "pass" in rows["availability (over time)"]
    assert "no budget stated" in rows["availability (share of requests)"]


def test_a_slowest_request_budget_is_kept_on_the_window_and_shown(tmp_path: Path) -> None:
    """ "Every request answered within 5 seconds" is a budget on the window's slowest request, recorded and shown."""
    res = Results(root=tmp_path)
    res.scenario = "A back end cut off from its database answers promptly and recovers"
    i = res.record_window(
        Window(fault="back end cut off from the database", start_s=5.0, recovered_s=35.0, end_s=37.0, requests=300,
               failed=140, availability_pct=53.3, longest_outage_s=30.0, p50_latency_s=0.05, max_latency_s=6.2)
    )  # fmt: skip
    budget = res.check_window(i, "every request was answered within 5 seconds", "max_latency_s", "<=", 5.0, "s")
    assert (budget.metric, budget.limit, budget.measured, budget.passed) == ("max_latency_s", 5.0, 6.2, False)
    assert res.window(i).max_latency_allowed_s == 5.0 and res.window(i).passed is False
    res.record_scenario("Network", res.scenario, [], "failed", 1.0)
    text = _html(seal(res))
    rows = {r.split("</td>")[0]: r for r in text[text.index('id="window-0"') :].split("<svg")[0].split("<tr><td>")[1:]}
    assert "≤ 5 s" in rows["slowest request"] and "fail" in rows["slowest request"]
    assert "no budget stated" in rows["p50 latency"]
