"""A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (stdlib only, no port)."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from common.deadline import wait_for

CHROMIUM = "/usr/bin/chromium"
# Flags the project uses for Debian's Chromium as root in a container; no background traffic leaves the host.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)


class ChromiumPipe:
    """Chromium driven through fds 3 (commands in) and 4 (answers out), one page session at a time."""

    def __init__(self, user_data_dir: Path, timeout: float = 20.0) -> None:
        """Start Chromium with a fresh profile; every later call is bounded by timeout seconds."""
        self.timeout = timeout
        self._next_id = 0
        self._buf = b""
        self.events: list[dict[str, Any]] = []
        # A file, not a pipe: Chromium's chatter on stderr must never fill a buffer and stall it.
        self.log_path = user_data_dir.parent / "chromium-stderr.log"
        self._log = self.log_path.open("wb")
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()

        def _wire_fds() -> None:
            """In the child: put the pipe ends at fds 3 and 4, where Chromium expects them."""
            # Duplicate above 10 first, so dup2 to 3/4 cannot clobber an end that already sits there.
            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            preexec_fn=_wire_fds,
            pass_fds=(3, 4),
        )
        os.close(cmd_r)
        os.close(res_w)
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True) -> dict[str, Any]:
        """Send one command and return its result; raise on a protocol error or after the timeout."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read(deadline, method)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"CDP {method} failed: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result
            self.events.append(answer)

    def _read(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        """Read one NUL-terminated JSON message, bounded by the deadline."""
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._res_r], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"Chromium did not answer {waiting_for} within {self.timeout} s")
            chunk = os.read(self._res_r, 1 << 20)
            if not chunk:
                err = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"Chromium closed the pipe while waiting for {waiting_for}: {err}")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def open_page(self, url: str) -> None:
        """Open a new page, attach to it, and navigate to url once runtime errors are being collected."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)[
            "sessionId"
        ]
        self.send("Runtime.enable")
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'", what="page load")

    def eval(self, expression: str) -> Any:
        """Evaluate a JavaScript expression in the page and return its JSON value."""
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in res:
            raise RuntimeError(f"page script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 10.0) -> Any:
        """Poll a JavaScript condition until truthy, bounded; names what it waited for on timeout."""
        return wait_for(lambda: self.eval(expression), what=f"{what} ({expression!r})", timeout=timeout, interval=0.1)

    def click(self, x: float, y: float) -> None:
        """A real left click (pressed then released) at viewport coordinates."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, path: Path) -> None:
        """Save the current viewport as PNG."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """Ask Chromium to quit, then make sure the process is gone."""
        # It may already be gone; the kill below is the guarantee.
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", session=False)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self._cmd_w)
        os.close(self._res_r)
        self._log.close()

    def __enter__(self) -> ChromiumPipe:
        """Context manager entry."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Always close the browser."""
        self.close()
