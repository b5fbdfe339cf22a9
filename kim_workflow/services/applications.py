"""What the application use cases share (references, lookups) and the operators' overview of a funding year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from kim_workflow.core.application_states import ACTION_LABELS, STATUS_LABELS, allowed_text
from kim_workflow.core.budget import BudgetState
from kim_workflow.core.domain import ApplicationStatus
from kim_workflow.core.funded_period import period_text
from kim_workflow.core.funding import ApplicationData, FundingRules, StaffShare
from kim_workflow.core.money import format_eur, format_fte
from kim_workflow.db.models import Application, Kommune
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.grant_state import counted, current_grants, funded_period, pending_ids, pro_rata_of
from kim_workflow.services.lookups import cycle_for, kommune_by_ags

__all__ = ["ACTION_LABELS", "STATUS_LABELS", "allowed_text"]  # re-exported: the labels live in the core
NO_APPLICATION = "kein Antrag"
LATE_LABEL = "verspätet"
PENDING_LABEL = "wartet auf Bestätigung"
COLUMNS_DE = (
    "AGS", "Kommune", "Status", "Revision", "VZÄ", "Personalkosten beantragt", "Sachkosten beantragt",
    "Personalkosten bewilligt", "Sachkosten bewilligt", "Förderzeitraum", "Zuwendung anteilig", "Vier Augen",
)  # fmt: skip


def reference(ags: str, year: int) -> str:
    """The Aktenzeichen quoted in emails: ``KIM-2027-07339000``."""
    return f"KIM-{year}-{ags}"


def staff_json(staff: tuple[StaffShare, ...]) -> list[dict[str, str]]:
    return [{"name": share.name, "fte": format(share.fte, "f")} for share in staff]


def application_data(application: Application, ags: str) -> ApplicationData:
    """The stored application as the pure core sees it (for ``check_grant``)."""
    staff = tuple(StaffShare(str(s["name"]), Decimal(str(s["fte"]))) for s in application.staff)
    return ApplicationData(
        ags=ags,
        year=application.year,
        staff=staff,
        personnel_costs_eur=application.personnel_costs_eur,
        material_costs_eur=application.material_costs_eur,
        overhead_costs_eur=application.overhead_costs_eur,
        position_in_administration=application.position_in_administration,
        notes=application.notes,
    )


def find_application(
    session: Session, *, application_id: int | None = None, ags: str | None = None, year: int | None = None
) -> tuple[Application, Kommune]:
    """The application by id or by (AGS, year), with its Kommune; ``UseCaseError`` if there is none."""
    if application_id is not None:
        row = session.exec(
            select(Application, Kommune)
            .join(Kommune, col(Kommune.id) == col(Application.kommune_id))
            .where(col(Application.id) == application_id)
        ).first()
        if row is None:
            raise UseCaseError(f"Antrag Nr. {application_id} gibt es nicht.")
        return row
    if ags is None or year is None:
        raise UseCaseError("Bitte die Antragsnummer oder AGS und Förderjahr angeben.")
    kommune = kommune_by_ags(session, ags)
    application = session.exec(
        select(Application).where(col(Application.kommune_id) == kommune.id, col(Application.year) == year)
    ).first()
    if application is None:
        raise UseCaseError(f"{kommune.name} ({ags}) hat für {year} keinen Antrag gestellt.")
    return application, kommune


@dataclass(frozen=True)
class OverviewRow:
    ags: str
    kommune: str
    status: ApplicationStatus | None
    revision: int | None
    fte: Decimal | None
    requested_personnel: Decimal | None
    requested_material: Decimal | None
    granted_personnel: Decimal | None
    granted_material: Decimal | None
    late: bool = False
    """Submitted after the application deadline (accepted by policy): the status shows "verspätet"."""
    period: str | None = None
    """The funded period (German), e.g. "01.03.2026 bis 31.12.2026"."""
    pro_rata_total: Decimal | None = None
    """The current grant for the funded part of the year (up to a revocation)."""
    revoked_on: date | None = None
    awaiting_confirmation: int | None = None
    """The id of a grant decision waiting for the second person (four eyes)."""

    @property
    def granted_total(self) -> Decimal:
        return (self.granted_personnel or Decimal(0)) + (self.granted_material or Decimal(0))


def overview(session: Session, *, year: int) -> list[OverviewRow]:
    """One row per active Kommune (and any other with an application): three queries in all."""
    cycle_for(session, year)
    applications = {a.kommune_id: a for a in session.exec(select(Application).where(col(Application.year) == year))}
    ids = [a.id for a in applications.values() if a.id is not None]
    grants, pending = current_grants(session, ids), pending_ids(session, ids)
    rows = []
    for kommune in session.exec(select(Kommune).order_by(col(Kommune.ags))):
        application = applications.get(kommune.id or 0)
        if application is not None:
            rows.append(_row(kommune, application, grants, pending.get(application.id or 0)))
        elif kommune.active:
            rows.append(OverviewRow(kommune.ags, kommune.name, None, None, None, None, None, None, None))
    return rows


def _row(kommune: Kommune, application: Application, grants: dict[int, Any], pending: int | None) -> OverviewRow:
    requested = (application.personnel_costs_eur, application.material_costs_eur)
    grant = grants.get(application.id or 0)
    return OverviewRow(
        kommune.ags, kommune.name, application.status, application.revision, application.fte_total, *requested,
        grant.personnel if grant else None, grant.material if grant else None, application.late,
        period_text(funded_period(application)), pro_rata_of(application, grant).total if grant else None,
        grant.revoked_on if grant else None, pending,
    )  # fmt: skip


def budget_state(session: Session, *, year: int, rules: FundingRules, excluding: int | None = None) -> BudgetState:
    """The year's ceiling and what the grants in force (but ``excluding``'s) cost it, pro rata.

    A grant counts with its part for the funded period; a revoked one with its part up to the day before the
    revocation took effect (what was paid out for that time stays spent). Pending decisions do not count yet.
    """
    applications = list(
        session.exec(select(Application).where(col(Application.year) == year, col(Application.id) != (excluding or 0)))
    )
    grants = current_grants(session, [a.id for a in applications if a.id is not None])
    return BudgetState(rules.budget_total_eur, counted(applications, grants))


def total_granted(rows: list[OverviewRow]) -> Decimal:
    """The year's grants in force, pro rata (revoked ones up to the revocation)."""
    return sum((row.pro_rata_total or Decimal(0) for row in rows), Decimal(0))


