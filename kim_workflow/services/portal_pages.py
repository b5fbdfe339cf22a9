"""What the portal pages show: a Kommune's year (due items, extensions, what is in) and the ministry's list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from kim_workflow.core.domain import DeliverableKind, DeliverableStatus
from kim_workflow.core.registry import display_name
from kim_workflow.core.status import is_late
from kim_workflow.db.models import Deliverable, Kommune, PortalUpload
from kim_workflow.services.lookups import kommune_by_ags
from kim_workflow.services.portal_uploads import current_upload


@dataclass(frozen=True)
class DueItem:
    kind: DeliverableKind
    due_date: date
    original_due_date: date
    extension_reason: str | None
    status: DeliverableStatus
    received_on: date | None
    overdue: bool

    @property
    def extended(self) -> bool:
        return self.due_date != self.original_due_date

    @property
    def waived(self) -> bool:
        return self.status is DeliverableStatus.WAIVED

    @property
    def received(self) -> bool:
        return self.received_on is not None


@dataclass(frozen=True)
class KommuneYear:
    ags: str
    name: str
    year: int
    items: list[DueItem]
    upload: PortalUpload | None
    contact_name: str | None = None

    def item(self, kind: DeliverableKind) -> DueItem | None:
        return next((i for i in self.items if i.kind == kind), None)


def _item(d: Deliverable, today: date) -> DueItem:
    open_ = d.received_on is None and d.status is not DeliverableStatus.WAIVED
    return DueItem(d.kind, d.due_date, d.original_due_date, d.extension_reason, d.status, d.received_on,
                   overdue=open_ and is_late(today, d.due_date))  # fmt: skip


def kommune_year(
    session: Session, *, year: int, today: date, ags: str | None = None, kommune_id: int | None = None,
    contact_name: str | None = None,
) -> KommuneYear:  # fmt: skip
    """One Kommune's year, by AGS (the ministry, the CLI) or by id (a signed-in contact): three queries."""
    kommune = kommune_by_ags(session, ags) if ags is not None else session.get(Kommune, kommune_id)
    if kommune is None:
        raise LookupError(kommune_id)
    rows = session.exec(
        select(Deliverable)
        .where(col(Deliverable.kommune_id) == kommune.id, col(Deliverable.year) == year)
        .order_by(col(Deliverable.kind))
    ).all()
    items = [_item(d, today) for d in rows]
    return KommuneYear(kommune.ags, display_name(kommune.name, kommune.kind), year, items,
                       current_upload(session, kommune.id or 0, year), contact_name)  # fmt: skip


def ags_of(session: Session, kommune_id: int) -> str:
    kommune = session.get(Kommune, kommune_id)
    if kommune is None:
        raise LookupError(kommune_id)
    return kommune.ags


@dataclass(frozen=True)
class SubmissionRow:
    ags: str
    name: str
    items: list[DueItem]
    upload: PortalUpload | None


def year_submissions(session: Session, *, year: int, today: date) -> list[SubmissionRow]:
    """Every Kommune with deliverables in ``year``: their state and the current report file (three queries)."""
    kommunen = {k.id: k for k in session.exec(select(Kommune))}
    by_kommune: dict[int, list[DueItem]] = {}
    for d in session.exec(select(Deliverable).where(col(Deliverable.year) == year).order_by(col(Deliverable.kind))):
        by_kommune.setdefault(d.kommune_id, []).append(_item(d, today))
    uploads: dict[int, PortalUpload] = {}
    query = select(PortalUpload).where(col(PortalUpload.year) == year, col(PortalUpload.replaced_at).is_(None))
    for upload in session.exec(query.order_by(col(PortalUpload.id))):
        uploads[upload.kommune_id] = upload
    rows = [
        SubmissionRow(k.ags, display_name(k.name, k.kind), by_kommune[kid], uploads.get(kid))
        for kid, k in kommunen.items()
        if kid in by_kommune
    ]
    return sorted(rows, key=lambda r: r.ags)
