"""Bounces that arrive by email after the server had accepted: matched to the outbox by Message-ID and handled
like a refusal on the wire (the delivery loop of :mod:`kim_workflow.services.undeliverable`).

A report covering every recipient of a row fails it (``record_bounce``: sent/unknown → failed, with a
``kim.email.failed`` event carrying the code); one covering only some recipients leaves it sent with the
refused addresses noted. Either way the row is reported again, so :func:`dispatch_and_report` marks the
addresses, re-sends a missed reminder and tells the ministry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.core.outbox_states import OutboxEvent, sources, target
from kim_workflow.db.engine import session_scope
from kim_workflow.db.events import record_event
from kim_workflow.db.models import OutboxMessage
from kim_workflow.email.dispatcher.transport import REFUSED_NOTE
from kim_workflow.email.dsn import BounceReport, FailedRecipient, parse_dsn
from kim_workflow.email.imap import BounceMailbox, BounceMailboxError
from kim_workflow.services.delivery_problems import dispatch_and_report
from kim_workflow.settings import Settings

log = logging.getLogger(__name__)
ACTOR = "system:bounces"
BOUNCE_NOTE = "Unzustellbar gemeldet (Bounce): "
_T: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]


class Handled(StrEnum):
    FAILED = "failed"  # every recipient bounced: the row failed
    PARTIAL = "partial"  # some recipients bounced
    KNOWN = "known"  # reported before (a second poll, or the same bounce twice)
    UNMATCHED = "unmatched"  # no outbox row with that Message-ID
    NOT_A_BOUNCE = "not_a_bounce"


@dataclass
class BounceCheck:
    """What one poll of the bounce mailbox did."""

    configured: bool = True
    read: int = 0
    handled: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def count(self, what: Handled) -> int:
        return self.handled.get(what.value, 0)

    def summary(self) -> str:
        if not self.configured:
            return "Kein Bounce-Postfach konfiguriert (KIM_BOUNCE_IMAP_HOST); nichts geprüft."
        text = (
            f"{self.read} Nachricht(en) gelesen: {self.count(Handled.FAILED)} fehlgeschlagen, "
            f"{self.count(Handled.PARTIAL)} teilweise unzustellbar, {self.count(Handled.KNOWN)} schon bekannt, "
            f"{self.count(Handled.UNMATCHED)} ohne passende E-Mail, {self.count(Handled.NOT_A_BOUNCE)} kein Bounce"
        )
        return "; ".join([text, *self.errors])


def record_bounce(session: Session, report: BounceReport, *, now: datetime) -> Handled:
    """Match ``report`` to its outbox row and record it (idempotent: the same report twice changes nothing)."""
    row = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.message_id).in_(report.message_ids)).with_for_update()
    ).first()
    if row is None:
        return Handled.UNMATCHED
    recipients = [a.lower() for a in [row.recipient, *row.cc]]
    failed = {f.address.lower(): f for f in report.failed if f.address.lower() in recipients}
    if not failed and len(recipients) == 1:  # the server names the final (e.g. forwarded) address
        failed = {recipients[0]: report.failed[0]}
    if not failed:
        return Handled.UNMATCHED
    entries = "; ".join(f"{address} ({f.code} {f.reason})" for address, f in failed.items())
    if set(failed) >= set(recipients) and row.status in sources(OutboxEvent.RECORD_BOUNCE):
        _fail(session, row, failed, entries, now=now)
        return Handled.FAILED
    if row.status is OutboxStatus.SENT and not set(failed) >= set(recipients):
        note = row.last_error or ""
        if note.startswith(REFUSED_NOTE) and all(address in note.lower() for address in failed):
            return Handled.KNOWN
        row.last_error, row.problem_reported_at = (REFUSED_NOTE + entries)[:2000], None
        session.add(row)
        return Handled.PARTIAL
    return Handled.KNOWN


def _fail(
    session: Session, row: OutboxMessage, failed: dict[str, FailedRecipient], entries: str, *, now: datetime
) -> None:
    event = OutboxEvent.RECORD_BOUNCE
    statement = (
        sa.update(_T)
        .where(_T.c.id == row.id, _T.c.status.in_(sources(event)))
        .values(status=target(event), last_error=(BOUNCE_NOTE + entries)[:2000], problem_reported_at=None)
        .execution_options(synchronize_session=False)
    )
    if session.connection().execute(statement).rowcount != 1:
        return
    session.expire(row)
    code = max(f.code for f in failed.values())
    record_event(
        session, now=now, actor=ACTOR, action="kim.email.failed", subject_type="outbox", subject_id=str(row.id),
        payload={"kind": row.kind, "subject_ref": row.subject_ref, "code": code, "contact_id": row.contact_id,
                 "source": "bounce"},
    )  # fmt: skip


def check_bounces(engine: Engine, settings: Settings, *, now: datetime) -> BounceCheck:
    """Read the unseen messages of the bounce mailbox, record each bounce, flag each message ``\\Seen`` once its
    outcome is committed; then run the delivery loop (mark, re-send, tell the ministry) and send what it queued."""
    check = BounceCheck(configured=bool(settings.bounce_imap_host))
    if not check.configured:
        return check
    try:
        with BounceMailbox(settings) as box:
            for uid in box.unseen():
                report = parse_dsn(box.fetch(uid))
                check.read += 1
                handled = Handled.NOT_A_BOUNCE
                if report is not None:
                    with session_scope(engine) as session:
                        handled = record_bounce(session, report, now=now)
                check.handled[handled.value] = check.handled.get(handled.value, 0) + 1
                box.mark_seen(uid)
    except BounceMailboxError as exc:
        check.errors.append(str(exc))
        log.error("%s", exc)
    if check.count(Handled.FAILED) or check.count(Handled.PARTIAL):
        delivery = dispatch_and_report(engine, settings, now=now)
        check.errors.extend(delivery.report.errors)
    return check
