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


def split_recipients(contacts: list[Contact]) -> tuple[list[Contact], list[Contact]]:
    """(To, Cc): integration managers (or else the role mailbox) get the email, deputies are in Cc."""
    managers = [c for c in contacts if c.role is ContactRole.INTEGRATION_MANAGER]
    mailboxes = [c for c in contacts if c.role is ContactRole.ROLE_MAILBOX]
    deputies = [c for c in contacts if c.role is ContactRole.DEPUTY]
    primary = managers or mailboxes or deputies
    cc = [c for c in deputies if c not in primary]
    return primary, cc
