"""A minimal headless Chromium driver over the Chrome DevTools Protocol (no chromedriver, no Selenium)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
import websocket  # websocket-client: already a dependency of the kubernetes client the suite uses

from common.deadline import wait_for

__all__ = ["Browser", "BrowserError", "Page", "chromium_path", "launch"]

# Flags for a quiet, reproducible headless browser that only talks to the URLs a test opens.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # runs as root in CI and in containers, where the setuid sandbox is unavailable
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    "--metrics-recording-only",
    "--mute-audio",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",  # Chromium picks a free port and writes it to DevToolsActivePort
)


class BrowserError(RuntimeError):
    """Raised when Chromium cannot be driven (a page condition not met in time is common.deadline's WaitTimeout)."""


class ChromiumExited(BrowserError):
    """Chromium exited while the tests waited for it: waiting longer cannot help."""


def chromium_path() -> str | None:
    """Return the Chromium executable to use (CHROMIUM env var, else Debian's), or None when absent."""
    candidate = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if os.access(candidate, os.X_OK) else None


class Page:
    """One browser tab driven through its DevTools websocket."""

    def __init__(self, ws_url: str, command_timeout: float = 15.0) -> None:
        """Connect to the tab's debugger websocket."""
        # suppress_origin: Chromium rejects DevTools websockets that carry an Origin it was not told to allow.
        self._ws = websocket.create_connection(ws_url, timeout=command_timeout, suppress_origin=True)
        self._ids = itertools.count(1)
        self._timeout = command_timeout
        self.events: list[dict[str, Any]] = []
        self.send("Page.enable")
        self.send("Runtime.enable")

    def close(self) -> None:
        """Close the websocket."""
        with contextlib.suppress(Exception):
            self._ws.close()

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one CDP command and return its result, keeping events that arrive meanwhile."""
        message_id = next(self._ids)
        self._ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise BrowserError(f"CDP {method} failed: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)
        raise BrowserError(f"CDP {method} got no answer within {self._timeout}s")

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page (awaiting promises) and return its JSON value."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JavaScript error in {expression!r}: {text}")
        return result.get("result", {}).get("value")

    def goto(self, url: str, timeout: float = 15.0) -> None:
        """Open a URL and wait until the document has loaded."""
        result = self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise BrowserError(f"navigation to {url} failed: {result['errorText']}")
        self.wait_for("document.readyState === 'complete'", timeout, f"page {url} to load")

    def wait_for(self, predicate_js: str, timeout: float = 10.0, what: str | None = None) -> Any:
        """Poll a JavaScript expression until it is truthy; raise naming it, the budget and the last value."""
        return wait_for(lambda: self.evaluate(predicate_js), what=what or predicate_js, timeout=timeout, interval=0.1)

    def click(self, selector: str) -> None:
        """Click the centre of the first element matching a CSS selector with real mouse events."""
        box = self.evaluate(
            "(() => { const el = document.querySelector(" + json.dumps(selector) + ");"
            " if (!el) return null; el.scrollIntoView({block: 'center'});"
            " const r = el.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2,"
            " visible: r.width > 0 && r.height > 0}; })()"
        )
        if not box or not box["visible"]:
            raise BrowserError(f"cannot click {selector!r}: element {'hidden' if box else 'not found'}")
        for event in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=event, x=box["x"], y=box["y"], button="left", clickCount=1)

    def type_text(self, selector: str, text: str) -> None:
        """Focus an input and type text into it as keyboard input."""
        focused = self.evaluate(
            "(() => { const el = document.querySelector(" + json.dumps(selector) + ");"
            " if (!el) return false; el.focus(); return document.activeElement === el; })()"
        )
        if not focused:
            raise BrowserError(f"cannot type into {selector!r}: element not found or not focusable")
        self.send("Input.insertText", text=text)

    def press_enter(self) -> None:
        """Press and release the Enter key in the focused element."""
        for event in ("keyDown", "keyUp"):
            self.send(
                "Input.dispatchKeyEvent",
                type=event,
                key="Enter",
                code="Enter",
                windowsVirtualKeyCode=13,
                text="\r" if event == "keyDown" else "",
            )

    def text(self, selector: str) -> str | None:
        """Return the textContent of the first element matching a selector, or None."""
        value = self.evaluate(
            "(() => { const el = document.querySelector(" + json.dumps(selector) + ");"
            " return el ? el.textContent : null; })()"
        )
        return None if value is None else str(value)

    def exceptions(self) -> list[str]:
        """Return uncaught JavaScript exceptions seen so far."""
        return [
            str(e["params"]["exceptionDetails"].get("exception", {}).get("description", "?"))
            for e in self.events
            if e.get("method") == "Runtime.exceptionThrown"
        ]


class Browser:
    """A headless Chromium process with a throw-away profile."""

    def __init__(self, process: subprocess.Popen[bytes], workdir: Path, port: int) -> None:
        """Wrap a started Chromium process whose profile and log live in workdir."""
        self.process = process
        self.workdir = workdir
        self.port = port
        self._pages: list[Page] = []

    def new_page(self) -> Page:
        """Open a new tab and return its driver."""
        response = requests.put(f"http://127.0.0.1:{self.port}/json/new?about:blank", timeout=10)
        response.raise_for_status()
        page = Page(response.json()["webSocketDebuggerUrl"])
        self._pages.append(page)
        return page

    def close(self) -> None:
        """Close tabs, stop Chromium and its helpers (bounded) and delete the profile and log."""
        for page in self._pages:
            page.close()
        _stop_process_group(self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM Chromium's own process group, wait (bounded), then SIGKILL stragglers such as crashpad."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _wait_for_devtools_port(process: subprocess.Popen[bytes], profile: Path, log_path: Path) -> int:
    """Read the DevTools port Chromium wrote into its profile, within a bounded time."""
    marker = profile / "DevToolsActivePort"

    def port() -> int | None:
        """The port once Chromium wrote it; an exited Chromium fails at once (it will not come back)."""
        if process.poll() is not None:
            raise ChromiumExited(
                f"chromium exited with {process.returncode} before DevTools was up; log:\n"
                + log_path.read_text(errors="replace")[-2000:]
            )
        lines = marker.read_text().splitlines() if marker.exists() else []
        return int(lines[0]) if lines and lines[0].isdigit() else None

    return wait_for(
        port, what=f"chromium to write {marker} (log in {log_path})", timeout=30, interval=0.1, fatal=(ChromiumExited,)
    )


@contextlib.contextmanager
def launch(extra_flags: tuple[str, ...] = ()) -> Iterator[Browser]:
    """Start headless Chromium with a fresh profile and stop it afterwards."""
    executable = chromium_path()
    if executable is None:
        raise BrowserError("chromium not found (apt-get install chromium, or set CHROMIUM)")
    workdir = Path(tempfile.mkdtemp(prefix="chromium-"))
    profile, log_path = workdir / "profile", workdir / "chromium.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [executable, f"--user-data-dir={profile}", *CHROMIUM_FLAGS, *extra_flags, "about:blank"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so helpers it forks are stopped with it
        )
    browser: Browser | None = None
    try:
        port = _wait_for_devtools_port(process, profile, log_path)
        browser = Browser(process, workdir, port)
        yield browser
    finally:
        if browser is not None:
            browser.close()
        else:
            _stop_process_group(process)
            shutil.rmtree(workdir, ignore_errors=True)
