"""Local SMTP sinks: a Maildir a person can read (``kim up`` without SMTP), a counting one for simulations."""

from __future__ import annotations

import multiprocessing
import os
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


class SinkError(RuntimeError):
    """The local mail sink cannot work (folder not writable, port taken): a start-up error with a German message."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class MaildirSink:
    """aiosmtpd on loopback writing to ``maildir``; a context manager that starts and stops it."""

    def __init__(self, maildir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.maildir = maildir
        self.host = host
        self.port = port or free_port(host)
        self._controller: Controller | None = None

    def __enter__(self) -> MaildirSink:
        """Make the Maildir complete (``tmp``, ``new``, ``cur``, whatever exists already) and start listening.

        A folder that cannot be used is an error here, at start-up, not a ``500`` for every message later.
        """
        try:
            for part in ("tmp", "new", "cur"):
                (self.maildir / part).mkdir(parents=True, exist_ok=True)
            probe = self.maildir / "tmp" / f".kim-probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise SinkError(f"Das Maildir {self.maildir} ist nicht beschreibbar: {exc.strerror or exc}") from exc
        self._controller = Controller(Mailbox(self.maildir), hostname=self.host, port=self.port)
        try:
            self._controller.start()
        except (OSError, RuntimeError) as exc:
            raise SinkError(f"Der lokale SMTP-Sink auf {self.host}:{self.port} startet nicht: {exc}") from exc
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class _CountingHandler:
    def __init__(self, counter: Any) -> None:
        self.counter = counter

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 Message accepted for delivery"


def _serve_counting(host: str, port: int, counter: Any, stop: Any) -> None:
    controller = Controller(_CountingHandler(counter), hostname=host, port=port)
    controller.start()
    try:
        stop.wait()
    finally:
        controller.stop()


class CountingSink:
    """aiosmtpd in a process of its own that accepts and counts every message, storing nothing.

    For simulations and benchmarks: in its own process the sink does not compete with the sender for the GIL.
    """

    def __init__(self, host: str = "127.0.0.1", start_timeout: float = 30.0) -> None:
        context = multiprocessing.get_context("spawn")
        self.host, self.port = host, free_port(host)
        self._counter, self._stop = context.Value("q", 0), context.Event()
        self._process = context.Process(
            target=_serve_counting, args=(host, self.port, self._counter, self._stop), daemon=True
        )
        self._start_timeout = start_timeout

    @property
    def accepted(self) -> int:
        return int(self._counter.value)

    def __enter__(self) -> CountingSink:
        self._process.start()
        deadline = time.monotonic() + self._start_timeout
        while True:
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or not self._process.is_alive():
                    self._process.kill()
                    raise RuntimeError(f"SMTP-Sink auf {self.host}:{self.port} startet nicht") from None
                time.sleep(0.05)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
