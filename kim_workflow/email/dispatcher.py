"""Sending the outbox over SMTP: claim due rows, send them over pooled connections, record outcomes honestly.

A claimed row is ``claimed`` until, a few rows at a time and just before they go on the wire, it becomes
``sending``; after a crash, ``claimed`` rows go back to the queue and only ``sending`` ones (on the wire, or sent
and not yet recorded) become ``unknown``. Every claim counts one attempt.

A 4xx reply or a connection error before the message payload left us → pending again with exponential backoff
(failed once ``dispatch_max_attempts`` is reached). A 5xx reply → failed at once.
No reply after the DATA command (timeout, disconnect) → ``unknown``: the server may have accepted the message, so
it is never re-sent automatically; the operator decides (``outbox.resend`` / ``outbox.dismiss``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from time import monotonic
from typing import Any, Literal, TypeVar

import aiosmtplib
import sqlalchemy as sa
from aiosmtplib.typing import Default
from sqlalchemy.engine import Connection, Engine

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.core.validation import InvalidValueError
from kim_workflow.db.engine import session_scope
from kim_workflow.db.events import record_event
from kim_workflow.db.models import OutboxMessage
from kim_workflow.email.mime import Attachment, Envelope, address_only, wire_bytes
from kim_workflow.email.smtp_auth import plaintext_auth_problem
from kim_workflow.settings import Settings, SmtpTls

__all__ = [
    "ClaimedMessage",
    "DispatchReport",
    "Outcome",
    "Recovery",
    "Result",
    "RetryPolicy",
    "claim_batch",
    "claim_due",
    "classify",
    "count_due",
    "dispatch",
    "dispatch_sync",
    "mark_sending",
    "record_outcomes",
    "recover_stale",
    "release_claims",
    "render",
    "with_db_retry",
]

log = logging.getLogger(__name__)

CLAIM_BATCH = 200
START_WINDOW_PER_CONNECTION = 8  # rows marked ``sending`` per statement, per pooled connection
FLUSH_SIZE = 100
FLUSH_SECONDS = 0.2
STALE_AFTER = timedelta(minutes=15)
ERROR_MAX = 2000
ACTOR = "system:dispatcher"
SQLITE_HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)
DB_RETRY_FIRST_SECONDS, DB_RETRY_CAP_SECONDS = 0.05, 2.0
_SQLITE_TRANSIENT = ("locked", "busy", "disk i/o", "unable to open")
STALE_TEXT = (
    "Versand wurde unterbrochen (Prozess beendet?); ob der Server die Nachricht angenommen hat, ist unbekannt. "
    "Bitte prüfen und erneut senden oder verwerfen."
)
_R = TypeVar("_R")
_T: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """The data of one claimed outbox row that sending needs (plain, detached from any session)."""

    id: int
    kind: str
    subject_ref: str
    contact_id: int | None
    recipient: str
    cc: tuple[str, ...]
    subject: str
    text_body: str
    html_body: str
    attachments: tuple[dict[str, str], ...]
    message_id: str
    attempts: int


_CLAIM_COLUMNS = [_T.c[f.name] for f in fields(ClaimedMessage)]


class Result(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # temporary failure on the wire
    RELEASED = "released"  # never reached the wire (dispatch stopped); handled like a retry
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Outcome:
    message: ClaimedMessage
    result: Result
    code: int | None = None
    error: str | None = None


@dataclass
class DispatchReport:
    """What one dispatch did; ``summary()`` is the operator-facing German line."""

    worker_id: str
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    released: int = 0
    failed: int = 0
    unknown: int = 0
    recovered_stale: int = 0
    released_stale: int = 0
    disabled: bool = False
    errors: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("sent", "retried", "released", "failed", "unknown"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self) -> str:
        if self.disabled:
            return "Versand ist abgeschaltet (KIM_SEND_ENABLED=false); es wurde nichts gesendet."
        text = (
            f"{self.sent} gesendet, {self.retried + self.released} später erneut, {self.failed} fehlgeschlagen, "
            f"{self.unknown} ungeklärt (bitte prüfen)"
        )
        if self.recovered_stale:
            text += f"; {self.recovered_stale} hängende Nachricht(en) als ungeklärt markiert"
        if self.released_stale:
            text += f"; {self.released_stale} liegengebliebene, nie versendete Nachricht(en) wieder eingereiht"
        return "; ".join([text, *self.errors])


@dataclass
class Tally:
    sent: int = 0
    retried: int = 0
    released: int = 0
    failed: int = 0
    unknown: int = 0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    cap_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> RetryPolicy:
        return cls(
            settings.dispatch_max_attempts, settings.dispatch_backoff_seconds, settings.dispatch_backoff_cap_seconds
        )

    def delay(self, attempts: int) -> timedelta:
        """``min(cap, base * 2**(attempts-1))``."""
        exponent = min(max(attempts - 1, 0), 40)
        return timedelta(seconds=min(self.cap_seconds, self.base_seconds * 2**exponent))


# --- database side -------------------------------------------------------------------------------------------


def is_transient_db_error(exc: BaseException) -> bool:
    """A lost or busy connection (worth retrying), not a wrong statement."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa.exc.InterfaceError):
        return True
    if not isinstance(exc, sa.exc.OperationalError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        return any(word in str(exc.orig).lower() for word in _SQLITE_TRANSIENT)
    return True


def with_db_retry(function: Callable[[], _R], *, budget_seconds: float, what: str) -> _R:
    """``function()``, called again with exponential backoff while the database connection is lost or busy, for at
    most ``budget_seconds``; then (or for any other error) the error is raised. ``function`` must be one
    transaction that is safe to repeat (the outbox statements are: each checks the row's status and owner)."""
    delay, deadline = DB_RETRY_FIRST_SECONDS, monotonic() + budget_seconds
    while True:
        try:
            return function()
        except sa.exc.DBAPIError as exc:
            if not is_transient_db_error(exc) or monotonic() + delay > deadline:
                raise
            log.warning("Datenbankverbindung unterbrochen (%s: %s); neuer Versuch in %.2f s", what, exc.orig, delay)
        time.sleep(delay)
        delay = min(delay * 2, DB_RETRY_CAP_SECONDS)


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(_T.c.status == OutboxStatus.PENDING, _T.c.next_attempt_at <= now)


def count_due(engine: Engine, *, now: datetime, cap: int) -> int:
    """How many rows are due, counting at most ``cap``."""
    due = sa.select(_T.c.id).where(_due(now)).limit(cap).subquery()
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(due)).scalar_one())


