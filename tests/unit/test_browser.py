"""The browser driver in real headless Chromium, against a small page served on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from support.browser import Browser, BrowserError, TodoPage

pytestmark = [
    pytest.mark.browser,
    # CI installs chromium (nox -s tests): there a missing browser must fail the run, not skip it.
    pytest.mark.skipif(
        shutil.which("chromium") is None and not os.environ.get("CI"), reason="Debian's chromium is not installed"
    ),
]

# A page shaped like any to-do front end: a form with a text box, a list of items with a checkbox each.
PAGE = b"""<!doctype html><html><body>
<form id="f"><input id="t" placeholder="What needs doing?"><button type="submit">Add</button></form>
<ul id="l"></ul>
<script>
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


class PageHandler(BaseHTTPRequestHandler):
    """Serves the page at every path."""

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        """The page."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)


@pytest.fixture
def site() -> Iterator[str]:
    """The page on an ephemeral loopback port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), PageHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_add_and_complete_like_a_user(site: str) -> None:
    """Type, submit, see it listed, tick it done; an unknown item cannot be completed."""
    with Browser(timeout=60) as browser:
        page = TodoPage(browser, site)
        page.open()
        page.add("Alice-1 Book the dentist")
        page.wait_until_shown("Alice-1 Book the dentist", 10)
        assert not page.shows_completed("Alice-1 Book the dentist")
        page.complete("Alice-1 Book the dentist")
        page.wait_until_shown("Alice-1 Book the dentist", 10, completed=True)
        with pytest.raises(BrowserError, match="no item shows the title"):
            page.complete("nobody's to-do")
