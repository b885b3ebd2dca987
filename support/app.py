"""The to-do client: the app's HTTP API as users reach it, through the front end."""

from __future__ import annotations

import builtins
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from support.ledger import ChangeKind, Outcome, classify_change, classify_exception, classify_status

if TYPE_CHECKING:
    from support.adapters import WorkloadAdapter

__all__ = ["AppError", "Info", "Owner", "RawResponse", "Todo", "TodoApp", "check_address"]


@dataclass(frozen=True)
class Todo:
    """One stored to-do as the API returns it."""

    id: int
    title: str
    completed: bool
    created_at: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Todo:
        """Build a Todo from the API's JSON object."""
        return cls(
            id=int(data["id"]),
            title=str(data["title"]),
            completed=bool(data["completed"]),
            created_at=str(data.get("created_at", "")),
        )


@dataclass(frozen=True)
class Info:
    """Which back-end replica answered a request."""

    pod: str
    node: str
    version: str


@dataclass(frozen=True)
class RawResponse:
    """A response at status-code level, for steps that check refusals."""

    status: int
    body: Any
    text: str

    @property
    def detail(self) -> str:
        """The JSON error's `detail`, or '' when there is none."""
        return str(self.body.get("detail", "")) if isinstance(self.body, dict) else ""


class AppError(Exception):
    """The app answered a request with an error status."""

    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {detail or '(no detail)'}")
        self.method = method
        self.path = path
        self.status = status
        self.detail = detail