def claim_due(engine: Engine, *, now: datetime, limit: int, worker_id: str) -> list[ClaimedMessage]:
    """Atomically claim up to ``limit`` due rows (one transaction per batch of at most 200)."""
    claimed: list[ClaimedMessage] = []
    while len(claimed) < limit:
        size = min(CLAIM_BATCH, limit - len(claimed))
        batch = claim_batch(engine, due_before=now, claimed_at=now, limit=size, worker_id=worker_id)
        claimed.extend(batch)
        if len(batch) < size:
            break
    return claimed


def claim_batch(
    engine: Engine, *, due_before: datetime, claimed_at: datetime, limit: int, worker_id: str
) -> list[ClaimedMessage]:
    """One claiming transaction: pending → claimed, claimed_at/by set, attempts + 1."""
    values = {"status": OutboxStatus.CLAIMED, "claimed_at": claimed_at, "claimed_by": worker_id}
    values["attempts"] = _T.c.attempts + 1
    pick = sa.select(_T.c.id).where(_due(due_before)).order_by(_T.c.next_attempt_at, _T.c.id).limit(limit)
    with engine.begin() as connection:  # SQLite: BEGIN IMMEDIATE, so select + update cannot interleave
        if connection.dialect.name == "postgresql":
            ids = list(connection.execute(pick.with_for_update(skip_locked=True)).scalars())
            rows = _update_returning(connection, sa.update(_T).where(_T.c.id.in_(ids)), values) if ids else []
        elif SQLITE_HAS_RETURNING:
            rows = _update_returning(connection, sa.update(_T).where(_T.c.id.in_(pick.scalar_subquery())), values)
        else:
            ids = list(connection.execute(pick).scalars())
            connection.execute(sa.update(_T).where(_T.c.id.in_(ids)).values(values))
            rows = list(connection.execute(sa.select(*_CLAIM_COLUMNS).where(_T.c.id.in_(ids))).mappings())
    return sorted((_claimed(row) for row in rows), key=lambda m: m.id)


