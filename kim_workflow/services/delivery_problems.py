"""Telling the ministry about emails that could not be delivered: one digest per incident, never one per retry.

An incident is the set of outbox rows that became ``failed`` or ``unknown`` (or were sent with some recipients
refused) since the last notice; the addresses refused for good are marked and the Kommune is written to at its
next address (:mod:`kim_workflow.services.undeliverable`) in the same transaction. The digest is
queued (keyed by the rows it covers) in the same transaction that marks them reported, so a rerun or a second
dispatcher finds nothing left to report. Notices about notices are not sent (they would loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.core.outbox_states import OPERATOR_STATUSES
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import OutboxMessage
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.email.dispatcher.outcomes import DispatchReport
from kim_workflow.email.dispatcher.transport import REFUSED_NOTE
from kim_workflow.email.keys import incident_occasion, outbox_range_ref
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.outbox import enqueue
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.services.undeliverable import handle_bounces
from kim_workflow.settings import Settings

PROBLEM_STATES = OPERATOR_STATUSES  # failed, unknown: waiting for the operator
MAX_LISTED = 200


@dataclass(frozen=True)
class Problem:
    """One undelivered email as the operator sees it (no body, no personal data beyond the address)."""

    outbox_id: int
    kind: str
    recipient: str
    subject: str
    status: OutboxStatus
    attempts: int
    error: str


@dataclass(frozen=True)
class DeliveryReport:
    new: list[Problem]
    notice_queued: bool


def report_new_problems(session: Session, settings: Settings, *, now: datetime) -> DeliveryReport:
    """Queue one ``delivery_failed`` digest for every failed/unknown email not reported yet, and mark them."""
    partly_refused = sa.and_(
        col(OutboxMessage.status) == OutboxStatus.SENT, col(OutboxMessage.last_error).startswith(REFUSED_NOTE)
    )
    rows = session.exec(
        select(OutboxMessage)
        .where(
            sa.or_(col(OutboxMessage.status).in_(PROBLEM_STATES), partly_refused),
            col(OutboxMessage.problem_reported_at).is_(None),
            col(OutboxMessage.kind) != MessageKind.DELIVERY_FAILED.value,
        )
        .order_by(col(OutboxMessage.id))
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return DeliveryReport([], False)
    problems = [_problem(row) for row in rows]
    handle_bounces(session, settings, rows, now=now)
    mailer = Mailer(settings)
    first, last = problems[0].outbox_id, problems[-1].outbox_id
    open_total = session.exec(
        select(OutboxMessage.id).where(
            col(OutboxMessage.status).in_(PROBLEM_STATES), col(OutboxMessage.kind) != MessageKind.DELIVERY_FAILED.value
        )
    ).all()
    email = mailer.compose(
        MessageKind.DELIVERY_FAILED,
        subject_ref=outbox_range_ref(first, last),
        occasion=incident_occasion(first, last, len(problems)),
        to=[Recipient(settings.ministry_escalation_address)],
        context={
            "problems": [_context(p) for p in problems[:MAX_LISTED]],
            "count": len(problems),
            "open_total": len(open_total),
            "reported_at": now,
        },
    )
    enqueue(session, [email], now=now, sender_domain=mailer.sender_domain)
    for row in rows:
        row.problem_reported_at = now
        session.add(row)
    return DeliveryReport(problems, True)


def _problem(row: OutboxMessage) -> Problem:
    return Problem(
        int(row.id or 0), row.kind, row.recipient, row.subject, row.status, row.attempts, (row.last_error or "")[:500]
    )


def _context(problem: Problem) -> dict[str, object]:
    return {
        "outbox_id": problem.outbox_id,
        "kind": MessageKind(problem.kind),
        "recipient": problem.recipient,
        "subject": problem.subject,
        "status": _STATUS_DE[problem.status],
        "attempts": problem.attempts,
        "error": problem.error or "—",
    }


@dataclass(frozen=True)
class DeliveryRound:
    """One dispatch and what it left undelivered; ``problems`` are the rows newly reported to the ministry."""

    report: DispatchReport
    problems: list[Problem]

    @property
    def undelivered(self) -> int:
        return self.report.failed + self.report.unknown + self.report.recovered_stale

    def problem_lines(self) -> list[str]:
        """German lines for a run log: which email, to whom, and why."""
        return [
            f"Outbox-Nr. {p.outbox_id} ({p.kind}) an {p.recipient}: {_STATUS_DE[p.status]} – "
            f"{p.error or 'ohne Meldung'}"
            for p in self.problems
        ]


_STATUS_DE = {
    OutboxStatus.FAILED: "fehlgeschlagen",
    OutboxStatus.UNKNOWN: "ungeklärt",
    OutboxStatus.SENT: "teilweise abgelehnt",
}


def dispatch_and_report(
    engine: Engine, settings: Settings, *, now: datetime, limit: int | None = None
) -> DeliveryRound:
    """Send what is due, then tell the ministry about new problems (the notice itself goes out right away)."""
    report = dispatch_sync(engine, settings, now=now, limit=limit)
    with session_scope(engine) as session:
        reported = report_new_problems(session, settings, now=now)
    if reported.notice_queued and not report.disabled:
        notice = dispatch_sync(engine, settings, now=now)
        report.errors.extend(notice.errors)
    return DeliveryRound(report, reported.new)
