"""The report in Debian's headless Chromium: verdict visible without scrolling, evidence opens on a click.

What this proves: the page loads from file:// with no script error; in a 1280x800 window the verdict
banner, its verdict word and its first reason (the failed scenario) lie inside the first viewport and are
the topmost elements there (nothing covers them), and the inline CSS applied; the failed step's evidence
starts collapsed (its text is not visible), and a left click on its summary, dispatched by WebDriver as
pointer input events at the element's on-screen centre, opens it: the evidence text becomes visible and the block
grows. Two screenshots stay in the results folder: report-screenshot.png (first viewport) and
report-screenshot-expanded.png (evidence opened).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from results_factory import FAILED_SCENARIO, BuildFn, seal

from support.browser import Browser, browser_missing, save_into

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium() -> None:
    """Debian's Chromium and chromedriver, or a stated reason why this host cannot run the test."""
    missing = browser_missing()
    if missing is not None:
        if os.environ.get("CI"):  # CI installs them (nox -s tests): missing there is a failure, not a skip
            pytest.fail(missing)
        pytest.skip(missing)


@pytest.mark.usefixtures("chromium")
def test_report_in_headless_chromium(build: BuildFn, tmp_path: Path) -> None:
    """Verdict above the fold, evidence expandable by a click, screenshots kept with the results."""
    folder = seal(build(fail=True, slow_recovery=True, lost=1))
    report = folder / "report.html"
    # A failure inside the block leaves a screenshot, the console and the DOM in tmp_path/browser-evidence.
    with Browser(evidence=save_into(tmp_path / "browser-evidence")) as browser:
        browser.open(report.as_uri())
        assert not browser.script_errors(), f"script errors in the report: {browser.script_errors()}"
        view = browser.evaluate("{w: innerWidth, h: innerHeight, y: scrollY}")
        # A 1280x800 window leaves about 660 px of page below the (headless) browser frame, as on a screen.
        assert view["w"] == 1280 and 650 <= view["h"] <= 800 and view["y"] == 0, view
        banner = browser.evaluate(
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
        (folder / "report-screenshot.png").write_bytes(browser.screenshot())

        closed = browser.evaluate(
            """(() => {
              const d = document.querySelector('details.evidence');
              d.scrollIntoView({block: 'center'});
              return {open: d.open, shown: d.querySelector('pre').checkVisibility(),
                      h: d.getBoundingClientRect().height, label: d.querySelector('summary').innerText};
            })()"""
        )
        assert closed["open"] is False and closed["shown"] is False, closed
        assert closed["label"].startswith("Evidence: events"), closed
        browser.click("details.evidence summary")
        browser.wait(
            browser.condition("the evidence opened by the click", "document.querySelector('details.evidence').open"), 10
        )
        shown = browser.evaluate(
            """(() => { const d = document.querySelector('details.evidence'), p = d.querySelector('pre');
                        return {shown: p.checkVisibility(), h: d.getBoundingClientRect().height,
                                text: p.innerText}; })()"""
        )
        assert (
            shown["shown"] is True
            and shown["h"] > closed["h"] + 30
            and "Back-off restarting failed container" in shown["text"]
        ), shown
        (folder / "report-screenshot-expanded.png").write_bytes(browser.screenshot())
    for name in ("report-screenshot.png", "report-screenshot-expanded.png"):
        png = (folder / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, name
    # Keep a copy where a person can look at it after the run (pytest's tmp dirs rotate).
    keep = os.environ.get("TODO_E2E_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, Path(keep) / folder.name)