def _update_returning(connection: Connection, update: sa.Update, values: dict[str, Any]) -> list[Any]:
    statement = update.where(_T.c.status == OutboxStatus.PENDING).values(values).returning(*_CLAIM_COLUMNS)
    return list(connection.execute(statement).mappings())


def _claimed(row: Any) -> ClaimedMessage:
    data = dict(row)
    data["cc"] = tuple(data["cc"] or ())
    data["attachments"] = tuple(data["attachments"] or ())
    return ClaimedMessage(**data)


def mark_sending(engine: Engine, ids: Sequence[int], *, worker_id: str) -> set[int]:
    """claimed → sending for those of ``ids`` this worker still holds (committed before any of them is sent).

    Safe to repeat after a lost connection: rows this worker already marked are returned again."""
    held = (OutboxStatus.CLAIMED, OutboxStatus.SENDING)
    statement = (
        sa.update(_T)
        .where(_T.c.id.in_(ids), _T.c.claimed_by == worker_id, _T.c.status.in_(held))
        .values(status=OutboxStatus.SENDING)
    )
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql" or SQLITE_HAS_RETURNING:
            return set(connection.execute(statement.returning(_T.c.id)).scalars())
        connection.execute(statement)
        mine = sa.select(_T.c.id).where(
            _T.c.id.in_(ids), _T.c.claimed_by == worker_id, _T.c.status == OutboxStatus.SENDING
        )
        return set(connection.execute(mine).scalars())


@dataclass(frozen=True, slots=True)
class Recovery:
    unknown: int  # were on the wire (or sent and not recorded): the operator decides
    released: int  # never left the dispatcher: queued again


def recover_stale(engine: Engine, *, now: datetime, older_than: timedelta = STALE_AFTER) -> Recovery:
    """Rows a dead dispatcher left behind for longer than ``older_than``: ``sending`` ones become ``unknown``,
    ``claimed`` ones (never handed to the SMTP server) go back to ``pending`` with their attempt not counted."""
    stale = _T.c.claimed_at < now - older_than
    to_unknown = (
        sa.update(_T)
        .where(_T.c.status == OutboxStatus.SENDING, stale)
        .values(status=OutboxStatus.UNKNOWN, last_error=STALE_TEXT)
    )
    release = (
        sa.update(_T)
        .where(_T.c.status == OutboxStatus.CLAIMED, stale)
        .values(status=OutboxStatus.PENDING, attempts=_T.c.attempts - 1, claimed_at=None, claimed_by=None)
    )
    with engine.begin() as connection:
        recovery = Recovery(int(connection.execute(to_unknown).rowcount), int(connection.execute(release).rowcount))
    if recovery.unknown:
        log.warning("%d hängende Nachricht(en) als 'unknown' markiert", recovery.unknown)
    if recovery.released:
        log.warning("%d liegengebliebene, nie versendete Nachricht(en) wieder eingereiht", recovery.released)
    return recovery


def release_claims(engine: Engine, *, worker_id: str) -> int:
    """Rows still ``claimed`` by this worker after its dispatch (a claim whose answer a lost connection swallowed)
    go back to ``pending``, their attempt not counted; never-sent rows, so not ``unknown``."""
    release = (
        sa.update(_T)
        .where(_T.c.status == OutboxStatus.CLAIMED, _T.c.claimed_by == worker_id)
        .values(status=OutboxStatus.PENDING, attempts=_T.c.attempts - 1, claimed_at=None, claimed_by=None)
    )
    with engine.begin() as connection:
        return int(connection.execute(release).rowcount)


