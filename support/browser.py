"""A user in a real browser: Debian's headless Chromium, driven by Selenium through Debian's chromedriver."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import JavascriptException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from support.app import check_address
from support.waits import Condition, Pending, WaitTimeout, until

__all__ = [
    "Browser",
    "BrowserError",
    "EvidenceSink",
    "TodoPage",
    "browser_missing",
    "chromedriver_path",
    "chromium_path",
    "save_into",
]

# Debian's packages `chromium` and `chromium-driver`; $TODO_E2E_CHROMIUM / $TODO_E2E_CHROMEDRIVER name another
# matching pair (e.g. google-chrome and its driver on a hosted CI runner).
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

_CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # runs as root in CI containers, where the sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # /dev/shm is tiny in containers
    "--disable-background-networking",  # no traffic beyond what the page itself asks for
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",  # pages are on loopback or the cluster's private network: never through a proxy
)

# The page's window: the report test checks what is visible in a laptop-sized first viewport.
WINDOW = (1280, 800)

# Where a failed wait or test leaves a screenshot, the console and the DOM: (file name, content) -> anything.
EvidenceSink = Callable[[str, bytes | str], object]

_EVIDENCE_NOTE = "browser evidence"
_TEXT_TAIL = 1500


class BrowserError(RuntimeError):
    """The browser could not start, navigate or act as asked."""


def _resolve(env: str, default: str) -> str | None:
    """The executable named by $env (a path or a name on PATH), else default; None when not executable."""
    named = os.environ.get(env)
    candidate = (shutil.which(named) or named) if named else default
    return candidate if os.access(candidate, os.X_OK) else None


def chromium_path() -> str | None:
    """The Chromium to drive ($TODO_E2E_CHROMIUM, else Debian's), or None when it is not installed."""
    return _resolve("TODO_E2E_CHROMIUM", CHROMIUM)


def chromedriver_path() -> str | None:
    """The chromedriver matching it ($TODO_E2E_CHROMEDRIVER, else Debian's), or None when not installed."""
    return _resolve("TODO_E2E_CHROMEDRIVER", CHROMEDRIVER)


def browser_missing() -> str | None:
    """Why this host cannot drive a browser (naming the Debian packages), or None when it can."""
    missing = [
        f"{what} ({package})"
        for what, package, path in (
            ("chromium", "chromium", chromium_path()),
            ("chromedriver", "chromium-driver", chromedriver_path()),
        )
        if path is None
    ]
    if not missing:
        return None
    return f"not installed: {', '.join(missing)}; apt-get install chromium chromium-driver"


def save_into(folder: Path) -> EvidenceSink:
    """An evidence sink writing files into folder (created when first needed)."""

    def write(name: str, content: bytes | str) -> Path:
        """Write one evidence file."""
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return target

    return write


def _safe_url(url: str) -> str:
    """Return url when the suite may open it: a local file, about:blank, or http(s) on loopback/private."""
    scheme = urlsplit(url).scheme
    if scheme == "file" or url == "about:blank":
        return url
    check_address(url)
    return url


class Browser:
    """One headless Chromium with one page, driven by Selenium; a throw-away profile, removed on close."""

    def __init__(self, *, timeout: float = 30.0, evidence: EvidenceSink | None = None) -> None:
        """timeout bounds starting, page loads and scripts; evidence receives files when something fails."""
        self.timeout = timeout
        self.evidence = evidence
        self.console: list[dict[str, Any]] = []
        self._driver: webdriver.Chrome | None = None
        self._workdir: Path | None = None
        self._captures = 0

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Browser:
        """Start chromedriver and Chromium with a fresh profile."""
        reason = browser_missing()
        chromium, chromedriver = chromium_path(), chromedriver_path()
        if reason is not None or chromium is None or chromedriver is None:
            raise BrowserError(f"cannot start a browser: {reason}")
        # Both paths are given, so Selenium Manager is never asked to find (or download) anything. Should a
        # future Selenium consult it anyway, these keep it from the network (the manager reads them; the
        # Python bindings do not).
        os.environ.setdefault("SE_OFFLINE", "true")
        os.environ.setdefault("SE_AVOID_STATS", "true")
        self._workdir = Path(tempfile.mkdtemp(prefix="todo-e2e-chromium-"))
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in (*_CHROMIUM_FLAGS, f"--window-size={WINDOW[0]},{WINDOW[1]}"):
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._workdir / 'profile'}")
        # The page's console (messages and uncaught exceptions), read back through get_log("browser").
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # Selenium talks to chromedriver on 127.0.0.1: a proxy from the environment must not sit in between.
        options.ignore_local_proxy_environment_variables()
        log_path = self._workdir / "chromedriver.log"
        service = Service(executable_path=chromedriver, log_output=str(log_path))
        try:
            self._driver = webdriver.Chrome(options=options, service=service)
        except WebDriverException as exc:
            log = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
            self.close()
            raise BrowserError(f"chromedriver could not start {chromium}: {exc.msg}\n{log}") from exc
        self._driver.set_page_load_timeout(self.timeout)
        self._driver.set_script_timeout(self.timeout)
        return self

    def close(self) -> None:
        """Quit the browser and chromedriver, and remove the profile."""
        if self._driver is not None:
            try:
                self._driver.quit()
            finally:
                self._driver = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Browser:
        """Start the browser."""
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Leave evidence of a failure inside the block, then always close."""
        try:
            if isinstance(exc, Exception):
                self.attach_evidence(exc, "failure")
        finally:
            self.close()

    @property
    def _webdriver(self) -> webdriver.Chrome:
        """The running Selenium driver (kept inside the facade: callers use the methods below)."""
        if self._driver is None:
            raise BrowserError("browser not started")
        return self._driver

    # -- the page ----------------------------------------------------------------------------------
    def open(self, url: str) -> None:
        """Navigate to url and wait until the document has loaded (Selenium's normal page-load strategy)."""
        try:
            self._webdriver.get(_safe_url(url))
        except WebDriverException as exc:
            raise BrowserError(f"opening {url} failed: {exc.msg}") from exc

    def run(self, body: str, *args: Any) -> Any:
        """Run a JavaScript function body in the page (arguments[i] are args) and return its result."""
        try:
            return self._webdriver.execute_script(body, *args)
        except JavascriptException as exc:
            raise BrowserError(f"script failed in the page: {exc.msg}") from exc

    def evaluate(self, expression: str, *args: Any) -> Any:
        """The value of one JavaScript expression in the page (arguments[i] are args)."""
        return self.run(f"return ({expression});", *args)

    def text(self) -> str:
        """The page's visible text."""
        return str(self.evaluate("document.body ? document.body.innerText : ''"))

    def element(self, css: str) -> WebElement:
        """The first element matching a CSS selector."""
        found = self._webdriver.find_elements(By.CSS_SELECTOR, css)
        if not found:
            raise BrowserError(f"no element matches {css!r} on {self._webdriver.current_url}")
        return found[0]

    def click(self, target: str | WebElement) -> None:
        """A real left click (pointer events at the element's centre, scrolled into view) on an element."""
        element = self.element(target) if isinstance(target, str) else target
        try:
            element.click()
        except WebDriverException as exc:
            raise BrowserError(f"cannot click {target!r}: {exc.msg}") from exc

    def type_into(self, target: str | WebElement, text: str) -> None:
        """Focus an input and type text into it as key presses."""
        element = self.element(target) if isinstance(target, str) else target
        try:
            element.send_keys(text)
        except WebDriverException as exc:
            raise BrowserError(f"cannot type into {target!r}: {exc.msg}") from exc

    def press_enter(self) -> None:
        """Press Enter in the focused element."""
        self._webdriver.switch_to.active_element.send_keys(Keys.ENTER)

    def screenshot(self) -> bytes:
        """The current viewport as PNG."""
        return self._webdriver.get_screenshot_as_png()

    # -- waiting -----------------------------------------------------------------------------------
    def condition(self, what: str, expression: str, *args: Any) -> Condition:
        """A named condition: the JavaScript expression is truthy in the page (its value is returned)."""
        return Condition(what, lambda: self.evaluate(expression, *args))

    def wait(self, cond: Condition, timeout: float, interval: float = 0.2) -> Any:
        """Wait (bounded) until cond holds and return its value; on timeout leave evidence and re-raise."""
        try:
            return until(cond, timeout, interval)
        except WaitTimeout as exc:
            self.attach_evidence(exc, cond.name)
            raise

    # -- evidence ----------------------------------------------------------------------------------
    def console_messages(self) -> list[str]:
        """Every console entry seen so far ("LEVEL source message"), including uncaught exceptions."""
        if self._driver is not None:
            # get_log drains chromedriver's buffer, so keep what it returned for later readers
            # (Selenium leaves get_log unannotated).
            entries: list[dict[str, Any]] = self._driver.get_log("browser")  # type: ignore[no-untyped-call]
            self.console.extend(entries)
        return [f"{e.get('level')} {e.get('source', '?')} {e.get('message')}" for e in self.console]

    def script_errors(self) -> list[str]:
        """Uncaught JavaScript exceptions seen so far (not failed requests, which a page may show on purpose)."""
        self.console_messages()
        return [
            str(e.get("message"))
            for e in self.console
            if e.get("level") == "SEVERE" and e.get("source") == "javascript"
        ]

    def capture_evidence(self, label: str) -> list[str]:
        """Hand a screenshot, the console and the DOM to the evidence sink; return the names written."""
        if self.evidence is None or self._driver is None:
            return []
        self._captures += 1
        stem = f"browser-{self._captures:02d}-{''.join(c if c.isalnum() else '-' for c in label)[:60]}"
        parts: list[tuple[str, Callable[[], bytes | str]]] = [
            (f"{stem}-screenshot.png", self.screenshot),
            (f"{stem}-console.txt", lambda: "\n".join(self.console_messages()) + "\n"),
            (f"{stem}-dom.html", lambda: str(self.evaluate("document.documentElement.outerHTML"))),
        ]
        written: list[str] = []
        for name, produce in parts:
            try:
                self.evidence(name, produce())
                written.append(name)
            except Exception as exc:  # evidence is best effort: it must never hide the failure itself
                with contextlib.suppress(Exception):
                    self.evidence(f"{name}.error.txt", f"could not capture: {exc!r}\n")
        return written

    def attach_evidence(self, exc: BaseException, label: str) -> None:
        """Add the page's URL, script errors, text and evidence file names to exc (once per exception)."""
        if self._driver is None or any(_EVIDENCE_NOTE in n for n in getattr(exc, "__notes__", [])):
            return
        try:
            url = self._driver.current_url
            text = self.text()[-_TEXT_TAIL:]
            errors = self.script_errors()
            files = self.capture_evidence(label)
        except Exception as err:  # the browser may be the thing that broke
            exc.add_note(f"{_EVIDENCE_NOTE}: none, the browser did not answer ({err!r})")
            return
        exc.add_note(
            f"{_EVIDENCE_NOTE} at {url}: script errors {errors or 'none'}; files {files or 'none (no sink)'}\n"
            f"page text (last {_TEXT_TAIL} chars):\n{text}"
        )


# The page is found by what a user sees (a text box, an item showing the title), not by the app's markup,
# so any front end that honours the contract can be driven. Function declarations, so every script reuses them.
_JS_HELPERS = r"""
function visible(el) { return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length); }
function itemOf(title) {
  const all = [...document.querySelectorAll('li, tr, [role=listitem], article, .todo, [data-id]')];
  const hits = all.filter((el) => visible(el) && el.innerText.split('\n').some((l) => l.trim() === title
                                                                             || l.includes(title)));
  hits.sort((a, b) => a.innerText.length - b.innerText.length);
  return hits[0] || null;
}
function isDone(item) {
  // The state the page rendered from the server wins over a box the user just ticked (still being saved).
  if (item.dataset && item.dataset.completed !== undefined) return item.dataset.completed === 'true';
  const box = item.querySelector('input[type=checkbox]');
  if (box) return box.checked;
  // A board shows a finished item by where it is: in the list (column) named Done or Completed.
  const column = item.parentElement && item.parentElement.closest('[aria-label], section');
  const heading = column && column.querySelector('h1, h2, h3');
  const named = column && (column.getAttribute('aria-label') || (heading && heading.innerText) || '');
  if (named && /^\s*(done|completed?)\b/i.test(named)) return true;
  return [item, ...item.querySelectorAll('*')].some((el) => /done|complete/i.test(el.className || '')
                                   || getComputedStyle(el).textDecorationLine.includes('line-through'));
}
"""


class TodoPage:
    """The to-do page as a user works with it: type a title and add it, tick it done, read the list."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        """The page of the front end at base_url, in browser."""
        self.browser = browser
        self.base_url = check_address(base_url)

    def open(self) -> None:
        """Open the front end's start page."""
        self.browser.open(f"{self.base_url}/")

    def _find(self, body: str, title: str) -> WebElement | str:
        """Run a helper script that returns the element to act on, or a sentence saying why there is none."""
        found = self.browser.run(_JS_HELPERS + body, title)
        return found if isinstance(found, WebElement) else str(found)

    def add(self, title: str) -> None:
        """Type the title into the page's text box and press its add button (or Enter), as a user does: only once
        the box and the button can be used (an app still loading shows them disabled)."""
        box = self._usable(
            f"a text box to type {title!r} into",
            r"""
const boxes = [...document.querySelectorAll('input[type=text], input:not([type]), textarea')].filter(visible);
const box = boxes.find((b) => !b.disabled && !b.readOnly);
return box || (boxes.length ? 'the text box is disabled' : 'no text box on the page');""",
            title,
        )
        box.clear()
        self.browser.type_into(box, title)
        button = self._find(
            r"""
const box = document.activeElement;
const inForm = box && box.form ? [...box.form.querySelectorAll('button, input[type=submit]')] : [];
const anywhere = [...document.querySelectorAll('button, input[type=submit]')];
const button = [...inForm, ...anywhere].filter(visible)
  .find((b) => (b.type === 'submit' && inForm.includes(b)) || /add|create|save/i.test(b.innerText || b.value));
return button || 'no add button on the page';""",
            title,
        )
        if isinstance(button, str):
            self.browser.press_enter()  # a form without a button still submits on Enter
            return
        if not button.is_enabled():
            self._usable(
                f"the add button for {title!r} to be enabled",
                "return arguments[1].disabled ? 'the add button is disabled' : arguments[1];",
                title,
                button,
            )
        self.browser.click(button)

    def _usable(self, what: str, body: str, *args: Any) -> WebElement:
        """Wait (bounded by the browser's timeout) until the helper script returns an element, not a reason."""

        def check() -> WebElement | Pending:
            found = self.browser.run(_JS_HELPERS + body, *args)
            return found if isinstance(found, WebElement) else Pending(what, str(found))

        element: WebElement = self.browser.wait(Condition(what, check), self.browser.timeout)
        return element

    def complete(self, title: str) -> None:
        """Tick the to-do done (its checkbox, or a button saying complete/done)."""
        control = self._find(
            r"""
const item = itemOf(arguments[0]);
if (!item) return 'no item shows the title';
const box = item.querySelector('input[type=checkbox]');
if (box) return box.checked ? 'already done' : box;
const button = [...item.querySelectorAll('button')]
  .find((b) => /complete|done|finish|toggle/i.test(b.innerText + (b.title || '')));
return button || 'no checkbox or complete button in the item';""",
            title,
        )
        if isinstance(control, str):
            if control == "already done":
                return
            raise BrowserError(f"could not complete {title!r}: {control}")
        self.browser.click(control)

    def _state(self, title: str) -> dict[str, Any] | None:
        """{done: bool} for the item showing the title, or None when no item shows it."""
        state = self.browser.run(
            _JS_HELPERS + "const item = itemOf(arguments[0]); return item ? {done: isDone(item)} : null;", title
        )
        return state if isinstance(state, dict) else None

    def shows(self, title: str) -> bool:
        """Whether an item showing the title is on the page."""
        return self._state(title) is not None

    def shows_completed(self, title: str) -> bool:
        """Whether the item is shown as done (ticked box, a done/completed class, or struck through)."""
        state = self._state(title)
        return bool(state and state["done"])

    def shown(self, title: str, completed: bool | None = None, reload_every: float | None = None) -> Condition:
        """The page shows the title (in the given completion state); optionally reloading as a user would."""
        wanted = "" if completed is None else " as done" if completed else " as open"
        reloads = "" if reload_every is None else f" (reloading every {reload_every:g}s)"
        loaded = [time.monotonic()]

        def check() -> dict[str, Any] | Pending:
            """The item's state when it matches; else reload when due and say what is missing."""
            state = self._state(title)
            if state is not None and (completed is None or state["done"] is completed):
                return state
            if reload_every is not None and time.monotonic() - loaded[0] >= reload_every:
                self.open()
                loaded[0] = time.monotonic()
            return Pending(f"an item showing {title!r}{wanted}", state)

        return Condition(f"the page to show {title!r}{wanted}{reloads}", check)

    def wait_until_shown(
        self, title: str, timeout: float, completed: bool | None = None, reload_every: float | None = None
    ) -> None:
        """Wait (bounded) until the page shows the title, optionally in the given completion state."""
        self.browser.wait(self.shown(title, completed, reload_every), timeout)
