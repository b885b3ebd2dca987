"""Steps for a user working with the to-do page in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_bdd import given, parsers, then, when

from support.app import Owner
from support.browser import Browser, TodoPage
from support.budgets import timed
from support.results import Results

__all__: list[str] = []

PAGE_BUDGET_S = 15.0
RELOAD_EVERY_S = 3.0


@pytest.fixture
def browser_session(request: pytest.FixtureRequest, results: Results) -> Iterator[Browser]:
    """One headless Chromium per scenario, always closed; a failed wait leaves its evidence in the results."""
    folder = "browser/" + "".join(c if c.isalnum() else "-" for c in request.node.name)[:80]

    def keep(name: str, content: bytes | str) -> object:
        """Store one evidence file under the scenario's folder in the results."""
        return results.add_file(f"{folder}/{name}", content)

    with Browser(timeout=30.0, evidence=keep) as browser:
        yield browser


@given(parsers.parse("{name} has the to-do page open in her browser"), target_fixture="page")
def _(owner: Owner, browser_session: Browser, frontend_url: str, name: str) -> TodoPage:
    """The front end's page, loaded (where users reach it: the API may be reached elsewhere)."""
    assert owner.name == name
    page = TodoPage(browser_session, frontend_url)
    page.open()
    return page


@when(parsers.parse('{name} adds "{text}" on the page'))
@given(parsers.parse('{name} has added "{text}" on the page'))
def _(owner: Owner, page: TodoPage, name: str, text: str) -> None:
    """Type the title and submit it, then see it listed."""
    page.add(owner.title(text))
    page.wait_until_shown(owner.title(text), PAGE_BUDGET_S)


@when(parsers.parse('{name} ticks "{text}" as done on the page'))
def _(owner: Owner, page: TodoPage, name: str, text: str) -> None:
    """Tick the to-do done."""
    page.complete(owner.title(text))


@then(parsers.parse('the page shows "{text}" as done'))
def _(owner: Owner, page: TodoPage, text: str) -> None:
    """The page marks it done."""
    page.wait_until_shown(owner.title(text), PAGE_BUDGET_S, completed=True)


@when(parsers.parse("{name} reloads the page"))
def _(page: TodoPage, name: str) -> None:
    """Load the page again."""
    page.open()


@then(parsers.parse('the page shows "{text}" within {seconds:d} seconds'))
def _(owner: Owner, page: TodoPage, results: Results, text: str, seconds: int) -> None:
    """The to-do appears on the page within the budget, reloading as a user would."""
    title = owner.title(text)
    step = f"the page shows {text!r} within {seconds} s"
    timed(results, step, seconds, lambda: page.wait_until_shown(title, seconds, reload_every=RELOAD_EVERY_S))