def record_outcomes(
    engine: Engine, outcomes: Sequence[Outcome], *, at: datetime, retry: RetryPolicy, worker_id: str
) -> Tally:
    """Write outcomes in one transaction, one statement per outcome group; failures get a domain event.

    Safe to repeat after a lost connection: only rows this worker still holds change, and a failure's event is
    written only with the change of its row (failures are rare: one statement each)."""
    groups, tally = _group(outcomes, at=at, retry=retry)
    with session_scope(engine) as session:
        connection = session.connection()
        if groups["sent"]:
            statement = sa.update(_T).where(_T.c.id.in_(groups["sent"]), *_mine(worker_id, sent=True))
            connection.execute(statement.values(status=OutboxStatus.SENT, sent_at=at, last_error=None))
        _update_each(connection, groups["noted"], worker_id, sent=True, status=OutboxStatus.SENT, sent_at=at)
        _update_each(connection, groups["pending"], worker_id, status=OutboxStatus.PENDING, next_attempt_at=_b("next"))
        _update_each(connection, groups["unknown"], worker_id, status=OutboxStatus.UNKNOWN)
        failed = sa.update(_T).where(_T.c.id == _b("id"), *_mine(worker_id)).values(status=OutboxStatus.FAILED,
                                                                                    last_error=_b("error"))  # fmt: skip
        for row in groups["failed"]:
            if connection.execute(failed, {"b_id": row["b_id"], "b_error": row["b_error"]}).rowcount != 1:
                continue  # written before the connection was lost (or no longer ours)
            message = row["message"]
            payload = {"kind": message.kind, "subject_ref": message.subject_ref, "code": row["code"]}
            payload |= {"contact_id": message.contact_id, "attempts": message.attempts}
            record_event(
                session,
                now=at,
                actor=ACTOR,
                action="kim.email.failed",
                subject_type="outbox",
                subject_id=str(message.id),
                payload=payload,
            )
    return tally


def _group(outcomes: Sequence[Outcome], *, at: datetime, retry: RetryPolicy) -> tuple[dict[str, list[Any]], Tally]:
    groups: dict[str, list[Any]] = {"sent": [], "noted": [], "pending": [], "failed": [], "unknown": []}
    tally = Tally()
    for outcome in outcomes:
        message, error = outcome.message, (outcome.error or "")[:ERROR_MAX]
        row: dict[str, Any] = {"b_id": message.id, "b_error": error, "message": message, "code": outcome.code}
        if outcome.result is Result.SENT:
            groups["noted" if error else "sent"].append(row if error else message.id)
            tally.sent += 1
        elif outcome.result is Result.FAILED:
            groups["failed"].append(row)
            tally.failed += 1
        elif outcome.result is Result.UNKNOWN:
            groups["unknown"].append(row)
            tally.unknown += 1
        elif message.attempts >= retry.max_attempts:
            row["b_error"] = f"Aufgegeben nach {message.attempts} Versuchen; zuletzt: {error}"[:ERROR_MAX]
            groups["failed"].append(row)
            tally.failed += 1
        else:
            groups["pending"].append(row | {"b_next": at + retry.delay(message.attempts)})
            tally.released += outcome.result is Result.RELEASED
            tally.retried += outcome.result is Result.RETRY
    return groups, tally


