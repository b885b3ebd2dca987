"""The walk-through's front end: the real Angular build in headless Chromium (Selenium) against the real back end."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from app.testsupport import free_port
from app.walkthrough.build import FRONTEND

ENTRYPOINT = FRONTEND / "frontend-entrypoint.sh"

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

    from app.walkthrough.testsupport import Board, Frontend  # types only; fixtures from the conftest files

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
# Quiet and reproducible: the browser talks only to the URLs a test opens.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # runs as root in CI and in containers, where the setuid sandbox is unavailable
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)
UI_BUDGET = 15.0
LISTS = "{ lists { id name items { id name listId } } }"


def unique(prefix: str = "item") -> str:
    """A name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    """Headless Chromium via Debian's chromedriver (both paths explicit: Selenium Manager downloads nothing)."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        reason = f"Chromium/chromedriver not found ({CHROMIUM}, {CHROMEDRIVER}): `apt-get install chromium-driver`"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def page(board: Board, frontend_factory: Callable[[str], Frontend]) -> Frontend:
    """The built front end, its SERVER_URI the back end's host:port as the article's ConfigMap gives it."""
    return frontend_factory(board.url.removeprefix("http://"))


def wait(browser: WebDriver, what: str, condition: Callable[[WebDriver], Any]) -> Any:
    """Selenium's bounded wait, with a message naming what was awaited and the page's status line."""
    from selenium.webdriver.support.ui import WebDriverWait

    def status(d: WebDriver) -> str:
        from selenium.webdriver.common.by import By

        found = d.find_elements(By.ID, "status")
        return found[0].text if found else "<no status element>"

    try:
        return WebDriverWait(browser, UI_BUDGET, poll_frequency=0.2).until(condition)
    except Exception as error:
        raise AssertionError(f"waited {UI_BUDGET:.0f}s for {what}; page status: {status(browser)!r}") from error


def shown(by: str, selector: str) -> Callable[[WebDriver], bool]:
    """A wait condition: some element matches the selector."""
    return lambda d: bool(d.find_elements(by, selector))


def moved(item: str, source: str, target: str) -> Callable[[WebDriver], bool]:
    """A wait condition: the item is in the target list and no longer in the source list."""
    return lambda d: item_in(d, target, item) and not item_in(d, source, item)


def item_in(browser: WebDriver, list_name: str, item: str) -> bool:
    """Whether the list section named `list_name` shows an item named `item`."""
    from selenium.webdriver.common.by import By

    return bool(browser.find_elements(By.CSS_SELECTOR, f'section[aria-label="{list_name}"] li[aria-label="{item}"]'))


def board_items(board: Board) -> dict[str, str]:
    """Item name -> list name, as the back end has them."""
    data = board.gql(LISTS)["lists"]
    return {item["name"]: entry["name"] for entry in data for item in entry["items"]}


def open_board(browser: WebDriver, frontend: Frontend) -> None:
    """Load the page and wait until the three lists are shown."""
    from selenium.webdriver.common.by import By

    browser.get(frontend.url + "/")
    for name in ("To Do", "Doing", "Done"):
        wait(browser, f'the "{name}" list', shown(By.CSS_SELECTOR, f'[aria-label="{name}"]'))


def add_item(browser: WebDriver, name: str) -> None:
    """Type a name and press Add; wait until it shows in "To Do"."""
    from selenium.webdriver.common.by import By

    field = browser.find_element(By.ID, "new-item")
    field.clear()
    field.send_keys(name)
    browser.find_element(By.ID, "add-item").click()
    wait(browser, f'"{name}" in To Do', lambda d: item_in(d, "To Do", name))


@pytest.mark.browser
@pytest.mark.mariadb
def test_add_move_and_delete_an_item(driver: WebDriver, page: Frontend, board: Board) -> None:
    """A user adds an item (it lands in To Do), moves it to Doing and then Done, and deletes it."""
    from selenium.webdriver.common.by import By

    name = unique()
    open_board(driver, page)
    add_item(driver, name)
    assert board_items(board).get(name) == "To Do"
    for target, source in (("Doing", "To Do"), ("Done", "Doing")):
        driver.find_element(By.CSS_SELECTOR, f'button[aria-label="Move {name} to {target}"]').click()
        wait(
            driver,
            f'"{name}" moved to {target}',
            moved(name, source, target),
        )
        assert board_items(board).get(name) == target
    driver.find_element(By.CSS_SELECTOR, f'button[aria-label="Delete {name}"]').click()
    wait(driver, f'"{name}" gone', lambda d: not item_in(d, "Done", name))
    assert name not in board_items(board)


@pytest.mark.browser
@pytest.mark.mariadb
def test_items_survive_a_reload_and_name_the_replica(driver: WebDriver, page: Frontend, board: Board) -> None:
    """What a user added is still there after a reload (it lives in the database); the page names the replica."""
    from selenium.webdriver.common.by import By

    name = unique()
    open_board(driver, page)
    add_item(driver, name)
    open_board(driver, page)
    wait(driver, f'"{name}" after a reload', lambda d: item_in(d, "To Do", name))
    served_by = driver.find_element(By.ID, "served-by").text
    assert served_by == f"Served by {board.hostname}"


@pytest.mark.browser
@pytest.mark.mariadb
def test_an_item_added_elsewhere_shows_on_refresh(driver: WebDriver, page: Frontend, board: Board) -> None:
    """Another user's item (added through the API) appears when the page is refreshed."""
    from selenium.webdriver.common.by import By

    open_board(driver, page)
    todo = next(e["id"] for e in board.gql(LISTS)["lists"] if e["name"] == "To Do")
    name = unique("elsewhere")
    board.gql("mutation($i: CreateItemInput!) { createItem(input: $i) { id } }", {"i": {"name": name, "listId": todo}})
    driver.find_element(By.ID, "refresh").click()
    wait(driver, f'"{name}" after Refresh', lambda d: item_in(d, "To Do", name))


