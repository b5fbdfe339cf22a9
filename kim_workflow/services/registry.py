"""Registry use cases: seeding the Kommunen, importing contacts, finding gaps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from sqlmodel import Session, col, func, select

from kim_workflow.core.contact_sync import ImportMode
from kim_workflow.core.contacts import ContactFileError
from kim_workflow.core.domain import ContactRole
from kim_workflow.core.registry import KommuneRecord, parse_kommunen
from kim_workflow.core.validation import InvalidValueError, normalise_email
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Contact, Kommune
from kim_workflow.services.contact_import import ImportResult, import_contacts
from kim_workflow.services.portal_links import revoke_links

__all__ = [
    "ContactFileError",
    "ImportMode",
    "ImportResult",
    "import_contacts",
    "kommunen_overview",
    "seed_kommunen",
]


def reference_kommunen() -> list[KommuneRecord]:
    """The 36 Kommunen shipped as package data."""
    text = resources.files("kim_workflow.data").joinpath("kommunen_rlp.csv").read_text(encoding="utf-8")
    return parse_kommunen(text)


def seed_kommunen(session: Session, *, now: datetime, actor: str = "system") -> int:
    """Insert missing Kommunen and correct names/kinds of existing ones; return how many rows changed."""
    existing = {k.ags: k for k in session.exec(select(Kommune))}
    changed = 0
    for record in reference_kommunen():
        kommune = existing.get(record.ags)
        if kommune is None:
            session.add(Kommune(ags=record.ags, name=record.name, kind=record.kind, active=True))
        elif (kommune.name, kommune.kind) != (record.name, record.kind):
            kommune.name, kommune.kind = record.name, record.kind
        else:
            continue
        changed += 1
    if changed:
        record_event(
            session,
            now=now,
            actor=actor,
            action="kim.registry.seeded",
            subject_type="registry",
            subject_id="kommunen",
            payload={"changed": changed},
        )
    return changed


def set_contact_active(session: Session, *, email: str, active: bool, now: datetime, actor: str) -> int:
    """(De)activate every contact with this address (any case, IDN domain in either spelling); they get no email."""
    try:
        address = normalise_email(email)
    except InvalidValueError:
        address = email  # matches nothing that was validated on import
    contacts = session.exec(select(Contact).where(func.lower(col(Contact.email)) == address.lower())).all()
    for contact in contacts:
        contact.active, contact.updated_at = active, now
        record_event(
            session,
            now=now,
            actor=actor,
            action="kim.contact.activated" if active else "kim.contact.deactivated",
            subject_type="contact",
            subject_id=str(contact.id),
        )
    if not active:  # a deactivated contact's portal links stop working at once
        revoke_links(session, [c.id for c in contacts if c.id is not None], now=now, reason="deactivated")
    return len(contacts)


@dataclass(frozen=True)
class KommuneOverview:
    ags: str
    name: str
    kind: str
    active: bool
    contacts: list[tuple[str, str, ContactRole, bool]]

    @property
    def has_active_manager(self) -> bool:
        return any(role is ContactRole.INTEGRATION_MANAGER and active for _, _, role, active in self.contacts)


def kommunen_overview(session: Session) -> list[KommuneOverview]:
    """Every Kommune with its contacts, in AGS order (two queries, whatever the size)."""
    by_kommune: dict[int, list[tuple[str, str, ContactRole, bool]]] = {}
    for c in session.exec(select(Contact).where(col(Contact.kommune_id).is_not(None)).order_by(col(Contact.id))):
        assert c.kommune_id is not None
        by_kommune.setdefault(c.kommune_id, []).append((c.name, c.email, c.role, c.active))
    return [
        KommuneOverview(k.ags, k.name, k.kind.value, k.active, by_kommune.get(k.id or 0, []))
        for k in session.exec(select(Kommune).order_by(col(Kommune.ags)))
    ]


def kommunen_without_manager(session: Session) -> list[KommuneOverview]:
    """Active Kommunen that have no active integration-manager contact."""
    return [k for k in kommunen_overview(session) if k.active and not k.has_active_manager]
