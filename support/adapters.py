"""Workload adapters: the to-do operations the suite needs, over the API a profile describes (REST or GraphQL).

Every adapter sends its requests through a *sender* (method, path, JSON body -> status and body). The default one
uses requests against the profile's API base URL (loopback or private addresses only, a timeout on every request);
`through(sender)` gives the same adapter over another transport, e.g. the API server's proxy to one chosen pod.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import requests

from support.app import AppError, Todo, check_address
from support.ledger import ChangeKind, Outcome, classify_exception, client_failure
from support.profile import (
    PLACEHOLDERS,
    ApiViaBackend,
    GraphQLAdapterSpec,
    GraphQLOperation,
    Profile,
    RestAdapterSpec,
)

__all__ = [
    "AppError",
    "GraphQLAdapter",
    "GraphQLError",
    "HttpAnswer",
    "HttpCall",
    "NotPromised",
    "RequestsSender",
    "RestAdapter",
    "Sender",
    "Todo",
    "TodoNotFound",
    "UnexpectedAnswer",
    "WorkloadAdapter",
    "adapter_for",
]

DEFAULT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class HttpCall:
    """One request an adapter sends: method, path (after the API base) and JSON body."""

    method: str
    path: str
    json: Any = None


@dataclass(frozen=True)
class HttpAnswer:
    """One answer: status, parsed JSON body (None when empty or not JSON) and the start of the text."""

    status: int
    body: Any
    text: str = ""

    @property
    def detail(self) -> str:
        """The JSON error's `detail`, or '' when there is none."""
        return str(self.body.get("detail", "")) if isinstance(self.body, dict) else ""


class Sender(Protocol):
    """Sends one call; fresh=True asks for a new connection (so a load balancer may pick another replica)."""

    def __call__(self, call: HttpCall, fresh: bool = False) -> HttpAnswer:
        """Send the call and return the answer; raise requests.RequestException when none came."""
        ...


class TodoNotFound(AppError):
    """The app says (or its list shows) that the to-do does not exist."""


class UnexpectedAnswer(AppError):
    """The app answered, but not with the shape the profile describes."""


class GraphQLError(AppError):
    """A GraphQL answer carried an `errors` array."""

    def __init__(self, path: str, status: int, messages: list[str], *, executed: bool) -> None:
        super().__init__("POST", path, status, "; ".join(messages) or "(errors without messages)")
        self.messages = messages
        # GraphQL answers request errors (parse, validation) without `data`: then nothing was executed.
        self.executed = executed


class NotPromised(Exception):
    """The profile does not describe this operation (a scenario should have been marked not applicable)."""

    def __init__(self, profile: str, operation: str, promise: str) -> None:
        super().__init__(
            f"profile {profile!r} describes no {operation} operation (promise {promise!r} not made); "
            f"tag the scenario @needs_{promise}"
        )
        self.promise = promise


# A pooled connection idle longer than this is not reused: servers close idle keep-alive connections (uvicorn
# after 5 s, the reference front end after 30 s, Tomcat after 20-60 s), and a request sent on one just as the
# server closes it comes back as "closed without response" (seen in CI: one user read, RemoteDisconnected). A
# browser would retry it; the suite never retries, so it does not send on a connection that may be closing.
IDLE_REUSE_S = 2.0