def _b(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(f"b_{name}")


def _mine(worker_id: str, *, sent: bool = False) -> list[sa.ColumnElement[bool]]:
    """Only rows this worker still holds (``sent`` also when a stale-recovery marked them unknown meanwhile)."""
    held = (OutboxStatus.CLAIMED, OutboxStatus.SENDING)
    states = (*held, OutboxStatus.UNKNOWN) if sent else held
    return [_T.c.claimed_by == worker_id, sa.or_(*(_T.c.status == state for state in states))]  # no IN: executemany


def _update_each(
    connection: Connection, rows: list[dict[str, Any]], worker_id: str, *, sent: bool = False, **values: Any
) -> None:
    if rows:
        statement = sa.update(_T).where(_T.c.id == _b("id"), *_mine(worker_id, sent=sent))
        params = [{k: v for k, v in row.items() if k.startswith("b_")} for row in rows]
        connection.execute(statement.values(last_error=_b("error"), **values), params)


# --- SMTP side -----------------------------------------------------------------------------------------------


def classify(exc: BaseException, *, payload_sent: bool) -> tuple[Result, int | None, str]:
    """The result of a failed send: retry (4xx, no payload sent), failed (5xx) or unknown (no reply to DATA)."""
    code = _code(exc)
    if code is not None and 400 <= code < 500:
        return Result.RETRY, code, f"Vorübergehend abgelehnt: {_text(exc)}"
    if code is not None and 500 <= code < 600:
        return Result.FAILED, code, f"Dauerhaft abgelehnt: {_text(exc)}"
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError):
        return Result.FAILED, None, f"Nicht zustellbar: {_text(exc)}"
    if payload_sent:
        text = f"Keine Antwort nach Übertragung der Nachricht ({_text(exc)}); ob sie angenommen wurde, ist unbekannt"
        return Result.UNKNOWN, code, text
    return Result.RETRY, code, f"Verbindungsfehler vor der Übertragung: {_text(exc)}"


def _code(exc: BaseException) -> int | None:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        temporary = [c for c in codes if 400 <= c < 500]
        return temporary[0] if temporary else (codes[0] if codes else None)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code > 0:
        return exc.code
    return None


def _text(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _refused_note(refused: dict[str, aiosmtplib.SMTPResponse]) -> str | None:
    if not refused:
        return None
    return "Gesendet, aber abgelehnt für: " + "; ".join(f"{a} ({r.code} {r.message})" for a, r in refused.items())


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


class _Connection:
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
            return _text(exc)
        self.smtp, self.used = smtp, False
        return None

    async def send(self, sender: str, recipients: list[str], payload: bytes, utf8: bool) -> dict[str, Any]:
        if self.smtp is None:
            raise aiosmtplib.SMTPServerDisconnected("Keine Verbindung")
        self.smtp.payload_sent = False
        refused, _ = await self.smtp.sendmail(sender, recipients, payload, mail_options=["SMTPUTF8"] if utf8 else [])
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


def _needs_utf8(message: ClaimedMessage) -> bool:
    return not all(address.isascii() for address in (message.recipient, *message.cc))


class _TokenBucket:
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


class _Recorder:
    """Outcomes are written in groups: every ``FLUSH_SIZE`` outcomes or ``FLUSH_SECONDS`` after the first one."""

    def __init__(self, write: Callable[[list[Outcome]], Awaitable[Tally]], report: DispatchReport) -> None:
        self.write, self.report = write, report
        self.pending: list[Outcome] = []
        self.wake, self.full = asyncio.Event(), asyncio.Event()
        self.closing = False

    def add(self, outcome: Outcome) -> None:
        self.pending.append(outcome)
        self.wake.set()
        if len(self.pending) >= FLUSH_SIZE:
            self.full.set()

    def close(self) -> None:
        self.closing = True
        self.wake.set()
        self.full.set()

    async def run(self) -> None:
        while self.pending or not self.closing:
            if not self.pending:
                self.wake.clear()
                await self.wake.wait()
                continue
            if len(self.pending) < FLUSH_SIZE and not self.closing:
                self.full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.full.wait(), FLUSH_SECONDS)
            group, self.pending = self.pending, []
            self.report.add(await self.write(group))


