"""What the application use cases share (references, lookups) and the operators' overview of a funding year."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from kim_workflow.core.budget import BudgetState
from kim_workflow.core.domain import ApplicationStatus, DecisionOutcome
from kim_workflow.core.funding import ApplicationData, FundingRules, StaffShare
from kim_workflow.core.money import format_eur, format_fte
from kim_workflow.db.models import Application, Decision, Kommune
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.lookups import cycle_for, kommune_by_ags

STATUS_LABELS = {
    ApplicationStatus.DRAFT: "Entwurf",
    ApplicationStatus.SUBMITTED: "eingereicht",
    ApplicationStatus.APPROVED: "bewilligt",
    ApplicationStatus.REJECTED: "abgelehnt",
    ApplicationStatus.CHANGES_REQUESTED: "Nachforderung",
    ApplicationStatus.WITHDRAWN: "zurückgezogen",
}
ACTION_LABELS = {
    "submit": "einreichen",
    "approve": "bewilligen",
    "reject": "ablehnen",
    "request_changes": "nachfordern",
    "resubmit": "erneut einreichen",
    "withdraw": "zurückziehen",
}
NO_APPLICATION = "kein Antrag"
LATE_LABEL = "verspätet"
COLUMNS_DE = (
    "AGS", "Kommune", "Status", "Revision", "VZÄ", "Personalkosten beantragt", "Sachkosten beantragt",
    "Personalkosten bewilligt", "Sachkosten bewilligt",
)  # fmt: skip


def allowed_text(allowed: tuple[str, ...]) -> str:
    """The actions a status allows, in German (``"keine, Endstatus"`` for a final status)."""
    return ", ".join(ACTION_LABELS.get(action, action) for action in allowed) or "keine, Endstatus"


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

    @property
    def granted_total(self) -> Decimal:
        return (self.granted_personnel or Decimal(0)) + (self.granted_material or Decimal(0))


def overview(session: Session, *, year: int) -> list[OverviewRow]:
    """One row per active Kommune (and any other with an application): three queries in all."""
    cycle_for(session, year)
    applications = {a.kommune_id: a for a in session.exec(select(Application).where(col(Application.year) == year))}
    granted = _granted(session, [a.id for a in applications.values() if a.id is not None])
    rows = []
    for kommune in session.exec(select(Kommune).order_by(col(Kommune.ags))):
        application = applications.get(kommune.id or 0)
        if application is not None:
            rows.append(_row(kommune, application, *granted.get(application.id or 0, (None, None))))
        elif kommune.active:
            rows.append(OverviewRow(kommune.ags, kommune.name, None, None, None, None, None, None, None))
    return rows


def _row(
    kommune: Kommune, application: Application, personnel: Decimal | None, material: Decimal | None
) -> OverviewRow:
    requested = (application.personnel_costs_eur, application.material_costs_eur)
    return OverviewRow(
        kommune.ags,
        kommune.name,
        application.status,
        application.revision,
        application.fte_total,
        *requested,
        personnel,
        material,
        application.late,
    )


def _granted(session: Session, ids: list[int]) -> dict[int, tuple[Decimal | None, Decimal | None]]:
    """Granted amounts of the latest approval per application."""
    decisions = session.exec(
        select(Decision)
        .where(col(Decision.application_id).in_(ids), col(Decision.outcome) == DecisionOutcome.APPROVED)
        .order_by(col(Decision.id))
    )
    return {d.application_id: (d.granted_personnel_eur, d.granted_material_eur) for d in decisions}


def budget_state(session: Session, *, year: int, rules: FundingRules, excluding: int | None = None) -> BudgetState:
    """The year's ceiling and what its approved applications (but ``excluding``) were granted."""
    approved = session.exec(
        select(Application.id).where(
            col(Application.year) == year,
            col(Application.status) == ApplicationStatus.APPROVED,
            col(Application.id) != (excluding or 0),
        )
    ).all()
    granted = _granted(session, [i for i in approved if i is not None])
    total = sum(((p or Decimal(0)) + (m or Decimal(0)) for p, m in granted.values()), Decimal(0))
    return BudgetState(rules.budget_total_eur, total)


def total_granted(rows: list[OverviewRow]) -> Decimal:
    return sum((row.granted_total for row in rows if row.status is ApplicationStatus.APPROVED), Decimal(0))


def as_table(rows: list[OverviewRow]) -> list[dict[str, Any]]:
    """Rows with German column names and German number formatting (artifact and terminal)."""
    return [dict(zip(COLUMNS_DE, _cells(row), strict=True)) for row in rows]


def _cells(row: OverviewRow) -> tuple[str, ...]:
    status = STATUS_LABELS[row.status] if row.status is not None else NO_APPLICATION
    status += f", {LATE_LABEL}" if row.late else ""
    amounts = (row.requested_personnel, row.requested_material, row.granted_personnel, row.granted_material)
    return (
        row.ags,
        row.kommune,
        status,
        str(row.revision) if row.revision is not None else "—",
        format_fte(row.fte) if row.fte is not None else "—",
        *(format_eur(amount) if amount is not None else "—" for amount in amounts),
    )


def description(rows: list[OverviewRow], *, year: int) -> str:
    """One line for the artifact and the terminal: counts and the total granted for the year."""
    applied = sum(1 for row in rows if row.status is not None)
    approved = sum(1 for row in rows if row.status is ApplicationStatus.APPROVED)
    return (
        f"Förderjahr {year}: Anträge von {applied} der {len(rows)} Kommunen, {approved} bewilligt; "
        f"bewilligt insgesamt {format_eur(total_granted(rows))}"
    )