class RequestsSender:
    """The default sender: requests against one base URL, never through a proxy from the environment.

    Requests that follow each other within `idle_reuse_s` share a keep-alive connection, as a page's do; after a
    longer pause the pool is emptied first, so a failure is the server's answer, never a stale connection's.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        session: requests.Session | None = None,
        idle_reuse_s: float = IDLE_REUSE_S,
    ) -> None:
        self.base_url = check_address(base_url)
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if idle_reuse_s < 0:
            raise ValueError(f"idle_reuse_s must not be negative, got {idle_reuse_s}")
        self.timeout = timeout
        self.idle_reuse_s = idle_reuse_s
        self._session = session or requests.Session()
        self._own_session = session is None
        self._session.trust_env = False
        self._last_done: float | None = None

    def _drop_idle_connections(self) -> None:
        """Empty the pools when the last pooled request ended more than idle_reuse_s ago."""
        if self._last_done is not None and time.monotonic() - self._last_done > self.idle_reuse_s:
            for transport in self._session.adapters.values():
                transport.close()  # HTTPAdapter.close empties its pools; the next request opens a new one

    def __call__(self, call: HttpCall, fresh: bool = False) -> HttpAnswer:
        """Send one request (with the timeout) and return its answer."""
        url = f"{self.base_url}{call.path}"
        if fresh:
            with requests.Session() as session:
                session.trust_env = False
                response = session.request(
                    call.method, url, json=call.json, timeout=self.timeout, headers={"Connection": "close"}
                )
        else:
            self._drop_idle_connections()
            try:
                response = self._session.request(call.method, url, json=call.json, timeout=self.timeout)
            finally:
                self._last_done = time.monotonic()
        try:
            body: Any = response.json() if response.content else None
        except ValueError:
            body = None
        return HttpAnswer(status=response.status_code, body=body, text=response.text[:2000])

    def close(self) -> None:
        """Release pooled connections (of a session this sender created)."""
        if self._own_session:
            self._session.close()


@runtime_checkable
class WorkloadAdapter(Protocol):
    """The to-do operations every scenario uses, whatever the app's API."""

    @property
    def base_url(self) -> str:
        """Where the API is reached (for messages)."""
        ...

    def add(self, title: str) -> Todo:
        """Create an open to-do and return it as stored."""
        ...

    def list(self) -> builtins.list[Todo]:
        """Every to-do."""
        ...

    def titles(self) -> builtins.list[str]:
        """The titles of every to-do."""
        ...

    def get(self, todo_id: int) -> Todo:
        """One to-do; TodoNotFound when there is none."""
        ...

    def complete(self, todo_id: int) -> Todo:
        """Mark a to-do completed and return it."""
        ...

    def rename(self, todo_id: int, title: str) -> Todo:
        """Change a to-do's text and return it."""
        ...

    def delete(self, todo_id: int) -> None:
        """Delete a to-do; TodoNotFound when there is none."""
        ...

    def info(self) -> str | None:
        """The back-end replica (pod) that answered, on a new connection; None if the app cannot tell."""
        ...

    def probe(self) -> tuple[bool, str]:
        """One user read on a new connection: (True, summary) only if the body is the to-do list."""
        ...

    def sample(self) -> tuple[int | None, str | None]:
        """The probe for the background reader: (status, None) when ok, (status or None, error) otherwise."""
        ...

    def write(self, title: str) -> tuple[int | None, str | None, Outcome]:
        """One create for the write ledger on a new connection: (status, error, ok|failed|unknown)."""
        ...

    def create(self, title: str) -> tuple[int | None, str | None, Outcome, int | None]:
        """write(), also returning the id the app gave the to-do (None unless acknowledged)."""
        ...

    def change(self, kind: ChangeKind, todo_id: int) -> tuple[int | None, str | None, Outcome]:
        """One change for the ledger on a new connection: complete or delete a to-do, classified."""
        ...

    def through(self, sender: Sender) -> WorkloadAdapter:
        """The same adapter sending its requests through another transport."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def _short(exc: BaseException) -> str:
    """A one-line account of a client exception, marked timed out or not (support.ledger.ClientFailure)."""
    return client_failure(exc)


def _detail(answer: HttpAnswer) -> str:
    """The JSON error's detail, else the text."""
    if isinstance(answer.body, dict) and answer.body.get("detail"):
        return str(answer.body["detail"])[:300]
    return answer.text[:200]


def _write_outcome(status: int, ok_status: int) -> Outcome:
    """The ledger's rule for an HTTP answer to a create: the success status ok, 4xx failed, the rest unknown."""
    if status == ok_status:
        return "ok"
    if 400 <= status < 500:
        return "failed"
    return "unknown"


