"""The outbox: every email is a durable, keyed row before anything is sent; operator actions on it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.core.header_text import check_header_text
from kim_workflow.core.outbox_states import INITIAL_STATUS, OutboxEvent, is_allowed, sources, target
from kim_workflow.core.validation import InvalidValueError, normalise_email
from kim_workflow.db.events import record_event
from kim_workflow.db.models import OutboxMessage
from kim_workflow.db.reminder_log import insert_rows_ignoring_duplicates
from kim_workflow.email.keys import KEY_MAX
from kim_workflow.email.mime import Attachment, new_message_id

__all__ = [
    "EnqueueResult",
    "NewEmail",
    "OutboxActionError",
    "counts_by_status",
    "dismiss",
    "enqueue",
    "list_messages",
    "resend",
]

_TABLE: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]


class OutboxActionError(InvalidValueError):
    """An operator action that does not fit the message's state (nothing was changed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEmail:
    """A fully rendered email, keyed by the occasion it belongs to."""

    idempotency_key: str
    kind: str
    subject_ref: str
    recipient: str
    cc: tuple[str, ...] = ()
    contact_id: int | None = None
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()
    addresses_normalised: bool = False
    """Every address came from a stored contact (normalised at import): enqueue skips the syntax check."""


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    created: int
    existing: int


def enqueue(session: Session, emails: Sequence[NewEmail], *, now: datetime, sender_domain: str) -> EnqueueResult:
    """Insert the emails in the caller's transaction; a key already queued is left alone (no error)."""
    rows = _unique_rows([_row(email, now=now, sender_domain=sender_domain) for email in emails])
    session.flush()
    if not rows:
        return EnqueueResult(created=0, existing=len(emails))
    created = insert_rows_ignoring_duplicates(session.connection(), _TABLE, rows)
    return EnqueueResult(created=created, existing=len(emails) - created)


def _unique_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first row of each key, sorted by key: concurrent batches then lock keys in one order (no deadlock)."""
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["idempotency_key"], row)
    return [unique[key] for key in sorted(unique)]


def _row(email: NewEmail, *, now: datetime, sender_domain: str) -> dict[str, Any]:
    """Validate one email (raise ``InvalidValueError``) and return its outbox row."""
    _check_length("idempotency_key", email.idempotency_key, KEY_MAX)
    _check_length("kind", email.kind, 64)
    _check_length("subject_ref", email.subject_ref, 200)
    _check_length("subject", check_header_text(email.subject, field="subject"), 500)
    for attachment in email.attachments:
        check_header_text(attachment.filename, field="Dateiname")
    return {
        "idempotency_key": email.idempotency_key,
        "kind": email.kind,
        "subject_ref": email.subject_ref,
        "recipient": email.recipient
        if email.addresses_normalised
        else normalise_email(email.recipient, field="recipient"),
        "cc": list(email.cc) if email.addresses_normalised else [normalise_email(a, field="cc") for a in email.cc],
        "contact_id": email.contact_id,
        "subject": email.subject,
        "text_body": email.text,
        "html_body": email.html,
        "attachments": [attachment.to_json() for attachment in email.attachments],
        "message_id": new_message_id(sender_domain),
        "status": INITIAL_STATUS,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _check_length(field: str, value: str, limit: int) -> None:
    if not value or len(value) > limit:
        raise InvalidValueError(f"{field}: muss 1 bis {limit} Zeichen lang sein")


def list_messages(session: Session, status: OutboxStatus | None = None, limit: int = 100) -> list[OutboxMessage]:
    """The newest messages first, optionally of one status."""
    query = select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return list(session.exec(query))


def counts_by_status(session: Session) -> dict[OutboxStatus, int]:
    """How many messages are in each status (every status present, zero included)."""
    counts = dict.fromkeys(OutboxStatus, 0)
    query = sa.select(_TABLE.c.status, sa.func.count()).group_by(_TABLE.c.status)
    for status, count in session.connection().execute(query):
        counts[OutboxStatus(status)] = int(count)
    return counts


def resend(session: Session, ids: Iterable[int], *, now: datetime, actor: str) -> int:
    """Queue ``unknown``/``failed`` messages again (attempts reset, same Message-ID); return how many."""
    values = {
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_at": None,
        "claimed_by": None,
        "last_error": None,
        "problem_reported_at": None,  # failing again is a new incident
    }
    return _operator_action(session, ids, OutboxEvent.RESEND, values, now=now, actor=actor, action="kim.outbox.resent")


def dismiss(session: Session, ids: Iterable[int], *, now: datetime, actor: str) -> int:
    """Close ``unknown``/``failed`` messages for good (e.g. delivery confirmed by other means)."""
    return _operator_action(session, ids, OutboxEvent.DISMISS, {}, now=now, actor=actor, action="kim.outbox.dismissed")


def _operator_action(
    session: Session,
    ids: Iterable[int],
    event: OutboxEvent,
    values: dict[str, Any],
    *,
    now: datetime,
    actor: str,
    action: str,
) -> int:
    """Apply ``event`` (and ``values``) to all messages or to none: each must exist and be in a status that allows
    it (unknown or failed)."""
    wanted = sorted(set(ids))
    if not wanted:
        return 0
    query = select(OutboxMessage).where(col(OutboxMessage.id).in_(wanted)).with_for_update()
    messages = {m.id: m for m in session.exec(query)}
    _check_actionable(wanted, messages, event)
    statement = (
        sa.update(_TABLE)
        .where(_TABLE.c.id.in_(wanted), _TABLE.c.status.in_(sources(event)))
        .values(status=target(event), **values)
        .execution_options(synchronize_session=False)
    )
    if session.connection().execute(statement).rowcount != len(wanted):
        raise OutboxActionError("Nachrichten wurden währenddessen verändert; bitte erneut versuchen")
    for message_id in wanted:
        message = messages[message_id]
        payload = {
            "previous_status": str(message.status),
            "attempts": message.attempts,
            "kind": message.kind,
            "subject_ref": message.subject_ref,
            "contact_id": message.contact_id,
        }
        record_event(
            session,
            now=now,
            actor=actor,
            action=action,
            subject_type="outbox",
            subject_id=str(message_id),
            payload=payload,
        )
    for message in messages.values():
        session.expire(message)
    return len(wanted)


def _check_actionable(wanted: list[int], messages: dict[int | None, OutboxMessage], event: OutboxEvent) -> None:
    missing = [i for i in wanted if i not in messages]
    if missing:
        raise OutboxActionError(f"Nachricht(en) nicht gefunden: {', '.join(map(str, missing))}")
    refused = [f"{i} ({messages[i].status})" for i in wanted if not is_allowed(messages[i].status, event)]
    if refused:
        raise OutboxActionError(
            "Nur Nachrichten im Status 'unknown' oder 'failed' können erneut gesendet oder verworfen werden; "
            f"nicht: {', '.join(refused)}"
        )
