"""Running the portal with uvicorn: on its own (``kim portal``) or in a thread beside Prefect (``kim up``)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import uvicorn
from sqlalchemy.engine import Engine

from kim_workflow.portal.app import create_app
from kim_workflow.settings import Settings


class PortalError(RuntimeError):
    """The portal could not start (German message)."""


OPTIONS: dict[str, Any] = {
    "access_log": False,  # uvicorn's access log would show every path, tokens included; ours logs route patterns
    "proxy_headers": True,  # behind the reverse proxy: the client's address from X-Forwarded-For (trusted proxies)
    "server_header": False,
    "log_level": "warning",
    "timeout_graceful_shutdown": 5,
}


def _config(
    settings: Settings, engine: Engine, clock: Callable[[], datetime], *, host: str, port: int
) -> uvicorn.Config:
    return uvicorn.Config(create_app(settings, engine, clock), host=host, port=port, **OPTIONS)


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortalError(f"Port {port} auf {host} ist belegt (KIM_PORTAL_PORT wählt einen anderen).") from None


def serve(settings: Settings, engine: Engine, clock: Callable[[], datetime], *, host: str, port: int) -> None:
    """Serve until Ctrl-C or SIGTERM (``kim portal``)."""
    check_port_free(host, port)
    logging.getLogger("kim_workflow.portal").setLevel(logging.INFO)
    if settings.portal_workers > 1:  # worker processes build their app from the environment (the same settings)
        uvicorn.run("kim_workflow.portal.asgi:from_environment", factory=True, host=host, port=port,
                    workers=settings.portal_workers, **OPTIONS)  # fmt: skip
        return
    uvicorn.Server(_config(settings, engine, clock, host=host, port=port)).run()


class PortalThread:
    """The portal in a background thread of ``kim up``; ``stop()`` shuts it down cleanly."""

    def __init__(self, settings: Settings, engine: Engine, clock: Callable[[], datetime], *, host: str, port: int):
        self.host, self.port = host, port
        self._server = uvicorn.Server(_config(settings, engine, clock, host=host, port=port))
        self._thread = threading.Thread(target=self._server.run, name="kim-portal", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> PortalThread:
        check_port_free(self.host, self.port)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise PortalError(f"Das Portal startet nicht auf {self.url}.")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
