"""ASGI middleware for a clean hand-over during shutdown."""

from __future__ import annotations

import threading

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class CloseWhenDraining:
    """While draining, every response says `Connection: close`.

    Kept-alive client connections (a proxy's upstream pool) are pinned to this replica; closing each one
    after its next response makes the client reconnect through the Service to a replica that stays.
    """

    def __init__(self, app: ASGIApp, draining: threading.Event) -> None:
        """Wrap `app`; `draining` is set by the SIGTERM handler."""
        self.app = app
        self.draining = draining

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through, rewriting the response head once draining has begun."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_close(message: Message) -> None:
            # Checked per response, not per request: requests already in flight when SIGTERM came count too.
            if message["type"] == "http.response.start" and self.draining.is_set():
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_close)
