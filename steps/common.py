"""Steps every feature shares: the deployed app at its steady state, the scenario's user and her to-dos."""

from __future__ import annotations

from pytest_bdd import given, parsers, then

from support.adapters import WorkloadAdapter
from support.app import Owner
from support.budgets import within
from support.cluster import ClusterHandle
from support.conditions import app_serving, rolled_out, todos_present
from support.results import Results
from support.waits import until

__all__: list[str] = []

# A previous scenario may have left replicas restarting: every scenario starts from the steady state.
STEADY_STATE_BUDGET_S = 240.0


@given("the to-do app is deployed on the suite's cluster")
def _(deployed: ClusterHandle, app: WorkloadAdapter) -> None:
    """The full manifest set is applied, rolled out and serving (the replica counts are checked elsewhere)."""
    until(rolled_out(deployed), timeout=STEADY_STATE_BUDGET_S, interval=1.0)
    until(app_serving(app), timeout=60, interval=0.5)


@given(parsers.parse("a new user {name} with an empty list"), target_fixture="stored_before")
def _(deployed: ClusterHandle, owner: Owner, name: str) -> int | None:
    """A fresh user whose list starts empty; the table's last key is noted (when SQL is promised) to see later rows."""
    assert owner.name == name, f"the scenario's user is {owner.name}, the step names {name}"
    assert owner.todos() == [], f"{owner.tag} should start with no to-dos"
    if not deployed.profile.promises.sql_reconciliation:
        return None
    return deployed.database_max_id()


@given(parsers.parse("a new user {name} with {count:d} to-dos"), target_fixture="seeded")
def _(owner: Owner, name: str, count: int) -> list[str]:
    """A fresh user with `count` to-dos stored before anything happens."""
    assert owner.name == name, f"the scenario's user is {owner.name}, the step names {name}"
    texts = [f"to-do {i} of {count}" for i in range(1, count + 1)]
    for text in texts:
        owner.app.add(owner.title(text))
    return [owner.title(text) for text in texts]


@then(parsers.parse("{name} still sees her {count:d} to-dos within {seconds:d} seconds"))
def _(owner: Owner, seeded: list[str], results: Results, name: str, count: int, seconds: int) -> None:
    """Every to-do stored before the fault is listed again, within the budget."""
    assert len(seeded) == count, f"the scenario stored {len(seeded)} to-dos, the step expects {count}"
    within(results, f"{name} sees her {count} to-dos within {seconds} s", todos_present(owner.app, seeded), seconds)
    assert len(owner.todos()) == count, f"{name} has {owner.texts()} instead of her {count} to-dos"