@pytest.mark.browser
@pytest.mark.mariadb
def test_an_unreachable_back_end_is_reported(driver: WebDriver, frontend_factory: Callable[[str], Frontend]) -> None:
    """With SERVER_URI pointing nowhere the page says it cannot reach the back end, and where it tried."""
    from selenium.webdriver.common.by import By

    nowhere = f"127.0.0.1:{free_port()}"
    frontend = frontend_factory(nowhere)
    driver.get(frontend.url + "/")
    status = wait(
        driver, "an error in the status line", lambda d: d.find_element(By.ID, "status").text.startswith("Error")
    )
    assert status
    assert nowhere in driver.find_element(By.ID, "status").text


@pytest.mark.mariadb
def test_config_js_carries_server_uri(page: Frontend, board: Board) -> None:
    """The entrypoint writes SERVER_URI into config.js, served uncached; the page loads it before the app."""
    config = requests.get(f"{page.url}/config.js", timeout=5)
    assert config.status_code == 200
    assert board.url.removeprefix("http://") in config.text
    assert "no-store" in config.headers.get("Cache-Control", "")
    index = requests.get(f"{page.url}/", timeout=5).text
    assert index.index('src="config.js"') < index.index("main-"), "config.js must load before the app bundle"
    # Client-side routes fall back to the app.
    assert requests.get(f"{page.url}/some/route", timeout=5).text == index


@pytest.mark.parametrize(
    ("server_uri", "message"),
    [(None, "SERVER_URI is not set"), ('evil";alert(1)//', "must be host[:port]")],
)
def test_entrypoint_refuses_a_bad_server_uri(tmp_path: Path, server_uri: str | None, message: str) -> None:
    """A missing or unsafe SERVER_URI stops the container at once with the reason (exit 64)."""
    (tmp_path / "index.html").write_text("<html></html>")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "RUN_DIR": str(tmp_path / "run"), "WEB_ROOT": str(tmp_path)}
    if server_uri is not None:
        env["SERVER_URI"] = server_uri
    done = subprocess.run(["sh", str(ENTRYPOINT), "render"], env=env, capture_output=True, text=True, timeout=10)
    assert done.returncode == 64
    assert message in done.stderr
    assert not (tmp_path / "run" / "config.js").exists()


@pytest.mark.browser
def test_the_suites_page_driver_works_the_board_as_a_user(page: Frontend, board: Board) -> None:
    """The browser feature's page driver (support.browser.TodoPage, which knows no app markup) adds an item on the
    real Angular build and finishes it by moving it to Done, and reads it as done: the feature runs on this UI."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.fail("Chromium/chromedriver not found: `apt-get install chromium-driver`")
    from support.browser import Browser, TodoPage

    name = unique("driver")
    with Browser(timeout=60) as browser:
        todo = TodoPage(browser, page.url)
        todo.open()
        todo.add(name)
        todo.wait_until_shown(name, UI_BUDGET)
        assert not todo.shows_completed(name)
        todo.complete(name)
        todo.wait_until_shown(name, UI_BUDGET, completed=True)
    assert board_items(board).get(name) == "Done"
