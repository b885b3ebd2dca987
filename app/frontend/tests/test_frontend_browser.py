"""The single-page app works in real headless Chromium against a real back end, and shows API failures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from frontend_harness import StartFrontend, free_port

# The suite's one browser facade: these are test tools like pytest itself, not code the app image ships.
from support.browser import Browser, TodoPage, browser_missing, save_into

pytestmark = pytest.mark.browser

ERROR_SHOWN = "!document.getElementById('error').hidden && document.getElementById('error').textContent"
IDLE = "document.body.dataset.busy === 'false'"
LOADED = "document.body.dataset.loaded === 'true' && " + IDLE
ITEM = "document.querySelector(`[data-testid=todo-item][data-id='${arguments[0]}']`)"


def item_state(browser: Browser, title: str) -> dict[str, str] | None:
    """The list item showing `title`: its id and completed flag, or None when absent."""
    value = browser.evaluate(
        "(() => { const li = [...document.querySelectorAll('[data-testid=todo-item]')]"
        ".find(el => el.querySelector('[data-testid=todo-title]').textContent === arguments[0]);"
        " return li ? {id: li.dataset.id, completed: li.dataset.completed} : null; })()",
        title,
    )
    return value if isinstance(value, dict) else None


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Browser]:
    """One headless Chromium per test; a failure inside it leaves evidence in tmp_path/browser-evidence."""
    missing = browser_missing()
    if missing is not None:
        pytest.fail(missing)
    with Browser(evidence=save_into(tmp_path / "browser-evidence")) as browser:
        yield browser


@pytest.mark.mariadb
def test_add_complete_delete_in_the_browser(
    chromium: Browser, frontend_factory: StartFrontend, backend_server: str
) -> None:
    """A user adds a to-do, completes it and deletes it; the back end agrees at each step."""
    frontend = frontend_factory(backend_server.rstrip("/"))
    title = f"browser-{uuid.uuid4().hex[:8]}"
    chromium.open(f"{frontend.url}/")
    chromium.wait(chromium.condition("the list to load", LOADED), 10)

    chromium.type_into("#new-title", title)
    chromium.press_enter()
    chromium.wait(
        chromium.condition(
            f"to-do {title!r} to appear",
            "[...document.querySelectorAll('[data-testid=todo-title]')].some(e => e.textContent === arguments[0])",
            title,
        ),
        10,
    )
    state = item_state(chromium, title)
    assert state is not None and state["completed"] == "false"
    assert chromium.evaluate("document.getElementById('new-title').value") == "", "input not cleared after adding"
    stored = requests.get(f"{backend_server}/api/todos/{state['id']}", timeout=10).json()
    assert stored["title"] == title and stored["completed"] is False

    chromium.click(f"[data-testid=todo-item][data-id='{state['id']}'] [data-testid=todo-toggle]")
    chromium.wait(
        chromium.condition(
            f"to-do {title!r} to show as completed", f"{ITEM}?.dataset.completed === 'true'", state["id"]
        ),
        10,
    )
    assert requests.get(f"{backend_server}/api/todos/{state['id']}", timeout=10).json()["completed"] is True

    chromium.click(f"[data-testid=todo-item][data-id='{state['id']}'] [data-testid=todo-delete]")
    chromium.wait(chromium.condition(f"to-do {title!r} to disappear", f"!{ITEM} && {IDLE}", state["id"]), 10)
    assert requests.get(f"{backend_server}/api/todos/{state['id']}", timeout=10).status_code == 404
    assert chromium.evaluate("document.getElementById('error').hidden") is True
    assert chromium.script_errors() == []


@pytest.mark.mariadb
def test_rejected_input_is_shown(chromium: Browser, frontend_factory: StartFrontend, backend_server: str) -> None:
    """A title the API rejects (too long) produces a visible alert with the server's reason."""
    frontend = frontend_factory(backend_server.rstrip("/"))
    chromium.open(f"{frontend.url}/")
    chromium.wait(chromium.condition("the list to load", LOADED), 10)
    chromium.type_into("#new-title", "x" * 201)
    chromium.click("#add-button")
    message = chromium.wait(chromium.condition("an error alert", ERROR_SHOWN), 10)
    assert "422" in message
    assert chromium.evaluate("document.getElementById('error').getAttribute('role')") == "alert"


def test_unreachable_back_end_is_shown(chromium: Browser, frontend_factory: StartFrontend) -> None:
    """With no back end behind the front end, the page says that loading failed instead of hanging."""
    frontend = frontend_factory(f"http://127.0.0.1:{free_port()}")
    chromium.open(f"{frontend.url}/")
    message = chromium.wait(chromium.condition("an error alert", ERROR_SHOWN), 10)
    assert "502" in message and "back end unreachable" in message
    assert chromium.evaluate("document.querySelectorAll('[data-testid=todo-item]').length") == 0


@pytest.mark.mariadb
def test_the_suites_page_object_drives_this_page(
    chromium: Browser, frontend_factory: StartFrontend, backend_server: str
) -> None:
    """The cluster scenarios' TodoPage (found by what a user sees) adds and completes a to-do on this page."""
    frontend = frontend_factory(backend_server.rstrip("/"))
    title = f"page-object-{uuid.uuid4().hex[:8]}"
    page = TodoPage(chromium, frontend.url)
    page.open()
    chromium.wait(chromium.condition("the list to load", LOADED), 10)
    page.add(title)
    page.wait_until_shown(title, 10, completed=False)
    page.complete(title)
    page.wait_until_shown(title, 10, completed=True)
    state = item_state(chromium, title)
    assert state is not None
    assert requests.get(f"{backend_server}/api/todos/{state['id']}", timeout=10).json()["completed"] is True
    assert chromium.script_errors() == []
