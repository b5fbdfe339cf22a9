"""A Kommune withdraws its application before the decision: final status, reason logged, reports waived.

A grant decision still waiting for the second person is rejected in the same transaction ("Antrag zurückgezogen").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from kim_workflow.core.application_states import ApplicationAction, InvalidTransition, transition
from kim_workflow.core.domain import ApplicationStatus
from kim_workflow.core.header_text import normalise_body_text
from kim_workflow.core.validation import InvalidValueError, check_multiline_safe
from kim_workflow.db.events import record_event
from kim_workflow.services.applications import STATUS_LABELS, allowed_text, find_application
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.grant_review import reject_waiting
from kim_workflow.services.lookups import id_of
from kim_workflow.services.obligations import follow_decision
from kim_workflow.settings import Settings

REASON_MAX = 1000
WITHDRAWN_REASON = "Antrag zurückgezogen"


@dataclass(frozen=True)
class WithdrawalResult:
    application_id: int
    ags: str
    kommune: str
    year: int
    previous: ApplicationStatus
    waived: int  # deliverables now "entfällt"
    rejected_grant_decision: int | None = None  # the approval that waited for confirmation, now rejected


def withdraw_application(
    session: Session, settings: Settings, *, ags: str, year: int, reason: str, now: datetime, actor: str
) -> WithdrawalResult:
    """Withdraw the (undecided) application of ``ags`` for ``year``; ``UseCaseError`` (German) if it cannot be."""
    text = normalise_body_text(reason or "").strip()
    if not text or len(text) > REASON_MAX:
        raise UseCaseError(f"Bitte den Grund der Rücknahme angeben (--reason: 1 bis {REASON_MAX} Zeichen).")
    try:
        check_multiline_safe(text, field="--reason")
    except InvalidValueError as exc:
        raise UseCaseError(str(exc)) from None
    application, kommune = find_application(session, ags=ags, year=year)
    session.refresh(application, with_for_update=True)
    previous = application.status
    try:
        application.status = transition(previous, ApplicationAction.WITHDRAW)
    except InvalidTransition as exc:
        raise UseCaseError(
            f"Der Antrag von {kommune.name} für {year} kann nicht zurückgezogen werden (Status: "
            f"{STATUS_LABELS[previous]}; jetzt möglich: {allowed_text(exc.allowed)})."
        ) from None
    application.updated_at, application.decision_run_id = now, None  # a waiting decision run ends by itself
    session.add(application)
    session.flush()
    record_event(
        session, now=now, actor=actor, action="kim.application.withdrawn", subject_type="application",
        subject_id=str(id_of(application)), year=year,
        payload={"application_id": id_of(application), "ags": kommune.ags, "previous": previous.value, "reason": text},
    )  # fmt: skip
    rejected = reject_waiting(
        session, application=application, kommune=kommune, reason=WITHDRAWN_REASON, actor=actor, now=now
    )
    _, waived, _ = follow_decision(session, application=application, kommune=kommune, now=now, actor=actor,
                                   tz=settings.tz)  # fmt: skip
    return WithdrawalResult(id_of(application), kommune.ags, kommune.name, year, previous, waived, rejected)
