"""The browser driver in real headless Chromium, against a small page served on 127.0.0.1."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from support.browser import Browser, BrowserError, TodoPage, browser_missing, save_into
from support.waits import Condition, WaitTimeout

pytestmark = [
    pytest.mark.browser,
    # CI installs chromium and chromium-driver (nox -s tests): there a missing browser must fail the run, not skip.
    pytest.mark.skipif(browser_missing() is not None and not os.environ.get("CI"), reason=str(browser_missing())),
]

# A page shaped like any to-do front end: a form with a text box, a list of items with a checkbox each.
PAGE = b"""<!doctype html><html><body>
<form id="f"><input id="t" placeholder="What needs doing?"><button type="submit">Add</button></form>
<ul id="l"></ul>
<script>
console.log('to-do page ready');
document.getElementById('f').addEventListener('submit', (e) => {
  e.preventDefault();
  const li = document.createElement('li');
  const box = document.createElement('input'); box.type = 'checkbox';
  box.addEventListener('change', () => { li.className = box.checked ? 'completed' : ''; });
  const span = document.createElement('span'); span.textContent = document.getElementById('t').value;
  li.append(box, span);
  setTimeout(() => document.getElementById('l').append(li), 200);  // as if the server answered later
});
</script></body></html>"""

# A page shaped like a board (the walk-through's): lists as labelled sections, an item finished by moving it to Done.
BOARD = b"""<!doctype html><html><body>
<form id="f"><label for="t">New item</label><input id="t"><button type="submit">Add</button></form>
<section aria-label="To Do"><h2>To Do</h2><ul aria-label="To Do items"></ul></section>
<section aria-label="Doing"><h2>Doing</h2><ul aria-label="Doing items"></ul></section>
<section aria-label="Done"><h2>Done</h2><ul aria-label="Done items"></ul></section>
<script>
const list = (name) => document.querySelector(`section[aria-label="${name}"] ul`);
function place(li, name) {
  li.querySelectorAll('button').forEach((b) => b.remove());
  for (const target of ['To Do', 'Doing', 'Done'].filter((t) => t !== name)) {
    const b = document.createElement('button'); b.type = 'button'; b.textContent = '\u2192 ' + target;
    b.addEventListener('click', () => setTimeout(() => place(li, target), 150));
    li.append(b);
  }
  list(name).append(li);
}
document.getElementById('f').addEventListener('submit', (e) => {
  e.preventDefault();
  const li = document.createElement('li');
  const span = document.createElement('span'); span.textContent = document.getElementById('t').value;
  li.append(span);
  setTimeout(() => place(li, 'To Do'), 200);
});
</script></body></html>"""
PAGES = {"/": PAGE, "/board": BOARD}


class PageHandler(BaseHTTPRequestHandler):
    """Serves the page at every path."""

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        """The page."""
        page = PAGES.get(self.path.rstrip("/") or "/", PAGE)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)


@pytest.fixture
def site() -> Iterator[str]:
    """The page on an ephemeral loopback port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), PageHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("path", ["", "/board"], ids=["list with checkboxes", "board with a Done list"])
def test_add_and_complete_like_a_user(site: str, path: str) -> None:
    """Type, submit, see it listed, tick it done (or move it to Done); an unknown item cannot be completed."""
    with Browser(timeout=60) as browser:
        page = TodoPage(browser, site + path)
        page.open()
        page.add("Alice-1 Book the dentist")
        page.wait_until_shown("Alice-1 Book the dentist", 10)
        assert not page.shows_completed("Alice-1 Book the dentist")
        page.complete("Alice-1 Book the dentist")
        page.wait_until_shown("Alice-1 Book the dentist", 10, completed=True)
        with pytest.raises(BrowserError, match="no item shows the title"):
            page.complete("nobody's to-do")


def test_a_failed_wait_leaves_evidence(site: str, tmp_path: Path) -> None:
    """A wait that runs out names what it waited for and leaves a screenshot, the console and the DOM."""
    with Browser(timeout=60, evidence=save_into(tmp_path)) as browser:
        page = TodoPage(browser, site)
        page.open()
        browser.run("setTimeout(() => { throw new Error('boom in the page'); }, 0);")
        errors = browser.wait(Condition("the page's error to reach the console", browser.script_errors), 10)
        assert any("boom in the page" in e for e in errors), errors
        with pytest.raises(WaitTimeout, match='the page to show "nobody\'s to-do"') as caught:
            page.wait_until_shown("nobody's to-do", 1)
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "boom in the page" in notes and "What needs doing?" not in notes, notes
    assert "page text (last 1500 chars):\nAdd" in notes, "the note carries the page's visible text"
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 3 and all(name in notes for name in files), (files, notes)
    png, console, dom = (next(tmp_path.glob(f"*-{kind}")) for kind in ("screenshot.png", "console.txt", "dom.html"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "to-do page ready" in console.read_text() and "boom in the page" in console.read_text()
    assert 'placeholder="What needs doing?"' in dom.read_text()


def test_a_failure_inside_the_block_leaves_evidence(site: str, tmp_path: Path) -> None:
    """Any exception inside `with Browser(...)` carries the page's evidence, written before the browser closes."""
    with (
        pytest.raises(AssertionError, match="the test's own check") as caught,
        Browser(timeout=60, evidence=save_into(tmp_path)) as browser,
    ):
        browser.open(site)
        raise AssertionError("the test's own check")
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert notes.count("browser evidence") == 1 and site in notes, notes
    assert sorted(p.name.split("-", 3)[-1] for p in tmp_path.iterdir()) == ["console.txt", "dom.html", "screenshot.png"]


def test_only_loopback_or_private_pages_are_opened() -> None:
    """The browser refuses a public address before any request leaves the host."""
    with Browser(timeout=60) as browser, pytest.raises(ValueError, match="neither loopback nor a private"):
        browser.open("http://93.184.216.34/")
