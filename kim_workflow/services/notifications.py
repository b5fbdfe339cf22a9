"""Use cases that change state and put their email into the outbox in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from kim_workflow.core.domain import DeliverableKind
from kim_workflow.core.registry import display_name
from kim_workflow.db.models import Deliverable
from kim_workflow.email.keys import deliverable_ref, kommune_recipient, submission_received_occasion
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.outbox import enqueue
from kim_workflow.services.lookups import active_contacts_by_kommune, id_of, split_recipients
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.services.submissions import SubmissionOutcome, record_submission
from kim_workflow.settings import Settings


def record_submission_and_confirm(
    session: Session,
    settings: Settings,
    *,
    ags: str,
    year: int,
    kind: DeliverableKind,
    received_on: date,
    today: date,
    now: datetime,
    actor: str,
    file: Mapping[str, Any] | None = None,
) -> SubmissionOutcome:
    """Record the submission and queue the confirmation email to the Kommune in one transaction.

    ``file`` (``{name, size_text, sha256}``) is the report handed in through the portal, shown in the confirmation.
    """
    outcome = record_submission(
        session, ags=ags, year=year, kind=kind, received_on=received_on, today=today, now=now, actor=actor
    )
    if not outcome.newly_recorded:
        return outcome
    kommune = outcome.kommune
    to, cc = split_recipients(active_contacts_by_kommune(session, [id_of(kommune)]).get(id_of(kommune), []))
    if not to:
        return outcome
    others = session.exec(
        select(Deliverable).where(
            col(Deliverable.kommune_id) == kommune.id,
            col(Deliverable.year) == year,
            col(Deliverable.received_on).is_(None),
        )
    ).all()
    mailer = Mailer(settings)
    email = mailer.compose(
        MessageKind.SUBMISSION_CONFIRMATION,
        subject_ref=deliverable_ref(kommune.ags, year),
        occasion=submission_received_occasion(kind.value),
        to=[Recipient.of(c) for c in to],
        cc=[Recipient.of(c) for c in cc],
        key_recipient=kommune_recipient(kommune.ags),
        context={
            "kommune_name": display_name(kommune.name, kommune.kind),
            "cycle_year": year,
            "deliverable": kind,
            "received_on": received_on,
            "on_time": not outcome.late,
            "still_outstanding": [d.kind for d in others],
            "due_date": outcome.deliverable.due_date,
            "remark": outcome.remark,
            "file": file,
        },
    )
    enqueue(session, [email], now=now, sender_domain=mailer.sender_domain)
    return outcome