class _Run:
    """One dispatch: a producer claims batches into a queue, one worker per pooled connection sends them."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        report: DispatchReport,
        *,
        now: datetime,
        limit: int | None,
    ) -> None:
        self.engine, self.settings, self.report, self.now, self.limit = engine, settings, report, now, limit
        self.started = monotonic()
        self.retry = RetryPolicy.of(settings)
        self.batch = _batch_size(settings)
        self.queue: asyncio.Queue[ClaimedMessage | None] = asyncio.Queue(maxsize=self.batch)
        self.leftover: list[ClaimedMessage] = []
        self.upcoming: deque[int] = deque()  # ids in queue order, not yet marked ``sending``
        self.marked: set[int] = set()
        self.window = START_WINDOW_PER_CONNECTION * max(1, settings.dispatch_concurrency)
        self.alive = 0
        self.stopped = False
        rate = settings.dispatch_rate_per_second
        self.bucket = _TokenBucket(rate) if rate else None
        self.recorder = _Recorder(self._write, report)
        self.db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kim-dispatch-db")
        self.envelope_from = address_only(settings.mail_from)
        self.db_budget = settings.dispatch_db_retry_seconds
        # an outcome (above all a 250) is kept until written: for as long as the rows stay ours
        self.outcome_budget = max(self.db_budget, settings.outbox_stale_after_seconds)

    def clock(self) -> datetime:
        """The passed-in ``now`` advanced by how long this dispatch has run (for claimed_at, sent_at, Date)."""
        return self.now + timedelta(seconds=monotonic() - self.started)

    async def _db(self, function: Callable[..., _R], *args: Any, **kwargs: Any) -> _R:
        """Database work of this dispatch, one statement at a time on one thread: claims, marks and outcome writes
        never wait for each other's write lock (SQLite's busy handler sleeps in steps of milliseconds).
        A lost connection is retried for ``dispatch_db_retry_seconds``."""
        return await self._db_within(self.db_budget, partial(function, *args, **kwargs))

    async def _db_within(self, budget: float, call: Callable[[], _R]) -> _R:
        retrying = partial(with_db_retry, call, budget_seconds=budget, what=getattr(call, "func", call).__name__)
        return await asyncio.get_running_loop().run_in_executor(self.db, retrying)

    async def _write(self, outcomes: list[Outcome]) -> Tally:
        worker = self.report.worker_id
        write = partial(record_outcomes, self.engine, outcomes, at=self.clock(), retry=self.retry, worker_id=worker)
        return await self._db_within(self.outcome_budget, write)

    async def execute(self) -> None:
        try:
            cap = self.settings.dispatch_concurrency
            cap = cap if self.limit is None else min(self.limit, cap)
            try:
                due = await self._db(count_due, self.engine, now=self.now, cap=cap) if cap > 0 else 0
            except sa.exc.DBAPIError as exc:
                self._error(f"Datenbank nicht erreichbar ({_db_text(exc)}); nichts versendet")
                return
            connections = await self._connect(min(due, self.settings.dispatch_concurrency)) if due else []
            if connections:
                try:
                    await self._send_all(connections)
                finally:
                    await asyncio.gather(*(c.quit() for c in connections))
        finally:
            self.db.shutdown(wait=True)

    async def _send_all(self, connections: list[_Connection]) -> None:
        self.alive = len(connections)
        recorder = asyncio.create_task(self.recorder.run())
        recorder.add_done_callback(self._recorder_done)
        workers = [asyncio.create_task(self._work(c)) for c in connections]
        try:
            await self._produce(len(workers))
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._drain()
            for message in self.leftover:
                self.recorder.add(Outcome(message, Result.RELEASED, None, "Nicht versendet: Versand abgebrochen"))
            self.recorder.close()
            await self._finish(recorder)

    async def _finish(self, recorder: asyncio.Task[None]) -> None:
        """Wait until every outcome is written, then hand back claims a lost connection left without an answer."""
        try:
            await recorder
            await self._db(release_claims, self.engine, worker_id=self.report.worker_id)
        except sa.exc.DBAPIError as exc:
            self._error(
                f"Ergebnisse konnten nicht gespeichert werden, Datenbank nicht erreichbar ({_db_text(exc)}); "
                "die betroffenen Nachrichten werden nach KIM_OUTBOX_STALE_AFTER_SECONDS als ungeklärt markiert"
            )

    def _recorder_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is not None:
            self.stopped = True  # outcomes can no longer be recorded: stop sending

    async def _connect(self, size: int) -> list[_Connection]:
        connections = [_Connection(self.settings) for _ in range(size)]
        errors = await asyncio.gather(*(c.open() for c in connections))
        if all(errors):
            self._error(f"SMTP-Verbindung fehlgeschlagen ({errors[0]}); nichts versendet, Warteschlange unverändert")
        return [c for c, error in zip(connections, errors, strict=True) if error is None]

    def _error(self, text: str) -> None:
        if text not in self.report.errors:
            log.error(text)
            self.report.errors.append(text)

    async def _produce(self, workers: int) -> None:
        """Claim batch after batch into the queue (it holds one batch, so claims stay close to sending)."""
        remaining = self.limit
        while not self.stopped and remaining != 0:
            size = self.batch if remaining is None else min(self.batch, remaining)
            try:
                batch = await self._db(claim_batch, self.engine, due_before=self.now, claimed_at=self.clock(),
                                       limit=size, worker_id=self.report.worker_id)  # fmt: skip
            except sa.exc.DBAPIError as exc:
                self._error(f"Datenbank nicht erreichbar ({_db_text(exc)}); keine weiteren Nachrichten abgeholt")
                break
            self.report.claimed += len(batch)
            remaining = None if remaining is None else remaining - len(batch)
            for message in batch:
                if self.stopped:
                    self.leftover.append(message)
                else:
                    await self.queue.put(message)
                    self.upcoming.append(message.id)
            if len(batch) < size:
                break
        for _ in range(workers):
            if not self.stopped:
                await self.queue.put(None)

    async def _work(self, connection: _Connection) -> None:
        try:
            while not self.stopped:
                if not connection.is_open and not await self._reopen(connection):
                    return
                message = await self.queue.get()
                if message is None:
                    return
                if self.stopped:
                    self.leftover.append(message)
                    return
                if self.bucket is not None:
                    await self.bucket.take()
                if await self._started(message):
                    self.recorder.add(await self._deliver(connection, message))
        finally:
            self.alive -= 1
            if not self.alive:
                self.stopped = True
                self._drain()

    async def _started(self, message: ClaimedMessage) -> bool:
        """Make sure ``message`` is marked ``sending`` (committed) before it goes on the wire; rows are marked a
        window at a time, in queue order. False if this worker no longer holds the row (a stale recovery released
        it meanwhile): then it is not sent.

        Runs in the event loop on purpose: the statement takes ~0.7 ms once per window, while handing it to a
        thread cost more (GIL hand-offs slowed sending by ~13 % in bench runs). After a lost connection the mark
        is retried on the database thread; if the database stays away, the message is not sent (released).
        """
        if message.id not in self.marked:
            ids, worker = self._take_window(message.id), self.report.worker_id
            try:
                self.marked |= mark_sending(self.engine, ids, worker_id=worker)
            except sa.exc.DBAPIError as exc:
                if not is_transient_db_error(exc):
                    raise
                try:
                    self.marked |= await self._db(mark_sending, self.engine, ids, worker_id=worker)
                except sa.exc.DBAPIError as again:
                    self._error(f"Datenbank nicht erreichbar ({_db_text(again)}); Versand angehalten")
                    self.stopped = True
                    self.leftover.append(message)
                    return False
        return message.id in self.marked

    def _take_window(self, first: int) -> list[int]:
        """The ids up to ``first`` in queue order (taken by other connections meanwhile) and ``window`` after it."""
        ids: list[int] = []
        while self.upcoming and first not in ids:
            ids.append(self.upcoming.popleft())
        if first not in ids:
            ids.append(first)
        while self.upcoming and len(ids) < self.window:
            ids.append(self.upcoming.popleft())
        return ids

    async def _reopen(self, connection: _Connection) -> bool:
        error = await connection.open()
        if error is not None:
            self._error(f"SMTP-Verbindung verloren und nicht wiederherstellbar ({error}); Versand angehalten")
        return error is None

    def _drain(self) -> None:
        while not self.queue.empty():
            message = self.queue.get_nowait()
            if message is not None:
                self.leftover.append(message)

    async def _deliver(self, connection: _Connection, message: ClaimedMessage) -> Outcome:
        try:
            payload = render(message, sender=self.settings.mail_from, reply_to=self.settings.mail_reply_to,
                             date=self.clock())  # fmt: skip
        except Exception as exc:  # a bad header value (HeaderTextError) is reported in German as it is
            reason = str(exc) if isinstance(exc, InvalidValueError) else _text(exc)
            return Outcome(message, Result.FAILED, None, f"Nachricht konnte nicht erstellt werden: {reason}")
        reused = connection.used
        outcome = await self._attempt(connection, message, payload)
        broken = outcome.result is Result.RETRY and outcome.code is None and not connection.is_open
        if broken and reused and await connection.open() is None:  # the server had closed the idle connection
            outcome = await self._attempt(connection, message, payload)
        return outcome

    async def _attempt(self, connection: _Connection, message: ClaimedMessage, payload: bytes) -> Outcome:
        recipients = list(dict.fromkeys([message.recipient, *message.cc]))
        try:
            refused = await connection.send(self.envelope_from, recipients, payload, _needs_utf8(message))
        except Exception as exc:
            return Outcome(message, *classify(exc, payload_sent=connection.payload_sent))
        return Outcome(message, Result.SENT, None, _refused_note(refused))


def _db_text(exc: sa.exc.DBAPIError) -> str:
    """The driver's error, first line only (no SQL, no parameters)."""
    lines = str(exc.orig).strip().splitlines()
    return f"{type(exc.orig).__name__}: {lines[0] if lines else ''}"


