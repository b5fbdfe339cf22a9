"""Bookkeeping of the decision flow: which Prefect run waits for an application's decision, and what it shows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from kim_workflow.core.domain import ApplicationStatus
from kim_workflow.core.funding import format_eur, format_fte, personnel_cap
from kim_workflow.core.registry import display_name
from kim_workflow.db.models import Application, Kommune
from kim_workflow.services.applications import find_application
from kim_workflow.services.applications import reference as file_reference
from kim_workflow.services.decisions import rules_for
from kim_workflow.services.lookups import id_of
from kim_workflow.settings import Settings


@dataclass(frozen=True)
class PendingDecision:
    """An application's state as the decision flow sees it; ``summary`` holds no personal data."""

    application_id: int
    year: int
    revision: int
    status: ApplicationStatus
    decision_run_id: str | None
    summary: str

    @property
    def pending(self) -> bool:
        return self.status is ApplicationStatus.SUBMITTED


def claim_decision_run(
    session: Session, settings: Settings, *, application_id: int, run_id: str, force: bool = False
) -> PendingDecision:
    """Register ``run_id`` as the run waiting for the decision, unless another run holds it (and not ``force``)."""
    application, kommune = find_application(session, application_id=application_id)
    session.refresh(application, with_for_update=True)
    if application.status is ApplicationStatus.SUBMITTED and (force or application.decision_run_id in (None, run_id)):
        application.decision_run_id = run_id
        session.add(application)
    return _pending(settings, application, kommune)


def _pending(settings: Settings, application: Application, kommune: Kommune) -> PendingDecision:
    rules = rules_for(settings, application.year)
    cap = personnel_cap(application.fte_total, rules)
    summary = (
        f"Antrag {file_reference(kommune.ags, application.year)} ({display_name(kommune.name, kommune.kind)}), "
        f"Revision {application.revision}: {format_fte(application.fte_total)} VZÄ, beantragt Personalkosten "
        f"{format_eur(application.personnel_costs_eur)} (höchstens {format_eur(cap)}), Sachkosten "
        f"{format_eur(application.material_costs_eur)} (höchstens {format_eur(rules.max_material_eur)})."
    )
    return PendingDecision(
        id_of(application),
        application.year,
        application.revision,
        application.status,
        application.decision_run_id,
        summary,
    )
