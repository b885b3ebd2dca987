"""Steps for managing to-dos through the front end, and for seeing both back-end replicas at work."""

from __future__ import annotations

import re
import time

from pytest_bdd import given, parsers, then, when

from support.adapters import HttpAnswer, RestAdapter
from support.app import Owner, Todo
from support.cluster import ClusterHandle

__all__: list[str] = []

# Far above any id a test run creates (BIGINT AUTO_INCREMENT), so "does not exist" holds without a lookup.
UNKNOWN_ID = 9_000_000_000_000
SHARE_REQUESTS_MIN = 4
# Spread the requests: a replica that became Ready a moment ago (a previous scenario replaced it) is routable only
# once every node's kube-proxy has synced its rules (about a second). 40 requests then span up to 10 s.
SHARE_REQUEST_SPACING_S = 0.25


def _texts(quoted: str) -> list[str]:
    """'"a", "b" and "c"' -> ['a', 'b', 'c']."""
    return re.findall(r'"([^"]*)"', quoted)


def _mine(owner: Owner, name: str) -> Owner:
    """The scenario's user, checked against the name the step uses."""
    assert owner.name == name, f"the scenario's user is {owner.name}, the step names {name}"
    return owner


def _rest(owner: Owner, promise: str) -> RestAdapter:
    """The REST adapter, for steps that check refusals at status level (REST profiles only)."""
    app = owner.app
    assert isinstance(app, RestAdapter), (
        "this step checks answers at status level, which only a REST profile describes "
        f"(the scenario's @needs_{promise} should have made it not applicable)"
    )
    return app


def _title_lengths(deployed: ClusterHandle) -> tuple[int, int]:
    """The title lengths the profile promises (min, max)."""
    limits = deployed.profile.promises.title_length
    assert limits is not None, "the scenario needs the promise title_length (tag it @needs_title_length)"
    return limits.min, limits.max


@when(parsers.parse('{name} adds the to-do "{text}"'))
@given(parsers.parse('{name} has added the to-do "{text}"'))
def _(owner: Owner, name: str, text: str) -> None:
    """One to-do added through the front end."""
    stored = _mine(owner, name).app.add(owner.title(text))
    assert stored.title == owner.title(text) and stored.completed is False, f"stored as {stored}"


@given(parsers.re(r'(?P<name>\w+) has added the to-dos (?P<quoted>".*")'))
def _(owner: Owner, name: str, quoted: str) -> None:
    """Several to-dos added in the order given."""
    for text in _texts(quoted):
        _mine(owner, name).app.add(owner.title(text))


@then(parsers.re(r"(?P<name>\w+)'s list shows \"(?P<text>[^\"]*)\" as (?P<state>open|done)"))
def _(owner: Owner, name: str, text: str, state: str) -> None:
    """The to-do is listed, open or done."""
    todo = _mine(owner, name).find(text)
    assert todo.completed is (state == "done"), f"{text!r} is {'done' if todo.completed else 'open'}"


@then(parsers.re(r"(?P<name>\w+)'s list does not show \"(?P<text>[^\"]*)\""))
def _(owner: Owner, name: str, text: str) -> None:
    """The to-do is not listed."""
    assert text not in _mine(owner, name).texts(), f"{name}'s list still shows {text!r}"


@then(parsers.re(r"(?P<name>\w+)'s list shows (?P<quoted>\".*\") in that order"))
def _(owner: Owner, name: str, quoted: str) -> None:
    """Exactly these to-dos, in this order."""
    assert _mine(owner, name).texts() == _texts(quoted)


@then(parsers.re(r"(?P<name>\w+)'s list holds (?P<count>\d+) to-dos?"))
def _(owner: Owner, name: str, count: str) -> None:
    """The number of her to-dos."""
    assert len(_mine(owner, name).todos()) == int(count), f"{name} has {owner.texts()}"


