"""A local SMTP sink that stores every message in a Maildir a person can read (used when no SMTP is set)."""

from __future__ import annotations

import socket
from pathlib import Path
from types import TracebackType

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


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
        maildir.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(Mailbox(maildir), hostname=host, port=self.port)

    def __enter__(self) -> MaildirSink:
        self._controller.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()
