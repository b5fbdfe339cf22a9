""" "Neuen Link anfordern": a fresh personal link by email, only to a registered address, the same answer for all."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from kim_workflow.core.domain import CycleStatus
from kim_workflow.core.registry import display_name
from kim_workflow.core.validation import InvalidValueError, normalise_email
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Contact, Cycle, Kommune
from kim_workflow.email.keys import deliverable_ref
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.outbox import enqueue
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.services.policies import load_policy
from kim_workflow.services.portal_links import PERSONAL_ROLES, LinkMinter
from kim_workflow.settings import Settings


def request_link(session: Session, settings: Settings, *, address: str, now: datetime) -> int:
    """Queue a ``portal_link`` email to each active manager or deputy with this address (for the latest open
    year); return how many — the caller shows the same answer whatever the count."""
    try:
        wanted = normalise_email(address.strip())
    except InvalidValueError:
        return 0
    year = session.exec(
        select(Cycle.year).where(col(Cycle.status) == CycleStatus.OPEN).order_by(col(Cycle.year).desc())
    ).first()
    if year is None:
        return 0
    contacts = session.exec(
        select(Contact, Kommune)
        .join(Kommune, col(Kommune.id) == col(Contact.kommune_id))
        .where(col(Contact.active), func.lower(col(Contact.email)) == wanted.lower(), col(Kommune.active))
    ).all()
    policy = load_policy(year, settings.policy_dir)
    mailer, minter = Mailer(settings), LinkMinter(settings.portal_base_url, policy, settings.tz, now)
    emails = []
    for contact, kommune in contacts:
        if contact.role not in PERSONAL_ROLES:
            continue
        keyed = {
            "subject_ref": deliverable_ref(kommune.ags, year),
            "occasion": f"portal-link:{uuid.uuid4()}",
            "to": [Recipient.of(contact)],
        }
        link = minter.link_for(contact, issued_for=mailer.key_for(MessageKind.PORTAL_LINK, **keyed))  # type: ignore[arg-type]
        context = {"kommune_name": display_name(kommune.name, kommune.kind), "cycle_year": year,
                   "portal_link": link, "valid_until": (minter.expires_at - timedelta(days=1)).date()}  # fmt: skip
        emails.append(mailer.compose(MessageKind.PORTAL_LINK, **keyed, context=context))  # type: ignore[arg-type]
        record_event(session, now=now, actor=f"contact:{contact.id}", action="kim.portal.link_requested",
                     subject_type="contact", subject_id=str(contact.id), year=year)  # fmt: skip
    minter.store(session)
    enqueue(session, emails, now=now, sender_domain=mailer.sender_domain)
    return len(emails)
