"""The delivery loop: an address a mail server refused for good is marked undeliverable, the reminder it missed goes
to the next reachable contact, and the ministry is told once when a Kommune has no reachable address left.

Called for the outbox rows a delivery-problem report covers (:func:`~kim_workflow.services.delivery_problems.
report_new_problems`), in its transaction: every row is handled exactly once, as it is marked reported with it.
A bounce is permanent when the server answered 5xx (at RCPT or DATA) or kept answering 4xx until the retries were
used up; a connection that could not be made, or a refused envelope sender (MAIL FROM), says nothing about an
address and marks nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session, col, func, select

from kim_workflow.core.domain import ContactRole, OutboxStatus
from kim_workflow.core.ladder import Stage
from kim_workflow.core.registry import display_name
from kim_workflow.core.reminders import DeliverableState, KommuneDeliverables, PlannedReminder, outstanding
from kim_workflow.core.smtp_replies import address_at_fault
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Contact, DomainEvent, Kommune, OutboxMessage
from kim_workflow.email.dispatcher.transport import REFUSED_NOTE, SENDER_REFUSED
from kim_workflow.email.keys import (
    due_in_key,
    kommune_ref,
    outbox_key,
    parse_deliverable_ref,
    stage_in_key,
    stage_occasion,
    unreachable_occasion,
)
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.mime import Attachment
from kim_workflow.email.outbox import NewEmail, enqueue
from kim_workflow.services.lookups import active_contacts_by_kommune, id_of, split_recipients, unreachable
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.services.questionnaire_workbook import XLSX_TYPE
from kim_workflow.services.sweep_emails import ReminderComposer
from kim_workflow.services.sweep_state import YearState, load_state
from kim_workflow.settings import Settings

ACTOR = "system:delivery"
REMINDER_KINDS = frozenset({MessageKind.DELIVERABLE_REMINDER.value, MessageKind.OVERDUE_NOTICE.value})
_REFUSED = re.compile(r"(?P<address>[^\s;()]+@[^\s;()]+) \((?P<code>\d{3}) (?P<text>[^;]*)\)")
ROLE_DE = {
    ContactRole.INTEGRATION_MANAGER: "Integrationsmanagement",
    ContactRole.DEPUTY: "Vertretung",
    ContactRole.ROLE_MAILBOX: "Funktionspostfach",
    ContactRole.MINISTRY: "Ministerium",
    ContactRole.DBKI: "DBKI",
}


@dataclass(frozen=True, slots=True)
class Bounce:
    """Addresses a server refused for good for one outbox row; ``whole``: nobody received the email."""

    row: OutboxMessage
    addresses: dict[str, str]  # lower-cased address → the server's reply
    whole: bool


@dataclass
class LoopResult:
    marked: list[int]  # contact ids newly marked undeliverable
    resent: int  # reminders queued to the next reachable contact
    unreachable: list[str]  # AGS the ministry is told about


def permanent_bounces(session: Session, rows: Sequence[OutboxMessage]) -> list[Bounce]:
    """The permanent bounces among ``rows`` (failed ones with a server reply, sent ones with refused recipients)."""
    failed = [row for row in rows if row.status is OutboxStatus.FAILED]
    codes = _failure_codes(session, [id_of(row) for row in failed])
    bounces = []
    for row in failed:
        code = codes.get(id_of(row))
        note = row.last_error or ""
        if code is not None and 400 <= code < 600 and SENDER_REFUSED not in note and address_at_fault(note):
            reason = (row.last_error or str(code))[:2000]
            bounces.append(Bounce(row, dict.fromkeys([a.lower() for a in [row.recipient, *row.cc]], reason), True))
    for row in rows:
        note = row.last_error or ""
        if row.status is OutboxStatus.SENT and note.startswith(REFUSED_NOTE):
            refused = {
                m["address"].lower(): f"{m['code']} {m['text']}"
                for m in _REFUSED.finditer(note)
                if m["code"].startswith("5") and address_at_fault(f"{m['code']} {m['text']}")
            }
            if refused:
                bounces.append(Bounce(row, refused, False))
    return bounces


def _failure_codes(session: Session, ids: list[int]) -> dict[int, int | None]:
    """The server's reply code of each failed row, from its ``kim.email.failed`` event."""
    if not ids:
        return {}
    events = session.exec(
        select(DomainEvent).where(
            col(DomainEvent.action) == "kim.email.failed", col(DomainEvent.subject_id).in_([str(i) for i in ids])
        )
    )
    return {int(e.subject_id): e.payload.get("code") for e in events}


def mark_undeliverable(session: Session, bounce: Bounce, *, now: datetime) -> list[Contact]:
    """Mark every active contact with a refused address (once: a marked contact keeps its first reply)."""
    contacts = session.exec(
        select(Contact).where(
            func.lower(col(Contact.email)).in_(list(bounce.addresses)),
            col(Contact.active),
            col(Contact.undeliverable_at).is_(None),
        )
    ).all()
    for contact in contacts:
        contact.undeliverable_at = now
        contact.undeliverable_reason = bounce.addresses[contact.email.lower()][:2000]
        contact.updated_at = now
        session.add(contact)
        record_event(
            session, now=now, actor=ACTOR, action="kim.contact.undeliverable", subject_type="contact",
            subject_id=str(contact.id), payload={"outbox_id": bounce.row.id, "kind": bounce.row.kind},
        )  # fmt: skip
    session.flush()
    return list(contacts)


