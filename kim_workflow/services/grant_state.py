"""Reading grants: an application's grant decisions as the core sees them, its current grant and funded period."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlmodel import Session, col, select

from kim_workflow.core.domain import GrantActState
from kim_workflow.core.funded_period import FundedPeriod, Vacancy
from kim_workflow.core.grants import Grant, GrantAct, ProRata, current_grant, grant_pro_rata
from kim_workflow.db.models import Application, GrantDecision


def funded_period(application: Application) -> FundedPeriod:
    """The stored funded period; a missing start or end is 1 January or 31 December of the year."""
    year = application.year
    vacancies = tuple(
        Vacancy(date.fromisoformat(v["from"]), date.fromisoformat(v["to"])) for v in application.vacancies
    )
    return FundedPeriod(
        application.period_start or date(year, 1, 1), application.period_end or date(year, 12, 31), vacancies
    )


def vacancies_json(period: FundedPeriod) -> list[dict[str, str]]:
    return [{"from": v.start.isoformat(), "to": v.end.isoformat()} for v in period.vacancies]


def as_act(row: GrantDecision) -> GrantAct:
    return GrantAct(row.kind, row.state, row.granted_personnel_eur, row.granted_material_eur, row.effective_on)


def grant_rows(session: Session, application_ids: Iterable[int]) -> dict[int, list[GrantDecision]]:
    """Every grant decision of the applications, oldest first (one query)."""
    ids = list(application_ids)
    rows: dict[int, list[GrantDecision]] = {i: [] for i in ids}
    if not ids:
        return rows
    query = select(GrantDecision).where(col(GrantDecision.application_id).in_(ids)).order_by(col(GrantDecision.id))
    for row in session.exec(query):
        rows[row.application_id].append(row)
    return rows


def current_grants(session: Session, application_ids: Iterable[int]) -> dict[int, Grant]:
    """The grant in force per application (applications without one are left out)."""
    grants = {i: current_grant(as_act(r) for r in rows) for i, rows in grant_rows(session, application_ids).items()}
    return {i: grant for i, grant in grants.items() if grant is not None}


def grant_of(session: Session, application: Application) -> Grant | None:
    return current_grants(session, [application.id or 0]).get(application.id or 0)


def pending_act(session: Session, application_id: int) -> GrantDecision | None:
    """The grant decision of the application that waits for the second person's confirmation, if any."""
    return session.exec(
        select(GrantDecision).where(
            col(GrantDecision.application_id) == application_id, col(GrantDecision.state) == GrantActState.PENDING
        )
    ).first()


def pending_ids(session: Session, application_ids: Iterable[int]) -> dict[int, int]:
    """Application id → id of its grant decision waiting for confirmation."""
    ids = list(application_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(GrantDecision.application_id, GrantDecision.id).where(
            col(GrantDecision.application_id).in_(ids), col(GrantDecision.state) == GrantActState.PENDING
        )
    ).all()
    return {application_id: int(act_id or 0) for application_id, act_id in rows}


def counted(applications: Iterable[Application], grants: dict[int, Grant]) -> Decimal:
    """What the grants of ``applications`` cost the year's budget (pro rata, revoked ones up to the revocation)."""
    return sum((pro_rata_of(a, grants[a.id or 0]).total for a in applications if (a.id or 0) in grants), Decimal(0))


def pro_rata_of(application: Application, grant: Grant) -> ProRata:
    return grant_pro_rata(grant, funded_period(application), application.year)
