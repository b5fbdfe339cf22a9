"""Amending (Änderungsbescheid) and revoking (Widerrufsbescheid) an approved grant, as decisions of their own.

Both are validated, stored as a ``grant_decision`` row and, under four eyes (``[decisions] four_eyes``, default
on), wait for a second person (``services/grant_review.py``); without four eyes they take effect at once
(``services/grant_effects.py``). An amendment follows the funding rules and the budget ceiling like an approval
(an override needs a reason); a revocation needs a date within the funding year, not before the funded period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session

from kim_workflow.core.budget import budget_problems, override_reason
from kim_workflow.core.domain import ApplicationStatus, GrantActKind, GrantActState
from kim_workflow.core.funding import check_grant
from kim_workflow.core.grants import Grant, grant_pro_rata, reason_problems, revocation_problems
from kim_workflow.core.grants import person_problems as core_person_problems
from kim_workflow.core.header_text import normalise_body_text
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Application, GrantDecision, Kommune
from kim_workflow.services.applications import STATUS_LABELS, application_data, budget_state, find_application
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.grant_effects import act_payload, amendment_takes_effect, revocation_takes_effect
from kim_workflow.services.grant_state import funded_period, grant_of, pending_act
from kim_workflow.services.lookups import id_of
from kim_workflow.services.policies import load_funding_rules, load_policy
from kim_workflow.settings import Settings

KIND_LABELS = {
    GrantActKind.APPROVAL: "Bewilligung",
    GrantActKind.AMENDMENT: "Änderungsbescheid",
    GrantActKind.REVOCATION: "Widerruf",
}


class InvalidGrantDecision(UseCaseError):
    """The amendment or revocation breaks a rule or lacks a field; nothing was stored."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Die Entscheidung ist nicht zulässig:\n" + "\n".join(f"- {p}" for p in problems))


@dataclass(frozen=True)
class GrantResult:
    grant_decision_id: int
    application_id: int
    kommune: str
    year: int
    kind: GrantActKind
    state: GrantActState
    email_queued: bool
    already: bool = False
    """Confirming a decision that was confirmed before: nothing changed, nothing sent."""
    decision_id: int | None = None
    """A confirmed approval: its ``decision`` row."""


def four_eyes(settings: Settings, year: int) -> bool:
    return load_policy(year, settings.policy_dir).decisions.four_eyes


def person_problems(name: str, what: str = "wer entscheidet") -> list[str]:
    return core_person_problems(name, what)


def record_act(
    session: Session, *, application: Application, kommune: Kommune, kind: GrantActKind, requested_by: str,
    now: datetime, pending: bool, personnel: Decimal | None = None, material: Decimal | None = None,
    effective_on: date | None = None, reason: str | None = None, override: str | None = None,
) -> GrantDecision:  # fmt: skip
    """Store a grant decision, pending (four eyes: ``kim.grant.requested`` logged) or confirmed at once."""
    act = GrantDecision(
        application_id=id_of(application), application_revision=application.revision, kind=kind,
        state=GrantActState.PENDING if pending else GrantActState.CONFIRMED, granted_personnel_eur=personnel,
        granted_material_eur=material, effective_on=effective_on, reason=reason, budget_override_reason=override,
        requested_by=requested_by.strip(), requested_at=now,
    )  # fmt: skip
    session.add(act)
    session.flush()
    if pending:
        record_event(
            session, now=now, actor=act.requested_by, action="kim.grant.requested", subject_type="application",
            subject_id=str(id_of(application)), year=application.year, payload=act_payload(act, kommune),
        )  # fmt: skip
    return act


def _approved(session: Session, application: Application, kommune: Kommune, what: str) -> Grant:
    """The grant in force of an approved application without a pending decision; else ``UseCaseError``."""
    name = f"{kommune.name} für {application.year}"
    grant = grant_of(session, application)
    if application.status is not ApplicationStatus.APPROVED or grant is None:
        label = STATUS_LABELS[application.status]
        raise UseCaseError(f"{what} ist nur bei einem bewilligten Antrag möglich; der Antrag von {name}: {label}.")
    waiting = pending_act(session, id_of(application))
    if waiting is not None:
        raise UseCaseError(
            f"Zum Antrag von {name} wartet bereits eine Entscheidung auf Bestätigung "
            f"({KIND_LABELS[waiting.kind]} Nr. {waiting.id}); bitte zuerst bestätigen oder verwerfen."
        )
    return grant


def amend_grant(
    session: Session, settings: Settings, *, ags: str, year: int, personnel: Decimal, material: Decimal,
    reason: str, by: str, now: datetime, budget_override_reason: str | None = None,
) -> GrantResult:  # fmt: skip
    """New yearly amounts of an approved grant (Änderungsbescheid); raises ``InvalidGrantDecision``."""
    application, kommune = find_application(session, ags=ags, year=year)
    session.refresh(application, with_for_update=True)
    previous = _approved(session, application, kommune, "Ein Änderungsbescheid")
    text, override = normalise_body_text(reason).strip(), override_reason(budget_override_reason)
    rules = load_funding_rules(load_policy(year, settings.policy_dir))
    problems = person_problems(by) + reason_problems(text, "der Änderung")
    problems += [v.message for v in check_grant(application_data(application, ags), rules, personnel, material)]
    if not problems:
        new_total = grant_pro_rata(Grant(personnel, material), funded_period(application), year).total
        budget = budget_state(session, year=year, rules=rules, excluding=id_of(application))
        problems += budget_problems(budget, new_total, override)
    if problems:
        raise InvalidGrantDecision(problems)
    pending = four_eyes(settings, year)
    act = record_act(
        session, application=application, kommune=kommune, kind=GrantActKind.AMENDMENT, requested_by=by, now=now,
        pending=pending, personnel=personnel, material=material, reason=text, override=override,
    )  # fmt: skip
    queued = not pending and amendment_takes_effect(
        session, settings, application=application, kommune=kommune, act=act, previous=previous, now=now
    )
    return GrantResult(id_of(act), id_of(application), kommune.name, year, act.kind, act.state, queued)


def revoke_grant(
    session: Session, settings: Settings, *, ags: str, year: int, effective_on: date, reason: str, by: str,
    now: datetime,
) -> GrantResult:  # fmt: skip
    """Revoke an approved grant from ``effective_on`` (Widerrufsbescheid); raises like :func:`amend_grant`."""
    application, kommune = find_application(session, ags=ags, year=year)
    session.refresh(application, with_for_update=True)
    previous = _approved(session, application, kommune, "Ein Widerruf")
    text = normalise_body_text(reason).strip()
    problems = person_problems(by) + reason_problems(text, "des Widerrufs")
    problems += revocation_problems(effective_on, year, funded_period(application))
    if problems:
        raise InvalidGrantDecision(problems)
    pending = four_eyes(settings, year)
    act = record_act(
        session, application=application, kommune=kommune, kind=GrantActKind.REVOCATION, requested_by=by, now=now,
        pending=pending, effective_on=effective_on, reason=text,
    )  # fmt: skip
    queued = not pending and revocation_takes_effect(
        session, settings, application=application, kommune=kommune, act=act, previous=previous, now=now
    )
    return GrantResult(id_of(act), id_of(application), kommune.name, year, act.kind, act.state, queued)
