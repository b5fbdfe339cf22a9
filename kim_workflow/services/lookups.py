"""Small repository helpers shared by the use cases."""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session, col, select

from kim_workflow.core.domain import ContactRole
from kim_workflow.core.validation import AGS_PATTERN
from kim_workflow.db.models import Contact, Cycle, Kommune
from kim_workflow.services.errors import UseCaseError


class HasId(Protocol):
    id: int | None


def id_of(row: HasId) -> int:
    """The primary key of a flushed row."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet (not flushed)")
    return row.id


def kommune_by_ags(session: Session, ags: str) -> Kommune:
    if not AGS_PATTERN.fullmatch(ags):
        raise UseCaseError(f"Ungültiger AGS {ags!r}: erwartet werden genau 8 Ziffern, z. B. 07315000.")
    kommune = session.exec(select(Kommune).where(col(Kommune.ags) == ags)).first()
    if kommune is None:
        raise UseCaseError(f"Unbekannter AGS {ags!r}: keine Kommune des Programms.")
    return kommune


def cycle_for(session: Session, year: int) -> Cycle:
    cycle = session.exec(select(Cycle).where(col(Cycle.year) == year)).first()
    if cycle is None:
        raise UseCaseError(f"Für {year} ist kein Förderjahr eröffnet (kim cycle open --year {year}).")
    return cycle


def active_contacts_by_kommune(session: Session, kommune_ids: list[int] | None = None) -> dict[int, list[Contact]]:
    """Active contacts of Kommunen (all, or the given ids), grouped by Kommune id — one query."""
    query = select(Contact).where(col(Contact.active), col(Contact.kommune_id).is_not(None))
    if kommune_ids is not None:
        query = query.where(col(Contact.kommune_id).in_(kommune_ids))
    grouped: dict[int, list[Contact]] = {}
    for contact in session.exec(query.order_by(col(Contact.id))):
        assert contact.kommune_id is not None
        grouped.setdefault(contact.kommune_id, []).append(contact)
    return grouped


def all_contacts(session: Session) -> list[tuple[Contact, str | None]]:
    """Every contact with its Kommune's AGS (None for ministry and DBKI), by AGS, role and address."""
    rows = session.exec(select(Contact, Kommune.ags).join(Kommune, isouter=True)).all()
    return sorted(rows, key=lambda r: (r[1] or "", r[0].role.value, r[0].email.lower()))


def split_recipients(contacts: list[Contact]) -> tuple[list[Contact], list[Contact]]:
    """(To, Cc) among the reachable contacts (addresses not marked undeliverable).

    Integration managers get the email, deputies are in Cc. When every manager's address bounced, the deputies
    stand in (then the role mailbox); a Kommune without any manager is written to at its role mailbox (or else
    its deputies), deputies in Cc. Empty To: nobody is left who can be reached.
    """
    reachable = [c for c in contacts if c.undeliverable_at is None]
    managers = [c for c in reachable if c.role is ContactRole.INTEGRATION_MANAGER]
    mailboxes = [c for c in reachable if c.role is ContactRole.ROLE_MAILBOX]
    deputies = [c for c in reachable if c.role is ContactRole.DEPUTY]
    if managers:
        return managers, deputies
    if any(c.role is ContactRole.INTEGRATION_MANAGER for c in contacts):  # the managers' addresses bounced
        return deputies or mailboxes, []
    primary = mailboxes or deputies
    return primary, [c for c in deputies if c not in primary]


def unreachable(contacts: list[Contact]) -> bool:
    """Whether a Kommune has contacts but every address that would be written to bounced."""
    return bool(contacts) and not split_recipients(contacts)[0]


def no_contact_note(contacts: list[Contact]) -> str:
    """What the ministry's digest says of a Kommune nobody can be written to."""
    return " (nicht zustellbar!)" if unreachable(contacts) else " (keine aktive Ansprechperson!)"