def handle_bounces(session: Session, settings: Settings, rows: Sequence[OutboxMessage], *, now: datetime) -> LoopResult:
    """Mark the refused addresses among ``rows``; re-send missed reminders; tell the ministry of unreachable ones."""
    result = LoopResult([], 0, [])
    mailer = Mailer(settings)
    emails: list[NewEmail] = []
    states: dict[int, YearState] = {}  # one load per year, however many reminders bounced (the contacts are the
    # session's own objects, so marks made later in this loop show in them)
    for bounce in permanent_bounces(session, rows):
        marked = mark_undeliverable(session, bounce, now=now)
        result.marked += [id_of(c) for c in marked]
        kommune_ids = sorted({c.kommune_id for c in marked if c.kommune_id is not None})
        contacts = active_contacts_by_kommune(session, kommune_ids) if kommune_ids else {}
        if bounce.whole and bounce.row.kind in REMINDER_KINDS:
            again = _reminder_again(session, mailer, bounce.row, now=now, states=states)
            if again is not None:
                emails.append(again)
                result.resent += 1
        for kommune_id in kommune_ids:
            if unreachable(contacts.get(kommune_id, [])):
                kommune = session.get(Kommune, kommune_id)
                assert kommune is not None
                emails.append(_unreachable_notice(mailer, kommune, contacts[kommune_id], bounce.row, now=now))
                result.unreachable.append(kommune.ags)
    if emails:
        enqueue(session, emails, now=now, sender_domain=mailer.sender_domain)
    return result


def _reminder_again(
    session: Session, mailer: Mailer, row: OutboxMessage, *, now: datetime, states: dict[int, YearState]
) -> NewEmail | None:
    """The same reminder (same stage and due date) to the Kommune's next reachable contact, freshly rendered and
    keyed by that address (a rerun finds the key taken); None if nobody is left or nothing is outstanding."""
    ref, stage_text, due = (
        parse_deliverable_ref(row.subject_ref),
        stage_in_key(row.idempotency_key),
        due_in_key(row.idempotency_key),
    )
    if ref is None or stage_text is None or due is None:
        return None
    ags, year = ref
    today = now.astimezone(mailer.settings.tz).date()
    if year not in states:
        states[year] = load_state(session, year)
    state = states[year]
    kommune = state.kommunen.get(ags)
    if kommune is None or not split_recipients(state.contacts.get(kommune.id, []))[0]:
        return None
    deliverables = tuple(DeliverableState(d.kind, d.due_date, d.received_on) for d in state.deliverables[ags])
    still = outstanding(KommuneDeliverables(ags, kommune.name, deliverables), today)
    if still is None:
        return None
    stage = Stage.parse(stage_text)
    planned = PlannedReminder(ags, stage, due, still[0], stage.date_for(due))
    kept = [Attachment.from_json(a) for a in row.attachments if a.get("content_type") == XLSX_TYPE]
    workbook = (lambda _: kept[0]) if kept else None  # the bounced reminder's workbook goes along, text and all
    email = ReminderComposer(mailer, year, today, now, state, workbook=workbook).reminder(planned)
    key = outbox_key(email.kind, email.subject_ref, email.recipient, stage_occasion(str(stage), due))
    return replace(email, idempotency_key=key)


def _unreachable_notice(
    mailer: Mailer, kommune: Kommune, contacts: list[Contact], row: OutboxMessage, *, now: datetime
) -> NewEmail:
    addresses = [
        {"name": c.name, "email": c.email, "role": ROLE_DE[c.role], "reason": c.undeliverable_reason or "—"}
        for c in contacts
    ]
    return mailer.compose(
        MessageKind.KOMMUNE_UNREACHABLE,
        subject_ref=kommune_ref(kommune.ags),
        occasion=unreachable_occasion(id_of(row)),
        to=[Recipient(mailer.settings.ministry_escalation_address)],
        context={
            "kommune_name": display_name(kommune.name, kommune.kind),
            "ags": kommune.ags,
            "addresses": addresses,
            "failed_subject": row.subject,
            "reported_at": now,
        },
    )


def clear_undeliverable(session: Session, *, email: str, now: datetime, actor: str) -> int:
    """Take the bounce mark off every contact with this address (an operator confirmed it); how many had one."""
    contacts = session.exec(
        select(Contact).where(
            func.lower(col(Contact.email)) == email.strip().lower(), col(Contact.undeliverable_at).is_not(None)
        )
    ).all()
    for contact in contacts:
        contact.undeliverable_at, contact.undeliverable_reason, contact.updated_at = None, None, now
        session.add(contact)
        record_event(
            session, now=now, actor=actor, action="kim.contact.deliverable", subject_type="contact",
            subject_id=str(contact.id), payload={"source": "operator"},
        )  # fmt: skip
    return len(contacts)
