"""Bookkeeping of the decision flow: which Prefect run waits for an application's decision, and what it shows.

The waiting itself is Prefect's (a suspended run holds no process); the truth is here: ``decision_run_id`` names
the one run whose form counts. A decision entered through that form is stored once, whoever applies it first
(the run itself when it is resumed, or ``kim up``'s decision watcher, which reacts within a second).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from kim_workflow.core.domain import ApplicationStatus
from kim_workflow.core.funded_period import funded_share, period_text, share_text
from kim_workflow.core.funding import personnel_cap
from kim_workflow.core.money import format_eur, format_fte
from kim_workflow.core.registry import display_name
from kim_workflow.db.models import Application, Decision, Kommune
from kim_workflow.services.applications import budget_state, find_application
from kim_workflow.services.applications import reference as file_reference
from kim_workflow.services.decisions import DecisionRequest, DecisionResult, decide_application, rules_for
from kim_workflow.services.grant_state import funded_period, pending_act, pending_ids
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
    awaiting_confirmation: int | None = None
    """Four eyes: an approval was entered and waits for a second person (``kim application confirm``)."""

    @property
    def pending(self) -> bool:
        return self.status is ApplicationStatus.SUBMITTED and self.awaiting_confirmation is None


def claim_decision_run(
    session: Session, settings: Settings, *, application_id: int, run_id: str, force: bool = False
) -> PendingDecision:
    """Register ``run_id`` as the run waiting for the decision, unless another run holds it (and not ``force``)."""
    application, kommune = find_application(session, application_id=application_id)
    session.refresh(application, with_for_update=True)
    if application.status is ApplicationStatus.SUBMITTED and (force or application.decision_run_id in (None, run_id)):
        application.decision_run_id = run_id
        session.add(application)
    return _pending(session, settings, application, kommune)


def decide_through_run(
    session: Session,
    settings: Settings,
    *,
    application_id: int,
    revision: int,
    run_id: str,
    request: DecisionRequest,
    now: datetime,
) -> DecisionResult:
    """Store the decision entered in ``run_id``'s form, exactly once.

    If this run's decision for this revision is already stored (the watcher of ``kim up`` and the resumed run
    both apply the same form), the stored result is returned and nothing is queued again. Raises what
    :func:`decide_application` raises otherwise.
    """
    application, kommune = find_application(session, application_id=application_id)
    session.refresh(application, with_for_update=True)
    stored = _decided_by(session, application, run_id, revision)
    if stored is not None:
        return _result(application, kommune, stored, email_queued=False)
    return decide_application(
        session, settings, request=request, now=now, application_id=application_id, revision=revision, run_id=run_id
    )


def decided_by_run(session: Session, *, application_id: int, run_id: str) -> DecisionResult | None:
    """The decision that ``run_id``'s form produced for the current revision, if any."""
    application, kommune = find_application(session, application_id=application_id)
    stored = _decided_by(session, application, run_id, application.revision)
    return None if stored is None else _result(application, kommune, stored, email_queued=False)


@dataclass(frozen=True)
class WaitingApplication:
    application_id: int
    decision_run_id: str | None


def waiting_applications(session: Session, *, submitted_before: datetime) -> list[WaitingApplication]:
    """Applications that wait for a decision and were submitted before ``submitted_before`` (oldest first)."""
    rows = session.exec(
        select(Application.id, Application.decision_run_id)
        .where(col(Application.status) == ApplicationStatus.SUBMITTED, col(Application.updated_at) < submitted_before)
        .order_by(col(Application.id))
    ).all()
    confirming = pending_ids(session, [int(row[0] or 0) for row in rows])  # four eyes: no new form meanwhile
    return [WaitingApplication(int(row[0] or 0), row[1]) for row in rows if int(row[0] or 0) not in confirming]


def replace_decision_run(session: Session, *, application_id: int, expected: str | None, run_id: str) -> bool:
    """Make ``run_id`` the waiting run if the holder is still ``expected`` (compare and set); True if done."""
    application = session.get(Application, application_id, with_for_update=True)
    if application is None or application.status is not ApplicationStatus.SUBMITTED:
        return False
    if application.decision_run_id != expected:
        return False
    application.decision_run_id = run_id
    session.add(application)
    return True


RECONCILE_GRACE = timedelta(minutes=2)  # the event-triggered run of a fresh application comes first


def _decided_by(session: Session, application: Application, run_id: str, revision: int) -> Decision | None:
    if application.decision_run_id != run_id or application.status is ApplicationStatus.SUBMITTED:
        return None
    return session.exec(
        select(Decision)
        .where(col(Decision.application_id) == id_of(application), col(Decision.application_revision) == revision)
        .order_by(col(Decision.id).desc())
    ).first()


def _result(application: Application, kommune: Kommune, decision: Decision, *, email_queued: bool) -> DecisionResult:
    return DecisionResult(
        id_of(application), id_of(decision), kommune.ags, kommune.name, application.year,
        decision.application_revision, decision.outcome, application.status, email_queued,
    )  # fmt: skip


def _pending(session: Session, settings: Settings, application: Application, kommune: Kommune) -> PendingDecision:
    rules = rules_for(settings, application.year)
    cap = personnel_cap(application.fte_total, rules)
    summary = (
        f"Antrag {file_reference(kommune.ags, application.year)} ({display_name(kommune.name, kommune.kind)}), "
        f"Revision {application.revision}: {format_fte(application.fte_total)} VZÄ, beantragt Personalkosten "
        f"{format_eur(application.personnel_costs_eur)} (höchstens {format_eur(cap)}), Sachkosten "
        f"{format_eur(application.material_costs_eur)} (höchstens {format_eur(rules.max_material_eur)})."
    )
    period = funded_period(application)
    if not period.whole:
        share = share_text(funded_share(period, application.year))
        summary += f" Förderzeitraum {period_text(period)}: anteilig {share}."
    if application.late:
        summary += " **Verspätet eingegangen** (nach Ablauf der Antragsfrist, nach Richtlinie angenommen)."
    budget = budget_state(session, year=application.year, rules=rules, excluding=id_of(application)).line()
    if budget is not None:
        summary += f" {budget} Darüber hinaus nur mit Begründung der Budgetüberschreitung."
    waiting = pending_act(session, id_of(application))
    return PendingDecision(
        id_of(application),
        application.year,
        application.revision,
        application.status,
        application.decision_run_id,
        summary,
        None if waiting is None else id_of(waiting),
    )
