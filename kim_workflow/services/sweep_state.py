"""What the daily sweep reads of one funding year: Kommunen, their owed deliverables and their contacts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col

from kim_workflow.core.domain import DeliverableKind, DeliverableStatus, KommuneKind
from kim_workflow.db.models import Contact, Deliverable, Kommune
from kim_workflow.services.lookups import active_contacts_by_kommune


@dataclass(frozen=True, slots=True)
class KommuneRow:
    id: int
    ags: str
    name: str
    kind: KommuneKind


@dataclass(frozen=True, slots=True)
class DeliverableRow:
    kind: DeliverableKind
    due_date: date
    received_on: date | None
    due_revision: int


@dataclass(frozen=True)
class YearState:
    kommunen: dict[str, KommuneRow]
    deliverables: dict[str, list[DeliverableRow]]
    contacts: dict[int, list[Contact]]


def owed() -> sa.ColumnElement[bool]:
    """Waived deliverables ("entfällt") are never reminded, never escalated."""
    return col(Deliverable.status) != DeliverableStatus.WAIVED


def load_state(session: Session, year: int) -> YearState:
    """Plain tuples, not ORM objects: a sweep over 36,000 Kommunen reads 72,000 deliverables."""
    rows = session.connection().execute(
        sa.select(
            Kommune.id,
            Kommune.ags,
            Kommune.name,
            Kommune.kind,  # type: ignore[call-overload]
            Deliverable.kind,
            Deliverable.due_date,
            Deliverable.received_on,
            Deliverable.due_revision,
        )
        .join(Kommune, col(Kommune.id) == col(Deliverable.kommune_id))
        .where(col(Deliverable.year) == year, col(Kommune.active), owed())
        .order_by(col(Kommune.ags), col(Deliverable.kind))
    )
    kommunen: dict[str, KommuneRow] = {}
    deliverables: dict[str, list[DeliverableRow]] = defaultdict(list)
    for kommune_id, ags, name, kommune_kind, kind, due, received, revision in rows:
        kommunen[ags] = KommuneRow(kommune_id, ags, name, KommuneKind(kommune_kind))
        deliverables[ags].append(DeliverableRow(DeliverableKind(kind), due, received, revision))
    return YearState(kommunen, dict(deliverables), active_contacts_by_kommune(session))