class _Adapter:
    """What both adapters share: the profile, the sender and the transport-level helpers."""

    def __init__(
        self,
        profile: Profile,
        sender: Sender,
        *,
        closer: Callable[[], None] | None = None,
        page: Sender | None = None,
    ) -> None:
        self.profile = profile
        self.sender = sender
        self._closer = closer
        # A static page whose browser code calls the back end: a user's read is the page and then the API, so the
        # background reader fetches both (else a front-end outage would go unseen).
        self.page = page

    @property
    def base_url(self) -> str:
        """Where the API is reached."""
        return str(getattr(self.sender, "base_url", self.profile.access.api_base_url))

    def list(self) -> builtins.list[Todo]:
        """Every to-do (each adapter reads them its own way)."""
        raise NotImplementedError

    def titles(self) -> builtins.list[str]:
        """The titles of every to-do."""
        return [todo.title for todo in self.list()]

    def sample(self) -> tuple[int | None, str | None]:
        """(status, error) of one user read, for the background reader: the page first when the API is reached
        beside the front end, then the list."""
        if self.page is not None:
            try:
                answer = self.page(HttpCall("GET", "/"), True)
            except requests.RequestException as exc:
                return None, client_failure(exc).prefixed("front-end page: ")
            if answer.status >= 300 or not answer.text.strip():
                return answer.status, f"front-end page: {answer.status} {answer.text[:80]!r}"
        return self._check_list()

    def probe(self) -> tuple[bool, str]:
        """(ok, detail) of one user read: ok only when the body is the to-do list."""
        status, error = self._check_list()
        if error is not None:
            return False, error if status is None else f"{status}: {error}"
        return True, f"{status}: the to-do list"

    def _check_list(self) -> tuple[int | None, str | None]:
        """Read the list once on a new connection and judge the body."""
        raise NotImplementedError

    def create(self, title: str) -> tuple[int | None, str | None, Outcome, int | None]:
        """One create for the ledger on a new connection, with the id the app gave it."""
        raise NotImplementedError

    def write(self, title: str) -> tuple[int | None, str | None, Outcome]:
        """One create for the ledger on a new connection: (status, error, ok|failed|unknown)."""
        status, error, outcome, _ = self.create(title)
        return status, error, outcome

    def close(self) -> None:
        """Release connections."""
        if self._closer is not None:
            self._closer()


