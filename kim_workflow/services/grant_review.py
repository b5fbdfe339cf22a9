"""Four eyes (Vier-Augen-Prinzip): a second person confirms or rejects a grant decision waiting for confirmation.

Confirming applies the decision (status, obligations, budget, email) in the same transaction; the person who
recorded it cannot confirm it. Confirming a confirmed decision again changes and sends nothing. A rejection (with
a reason) ends the decision without effect; anyone may reject, the recorder too (taking back a wrong entry needs
no second person, since nothing takes effect). The application is then open for a new decision. Both names are in
the event log (``kim.grant.confirmed`` / ``kim.grant.rejected``: ``requested_by`` and ``confirmed_by``/
``rejected_by``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from kim_workflow.core.budget import budget_problems
from kim_workflow.core.domain import ApplicationStatus, GrantActKind, GrantActState
from kim_workflow.core.grants import Grant, four_eyes_problem, grant_pro_rata
from kim_workflow.core.header_text import normalise_body_text
from kim_workflow.core.money import format_eur
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Application, GrantDecision, Kommune
from kim_workflow.services.applications import STATUS_LABELS, budget_state, find_application
from kim_workflow.services.decisions import (
    InvalidDecision,
    approval_budget_problems,
    approval_takes_effect,
    rules_for,
)
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.grant_acts import KIND_LABELS, GrantResult, person_problems
from kim_workflow.services.grant_effects import act_payload, amendment_takes_effect, revocation_takes_effect
from kim_workflow.services.grant_state import funded_period, grant_of, pending_act
from kim_workflow.services.lookups import id_of
from kim_workflow.settings import Settings

REJECT_REASON_MAX = 1000


class FourEyesRefused(UseCaseError):
    """The person confirming is the one who recorded the decision."""


def _load(session: Session, act_id: int) -> tuple[GrantDecision, Application, Kommune]:
    act = session.get(GrantDecision, act_id, with_for_update=True)
    if act is None:
        raise UseCaseError(f"Eine Entscheidung Nr. {act_id} gibt es nicht (offene: kim application pending).")
    application, kommune = find_application(session, application_id=act.application_id)
    session.refresh(application, with_for_update=True)
    return act, application, kommune


def _result(
    act: GrantDecision, kommune: Kommune, application: Application, queued: bool, already: bool = False
) -> GrantResult:
    return GrantResult(
        id_of(act), id_of(application), kommune.name, application.year, act.kind, act.state, queued, already,
        act.decision_id,
    )  # fmt: skip


def confirm_grant_decision(session: Session, settings: Settings, *, act_id: int, by: str, now: datetime) -> GrantResult:
    """Confirm the pending decision ``act_id`` as ``by`` and let it take effect; see the module docstring."""
    act, application, kommune = _load(session, act_id)
    if act.state is GrantActState.CONFIRMED:
        return _result(act, kommune, application, False, already=True)
    if act.state is GrantActState.REJECTED:
        raise UseCaseError(f"{KIND_LABELS[act.kind]} Nr. {act_id} wurde von {act.reviewed_by} verworfen.")
    problems = person_problems(by, "wer bestätigt")
    if problems:
        raise InvalidDecision(problems)
    refusal = four_eyes_problem(act.requested_by, by)
    if refusal is not None:
        raise FourEyesRefused(refusal)
    if act.application_revision != application.revision:
        raise UseCaseError(
            f"Der Antrag wurde nach der Erfassung erneut eingereicht (Revision {application.revision}); "
            f"{KIND_LABELS[act.kind]} Nr. {act_id} bitte verwerfen und neu entscheiden."
        )
    previous = grant_of(session, application)
    _check_status(act, application, kommune, previous)
    _check_budget(session, settings, application, act)
    act.state, act.reviewed_by, act.reviewed_at = GrantActState.CONFIRMED, by.strip(), now
    session.add(act)
    session.flush()
    record_event(
        session, now=now, actor=act.reviewed_by, action="kim.grant.confirmed", subject_type="application",
        subject_id=str(id_of(application)), year=application.year, payload=act_payload(act, kommune),
    )  # fmt: skip
    if act.kind is GrantActKind.APPROVAL:
        decided = approval_takes_effect(session, settings, application=application, kommune=kommune, act=act, now=now)
        return _result(act, kommune, application, decided.email_queued)
    assert previous is not None  # _check_status
    effect = amendment_takes_effect if act.kind is GrantActKind.AMENDMENT else revocation_takes_effect
    queued = effect(session, settings, application=application, kommune=kommune, act=act, previous=previous, now=now)
    return _result(act, kommune, application, queued)


def _check_status(act: GrantDecision, application: Application, kommune: Kommune, previous: Grant | None) -> None:
    """The application must still be where the decision was recorded: submitted for an approval, approved (with a
    grant in force) for an amendment or a revocation. Checked before anything changes."""
    needed = ApplicationStatus.SUBMITTED if act.kind is GrantActKind.APPROVAL else ApplicationStatus.APPROVED
    in_force = act.kind is GrantActKind.APPROVAL or (previous is not None and previous.revoked_on is None)
    if application.status is not needed or not in_force:
        raise UseCaseError(
            f"{KIND_LABELS[act.kind]} Nr. {id_of(act)} kann nicht mehr bestätigt werden: der Antrag von "
            f"{kommune.name} für {application.year} ist {STATUS_LABELS[application.status]} (nötig: "
            f"{STATUS_LABELS[needed]}). Bitte verwerfen (kim application confirm "
            f"{id_of(act)} --reject --reason TEXT)."
        )


def _check_budget(session: Session, settings: Settings, application: Application, act: GrantDecision) -> None:
    """The ceiling again at confirmation: other grants may have taken effect since the decision was recorded."""
    if act.kind is GrantActKind.REVOCATION or act.granted_personnel_eur is None or act.granted_material_eur is None:
        return
    rules = rules_for(settings, application.year)
    if act.kind is GrantActKind.APPROVAL:
        grant = Grant(act.granted_personnel_eur, act.granted_material_eur)
        problems = approval_budget_problems(session, application, rules, grant, act.budget_override_reason)
    else:
        grant = Grant(act.granted_personnel_eur, act.granted_material_eur)
        new_total = grant_pro_rata(grant, funded_period(application), application.year).total
        budget = budget_state(session, year=application.year, rules=rules, excluding=id_of(application))
        problems = budget_problems(budget, new_total, act.budget_override_reason)
    if problems:
        raise InvalidDecision([*problems, "Bitte verwerfen und mit Begründung der Budgetüberschreitung neu erfassen."])


def reject_grant_decision(
    session: Session, settings: Settings, *, act_id: int, by: str, reason: str, now: datetime
) -> GrantResult:
    """Reject the pending decision ``act_id`` (it never takes effect); nothing is sent to the Kommune."""
    del settings  # same signature as confirm_grant_decision
    act, application, kommune = _load(session, act_id)
    if act.state is not GrantActState.PENDING:
        state = "bestätigt" if act.state is GrantActState.CONFIRMED else "verworfen"
        raise UseCaseError(f"{KIND_LABELS[act.kind]} Nr. {act_id} wurde bereits {state} ({act.reviewed_by}).")
    text = normalise_body_text(reason).strip()
    problems = person_problems(by, "wer verwirft")
    if not text or len(text) > REJECT_REASON_MAX:
        problems.append(f"Bitte begründen, warum die Entscheidung verworfen wird (1 bis {REJECT_REASON_MAX} Zeichen).")
    if problems:
        raise InvalidDecision(problems)
    act.state, act.reviewed_by, act.reviewed_at, act.review_reason = GrantActState.REJECTED, by.strip(), now, text
    application.updated_at = now  # a rejected approval: the application waits for a decision again
    session.add_all([act, application])
    session.flush()
    record_event(
        session, now=now, actor=act.reviewed_by, action="kim.grant.rejected", subject_type="application",
        subject_id=str(id_of(application)), year=application.year,
        payload={**act_payload(act, kommune), "confirmed_by": None, "rejected_by": act.reviewed_by,
                 "rejection_reason": text},
    )  # fmt: skip
    return _result(act, kommune, application, False)


def reject_waiting(
    session: Session, *, application: Application, kommune: Kommune, reason: str, actor: str, now: datetime
) -> int | None:
    """Reject the application's decision waiting for confirmation, if any, because the application changed (e.g.
    "Antrag zurückgezogen"); part of the caller's transaction. The id of the rejected decision, or None."""
    act = pending_act(session, id_of(application))
    if act is None:
        return None
    act.state, act.reviewed_by, act.reviewed_at, act.review_reason = GrantActState.REJECTED, actor, now, reason
    session.add(act)
    session.flush()
    record_event(
        session, now=now, actor=actor, action="kim.grant.rejected", subject_type="application",
        subject_id=str(id_of(application)), year=application.year,
        payload={**act_payload(act, kommune), "confirmed_by": None, "rejected_by": actor, "rejection_reason": reason,
                 "automatic": True},
    )  # fmt: skip
    return id_of(act)