def check_address(base_url: str) -> str:
    """Return base_url when it points at loopback or a private (cluster) address, else raise ValueError."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"front-end URL {base_url!r} is not an http(s) URL with a host")
    host = parts.hostname
    if host == "localhost":
        return base_url.rstrip("/")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # Names could resolve anywhere; the suite only talks to addresses it can vouch for.
        raise ValueError(
            f"front-end URL {base_url!r}: use an IP address (loopback or cluster-private), not the name {host!r}"
        ) from None
    if not (address.is_loopback or address.is_private):
        raise ValueError(f"front-end URL {base_url!r}: {host} is neither loopback nor a private cluster address")
    return base_url.rstrip("/")


def _not_a_todo_list(body: Any) -> str | None:
    """Why a list response is not a list of to-dos (id, title, completed), or None when it is."""
    if not isinstance(body, list):
        return f"expected a JSON list, got {type(body).__name__}"
    for item in body[:50]:
        if not isinstance(item, dict) or not {"id", "title", "completed"} <= set(item):
            return f"an entry lacks id/title/completed: {str(item)[:80]}"
    return None


class TodoApp:
    """Typed access to the to-do API through the front end (`<base_url>/api/...`)."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = check_address(base_url)
        self.timeout = timeout
        # A fresh session per client: keep-alive makes repeated requests cheap but can pin one upstream;
        # probes that need to see both replicas use `fresh=True`.
        self._session = requests.Session()
        self._session.trust_env = False  # never route suite traffic through a proxy from the environment

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    # -- status-code level -------------------------------------------------------------------------
    def raw(self, method: str, path: str, json: Any = None, *, fresh: bool = False) -> RawResponse:
        """Send one request and return status and body without judging them."""
        url = f"{self.base_url}{path}"
        if fresh:
            with requests.Session() as session:
                session.trust_env = False
                response = session.request(
                    method, url, json=json, timeout=self.timeout, headers={"Connection": "close"}
                )
        else:
            response = self._session.request(method, url, json=json, timeout=self.timeout)
        try:
            body: Any = response.json() if response.content else None
        except ValueError:
            body = None
        return RawResponse(status=response.status_code, body=body, text=response.text[:2000])

    def _ok(self, method: str, path: str, expected: int, json: Any = None, *, fresh: bool = False) -> Any:
        """Send a request and return its JSON body, raising AppError unless the status is `expected`."""
        response = self.raw(method, path, json, fresh=fresh)
        if response.status != expected:
            raise AppError(method, path, response.status, response.detail or response.text[:200])
        return response.body

    # -- the API -----------------------------------------------------------------------------------
    def list(self) -> list[Todo]:
        """All to-dos, ordered by id."""
        body = self._ok("GET", "/api/todos", 200)
        return [Todo.from_json(item) for item in body]

    def titles(self) -> builtins.list[str]:
        """Titles of all to-dos."""
        return [todo.title for todo in self.list()]

    def add(self, title: str, completed: bool = False) -> Todo:
        """Create a to-do and return it as stored."""
        return Todo.from_json(self._ok("POST", "/api/todos", 201, {"title": title, "completed": completed}))

    def get(self, todo_id: int) -> Todo:
        """Read one to-do."""
        return Todo.from_json(self._ok("GET", f"/api/todos/{todo_id}", 200))

    def update(self, todo_id: int, *, title: str | None = None, completed: bool | None = None) -> Todo:
        """Change title and/or completion of a to-do."""
        body: dict[str, Any] = {}
        if title is not None:
            body["title"] = title
        if completed is not None:
            body["completed"] = completed
        return Todo.from_json(self._ok("PATCH", f"/api/todos/{todo_id}", 200, body))

    def complete(self, todo_id: int) -> Todo:
        """Mark a to-do completed."""
        return self.update(todo_id, completed=True)

    def delete(self, todo_id: int) -> None:
        """Delete a to-do."""
        self._ok("DELETE", f"/api/todos/{todo_id}", 204)

    def info(self, *, fresh: bool = True) -> Info:
        """Which back-end replica answered (a fresh connection, so the front end may pick another)."""
        body = self._ok("GET", "/api/info", 200, fresh=fresh)
        return Info(pod=str(body["pod"]), node=str(body["node"]), version=str(body.get("version", "")))

    def health(self) -> bool:
        """True when the front end answers its own health route and the back end its liveness route."""
        try:
            front = self.raw("GET", "/healthz", fresh=True)
            back = self.raw("GET", "/api/healthz", fresh=True)
        except requests.RequestException:
            return False
        return front.status == 200 and back.status == 200

    # -- traffic callables -------------------------------------------------------------------------
    def probe(self) -> tuple[int | None, str | None]:
        """One read as a user would do it: (status, None) on an answer, (None, error) when none came."""
        try:
            response = self.raw("GET", "/api/todos", fresh=True)
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300]
        if response.status != 200:
            return response.status, response.detail or response.text[:200]
        problem = _not_a_todo_list(response.body)
        if problem:
            # A 200 from an error page or a stale cache is not the service answering.
            return response.status, f"200 but not the to-do list: {problem}; body {response.text[:120]!r}"
        return response.status, None

    def sample(self) -> tuple[int | None, str | None]:
        """The workload adapters' name for probe() (support.conditions reads either client through it)."""
        return self.probe()

    def write(self, title: str) -> tuple[int | None, str | None, Outcome]:
        """One create for the ledger: (status, error, outcome), classified by the ledger's own rules."""
        try:
            response = self.raw("POST", "/api/todos", {"title": title}, fresh=True)
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300], classify_exception(exc)
        error = None if response.status == 201 else (response.detail or response.text[:200])
        return response.status, error, classify_status(response.status)

    def create(self, title: str) -> tuple[int | None, str | None, Outcome, int | None]:
        """One create for the ledger, also returning the id the server gave it (None unless acknowledged)."""
        try:
            response = self.raw("POST", "/api/todos", {"title": title}, fresh=True)
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300], classify_exception(exc), None
        outcome = classify_status(response.status)
        error = None if outcome == "ok" else (response.detail or response.text[:200])
        body = response.body if isinstance(response.body, dict) else {}
        todo_id = body.get("id") if outcome == "ok" else None
        return response.status, error, outcome, int(todo_id) if isinstance(todo_id, int) else None

    def change(self, kind: ChangeKind, todo_id: int) -> tuple[int | None, str | None, Outcome]:
        """One change for the ledger: complete (PATCH completed) or delete a to-do, classified."""
        try:
            if kind == "complete":
                response = self.raw("PATCH", f"/api/todos/{todo_id}", {"completed": True}, fresh=True)
            else:
                response = self.raw("DELETE", f"/api/todos/{todo_id}", fresh=True)
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300], classify_exception(exc)
        outcome = classify_change(kind, response.status)
        return response.status, None if outcome == "ok" else (response.detail or response.text[:200]), outcome


@dataclass(frozen=True)
class Owner:
    """A user of one scenario: her to-dos carry her unique tag, so scenarios never see each other's data."""

    name: str
    tag: str
    app: WorkloadAdapter

    def title(self, text: str) -> str:
        """The stored title of one of her to-dos."""
        return f"{self.tag} {text}"

    def title_of_length(self, length: int) -> str:
        """A title of exactly `length` characters that is still hers."""
        filler = length - len(self.tag) - 1
        if filler < 1:
            raise ValueError(f"a title of {length} characters cannot carry the tag {self.tag!r}")
        return self.title("x" * filler)

    def todos(self, todos: list[Todo] | None = None) -> list[Todo]:
        """Her to-dos (from the given list, or freshly listed), in the app's order."""
        return [t for t in (self.app.list() if todos is None else todos) if t.title.startswith(f"{self.tag} ")]

    def texts(self, todos: list[Todo] | None = None) -> list[str]:
        """Her to-dos' titles as she typed them (without the tag)."""
        return [t.title[len(self.tag) + 1 :] for t in self.todos(todos)]

    def find(self, text: str) -> Todo:
        """Her to-do with this text, or a clear error listing what she has."""
        for todo in self.todos():
            if todo.title == self.title(text):
                return todo
        raise LookupError(f"{self.name} has no to-do {text!r}; she has {self.texts()}")