class RestAdapter(_Adapter):
    """The to-do operations over a REST API (docs/contract.md by default; paths and fields from the profile)."""

    def __init__(
        self,
        profile: Profile,
        sender: Sender,
        *,
        closer: Callable[[], None] | None = None,
        page: Sender | None = None,
    ) -> None:
        if not isinstance(profile.adapter, RestAdapterSpec):
            raise TypeError(f"profile {profile.name!r} describes a {profile.adapter.kind} API, not REST")
        super().__init__(profile, sender, closer=closer, page=page)
        self.spec: RestAdapterSpec = profile.adapter

    def through(self, sender: Sender) -> RestAdapter:
        """The same adapter over another transport."""
        return RestAdapter(self.profile, sender)

    # -- transport ---------------------------------------------------------------------------------------------
    def raw(self, method: str, path: str, json: Any = None, *, fresh: bool = False) -> HttpAnswer:
        """Send one request and return the answer unjudged (for steps that check refusals)."""
        return self.sender(HttpCall(method, path, json), fresh)

    def _ok(self, call: HttpCall, expected: int, *, fresh: bool = False) -> Any:
        """Send a call; return its body, raising TodoNotFound on 404 and AppError on any other status."""
        answer = self.sender(call, fresh)
        if answer.status == 404:
            raise TodoNotFound(call.method, call.path, 404, _detail(answer))
        if answer.status != expected:
            raise AppError(call.method, call.path, answer.status, _detail(answer))
        return answer.body

    def _item(self, todo_id: int, which: str) -> str:
        """The path of one to-do for get/update/delete."""
        template: str = getattr(self.spec.paths, which)
        return template.replace("{id}", str(int(todo_id)))

    def _todo(self, data: Any, call: HttpCall) -> Todo:
        """A Todo from one JSON object with the profile's field names."""
        f = self.spec.fields
        if not isinstance(data, dict):
            raise UnexpectedAnswer(call.method, call.path, 200, f"expected a to-do object, got {str(data)[:200]}")
        missing = [name for name in (f.id, f.title, f.completed) if name not in data]
        if missing:
            raise UnexpectedAnswer(call.method, call.path, 200, f"to-do without {missing}: {str(data)[:200]}")
        ident, title, completed = data[f.id], data[f.title], data[f.completed]
        if isinstance(ident, bool) or not str(ident).isdigit():
            raise UnexpectedAnswer(call.method, call.path, 200, f"to-do id {ident!r} is not a whole number")
        if not isinstance(title, str) or not isinstance(completed, bool):
            raise UnexpectedAnswer(
                call.method, call.path, 200, f"to-do title/completed of the wrong type: {str(data)[:200]}"
            )
        created = data.get(f.created_at, "") if f.created_at else ""
        return Todo(id=int(ident), title=title, completed=completed, created_at=str(created or ""))

    # -- the operations ----------------------------------------------------------------------------------------
    def list(self) -> builtins.list[Todo]:
        """Every to-do, in the app's order."""
        call = HttpCall("GET", self.spec.paths.list)
        body = self._ok(call, 200)
        if not isinstance(body, builtins.list):
            raise UnexpectedAnswer(call.method, call.path, 200, f"expected a JSON list, got {str(body)[:200]}")
        return [self._todo(item, call) for item in body]

    def add(self, title: str) -> Todo:
        """Create an open to-do."""
        call = HttpCall("POST", self.spec.paths.create, {self.spec.fields.title: title})
        return self._todo(self._ok(call, self.spec.create_status), call)

    def get(self, todo_id: int) -> Todo:
        """Read one to-do."""
        call = HttpCall("GET", self._item(todo_id, "get"))
        return self._todo(self._ok(call, 200), call)

    def update(self, todo_id: int, *, title: str | None = None, completed: bool | None = None) -> Todo:
        """Change the title and/or completion."""
        body: dict[str, Any] = {}
        if title is not None:
            body[self.spec.fields.title] = title
        if completed is not None:
            body[self.spec.fields.completed] = completed
        call = HttpCall(self.spec.update_method, self._item(todo_id, "update"), body)
        return self._todo(self._ok(call, 200), call)

    def complete(self, todo_id: int) -> Todo:
        """Mark a to-do completed."""
        return self.update(todo_id, completed=True)

    def rename(self, todo_id: int, title: str) -> Todo:
        """Change a to-do's title."""
        return self.update(todo_id, title=title)

    def delete(self, todo_id: int) -> None:
        """Delete a to-do."""
        self._ok(HttpCall("DELETE", self._item(todo_id, "delete")), self.spec.delete_status)

    def info(self) -> str | None:
        """The replica that answered (a new connection, so the front end may pick another), or None."""
        if self.spec.info is None:
            return None
        call = HttpCall("GET", self.spec.info.path)
        body = self._ok(call, 200, fresh=True)
        field = self.spec.info.served_by
        if not isinstance(body, dict) or not body.get(field):
            raise UnexpectedAnswer(call.method, call.path, 200, f"no {field!r} in {str(body)[:200]}")
        return str(body[field])

    def _check_list(self) -> tuple[int | None, str | None]:
        """One list read on a new connection: a 200 whose body is a list of to-dos."""
        call = HttpCall("GET", self.spec.paths.list)
        try:
            answer = self.sender(call, True)
        except requests.RequestException as exc:
            return None, _short(exc)
        if answer.status != 200:
            return answer.status, _detail(answer) or "(no body)"
        if not isinstance(answer.body, builtins.list):
            return answer.status, f"the body is not the to-do list: {answer.text[:120]!r}"
        try:
            for item in answer.body:
                self._todo(item, call)
        except UnexpectedAnswer as exc:
            return answer.status, f"the body is not the to-do list: {exc.detail}"
        return answer.status, None

    def create(self, title: str) -> tuple[int | None, str | None, Outcome, int | None]:
        """One create on a new connection, classified for the ledger, with the stored id when acknowledged."""
        call = HttpCall("POST", self.spec.paths.create, {self.spec.fields.title: title})
        try:
            answer = self.sender(call, True)
        except requests.RequestException as exc:
            return None, _short(exc), classify_exception(exc), None
        outcome = _write_outcome(answer.status, self.spec.create_status)
        if outcome != "ok":
            return answer.status, _detail(answer), outcome, None
        try:
            todo_id: int | None = self._todo(answer.body, call).id
        except UnexpectedAnswer:
            # Acknowledged all the same: the ledger counts it; only its id is unknown.
            todo_id = None
        return answer.status, None, outcome, todo_id

    def change(self, kind: ChangeKind, todo_id: int) -> tuple[int | None, str | None, Outcome]:
        """Complete or delete on a new connection, classified like a create (its success status ok, 4xx failed)."""
        if kind == "complete":
            call = HttpCall(self.spec.update_method, self._item(todo_id, "update"), {self.spec.fields.completed: True})
            expected = 200
        else:
            call, expected = HttpCall("DELETE", self._item(todo_id, "delete")), self.spec.delete_status
        try:
            answer = self.sender(call, True)
        except requests.RequestException as exc:
            return None, _short(exc), classify_exception(exc)
        outcome = _write_outcome(answer.status, expected)
        return answer.status, None if outcome == "ok" else _detail(answer), outcome


