"""A user in a real browser: Debian's headless Chromium, driven over the DevTools protocol."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
import websocket

from support.app import check_address

__all__ = ["Browser", "BrowserError", "TodoPage"]

_CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",  # runs as root in CI containers, where the sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",  # no traffic beyond what the page itself asks for
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


class BrowserError(RuntimeError):
    """The browser could not start, navigate or act as asked."""


class Browser:
    """One headless Chromium process with one page, spoken to over its DevTools websocket."""

    def __init__(self, chromium: str | None = None, *, timeout: float = 30.0) -> None:
        # $TODO_E2E_CHROMIUM names another Chromium build (e.g. google-chrome on a hosted CI runner).
        self.chromium = chromium or os.environ.get("TODO_E2E_CHROMIUM", "chromium")
        self.timeout = timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._ws: websocket.WebSocket | None = None
        self._profile: Path | None = None
        self._next_id = 0

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Browser:
        """Launch Chromium and attach to its first page."""
        binary = shutil.which(self.chromium)
        if binary is None:
            raise BrowserError(f"{self.chromium!r} not found on PATH (Debian package 'chromium')")
        self._profile = Path(tempfile.mkdtemp(prefix="todo-e2e-chromium-"))
        self._proc = subprocess.Popen(
            [binary, *_CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if self._proc.poll() is not None:
                raise BrowserError(f"chromium exited with {self._proc.returncode} before opening DevTools")
            if time.monotonic() > deadline:
                raise BrowserError(f"chromium did not open DevTools within {self.timeout:g}s")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with requests.Session() as session:
            session.trust_env = False
            targets = session.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
        pages = [t for t in targets if t.get("type") == "page"]
        if not pages:
            raise BrowserError(f"chromium on port {port} has no page target: {targets}")
        # suppress_origin: Chromium refuses DevTools websockets that carry a foreign Origin header.
        self._ws = websocket.create_connection(
            pages[0]["webSocketDebuggerUrl"], timeout=self.timeout, suppress_origin=True
        )
        self.send("Page.enable")
        self.send("Runtime.enable")
        return self

    def close(self) -> None:
        """Close the page, stop Chromium (bounded) and remove the profile."""
        if self._ws is not None:
            try:
                self._ws.close()
            finally:
                self._ws = None
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
            self._proc = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def __enter__(self) -> Browser:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- protocol ----------------------------------------------------------------------------------
    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are skipped)."""
        if self._ws is None:
            raise BrowserError("browser not started")
        self._next_id += 1
        msg_id = self._next_id
        self._ws.send(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv())
            if message.get("id") != msg_id:
                continue
            if "error" in message:
                raise BrowserError(f"{method} failed: {message['error']}")
            result: dict[str, Any] = message.get("result", {})
            return result
        raise BrowserError(f"no answer to {method} within {self.timeout:g}s")

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page (promises awaited) and return its JSON value."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"script failed in the page: {text}")
        return result.get("result", {}).get("value")

    def open(self, url: str) -> None:
        """Navigate to url and wait until the document has loaded."""
        check_address(url)
        answer = self.send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise BrowserError(f"navigating to {url} failed: {answer['errorText']}")
        self.wait_js("document.readyState === 'complete'", f"page {url} loaded")

    def wait_js(self, expression: str, what: str, timeout: float | None = None) -> Any:
        """Poll a JavaScript expression until truthy (bounded), returning its value."""
        budget = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        last: Any = None
        while True:
            last = self.evaluate(expression)
            if last:
                return last
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out after {budget:g}s waiting for {what}; last value {last!r}")
            time.sleep(0.2)

    def text(self) -> str:
        """The page's visible text."""
        return str(self.evaluate("document.body ? document.body.innerText : ''"))


