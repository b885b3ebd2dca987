"""The results folder: verdict rules, redaction, kubeconfig refusal, schema, HTML hygiene and the CLI."""

from __future__ import annotations

import base64
import html.parser
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from results_factory import FAILED_SCENARIO, ROOT, BuildFn

from support.results import (
    SCHEMA_VERSION,
    KubeconfigRefusedError,
    Results,
    classify_failure,
    redact_folder,
)

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


def test_failed_run_is_rejected_with_the_failed_scenario_named_first(build: BuildFn) -> None:
    """A run with one failed scenario, one exceeded budget and a lost write lists them in that order."""
    folder = build(fail=True, slow_recovery=True, lost=2).finish()
    data = _json(folder)
    assert data["verdict"] == "REJECTED"
    assert data["reasons"][0].startswith(f"scenario failed: Pod loss / {FAILED_SCENARIO}"), data["reasons"]
    assert "budget exceeded: database pod kill (database) recovery max 21.5 s > budget 20.0 s" in data["reasons"][1]
    assert (
        data["reasons"][2]
        == "budget exceeded: availability during database pod kill 61.82% available, longest outage 12.3 s"
    )
    assert data["reasons"][-1] == "ledger: 2 lost write(s)"
    html_text = (folder / "report.html").read_text(encoding="utf-8")
    # The banner comes first in the page and names the failed scenario before anything else.
    banner = html_text[html_text.index('id="verdict"') : html_text.index("</header>")]
    assert ">REJECTED<" in banner and FAILED_SCENARIO in banner


def test_passing_run_is_accepted(build: BuildFn) -> None:
    """The healthy run is ACCEPTED (so the REJECTED test above is not vacuous)."""
    res = build()
    # The synthetic database window states no budget, so it does not block acceptance; the pod-kill one holds.
    data = _json(res.finish())
    assert data["verdict"] == "ACCEPTED", data["reasons"]
    assert data["summary"] == {"passed": 2, "failed": 0, "skipped": 0, "total": 2}


def test_empty_run_is_not_accepted(build: BuildFn) -> None:
    """No scenarios at all is never an acceptance."""
    data = _json(build(empty=True).finish())
    assert data["verdict"] == "INCONCLUSIVE"
    assert "empty run" in data["reasons"][0]


def test_skipped_only_run_is_not_accepted(tmp_path: Path) -> None:
    """A run where every scenario was skipped is not an acceptance either."""
    res = Results(root=tmp_path)
    res.record_scenario("Node loss", "A worker is stopped", [], "skipped", 0.0)
    assert _json(res.finish())["verdict"] == "INCONCLUSIVE"


def test_infrastructure_failure_is_not_a_product_verdict(build: BuildFn) -> None:
    """Cluster creation failing yields INCONCLUSIVE, named as infrastructure, never REJECTED."""
    folder = build(infra=True).finish()
    data = _json(folder)
    assert data["verdict"] == "INCONCLUSIVE"
    assert data["reasons"][0].startswith("infrastructure failure: cluster: ERROR: failed to create cluster")
    assert data["scenarios"][0]["failure_class"] == "infrastructure"
    assert "INCONCLUSIVE" in (folder / "report.html").read_text(encoding="utf-8")


def test_product_failure_wins_over_infrastructure_noise(build: BuildFn) -> None:
    """A product failure stays REJECTED even if infrastructure also stumbled; the infra note comes after."""
    res = build(fail=True)
    res.record_infrastructure_failure("image-load", "ImageLoadError", "failed to load image todo-mysql")
    data = _json(res.finish())
    assert data["verdict"] == "REJECTED"
    assert data["reasons"][0].startswith("scenario failed:")
    assert data["reasons"][-1].startswith("infrastructure failure: image-load")


@pytest.mark.parametrize(
    ("exc", "message", "phase", "expected"),
    [
        ("RuntimeError", "anything", "cluster", "infrastructure"),
        ("CalledProcessError", "boom", "image-load", "infrastructure"),
        ("RuntimeError", "boom", "image build/load", "infrastructure"),
        ("RuntimeError", "boom", "cluster creation", "infrastructure"),
        ("RuntimeError", "boom", "deploy", "product"),
        ("AssertionError", "Error response from daemon in a log excerpt", "call", "product"),
        ("WaitTimeout", "replicas_ready(backend, 2) not true within 30 s", "call", "product"),
        ("DockerError", "docker stop failed", "call", "infrastructure"),
        (
            "CalledProcessError",
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock",
            "setup",
            "infrastructure",
        ),
        ("ApiException", "(500) Internal Server Error", "call", "product"),
        ("ConnectionError", "connection refused 127.0.0.1:30080", "setup", "product"),
    ],
)
def test_classify_failure_rules(exc: str, message: str, phase: str, expected: str) -> None:
    """Each documented rule, including the default that blames the product."""
    assert classify_failure(exc, message, phase) == expected


