"""Personal portal links: minted with the email that carries them, checked when opened, revoked with the contact.

A link is ``<portal>/zugang/<token>``; the token (``secrets.token_urlsafe(32)``, 256 bits) is stored only as its
SHA-256. Each link belongs to the email it is in (``issued_for`` = the outbox key): the token row and the email are
inserted in the same transaction, both ignoring duplicates, so a re-run that queues nothing new mints nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from kim_workflow.core.domain import ContactRole
from kim_workflow.core.portal_access import is_link_usable, link_expiry
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Contact, PortalToken
from kim_workflow.db.reminder_log import insert_rows_ignoring_duplicates

if TYPE_CHECKING:  # the policy (and with it the holiday calendar) only where links are minted
    from kim_workflow.core.policy import YearPolicy

PERSONAL_ROLES = frozenset({ContactRole.INTEGRATION_MANAGER, ContactRole.DEPUTY})
LINK_PATH = "/zugang/"
_TABLE: sa.Table = PortalToken.__table__  # type: ignore[attr-defined]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class LinkMinter:
    """Mints links while emails are composed; :meth:`store` inserts them in the caller's transaction."""

    base_url: str
    policy: YearPolicy
    tz: ZoneInfo
    now: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)

    def link_for(self, contact: Contact, *, issued_for: str) -> str | None:
        """A fresh link for ``contact`` (an active manager or deputy of a Kommune), else None."""
        if contact.id is None or contact.kommune_id is None or contact.role not in PERSONAL_ROLES:
            return None
        token = secrets.token_urlsafe(32)
        self.rows.append(
            {
                "token_hash": token_hash(token),
                "issued_for": issued_for,
                "contact_id": contact.id,
                "kommune_id": contact.kommune_id,
                "year": self.policy.year,
                "created_at": self.now,
                "expires_at": self.expires_at,
                "revoked_at": None,
                "last_used_at": None,
            }
        )
        return f"{self.base_url}{LINK_PATH}{token}"

    @property
    def expires_at(self) -> datetime:
        return link_expiry(self.policy.deadline(), self.policy.report.portal_link_days_after_deadline, self.tz)

    def store(self, session: Session) -> int:
        """Insert the minted links (a link for an email already queued is left out); return how many are new."""
        rows, self.rows = self.rows, []
        session.flush()
        return insert_rows_ignoring_duplicates(session.connection(), _TABLE, rows)


@dataclass(frozen=True)
class LinkAccess:
    contact_id: int
    kommune_id: int
    year: int


def open_link(session: Session, token: str, *, now: datetime) -> LinkAccess | None:
    """Who a token lets in, or None for an unknown, expired or revoked one (or an inactive contact)."""
    row = session.exec(
        select(PortalToken, Contact)
        .join(Contact, col(Contact.id) == col(PortalToken.contact_id))
        .where(col(PortalToken.token_hash) == token_hash(token))
    ).first()
    if row is None:
        return None
    link, contact = row
    usable = is_link_usable(
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        contact_active=contact.active and contact.role in PERSONAL_ROLES and contact.kommune_id == link.kommune_id,
        now=now,
    )
    if not usable:
        return None
    link.last_used_at = now
    record_event(
        session, now=now, actor=f"contact:{contact.id}", action="kim.portal.link_opened", subject_type="contact",
        subject_id=str(contact.id), year=link.year, payload={"link_id": link.id},
    )  # fmt: skip
    return LinkAccess(contact.id or 0, link.kommune_id, link.year)


def revoke_links(session: Session, contact_ids: list[int], *, now: datetime, reason: str) -> int:
    """Revoke every open link of these contacts (deactivated or replaced); return how many."""
    if not contact_ids:
        return 0
    links = session.exec(
        select(PortalToken).where(col(PortalToken.contact_id).in_(contact_ids), col(PortalToken.revoked_at).is_(None))
    ).all()
    for link in links:
        link.revoked_at = now
    if links:
        record_event(
            session, now=now, actor="system", action="kim.portal.links_revoked", subject_type="contacts",
            subject_id=",".join(str(i) for i in sorted(set(contact_ids)))[:100],
            payload={"count": len(links), "reason": reason},
        )  # fmt: skip
    return len(links)