@then(parsers.parse("{name}'s list is still empty"))
def _(deployed: ClusterHandle, owner: Owner, stored_before: int | None, name: str) -> None:
    """Nothing was stored for her, nor anything at all: the table has no row newer than the scenario's start."""
    assert _mine(owner, name).todos() == [], f"{name}'s list holds {owner.texts()}"
    assert stored_before is not None, (
        "the table's view needs the promise sql_reconciliation (@needs_sql_reconciliation)"
    )
    newer = deployed.database_titles_after(stored_before)
    assert not newer, f"rows were stored after the refused request (the table's own view): {newer[:5]}"


@when(parsers.parse('{name} opens the to-do "{text}"'), target_fixture="opened")
def _(owner: Owner, name: str, text: str) -> Todo:
    """Read one to-do by its id."""
    return _mine(owner, name).app.get(owner.find(text).id)


@then(parsers.parse('she sees the to-do "{text}" as open'))
def _(owner: Owner, opened: Todo, text: str) -> None:
    """The single to-do read back is the one stored, still open."""
    assert opened.title == owner.title(text) and opened.completed is False, f"read {opened}"


@when(parsers.parse('{name} renames the to-do "{old}" to "{new}"'))
def _(owner: Owner, name: str, old: str, new: str) -> None:
    """Change the title."""
    updated = _mine(owner, name).app.rename(owner.find(old).id, owner.title(new))
    assert updated.title == owner.title(new)


@when(parsers.parse('{name} completes the to-do "{text}"'))
def _(owner: Owner, name: str, text: str) -> None:
    """Mark it done."""
    assert _mine(owner, name).app.complete(owner.find(text).id).completed is True


@when(parsers.parse('{name} deletes the to-do "{text}"'))
def _(owner: Owner, name: str, text: str) -> None:
    """Delete it."""
    _mine(owner, name).app.delete(owner.find(text).id)


@when(parsers.parse("{name} tries to add a to-do without a title"), target_fixture="answer")
def _(owner: Owner, name: str) -> HttpAnswer:
    """A create request with no title at all."""
    app = _rest(_mine(owner, name), "title_length")
    return app.raw("POST", app.spec.paths.create, {app.spec.fields.completed: False})


@when(
    parsers.parse("{name} tries to add a to-do with a title of {length:d} characters"),
    target_fixture="answer",
)
def _(deployed: ClusterHandle, owner: Owner, name: str, length: int) -> HttpAnswer:
    """A create request whose title has the given length (outside the lengths the profile promises)."""
    low, high = _title_lengths(deployed)
    assert not low <= length <= high, f"{length} characters is within the profile's promised {low}..{high}"
    app = _rest(_mine(owner, name), "title_length")
    return app.raw("POST", app.spec.paths.create, {app.spec.fields.title: owner.title_of_length(length)})


@when(parsers.parse("{name} adds a to-do with a title of {length:d} characters"))
def _(deployed: ClusterHandle, owner: Owner, name: str, length: int) -> None:
    """A create that must succeed at the given title length (within the lengths the profile promises)."""
    low, high = _title_lengths(deployed)
    assert low <= length <= high, f"{length} characters is outside the profile's promised {low}..{high}"
    title = owner.title_of_length(length)
    assert _mine(owner, name).app.add(title).title == title


@then("she is told that the title is invalid")
def _(answer: HttpAnswer) -> None:
    """A validation refusal naming the title, as JSON without internals."""
    assert answer.status in (400, 422), f"expected a validation refusal, got {answer.status}: {answer.text}"
    assert isinstance(answer.body, dict) and answer.detail, f"the refusal carries no detail: {answer.text}"
    named = answer.body.get("field") == "title" or "title" in answer.detail.lower()
    assert named, f"the refusal does not name the title: {answer.body}"
    assert "Traceback" not in answer.text, "the refusal leaks a stack trace"


@when(parsers.parse("{name} asks for a to-do that does not exist"), target_fixture="answer")
def _(owner: Owner, name: str) -> HttpAnswer:
    """Read an id nobody created."""
    app = _rest(_mine(owner, name), "not_found_errors")
    return app.raw("GET", app.spec.paths.get.replace("{id}", str(UNKNOWN_ID)))


