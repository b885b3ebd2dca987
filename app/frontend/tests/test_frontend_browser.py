"""The single-page app works in real headless Chromium against a real back end, and shows API failures."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import requests
from browser import Browser, Page, chromium_path, launch
from frontend_harness import StartFrontend, free_port

pytestmark = pytest.mark.browser

ERROR_SHOWN = "!document.getElementById('error').hidden && document.getElementById('error').textContent"
IDLE = "document.body.dataset.busy === 'false'"


def item_state(page: Page, title: str) -> dict[str, str] | None:
    """The list item showing `title`: its id and completed flag, or None when absent."""
    value = page.evaluate(
        "(() => { const li = [...document.querySelectorAll('[data-testid=todo-item]')]"
        f".find(el => el.querySelector('[data-testid=todo-title]').textContent === {json.dumps(title)});"
        " return li ? {id: li.dataset.id, completed: li.dataset.completed} : null; })()"
    )
    return value if isinstance(value, dict) else None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    if chromium_path() is None:
        pytest.fail("chromium not found: apt-get install chromium")
    with launch() as browser:
        yield browser


@pytest.mark.mariadb
def test_add_complete_delete_in_the_browser(
    chromium: Browser, frontend_factory: StartFrontend, backend_server: str
) -> None:
    """A user adds a to-do, completes it and deletes it; the back end agrees at each step."""
    frontend = frontend_factory(backend_server.rstrip("/"))
    title = f"browser-{uuid.uuid4().hex[:8]}"
    page = chromium.new_page()
    page.goto(f"{frontend.url}/")
    page.wait_for("document.body.dataset.loaded === 'true' && " + IDLE, 10, "the list to load")

    page.type_text("#new-title", title)
    page.press_enter()
    page.wait_for(
        f"[...document.querySelectorAll('[data-testid=todo-title]')].some(e => e.textContent === {json.dumps(title)})",
        10,
        f"to-do {title!r} to appear",
    )
    state = item_state(page, title)
    assert state is not None and state["completed"] == "false"
    assert page.evaluate("document.getElementById('new-title').value") == "", "input not cleared after adding"
    stored = requests.get(f"{backend_server}/api/todos/{state['id']}", timeout=10).json()
    assert stored["title"] == title and stored["completed"] is False

    page.click(f"[data-testid=todo-item][data-id='{state['id']}'] [data-testid=todo-toggle]")
    page.wait_for(
        f"document.querySelector(\"[data-testid=todo-item][data-id='{state['id']}']\")?.dataset.completed === 'true'",
        10,
        f"to-do {title!r} to show as completed",
    )
    assert requests.get(f"{backend_server}/api/todos/{state['id']}", timeout=10).json()["completed"] is True

    page.click(f"[data-testid=todo-item][data-id='{state['id']}'] [data-testid=todo-delete]")
    page.wait_for(
        f"!document.querySelector(\"[data-testid=todo-item][data-id='{state['id']}']\") && " + IDLE,
        10,
        f"to-do {title!r} to disappear",
    )
    assert requests.get(f"{backend_server}/api/todos/{state['id']}", timeout=10).status_code == 404
    assert page.evaluate("document.getElementById('error').hidden") is True
    assert page.exceptions() == []


@pytest.mark.mariadb
def test_rejected_input_is_shown(chromium: Browser, frontend_factory: StartFrontend, backend_server: str) -> None:
    """A title the API rejects (too long) produces a visible alert with the server's reason."""
    frontend = frontend_factory(backend_server.rstrip("/"))
    page = chromium.new_page()
    page.goto(f"{frontend.url}/")
    page.wait_for("document.body.dataset.loaded === 'true' && " + IDLE, 10, "the list to load")
    page.type_text("#new-title", "x" * 201)
    page.click("#add-button")
    message = page.wait_for(ERROR_SHOWN, 10, "an error alert")
    assert "422" in message
    assert page.evaluate("document.getElementById('error').getAttribute('role')") == "alert"


def test_unreachable_back_end_is_shown(chromium: Browser, frontend_factory: StartFrontend) -> None:
    """With no back end behind the front end, the page says that loading failed instead of hanging."""
    frontend = frontend_factory(f"http://127.0.0.1:{free_port()}")
    page = chromium.new_page()
    page.goto(f"{frontend.url}/")
    message = page.wait_for(ERROR_SHOWN, 10, "an error alert")
    assert "502" in message and "back end unreachable" in message
    assert page.evaluate("document.querySelectorAll('[data-testid=todo-item]').length") == 0