@dataclass(frozen=True)
class PendingGrant:
    """A decision waiting for the second person, for the overview and the confirmation form."""

    grant_decision_id: int
    ags: str
    kommune: str
    year: int
    kind: GrantActKind
    requested_by: str
    requested_at: datetime
    summary: str


def pending_grants(session: Session, *, year: int | None = None) -> list[PendingGrant]:
    """Every decision waiting for confirmation (of ``year``, if given), oldest first."""
    query = (
        select(GrantDecision, Application, Kommune)
        .join(Application, col(Application.id) == col(GrantDecision.application_id))
        .join(Kommune, col(Kommune.id) == col(Application.kommune_id))
        .where(col(GrantDecision.state) == GrantActState.PENDING)
        .order_by(col(GrantDecision.id))
    )
    if year is not None:
        query = query.where(col(Application.year) == year)
    return [
        PendingGrant(
            id_of(act),
            kommune.ags,
            kommune.name,
            application.year,
            act.kind,
            act.requested_by,
            act.requested_at,
            _summary(act),
        )
        for act, application, kommune in session.exec(query)
    ]


def _summary(act: GrantDecision) -> str:
    if act.kind is GrantActKind.REVOCATION:
        assert act.effective_on is not None
        what = f"Widerruf zum {act.effective_on:%d.%m.%Y}"
    else:
        total = (act.granted_personnel_eur or Decimal(0)) + (act.granted_material_eur or Decimal(0))
        what = (
            f"{KIND_LABELS[act.kind]}: Personalkosten {format_eur(act.granted_personnel_eur or Decimal(0))}, "
            f"Sachkosten {format_eur(act.granted_material_eur or Decimal(0))} (zusammen {format_eur(total)})"
        )
    if act.budget_override_reason:
        what += f"; Budgetüberschreitung: {act.budget_override_reason}"
    if act.reason and act.kind is not GrantActKind.APPROVAL:
        what += f"; Begründung: {act.reason}"
    return f"{what}; erfasst von {act.requested_by}"