@when(parsers.parse("{name} tries to complete a to-do that does not exist"), target_fixture="answer")
def _(owner: Owner, name: str) -> HttpAnswer:
    """Change an id nobody created."""
    app = _rest(_mine(owner, name), "not_found_errors")
    path = app.spec.paths.update.replace("{id}", str(UNKNOWN_ID))
    return app.raw(app.spec.update_method, path, {app.spec.fields.completed: True})


@when(parsers.parse("{name} tries to delete a to-do that does not exist"), target_fixture="answer")
def _(owner: Owner, name: str) -> HttpAnswer:
    """Delete an id nobody created."""
    app = _rest(_mine(owner, name), "not_found_errors")
    return app.raw("DELETE", app.spec.paths.delete.replace("{id}", str(UNKNOWN_ID)))


@then("she is told that the to-do was not found")
def _(answer: HttpAnswer) -> None:
    """A not-found answer that names the id, as JSON."""
    assert answer.status == 404, f"expected not found, got {answer.status}: {answer.text}"
    assert "not found" in answer.detail.lower(), f"the answer does not say 'not found': {answer.text}"
    assert str(UNKNOWN_ID) in answer.detail, f"the answer does not name the id {UNKNOWN_ID}: {answer.detail}"


@when(parsers.parse("{name} makes up to {count:d} requests through the front end"), target_fixture="answered_by")
def _(owner: Owner, deployed: ClusterHandle, name: str, count: int) -> dict[str, int]:
    """Ask which replica answers, on new connections, until every Ready replica answered (bounded)."""
    replicas = {p.name for p in deployed.ready_pods("backend")}
    seen: dict[str, int] = {}
    for i in range(count):
        pod = _mine(owner, name).app.info()
        assert pod, "the app does not say which replica answered (the scenario needs @needs_served_by)"
        seen[pod] = seen.get(pod, 0) + 1
        if i + 1 >= SHARE_REQUESTS_MIN and replicas <= set(seen):
            break
        time.sleep(SHARE_REQUEST_SPACING_S)
    return seen


@then("both back-end replicas have answered some of them")
def _(deployed: ClusterHandle, answered_by: dict[str, int]) -> None:
    """Every Ready back-end replica answered at least once."""
    replicas = {p.name for p in deployed.ready_pods("backend")}
    want = deployed.profile.expected_replicas["backend"]
    assert len(replicas) == want, f"expected {want} Ready back-end replicas, found {sorted(replicas)}"
    assert replicas <= set(answered_by), f"answers per replica {answered_by}; Ready replicas {sorted(replicas)}"


@when(parsers.parse('{name} adds the to-do "{text}" through one back-end replica'), target_fixture="written_via")
def _(owner: Owner, deployed: ClusterHandle, name: str, text: str) -> str:
    """Create the to-do on one chosen replica (the adapter, sent through the API server's proxy to that pod)."""
    _mine(owner, name)
    replicas = sorted(p.name for p in deployed.ready_pods("backend"))
    assert len(replicas) >= 2, f"expected 2 or more Ready back-end replicas, found {replicas}"
    stored = owner.app.through(deployed.pod_sender(replicas[0])).add(owner.title(text))
    assert stored.title == owner.title(text), f"replica {replicas[0]} stored {stored}"
    return replicas[0]


@then(parsers.parse('the other back-end replica shows "{text}" in {name}\'s list'))
def _(owner: Owner, deployed: ClusterHandle, written_via: str, text: str, name: str) -> None:
    """The replica that did not store the to-do lists it (the data lives in the shared database)."""
    others = sorted(p.name for p in deployed.ready_pods("backend") if p.name != written_via)
    assert others, f"no Ready back-end replica other than {written_via}"
    titles = owner.app.through(deployed.pod_sender(others[0])).titles()
    assert owner.title(text) in titles, f"replica {others[0]} does not list {text!r} written via {written_via}"