# The page is found by what a user sees (a text box, an item showing the title), not by the app's markup,
# so any front end that honours the contract can be driven.
_JS_HELPERS = r"""
const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
const itemOf = (title) => {
  const all = [...document.querySelectorAll('li, tr, [role=listitem], article, .todo, [data-id]')];
  const hits = all.filter((el) => visible(el) && el.innerText.split('\n').some((l) => l.trim() === title
                                                                             || l.includes(title)));
  hits.sort((a, b) => a.innerText.length - b.innerText.length);
  return hits[0] || null;
};
"""


def _scoped(body: str, title: str) -> str:
    """The helpers and the body in one block (so repeated evaluations never redeclare), TITLE filled in."""
    return "{" + _JS_HELPERS + body.replace("TITLE", json.dumps(title)) + "\n}"


class TodoPage:
    """The to-do page as a user works with it: type a title and add it, tick it done, read the list."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = check_address(base_url)

    def open(self) -> None:
        """Open the front end's start page."""
        self.browser.open(f"{self.base_url}/")

    def add(self, title: str) -> None:
        """Type the title into the page's text box and submit it."""
        script = _scoped(
            r"""
(() => {
  const boxes = [...document.querySelectorAll('input[type=text], input:not([type]), textarea')]
    .filter(visible);
  if (!boxes.length) return 'no text box on the page';
  const box = boxes[0];
  const setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(box), 'value').set;
  setter.call(box, TITLE);
  box.dispatchEvent(new Event('input', {bubbles: true}));
  box.dispatchEvent(new Event('change', {bubbles: true}));
  if (box.form) { box.form.requestSubmit(); return 'submitted'; }
  const button = [...document.querySelectorAll('button, input[type=submit]')]
    .filter(visible).find((b) => /add|create|save/i.test(b.innerText || b.value));
  if (!button) return 'no add button on the page';
  button.click();
  return 'submitted';
})()""",
            title,
        )
        outcome = self.browser.evaluate(script)
        if outcome != "submitted":
            raise BrowserError(f"could not add {title!r}: {outcome}")

    def complete(self, title: str) -> None:
        """Tick the to-do done (its checkbox, or a button saying complete/done)."""
        script = _scoped(
            r"""
(() => {
  const item = itemOf(TITLE);
  if (!item) return 'no item shows the title';
  const box = item.querySelector('input[type=checkbox]');
  if (box) { if (!box.checked) box.click(); return 'done'; }
  const button = [...item.querySelectorAll('button')]
    .find((b) => /complete|done|finish|toggle/i.test(b.innerText
                                                                                      + (b.title || '')));
  if (!button) return 'no checkbox or complete button in the item';
  button.click();
  return 'done';
})()""",
            title,
        )
        outcome = self.browser.evaluate(script)
        if outcome != "done":
            raise BrowserError(f"could not complete {title!r}: {outcome}")

    def shows(self, title: str) -> bool:
        """Whether an item showing the title is on the page."""
        return bool(self.browser.evaluate(_scoped("!!itemOf(TITLE)", title)))

    def shows_completed(self, title: str) -> bool:
        """Whether the item is shown as done (ticked box, a done/completed class, or struck through)."""
        script = _scoped(
            r"""
(() => {
  const item = itemOf(TITLE);
  if (!item) return false;
  const box = item.querySelector('input[type=checkbox]');
  if (box) return box.checked;
  const marked = [item, ...item.querySelectorAll('*')];
  return marked.some((el) => /done|complete/i.test(el.className || '')
                          || getComputedStyle(el).textDecorationLine.includes('line-through'));
})()""",
            title,
        )
        return bool(self.browser.evaluate(script))

    def wait_until_shown(self, title: str, timeout: float, completed: bool | None = None) -> None:
        """Wait (bounded) until the page shows the title, optionally in the given completion state."""
        expr = _scoped("!!itemOf(TITLE)", title)
        self.browser.wait_js(expr, f"the page to show {title!r}", timeout)
        if completed is not None:
            deadline = time.monotonic() + timeout
            while self.shows_completed(title) is not completed:
                if time.monotonic() > deadline:
                    raise BrowserError(f"{title!r} not shown as {'done' if completed else 'open'} after {timeout:g}s")
                time.sleep(0.2)
