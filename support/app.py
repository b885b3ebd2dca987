"""What the suite knows of a to-do app: a stored to-do, an app error, the address rule, and a user (Owner)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from support.adapters import WorkloadAdapter

__all__ = ["AppError", "Owner", "Todo", "check_address"]


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
