"""`python -m todo_backend`: uvicorn on LISTEN_HOST:LISTEN_PORT (0.0.0.0:8080) with a graceful SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn

from todo_backend.core.config import load_settings_or_exit
from todo_backend.main import create_app

logger = logging.getLogger("todo_backend")


class GracefulServer(uvicorn.Server):
    """uvicorn.Server whose first SIGTERM/SIGINT only drains: readiness false, still serving, then stop."""

    def __init__(self, config: uvicorn.Config, drain_seconds: float, on_drain: Callable[[], None]) -> None:
        """Remember how long to keep serving after readiness went false."""
        super().__init__(config)
        self._drain_seconds = drain_seconds
        self._on_drain = on_drain
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: start draining. A second one stops at once (SIGINT twice forces, as in uvicorn)."""
        # The parent class records the signal and re-raises it after shutdown, which would turn a clean
        # stop into "killed by SIGTERM" (exit 143); a drained shutdown is a success, so exit 0 instead.
        if self._draining:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True
            return
        self._draining = True
        self._on_drain()
        logger.info("signal %d: readiness now false, draining for %.1fs", sig, self._drain_seconds)
        timer = threading.Timer(self._drain_seconds, self._stop_accepting)
        timer.daemon = True
        timer.start()

    def _stop_accepting(self) -> None:
        """End of the drain window: uvicorn closes the listener and waits for in-flight requests."""
        logger.info("drain window over: closing the listener, finishing in-flight requests")
        self.should_exit = True


def main() -> None:
    """Load settings (exit 2 with one line if incomplete) and serve until SIGTERM."""
    settings = load_settings_or_exit()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.listen_host,
        port=settings.listen_port,
        lifespan="on",
        timeout_graceful_shutdown=settings.graceful_timeout_seconds,
        timeout_keep_alive=settings.keepalive_timeout_seconds,
        server_header=False,
        log_config=None,  # keep the root logging configured above: one format for app and server
    )
    server = GracefulServer(config, settings.shutdown_drain_seconds, app.state.draining.set)
    server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's own "start-up failed" status (e.g. port in use)


if __name__ == "__main__":
    main()