def _fill(value: Any, values: dict[str, Any]) -> Any:
    """Replace placeholders ('$title', ...) anywhere in a variables value; everything else is sent as written."""
    if isinstance(value, str) and value in PLACEHOLDERS:
        if value not in values:
            raise KeyError(f"placeholder {value} has no value here")
        return values[value]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, builtins.list):
        return [_fill(v, values) for v in value]
    return value


@dataclass(frozen=True)
class _BoardList:
    """One list of the board with its items."""

    id: str
    name: str
    items: builtins.list[dict[str, Any]]


class GraphQLAdapter(_Adapter):
    """The to-do operations over a GraphQL board: a to-do is an item; completed means it is in the done list."""

    def __init__(
        self,
        profile: Profile,
        sender: Sender,
        *,
        closer: Callable[[], None] | None = None,
        page: Sender | None = None,
    ) -> None:
        if not isinstance(profile.adapter, GraphQLAdapterSpec):
            raise TypeError(f"profile {profile.name!r} describes a {profile.adapter.kind} API, not GraphQL")
        super().__init__(profile, sender, closer=closer, page=page)
        self.spec: GraphQLAdapterSpec = profile.adapter
        # The board's lists exist from the start (schema migrations); their ids are looked up once.
        self._list_ids: dict[str, str] = {}

    def through(self, sender: Sender) -> GraphQLAdapter:
        """The same adapter over another transport."""
        return GraphQLAdapter(self.profile, sender)

    # -- transport ---------------------------------------------------------------------------------------------
    def _call(self, op: GraphQLOperation, values: dict[str, Any]) -> HttpCall:
        """The POST for one operation with its placeholders filled in."""
        return HttpCall("POST", self.spec.endpoint, {"query": op.document, "variables": _fill(op.variables, values)})

    def _result(self, op: GraphQLOperation, answer: HttpAnswer) -> Any:
        """The operation's field of `data`, or the error the answer carries."""
        body = answer.body
        path = self.spec.endpoint
        if isinstance(body, dict) and body.get("errors"):
            errors = body["errors"] if isinstance(body["errors"], builtins.list) else [body["errors"]]
            messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
            raise GraphQLError(path, answer.status, messages, executed="data" in body)
        if answer.status != 200:
            raise AppError("POST", path, answer.status, _detail(answer))
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or op.field not in data:
            raise UnexpectedAnswer("POST", path, answer.status, f"no data.{op.field} in {answer.text[:200]!r}")
        return data[op.field]

    def _execute(self, op: GraphQLOperation, values: dict[str, Any], *, fresh: bool = False) -> Any:
        """Run one operation and return its result field."""
        return self._result(op, self.sender(self._call(op, values), fresh))

    # -- the board ---------------------------------------------------------------------------------------------
    def _parse_board(self, result: Any) -> builtins.list[_BoardList]:
        """The lists query's result as board lists, or UnexpectedAnswer naming what is wrong."""
        b = self.spec.board
        path = self.spec.endpoint
        if not isinstance(result, builtins.list):
            raise UnexpectedAnswer("POST", path, 200, f"{self.spec.operations.lists.field} is not a list")
        lists: builtins.list[_BoardList] = []
        for entry in result:
            if not isinstance(entry, dict) or not isinstance(entry.get(b.items_field), builtins.list):
                raise UnexpectedAnswer("POST", path, 200, f"a list without {b.items_field!r}: {str(entry)[:200]}")
            items = entry[b.items_field]
            for item in items:
                if not isinstance(item, dict) or b.item_id_field not in item or b.item_title_field not in item:
                    raise UnexpectedAnswer("POST", path, 200, f"an item without id/text: {str(item)[:200]}")
            lists.append(_BoardList(str(entry.get(b.list_id_field)), str(entry.get(b.list_name_field)), items))
        names = {bl.name for bl in lists}
        missing = [name for name in (b.open_list, b.done_list) if name not in names]
        if missing:
            raise UnexpectedAnswer("POST", path, 200, f"the board has no list {missing}; it has {sorted(names)}")
        self._list_ids = {bl.name: bl.id for bl in lists}
        return lists

    def _board(self, *, fresh: bool = False) -> builtins.list[_BoardList]:
        """The board as the lists query returns it now."""
        return self._parse_board(self._execute(self.spec.operations.lists, {}, fresh=fresh))

    def _list_id(self, name: str) -> str:
        """A list's id (looked up once)."""
        if name not in self._list_ids:
            self._board()
        return self._list_ids[name]

    def _id(self, value: int | str) -> int | str:
        """An id as the API takes it in variables."""
        return int(value) if self.spec.board.id_type == "int" else str(value)

    def _todo(self, item: Any, list_name: str | None = None) -> Todo:
        """A Todo from an item; completed when it is in the done list."""
        b = self.spec.board
        if not isinstance(item, dict) or b.item_id_field not in item or b.item_title_field not in item:
            raise UnexpectedAnswer("POST", self.spec.endpoint, 200, f"not an item: {str(item)[:200]}")
        ident = item[b.item_id_field]
        if isinstance(ident, bool) or not str(ident).isdigit():
            raise UnexpectedAnswer("POST", self.spec.endpoint, 200, f"item id {ident!r} is not a whole number")
        if list_name is None:
            done_id = self._list_ids.get(b.done_list)
            completed = done_id is not None and str(item.get(b.item_list_field)) == done_id
        else:
            completed = list_name == b.done_list
        return Todo(id=int(ident), title=str(item[b.item_title_field]), completed=completed, created_at="")

    def _find(self, todo_id: int) -> tuple[dict[str, Any], builtins.list[_BoardList]]:
        """An item by id and the board it was found in; TodoNotFound when no list holds it."""
        board = self._board()
        for board_list in board:
            for item in board_list.items:
                if str(item[self.spec.board.item_id_field]) == str(todo_id):
                    return item, board
        raise TodoNotFound("POST", self.spec.endpoint, 200, f"todo {todo_id} not found in any list of the board")

    # -- the operations ----------------------------------------------------------------------------------------
    def list(self) -> builtins.list[Todo]:
        """Every item of every list, oldest (smallest id) first."""
        todos = [self._todo(item, bl.name) for bl in self._board() for item in bl.items]
        return sorted(todos, key=lambda t: t.id)

    def add(self, title: str) -> Todo:
        """Create an item in the open list."""
        ops = self.spec.operations
        values = {"$title": title, "$open_list_id": self._id(self._list_id(self.spec.board.open_list))}
        return self._todo(self._execute(ops.create, values))

    def get(self, todo_id: int) -> Todo:
        """One item, found on the board (the API has no single-item query)."""
        item, board = self._find(todo_id)
        name = next(bl.name for bl in board if any(i is item for i in bl.items))
        return self._todo(item, name)

    def complete(self, todo_id: int) -> Todo:
        """Move an item to the end of the done list."""
        _, board = self._find(todo_id)
        done = next(bl for bl in board if bl.name == self.spec.board.done_list)
        values = {"$id": self._id(todo_id), "$done_list_id": self._id(done.id), "$position": len(done.items)}
        return self._todo(self._execute(self.spec.operations.complete, values))

    def rename(self, todo_id: int, title: str) -> Todo:
        """Change an item's text, if the profile describes how."""
        op = self.spec.operations.rename
        if op is None:
            raise NotPromised(self.profile.name, "rename", "rename")
        return self._todo(self._execute(op, {"$id": self._id(todo_id), "$title": title}))

    def delete(self, todo_id: int) -> None:
        """Delete an item; a `false` answer means there was none."""
        result = self._execute(self.spec.operations.delete, {"$id": self._id(todo_id)})
        if result is False or result is None:
            raise TodoNotFound("POST", self.spec.endpoint, 200, f"todo {todo_id} not deleted (answer {result!r})")

    def info(self) -> str | None:
        """GraphQL profiles have no route naming the replica."""
        return None

    def _check_list(self) -> tuple[int | None, str | None]:
        """One lists query on a new connection: a board with the open and done lists."""
        op = self.spec.operations.lists
        try:
            answer = self.sender(self._call(op, {}), True)
        except requests.RequestException as exc:
            return None, _short(exc)
        try:
            self._parse_board(self._result(op, answer))
        except AppError as exc:
            return answer.status, exc.detail
        return answer.status, None

    def _classified(self, op: GraphQLOperation, values: dict[str, Any]) -> tuple[int | None, str | None, Outcome, Any]:
        """Send one mutation on a new connection; (status, error, outcome, result) by the GraphQL ledger rule."""
        try:
            answer = self.sender(self._call(op, values), True)
        except requests.RequestException as exc:
            return None, _short(exc), classify_exception(exc), None
        try:
            result = self._result(op, answer)
        except GraphQLError as exc:
            # Request errors (no `data`) were never executed; errors during execution may follow a commit.
            return answer.status, exc.detail, "unknown" if exc.executed else "failed", None
        except AppError as exc:
            outcome: Outcome = "failed" if 400 <= answer.status < 500 else "unknown"
            return answer.status, exc.detail, outcome, None
        return answer.status, None, "ok", result

    def create(self, title: str) -> tuple[int | None, str | None, Outcome, int | None]:
        """One create on a new connection, classified for the ledger (the GraphQL rule in docs/profiles.md)."""
        try:
            values = {"$title": title, "$open_list_id": self._id(self._list_id(self.spec.board.open_list))}
        except (requests.RequestException, AppError) as exc:
            # The lookup failed before the mutation was sent: certainly not written.
            return None, f"open list lookup: {exc}"[:300], "failed", None
        status, error, outcome, result = self._classified(self.spec.operations.create, values)
        if outcome != "ok":
            return status, error, outcome, None
        try:
            return status, None, outcome, self._todo(result).id
        except UnexpectedAnswer:
            # Acknowledged all the same: the ledger counts it; only its id is unknown.
            return status, None, outcome, None

    def change(self, kind: ChangeKind, todo_id: int) -> tuple[int | None, str | None, Outcome]:
        """Complete (move to the done list) or delete on a new connection, classified by the GraphQL rule."""
        if kind == "delete":
            op, values = self.spec.operations.delete, {"$id": self._id(todo_id)}
        else:
            try:
                _, board = self._find(todo_id)
            except (requests.RequestException, AppError) as exc:
                # The item was not found or the board not read: the move was never sent.
                return None, f"board lookup: {exc}"[:300], "failed"
            done = next(bl for bl in board if bl.name == self.spec.board.done_list)
            op = self.spec.operations.complete
            values = {"$id": self._id(todo_id), "$done_list_id": self._id(done.id), "$position": len(done.items)}
        status, error, outcome, result = self._classified(op, values)
        if outcome == "ok" and kind == "delete" and (result is False or result is None):
            # A definite answer that nothing was deleted.
            return status, f"todo {todo_id} not deleted (answer {result!r})", "failed"
        return status, error, outcome


def adapter_for(
    profile: Profile,
    session: requests.Session | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    sender: Sender | None = None,
) -> RestAdapter | GraphQLAdapter:
    """The adapter the profile describes, over requests to its API base URL (or over the given sender)."""
    closer = None
    if sender is None:
        requests_sender = RequestsSender(profile.access.api_base_url, timeout=timeout, session=session)
        sender, closer = requests_sender, requests_sender.close
    page = None
    if isinstance(profile.access.api, ApiViaBackend):
        page_sender = RequestsSender(profile.access.frontend_url, timeout=timeout)
        page = page_sender
        previous = closer

        def closer() -> None:
            page_sender.close()
            if previous is not None:
                previous()

    if isinstance(profile.adapter, RestAdapterSpec):
        return RestAdapter(profile, sender, closer=closer, page=page)
    return GraphQLAdapter(profile, sender, closer=closer, page=page)