def as_table(rows: list[OverviewRow]) -> list[dict[str, Any]]:
    """Rows with German column names and German number formatting (artifact and terminal)."""
    return [dict(zip(COLUMNS_DE, _cells(row), strict=True)) for row in rows]


def _cells(row: OverviewRow) -> tuple[str, ...]:
    status = STATUS_LABELS[row.status] if row.status is not None else NO_APPLICATION
    status += f", {LATE_LABEL}" if row.late else ""
    status += f" zum {row.revoked_on:%d.%m.%Y}" if row.revoked_on is not None else ""
    amounts = (row.requested_personnel, row.requested_material, row.granted_personnel, row.granted_material)
    return (
        row.ags,
        row.kommune,
        status,
        str(row.revision) if row.revision is not None else "—",
        format_fte(row.fte) if row.fte is not None else "—",
        *(format_eur(amount) if amount is not None else "—" for amount in amounts),
        row.period or "—",
        format_eur(row.pro_rata_total) if row.pro_rata_total is not None else "—",
        f"{PENDING_LABEL} (Nr. {row.awaiting_confirmation})" if row.awaiting_confirmation is not None else "—",
    )


def description(rows: list[OverviewRow], *, year: int) -> str:
    """One line for the artifact and the terminal: counts and the total granted for the year."""
    applied = sum(1 for row in rows if row.status is not None)
    approved = sum(1 for row in rows if row.status is ApplicationStatus.APPROVED)
    return (
        f"Förderjahr {year}: Anträge von {applied} der {len(rows)} Kommunen, {approved} bewilligt; "
        f"bewilligt insgesamt {format_eur(total_granted(rows))}"
    )