def test_canary_secret_and_its_base64_never_reach_any_file(build: BuildFn, canary: str) -> None:
    """Every file of the folder, including junit/cucumber written after finish(), is free of the canary."""
    res = build(fail=True)
    folder = res.finish()
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
    assert "Access denied for user &#x27;todo&#x27; (***)" in (folder / "report.html").read_text(encoding="utf-8")


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
        res.finish()
    assert not (res.path / "stray" / "config").exists()
    for path in res.path.rglob("*"):
        if path.is_file():
            assert "certificate-authority-data" not in path.read_text(encoding="utf-8"), path


def test_files_cannot_escape_the_folder(tmp_path: Path) -> None:
    """Relative names only."""
    res = Results(root=tmp_path)
    for bad in ("../x.txt", "/etc/x", "a/../../x"):
        with pytest.raises(ValueError, match="inside the folder"):
            res.add_file(bad, "x")


def test_schema_version_and_layout(build: BuildFn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """results.json has schema_version 1 and documented top-level keys; the root comes from the env."""
    monkeypatch.setenv("TODO_E2E_RESULTS", str(tmp_path / "from-env"))
    res = Results()
    assert res.path.parent == (tmp_path / "from-env").resolve()
    assert res.path.name.endswith(res.run_id) and res.path.name[8] == "T"
    data = _json(build(fail=True).finish())
    assert data["schema_version"] == SCHEMA_VERSION == 1
    doc = (ROOT / "docs/results-schema.md").read_text(encoding="utf-8")
    for key in data:
        assert f"`{key}`" in doc, f"top-level key {key!r} is not documented in docs/results-schema.md"
    rec = {(r["fault"], r["tier"]): r for r in data["recovery_summary"]}
    assert rec[("backend pod kill", "backend")] == {
        "fault": "backend pod kill", "tier": "backend", "n": 5, "p50": 3.1, "p95": 3.6, "max": 3.6,
        "budget_s": 5.0, "passed": True,
    }  # fmt: skip
    assert data["ledger"]["totals"]["ok"] == 398
    assert len(data["availability"]["samples"]) == 600


class _Links(html.parser.HTMLParser):
    """Collects every src/href attribute and every tag name."""

    def __init__(self) -> None:
        """Start empty."""
        super().__init__()
        self.links: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record the tag and its links."""
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action")]


def test_report_is_self_contained_and_escaped(build: BuildFn) -> None:
    """No external resource at all; hostile evidence text is escaped, not executed."""
    folder = build(fail=True).finish()
    text = (folder / "report.html").read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(text)
    assert parser.links, "expected relative links to the folder's files"
    for link in parser.links:
        assert "://" not in link and not link.startswith("//"), f"external reference {link!r}"
    assert parser.tags.count("script") == 1 and parser.tags.count("style") == 1
    assert "<script>alert" not in text and "&lt;script&gt;alert(&#x27;not run&#x27;)" in text
    assert "https://example.invalid/docs" in text  # present only as escaped text inside evidence
    assert text.count('<details class="evidence">') == 4
    assert '<svg id="availability-plot"' in text and "<rect " in text


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """python -m report from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "report", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_rerenders_and_compares(build: BuildFn, tmp_path: Path) -> None:
    """`python -m report PATH` rewrites report.html; `--compare OTHER` says what changed (compare.md)."""
    good = build(root=tmp_path / "a").finish()
    bad = build(root=tmp_path / "b", fail=True, slow_recovery=True, lost=1).finish()
    (good / "report.html").unlink()
    done = _run(str(good))
    assert done.returncode == 0, done.stderr
    assert "ACCEPTED" in (good / "report.html").read_text(encoding="utf-8")
    done = _run(str(bad), "--compare", str(good))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out == (bad / "compare.md").read_text(encoding="utf-8")
    assert "## Verdict: ACCEPTED -> REJECTED" in out
    assert f"- new: scenario failed: Pod loss / {FAILED_SCENARIO}" in out
    assert "| database pod kill | database | 20.00 | 4.60 -> 4.60 (+0.00) | 4.90 -> 21.50 (+16.60)" in out
    assert "pass -> FAIL" in out
    assert "| lost | 0 | 1 **changed** |" in out
    assert f"- Pod loss / {FAILED_SCENARIO}: absent -> failed" in out
    missing = _run(str(tmp_path))
    assert missing.returncode != 0 and "results.json not found" in missing.stderr
