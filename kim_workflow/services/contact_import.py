"""Importing the contacts file as a synchronised registry: plan first, then (only if asked) apply.

Contacts are matched by Kommune, address (domain in ASCII form) and role. ``merge`` creates and updates what the
file holds and leaves every other contact as it is; ``replace`` also deactivates the active contacts missing from
the file. A deactivated contact is reactivated only when its row is in the file *and* ``reactivate`` is set
(otherwise it is listed as kept deactivated): a file that lags behind a deliberate deactivation must not undo it.
A row for a contact whose address bounced clears that mark.
Every change is one domain event (ids, roles and field names only, never an address or a name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from kim_workflow.core.contact_sync import ChangeKind, ImportMode
from kim_workflow.core.contacts import ContactRow, RowError, file_columns, parse_contacts
from kim_workflow.core.validation import InvalidValueError, normalise_email
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Contact, Kommune
from kim_workflow.services.portal_links import revoke_links


@dataclass(frozen=True, slots=True)
class ContactChange:
    kind: ChangeKind
    ags: str | None
    name: str
    email: str
    role: str
    line: int | None = None  # None for contacts missing from the file
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"Zeile {self.line}: " if self.line else ""
        detail = f" [{', '.join(self.fields)}]" if self.fields else ""
        return f"{where}{self.name} <{self.email}> ({self.role}, {self.ags or 'ohne AGS'}){detail}"


@dataclass
class ImportResult:
    mode: ImportMode = ImportMode.MERGE
    applied: bool = False
    changes: list[ContactChange] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for change in self.changes if change.kind is kind)

    @property
    def created(self) -> int:
        return self.count(ChangeKind.CREATED)

    @property
    def updated(self) -> int:
        """Changed or reactivated (the figure earlier versions reported)."""
        return self.count(ChangeKind.CHANGED) + self.count(ChangeKind.REACTIVATED)


Key = tuple[int | None, str, str]
UNDELIVERABLE = "undeliverable_at"  # the field a row of the file clears: the address bounced before


def import_contacts(
    session: Session,
    text: str,
    *,
    now: datetime,
    actor: str,
    mode: ImportMode = ImportMode.MERGE,
    apply: bool = True,
    reactivate: bool = False,
) -> ImportResult:
    """Validate the whole file and plan every change; store them (all or none) only when ``apply`` is set."""
    kommunen = {k.ags: k for k in session.exec(select(Kommune))}
    rows, errors = parse_contacts(text, known_ags=kommunen.keys())
    if errors:
        return ImportResult(mode=mode, errors=errors)
    columns = file_columns(text)
    ags_of = {k.id: ags for ags, k in kommunen.items()}
    existing = {_key(c.kommune_id, c.email, c.role.value): c for c in session.exec(select(Contact))}
    result = ImportResult(mode=mode, applied=apply)
    created: list[Contact] = []
    in_file: set[Key] = set()
    for row in rows:
        kommune_id = kommunen[row.ags].id if row.ags else None
        key = _key(kommune_id, row.email, row.role.value)
        in_file.add(key)
        contact = existing.get(key)
        change = _plan_row(row, contact, columns, reactivate=reactivate)
        if change is None:
            result.unchanged += 1
            continue
        result.changes.append(change)
        if apply and contact is None:
            created.append(_new_contact(row, kommune_id, now))
        elif apply and contact is not None:
            _apply_change(session, row, contact, change, now=now, actor=actor)
    if created:
        session.add_all(created)
        session.flush()  # one round trip gives every new contact its id for the events
        for contact in created:
            ags = ags_of.get(contact.kommune_id)
            _event(session, contact, "kim.contact.created", now, actor, {"role": contact.role.value, "ags": ags})
    if mode is ImportMode.REPLACE:
        replaced: list[int] = []
        for key, contact in existing.items():
            if contact.active and key not in in_file:
                change = _missing(contact, ags_of.get(contact.kommune_id))
                result.changes.append(change)
                if apply:
                    contact.active, contact.updated_at = False, now
                    _event(session, contact, "kim.contact.deactivated", now, actor, {"source": "import"})
                    replaced += [contact.id] if contact.id is not None else []
        revoke_links(session, replaced, now=now, reason="replaced")  # their portal links stop working at once
    if apply:
        record_event(
            session,
            now=now,
            actor=actor,
            action="kim.contacts.imported",
            subject_type="registry",
            subject_id="contacts",
            payload={"mode": mode.value, "unchanged": result.unchanged}
            | {kind.name.lower(): result.count(kind) for kind in ChangeKind},
        )
    return result


def _key(kommune_id: int | None, email: str, role: str) -> Key:
    try:
        address = normalise_email(email)
    except InvalidValueError:  # stored before validation was this strict: compare as it is
        address = email
    return kommune_id, address.lower(), role


def _plan_row(
    row: ContactRow, contact: Contact | None, columns: frozenset[str], *, reactivate: bool
) -> ContactChange | None:
    def change(kind: ChangeKind, fields: tuple[str, ...] = ()) -> ContactChange:
        return ContactChange(kind, row.ags, row.name, row.email, row.role.value, row.line, fields)

    if contact is None:
        return change(ChangeKind.CREATED)
    fields = tuple(name for name, value in _wanted(row, columns).items() if getattr(contact, name) != value)
    if contact.undeliverable_at is not None:  # the file confirms the address: the bounce mark goes
        fields += (UNDELIVERABLE,)
    if not contact.active:
        return change(ChangeKind.REACTIVATED if reactivate else ChangeKind.KEPT_INACTIVE, fields)
    return change(ChangeKind.CHANGED, fields) if fields else None


def _wanted(row: ContactRow, columns: frozenset[str]) -> dict[str, str | None]:
    """The fields the file sets; a file without ``anrede``/``titel`` columns leaves them as they are."""
    wanted: dict[str, str | None] = {"name": row.name, "email": row.email}
    wanted |= {name: getattr(row, name) for name in ("anrede", "titel") if name in columns}
    return wanted


def _new_contact(row: ContactRow, kommune_id: int | None, now: datetime) -> Contact:
    return Contact(
        kommune_id=kommune_id,
        name=row.name,
        email=row.email,
        role=row.role,
        anrede=row.anrede,
        titel=row.titel,
        active=True,
        created_at=now,
        updated_at=now,
    )


def _apply_change(
    session: Session, row: ContactRow, contact: Contact, change: ContactChange, *, now: datetime, actor: str
) -> None:
    if change.kind is ChangeKind.KEPT_INACTIVE:
        return
    for name in change.fields:
        if name == UNDELIVERABLE:
            contact.undeliverable_at, contact.undeliverable_reason = None, None
        else:
            setattr(contact, name, getattr(row, name))
    contact.updated_at = now
    payload: dict[str, object] = {"source": "import", "fields": list(change.fields)}
    if change.kind is ChangeKind.REACTIVATED:
        contact.active = True
        _event(session, contact, "kim.contact.activated", now, actor, payload)
    else:
        _event(session, contact, "kim.contact.changed", now, actor, payload)


def _missing(contact: Contact, ags: str | None) -> ContactChange:
    return ContactChange(ChangeKind.DEACTIVATED, ags, contact.name, contact.email, contact.role.value)


def _event(
    session: Session, contact: Contact, action: str, now: datetime, actor: str, payload: dict[str, object]
) -> None:
    record_event(
        session,
        now=now,
        actor=actor,
        action=action,
        subject_type="contact",
        subject_id=str(contact.id),
        payload=payload,
    )
