"""A real aiosmtpd server on 127.0.0.1 that records what it accepts and can misbehave on purpose."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from kim_workflow.email.sink import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Behaviour:
    """How the server answers; change it between or during a test."""

    reject_rcpt_550: set[str] = field(default_factory=set)
    rcpt_refusal: str = "550 5.1.1 Mailbox unavailable"  # the reply to the addresses in reject_rcpt_550
    reject_mail_from_553: bool = False  # refuse our envelope sender (a misconfigured relay)
    temp_fail_ratio: float = 0.0  # share of distinct messages that get one 451 at DATA
    temp_fail_all: bool = False
    data_delay_seconds: float = 0.0
    seed: int = 1


class RecordingHandler:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.received: list[Received] = []
        self.attempts: Counter[str] = Counter()
        self._failed_once: set[str] = set()
        self._lock = threading.Lock()

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.behaviour.reject_mail_from_553:
            return "553 5.7.1 Sender address rejected: not owned by user"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in {a.lower() for a in self.behaviour.reject_rcpt_550}:
            return self.behaviour.rcpt_refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        message: Any = message_from_bytes(content, policy=policy.default)
        message_id = str(message["Message-ID"])
        with self._lock:
            self.attempts[message_id] += 1
        if self.behaviour.temp_fail_all:
            return "451 4.3.0 Temporary failure, try again later"
        if self._should_fail_once(message_id):
            return "451 4.7.1 Greylisted, try again later"
        if self.behaviour.data_delay_seconds:
            await asyncio.sleep(self.behaviour.data_delay_seconds)
        with self._lock:
            self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def _should_fail_once(self, message_id: str) -> bool:
        ratio = self.behaviour.temp_fail_ratio
        if not ratio:
            return False
        with self._lock:
            if message_id in self._failed_once:
                return False
            if random.Random(f"{self.behaviour.seed}:{message_id}").random() < ratio:
                self._failed_once.add(message_id)
                return True
        return False

    def received_ids(self) -> Counter[str]:
        with self._lock:
            return Counter(r.message_id for r in self.received)

    def by_recipient(self) -> dict[str, list[Received]]:
        result: dict[str, list[Received]] = {}
        with self._lock:
            for item in self.received:
                for rcpt in item.rcpt_tos:
                    result.setdefault(rcpt.lower(), []).append(item)
        return result


class SmtpServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.handler, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None
