"""The SMTP side of sending: pooled connections (TLS and login as configured), the wire form of a claimed message,
one delivery attempt, and the classification of what went wrong into retry, failed or unknown."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from time import monotonic
from typing import Any, Literal

import aiosmtplib
from aiosmtplib.typing import Default

from kim_workflow.core.validation import InvalidValueError
from kim_workflow.email.dispatcher.outcomes import ClaimedMessage, Outcome, Result
from kim_workflow.email.mime import Attachment, Envelope, needs_smtputf8, wire_bytes
from kim_workflow.settings import Settings, SmtpTls


def classify(exc: BaseException, *, payload_sent: bool) -> tuple[Result, int | None, str]:
    """The result of a failed send: retry (4xx, no payload sent), failed (5xx) or unknown (no reply to DATA)."""
    code = _code(exc)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):  # our envelope sender, not any recipient's address
        return (Result.RETRY if 400 <= exc.code < 500 else Result.FAILED), code, SENDER_REFUSED + error_text(exc)
    if code is not None and 400 <= code < 500:
        return Result.RETRY, code, f"Vorübergehend abgelehnt: {error_text(exc)}"
    if code is not None and 500 <= code < 600:
        return Result.FAILED, code, f"Dauerhaft abgelehnt: {error_text(exc)}"
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError):
        return Result.FAILED, None, f"Nicht zustellbar: {error_text(exc)}"
    if payload_sent:
        text = (
            f"Keine Antwort nach Übertragung der Nachricht ({error_text(exc)}); ob sie angenommen wurde, ist unbekannt"
        )
        return Result.UNKNOWN, code, text
    return Result.RETRY, code, f"Verbindungsfehler vor der Übertragung: {error_text(exc)}"


def _code(exc: BaseException) -> int | None:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        temporary = [c for c in codes if 400 <= c < 500]
        return temporary[0] if temporary else (codes[0] if codes else None)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code > 0:
        return exc.code
    return None


def error_text(exc: BaseException) -> str:
    """The server's answer (``550 no such user``) or the exception, for the operator."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc}"


SENDER_REFUSED = "Absender abgelehnt (MAIL FROM): "  # says nothing about the recipients' addresses
REFUSED_NOTE = "Gesendet, aber abgelehnt für: "  # then "address (code message); …" (read by the delivery loop)


def _refused_note(refused: dict[str, aiosmtplib.SMTPResponse]) -> str | None:
    if not refused:
        return None
    return REFUSED_NOTE + "; ".join(f"{a} ({r.code} {r.message})" for a, r in refused.items())


class _TrackingSMTP(aiosmtplib.SMTP):
    """Remembers whether the DATA phase began: from then on a missing reply means the outcome is unknown."""

    payload_sent = False

    async def data(
        self, message: str | bytes, /, *, timeout: float | Literal[Default.token] | None = Default.token
    ) -> aiosmtplib.SMTPResponse:
        self.payload_sent = True
        return await super().data(message, timeout=timeout)


def _new_smtp(settings: Settings) -> _TrackingSMTP:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password and settings.smtp_user else None
    return _TrackingSMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        timeout=settings.smtp_timeout_seconds,
        username=settings.smtp_user or None,
        password=password,
        use_tls=settings.smtp_tls is SmtpTls.IMPLICIT,
        start_tls=settings.smtp_tls is SmtpTls.STARTTLS,  # True: refuse to continue in plaintext
    )


class SmtpConnection:
    """One pooled SMTP connection; reopened when it breaks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: _TrackingSMTP | None = None
        self.used = False

    @property
    def is_open(self) -> bool:
        return self.smtp is not None and self.smtp.is_connected

    @property
    def payload_sent(self) -> bool:
        return self.smtp is not None and self.smtp.payload_sent

    async def open(self) -> str | None:
        """Connect (TLS and login as configured); the error text if that fails."""
        self.close()
        smtp = _new_smtp(self.settings)
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            return error_text(exc)
        self.smtp, self.used = smtp, False
        return None

    async def send(self, sender: str, recipients: list[str], payload: bytes) -> dict[str, Any]:
        """``sendmail``, asking for SMTPUTF8 when a recipient needs it; the refused recipients."""
        if self.smtp is None:
            raise aiosmtplib.SMTPServerDisconnected("Keine Verbindung")
        self.smtp.payload_sent = False
        options = ["SMTPUTF8"] if needs_smtputf8(recipients) else []
        refused, _ = await self.smtp.sendmail(sender, recipients, payload, mail_options=options)
        self.used = True
        return refused

    async def quit(self) -> None:
        if self.smtp is not None and self.smtp.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await self.smtp.quit()
        self.close()

    def close(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None


def render(message: ClaimedMessage, *, sender: str, reply_to: str | None, date: datetime) -> bytes:
    """The wire form of a claimed message (:func:`~kim_workflow.email.mime.wire_bytes`)."""
    envelope = Envelope(
        sender=sender,
        recipient=message.recipient,
        subject=message.subject,
        text=message.text_body,
        html=message.html_body,
        message_id=message.message_id,
        date=date,
        reply_to=reply_to,
        cc=message.cc,
        attachments=tuple(Attachment.from_json(a) for a in message.attachments),
    )
    return wire_bytes(envelope)


async def deliver(
    connection: SmtpConnection, message: ClaimedMessage, *, envelope_from: str, date: datetime
) -> Outcome:
    """Build and send one message; a pooled connection the server had closed while idle is reopened once."""
    settings = connection.settings
    try:
        payload = render(message, sender=settings.mail_from, reply_to=settings.mail_reply_to, date=date)
    except Exception as exc:  # a bad header value (HeaderTextError) is reported in German as it is
        reason = str(exc) if isinstance(exc, InvalidValueError) else error_text(exc)
        return Outcome(message, Result.FAILED, None, f"Nachricht konnte nicht erstellt werden: {reason}")
    reused = connection.used
    outcome = await _attempt(connection, message, payload, envelope_from)
    broken = outcome.result is Result.RETRY and outcome.code is None and not connection.is_open
    if broken and reused and await connection.open() is None:  # the server had closed the idle connection
        outcome = await _attempt(connection, message, payload, envelope_from)
    return outcome


async def _attempt(connection: SmtpConnection, message: ClaimedMessage, payload: bytes, sender: str) -> Outcome:
    recipients = list(dict.fromkeys([message.recipient, *message.cc]))
    try:
        refused = await connection.send(sender, recipients, payload)
    except Exception as exc:
        return Outcome(message, *classify(exc, payload_sent=connection.payload_sent))
    return Outcome(message, Result.SENT, None, _refused_note(refused))


class TokenBucket:
    """At most ``rate`` sends per second on average (no initial burst)."""

    def __init__(self, rate: float) -> None:
        self.rate, self.capacity, self.tokens = rate, max(1.0, rate), 1.0
        self.updated = monotonic()
        self.lock = asyncio.Lock()

    async def take(self) -> None:
        async with self.lock:
            while True:
                now = monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)
