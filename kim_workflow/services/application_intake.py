"""Submitting an application: check it completely, store it (or its resubmission) and queue the receipt.

Everything happens in the caller's transaction: the application, its revision history, the domain event
``kim.application.submitted`` and the receipt email commit together, or (on any problem) nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from kim_workflow.core.application_states import ApplicationAction, InvalidTransition, transition
from kim_workflow.core.domain import ApplicationStatus, CycleStatus
from kim_workflow.core.funding import ApplicationData, Violation, check_application, total_fte
from kim_workflow.core.policy import LateApplications, YearPolicy
from kim_workflow.core.registry import display_name
from kim_workflow.core.validation import AGS_PATTERN
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Application, ApplicationRevision, Cycle, Kommune
from kim_workflow.email.keys import application_received_occasion, application_ref, kommune_recipient
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.outbox import enqueue
from kim_workflow.services.application_input import ApplicationInput
from kim_workflow.services.applications import STATUS_LABELS, allowed_text, reference, staff_json
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.grant_state import vacancies_json
from kim_workflow.services.lookups import active_contacts_by_kommune, id_of, split_recipients
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.services.policies import load_funding_rules, load_policy
from kim_workflow.settings import Settings

UNKNOWN_AGS = "unknown_ags"
NO_OPEN_CYCLE = "no_open_cycle"
AFTER_DEADLINE = "after_application_deadline"


class ApplicationRejected(UseCaseError):
    """The application breaks rules or refers to an unknown Kommune or year; nothing was stored."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__(
            "Der Antrag ist unvollständig oder fehlerhaft:\n" + "\n".join(f"- {v.message}" for v in violations)
        )


@dataclass(frozen=True)
class SubmitResult:
    application_id: int
    ags: str
    kommune: str
    year: int
    revision: int
    status: ApplicationStatus
    receipt_queued: bool
    late: bool = False
    """Submitted after the application deadline, accepted with the mark "verspätet" (policy switch)."""

    @property
    def resubmitted(self) -> bool:
        return self.revision > 1


def submit_application(
    session: Session, settings: Settings, *, application: ApplicationInput, now: datetime, actor: str
) -> SubmitResult:
    """Store a valid application (new, or a resubmission after changes were requested) and queue the receipt."""
    data = application.to_data()
    policy = load_policy(data.year, settings.policy_dir)
    kommune = _check(session, policy, data)
    current = session.exec(
        select(Application)
        .where(col(Application.kommune_id) == kommune.id, col(Application.year) == data.year)
        .with_for_update()
    ).first()
    late = _late(policy, current, now.astimezone(settings.tz).date())
    stored = _store(session, kommune, current, data, now, late)
    record_event(
        session, now=now, actor=actor, action="kim.application.submitted", subject_type="application",
        subject_id=str(id_of(stored)), year=data.year, payload=_event_payload(stored, kommune),
    )  # fmt: skip
    queued = _queue_receipt(session, settings, kommune, stored, now)
    return SubmitResult(id_of(stored), kommune.ags, kommune.name, data.year, stored.revision, stored.status, queued,
                        stored.late)  # fmt: skip


def _check(session: Session, policy: YearPolicy, data: ApplicationData) -> Kommune:
    """Every problem at once: the funding rules, then the Kommune and the funding year."""
    violations = check_application(data, load_funding_rules(policy))
    kommune = None
    if AGS_PATTERN.fullmatch(data.ags):
        kommune = session.exec(select(Kommune).where(col(Kommune.ags) == data.ags)).first()
        if kommune is None or not kommune.active:
            message = f"Unbekannter AGS {data.ags}: keine (aktive) Kommune des Programms."
            violations.append(Violation(UNKNOWN_AGS, "ags", message))
    cycle = session.exec(select(Cycle).where(col(Cycle.year) == data.year)).first()
    if cycle is None or cycle.status is not CycleStatus.OPEN:
        message = f"Für das Förderjahr {data.year} ist kein Förderjahr eröffnet; Anträge sind nicht möglich."
        violations.append(Violation(NO_OPEN_CYCLE, "year", message))
    if violations or kommune is None:
        raise ApplicationRejected(violations)
    return kommune


def _late(policy: YearPolicy, current: Application | None, today: date) -> bool:
    """Whether a first submission comes after the deadline (refused unless the policy accepts it marked);
    a resubmission after a request for changes keeps the mark of the first."""
    if current is not None and current.status is not ApplicationStatus.DRAFT:
        return current.late
    window = policy.application_window
    if today <= window.application_deadline:
        return False
    if window.late_applications is LateApplications.REFUSE:
        message = (
            f"Die Antragsfrist für das Förderjahr {policy.year} endete am {window.application_deadline:%d.%m.%Y}; "
            f"ein Antrag vom {today:%d.%m.%Y} kann nicht mehr angenommen werden."
        )
        raise ApplicationRejected([Violation(AFTER_DEADLINE, "", message)])
    return True