def _batch_size(settings: Settings) -> int:
    """Claim at most about a minute's worth of messages when a rate limit applies (claimed_at stays fresh)."""
    rate = settings.dispatch_rate_per_second
    return CLAIM_BATCH if not rate else max(settings.dispatch_concurrency, min(CLAIM_BATCH, int(rate * 60)))


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[:100]


async def dispatch(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    worker_id: str | None = None,
    limit: int | None = None,
) -> DispatchReport:
    """Send what is due at ``now`` (at most ``limit`` messages); SMTP trouble is reported, not raised."""
    report = DispatchReport(worker_id=worker_id or default_worker_id())
    if not settings.send_enabled:
        report.disabled = True
        log.warning(report.summary())
        return report
    if not settings.smtp_host:
        report.errors.append("Kein SMTP-Server konfiguriert (KIM_SMTP_HOST); nichts versendet")
        return report
    problem = plaintext_auth_problem(settings)
    if problem is not None:  # checked before anything is claimed: every row stays pending
        log.error(problem)
        report.errors.append(problem)
        return report
    stale = timedelta(seconds=settings.outbox_stale_after_seconds)
    recover = partial(recover_stale, engine, now=now, older_than=stale)
    try:
        recovery = await asyncio.to_thread(with_db_retry, recover, budget_seconds=settings.dispatch_db_retry_seconds,
                                           what="recover_stale")  # fmt: skip
    except sa.exc.DBAPIError as exc:
        report.errors.append(f"Datenbank nicht erreichbar ({_db_text(exc)}); nichts versendet")
        log.error(report.errors[-1])
        return report
    report.recovered_stale, report.released_stale = recovery.unknown, recovery.released
    await _Run(engine, settings, report, now=now, limit=limit).execute()
    log.info("Versand (%s): %s", report.worker_id, report.summary())
    return report


def dispatch_sync(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    worker_id: str | None = None,
    limit: int | None = None,
) -> DispatchReport:
    """:func:`dispatch` for synchronous callers (CLI, Prefect tasks); not from inside a running event loop."""
    return asyncio.run(dispatch(engine, settings, now=now, worker_id=worker_id, limit=limit))
