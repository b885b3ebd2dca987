"""The report in Debian's headless Chromium: verdict visible without scrolling, evidence opens on a click.

What this proves: the page loads from file:// with no script error; in a 1280x800 window the verdict
banner, its verdict word and its first reason (the failed scenario) lie inside the first viewport and are
the topmost elements there (nothing covers them), and the inline CSS applied; the failed step's evidence
starts collapsed (its text is not visible), and a left click on its summary, dispatched as mouse input
events at the element's on-screen position, opens it: the evidence text becomes visible and the block
grows. Two screenshots stay in the results folder: report-screenshot.png (first viewport) and
report-screenshot-expanded.png (evidence opened).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from chromium_pipe import CHROMIUM, ChromiumPipe
from results_factory import FAILED_SCENARIO, BuildFn

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium, or a stated reason why this host cannot run the test."""
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):  # CI installs it (nox -s tests): missing there is a failure, not a skip
            pytest.fail(f"{CHROMIUM} is not installed (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


def test_report_in_headless_chromium(chromium: str, build: BuildFn, tmp_path: Path) -> None:
    """Verdict above the fold, evidence expandable by a click, screenshots kept with the results."""
    folder = build(fail=True, slow_recovery=True, lost=1).finish()
    report = folder / "report.html"
    with ChromiumPipe(tmp_path / "profile") as browser:
        browser.open_page(report.as_uri())
        errors = [e for e in browser.events if e.get("method") == "Runtime.exceptionThrown"]
        assert not errors, f"script errors in the report: {errors}"
        view = browser.eval("({w: innerWidth, h: innerHeight, y: scrollY})")
        # A 1280x800 window leaves about 710 px of page below the (headless) browser frame, as on a screen.
        assert view["w"] == 1280 and 650 <= view["h"] <= 800 and view["y"] == 0, view
        banner = browser.eval(
            """(() => {
              const b = document.getElementById('verdict'), h = b.querySelector('h1');
              const li = b.querySelector('li'), r = b.getBoundingClientRect();
              const hr = h.getBoundingClientRect(), lr = li.getBoundingClientRect();
              const top = document.elementFromPoint(hr.left + hr.width / 2, hr.top + hr.height / 2);
              const topLi = document.elementFromPoint(lr.left + 5, lr.top + lr.height / 2);
              return {top: r.top, bottom: r.bottom, verdict: h.innerText, reason: li.innerText,
                      reasonBottom: lr.bottom, h1Uncovered: h.contains(top),
                      reasonUncovered: li.contains(topLi),
                      color: getComputedStyle(b).backgroundImage};
            })()"""
        )
        assert banner["verdict"] == "REJECTED"
        assert FAILED_SCENARIO in banner["reason"], banner
        assert banner["top"] >= 0 and banner["bottom"] <= view["h"] and banner["reasonBottom"] <= view["h"], banner
        assert banner["h1Uncovered"] and banner["reasonUncovered"], banner
        assert "gradient" in banner["color"], "the banner lost its colour: the inline CSS did not apply"
        browser.screenshot(folder / "report-screenshot.png")

        closed = browser.eval(
            """(() => {
              const d = document.querySelector('details.evidence');
              d.scrollIntoView({block: 'center'});
              const s = d.querySelector('summary').getBoundingClientRect();
              return {open: d.open, shown: d.querySelector('pre').checkVisibility(),
                      h: d.getBoundingClientRect().height, x: s.left + 30,
                      y: s.top + s.height / 2, label: d.querySelector('summary').innerText};
            })()"""
        )
        assert closed["open"] is False and closed["shown"] is False, closed
        assert closed["label"].startswith("Evidence: events"), closed
        browser.click(closed["x"], closed["y"])
        browser.wait_for("document.querySelector('details.evidence').open", what="evidence opened by the click")
        shown = browser.eval(
            """(() => { const d = document.querySelector('details.evidence'), p = d.querySelector('pre');
                        return {shown: p.checkVisibility(), h: d.getBoundingClientRect().height,
                                text: p.innerText}; })()"""
        )
        assert (
            shown["shown"] is True
            and shown["h"] > closed["h"] + 30
            and "Back-off restarting failed container" in shown["text"]
        ), shown
        browser.screenshot(folder / "report-screenshot-expanded.png")
    for name in ("report-screenshot.png", "report-screenshot-expanded.png"):
        png = (folder / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, name
    # Keep a copy where a person can look at it after the run (pytest's tmp dirs rotate).
    keep = os.environ.get("TODO_E2E_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, Path(keep) / folder.name)