def _store(
    session: Session, kommune: Kommune, current: Application | None, data: ApplicationData, now: datetime, late: bool
) -> Application:
    values = {
        "status": _next_status(kommune, current, data.year),
        "revision": 1 if current is None else current.revision + 1,
        "staff": staff_json(data.staff),
        "fte_total": total_fte(data.staff),
        "personnel_costs_eur": data.personnel_costs_eur,
        "material_costs_eur": data.material_costs_eur,
        "overhead_costs_eur": data.overhead_costs_eur,
        "position_in_administration": data.position_in_administration,
        "notes": data.notes,
        "submitted_at": now,
        "updated_at": now,
        "decision_run_id": None,
        "late": late,
        "period_start": data.period.start if data.period else None,
        "period_end": data.period.end if data.period else None,
        "vacancies": vacancies_json(data.period) if data.period else [],
    }
    if current is None:
        current = Application.model_validate({"kommune_id": id_of(kommune), "year": data.year, **values})
    else:
        current.sqlmodel_update(values)
    session.add(current)
    try:
        session.flush()
    except IntegrityError:
        raise UseCaseError("Der Antrag wurde gleichzeitig ein zweites Mal eingereicht; bitte erneut prüfen.") from None
    session.add(ApplicationRevision(application_id=id_of(current), revision=current.revision,
                                    content=_content(current), submitted_at=now))  # fmt: skip
    return current


def _next_status(kommune: Kommune, current: Application | None, year: int) -> ApplicationStatus:
    """Submit a new application, or resubmit after changes were requested; the state machine refuses the rest."""
    if current is None:
        return transition(ApplicationStatus.DRAFT, ApplicationAction.SUBMIT)
    action = ApplicationAction.SUBMIT if current.status is ApplicationStatus.DRAFT else ApplicationAction.RESUBMIT
    try:
        return transition(current.status, action)
    except InvalidTransition as exc:
        label = STATUS_LABELS[current.status]
        hint = (
            "Er wird noch geprüft."
            if current.status is ApplicationStatus.SUBMITTED
            else "Er ist abschließend entschieden."
        )
        raise UseCaseError(
            f"{kommune.name} hat für {year} bereits einen Antrag (Status: {label}, Revision {current.revision}). "
            f"{hint} Eine erneute Einreichung ist nur nach einer Nachforderung möglich "
            f"(jetzt möglich: {allowed_text(exc.allowed)})."
        ) from None


def _content(application: Application) -> dict[str, object]:
    """A revision's content as JSON (Decimals as exact strings)."""
    return {
        "staff": application.staff,
        "fte_total": format(application.fte_total, "f"),
        "personnel_costs_eur": format(application.personnel_costs_eur, "f"),
        "material_costs_eur": format(application.material_costs_eur, "f"),
        "overhead_costs_eur": format(application.overhead_costs_eur, "f"),
        "position_in_administration": application.position_in_administration,
        "notes": application.notes,
        "period_start": application.period_start.isoformat() if application.period_start else None,
        "period_end": application.period_end.isoformat() if application.period_end else None,
        "vacancies": application.vacancies,
    }


def _event_payload(application: Application, kommune: Kommune) -> dict[str, object]:
    """No personal data: amounts and counts, never the names of the staff."""
    return {
        "application_id": id_of(application),
        "ags": kommune.ags,
        "revision": application.revision,
        "staff_count": len(application.staff),
        "fte_total": format(application.fte_total, "f"),
        "personnel_costs_eur": format(application.personnel_costs_eur, "f"),
        "material_costs_eur": format(application.material_costs_eur, "f"),
        "late": application.late,
    }


def _queue_receipt(
    session: Session, settings: Settings, kommune: Kommune, application: Application, now: datetime
) -> bool:
    """The receipt to the integration manager(s), deputies in Cc; False if the Kommune has no active contact."""
    to, cc = split_recipients(active_contacts_by_kommune(session, [id_of(kommune)]).get(id_of(kommune), []))
    if not to:
        return False
    mailer = Mailer(settings)
    email = mailer.compose(
        MessageKind.APPLICATION_RECEIVED,
        subject_ref=application_ref(kommune.ags, application.year),
        occasion=application_received_occasion(application.revision),
        to=[Recipient.of(c) for c in to],
        cc=[Recipient.of(c) for c in cc],
        key_recipient=kommune_recipient(kommune.ags),
        context={
            "kommune_name": display_name(kommune.name, kommune.kind),
            "funding_year": application.year,
            "reference": reference(kommune.ags, application.year),
            "received_on": now.astimezone(settings.tz).date(),
            "requested_amount": application.personnel_costs_eur + application.material_costs_eur,
            "late": application.late,
        },
    )
    enqueue(session, [email], now=now, sender_domain=mailer.sender_domain)
    return True
