"""The ministry's decision on a submitted application: validate, store, log and notify in one transaction.

The CLI and the Prefect flow call the same :func:`decide_application`. The flow passes the revision it waited
for, so a decision that arrives after the CLI already decided (or after a resubmission) is refused with
:class:`DecisionNotPending`, which the flow takes as "done" rather than as a failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from kim_workflow.core.application_states import InvalidTransition, apply_decision
from kim_workflow.core.budget import budget_problems, override_reason
from kim_workflow.core.calendar import next_working_day
from kim_workflow.core.domain import ApplicationStatus, DecisionOutcome, GrantActKind
from kim_workflow.core.funded_period import funded_share, share_text
from kim_workflow.core.funding import ApplicationData, FundingRules, check_grant
from kim_workflow.core.grants import Grant, has_format_characters, invisible_problem
from kim_workflow.core.header_text import normalise_body_text
from kim_workflow.core.money import format_fte
from kim_workflow.core.registry import display_name
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Application, Decision, GrantDecision, Kommune
from kim_workflow.email.keys import application_ref, decision_occasion, kommune_recipient
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.outbox import enqueue
from kim_workflow.services.applications import (
    STATUS_LABELS,
    allowed_text,
    application_data,
    budget_state,
    find_application,
)
from kim_workflow.services.applications import reference as file_reference
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.grant_acts import four_eyes, record_act
from kim_workflow.services.grant_state import funded_period, pending_act, pro_rata_of
from kim_workflow.services.lookups import active_contacts_by_kommune, id_of, split_recipients
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.services.obligations import follow_decision
from kim_workflow.services.policies import load_funding_rules, load_policy
from kim_workflow.settings import Settings

RESUBMIT_DAYS = 14
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KINDS = {
    DecisionOutcome.APPROVED: MessageKind.DECISION_APPROVED,
    DecisionOutcome.REJECTED: MessageKind.DECISION_REJECTED,
    DecisionOutcome.CHANGES_REQUESTED: MessageKind.DECISION_CHANGES_REQUESTED,
}


@dataclass(frozen=True)
class DecisionRequest:
    """What the ministry decided; amounts only (and then both) for an approval, a text for the other outcomes."""

    outcome: DecisionOutcome
    decided_by: str
    granted_personnel_eur: Decimal | None = None
    granted_material_eur: Decimal | None = None
    message: str | None = None
    budget_override_reason: str | None = None
    """Why an approval may exceed what is left of the year's budget (``[funding] budget_total_eur``)."""


class InvalidDecision(UseCaseError):
    """The decision breaks the funding rules or lacks a required field; nothing was stored."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Die Entscheidung ist nicht zulässig:\n" + "\n".join(f"- {p}" for p in problems))


class DecisionNotPending(UseCaseError):
    """The application is not (or no longer) waiting for this decision; the state machine refused it."""


@dataclass(frozen=True)
class DecisionResult:
    application_id: int
    decision_id: int
    ags: str
    kommune: str
    year: int
    revision: int
    outcome: DecisionOutcome
    status: ApplicationStatus
    email_queued: bool
    awaiting_confirmation: int | None = None
    """Four eyes: the id of the approval that waits for a second person (nothing took effect yet)."""


def decision_problems(data: ApplicationData, request: DecisionRequest, rules: FundingRules) -> list[str]:
    """Every reason why ``request`` cannot be stored for ``data`` (German; empty if it can)."""
    problems = []
    by = request.decided_by.strip()
    if not by or len(by) > 200 or _CONTROL.search(by):
        problems.append("Bitte angeben, wer entscheidet (decided_by: 1 bis 200 Zeichen, eine Zeile).")
    elif has_format_characters(by):
        problems.append(invisible_problem("wer entscheidet"))
    message = normalise_body_text(request.message or "").strip()
    if len(message) > 4000:
        problems.append("Der Hinweis bzw. die Begründung darf höchstens 4000 Zeichen lang sein.")
    amounts = (request.granted_personnel_eur, request.granted_material_eur)
    if request.outcome is DecisionOutcome.APPROVED:
        if amounts[0] is None or amounts[1] is None:
            problems.append("Für eine Bewilligung sind die bewilligten Personal- und Sachkosten anzugeben.")
        else:
            problems += [v.message for v in check_grant(data, rules, amounts[0], amounts[1])]
        return problems
    if any(amount is not None for amount in amounts):
        problems.append("Bewilligte Beträge werden nur bei einer Bewilligung angegeben.")
    if not message:
        needed = "eine Begründung" if request.outcome is DecisionOutcome.REJECTED else "was geändert werden soll"
        problems.append(f"Bitte {needed} angeben (message).")
    return problems


def decide_application(
    session: Session,
    settings: Settings,
    *,
    request: DecisionRequest,
    now: datetime,
    application_id: int | None = None,
    ags: str | None = None,
    year: int | None = None,
    revision: int | None = None,
    run_id: str | None = None,
) -> DecisionResult:
    """Store the decision, log ``kim.application.decided`` and queue the email to the Kommune.

    ``revision`` (the flow's) must still be the current one. ``run_id`` is the decision run whose form this came
    from; a decision made elsewhere (the CLI) clears the waiting run, so that run ends without deciding.
    Raises ``DecisionNotPending`` or ``InvalidDecision``.
    """
    application, kommune = find_application(session, application_id=application_id, ags=ags, year=year)
    session.refresh(application, with_for_update=True)
    status = _next_status(session, application, kommune, request.outcome, revision)
    rules = rules_for(settings, application.year)
    problems = decision_problems(application_data(application, kommune.ags), request, rules)
    override = override_reason(request.budget_override_reason)
    granted = _grant_total(request)
    if request.outcome is DecisionOutcome.APPROVED and granted is not None:
        grant = Grant(request.granted_personnel_eur or Decimal(0), request.granted_material_eur or Decimal(0))
        problems += approval_budget_problems(session, application, rules, grant, override)
    if problems:
        raise InvalidDecision(problems)
    message = normalise_body_text(request.message or "").strip() or None
    application.updated_at, application.decision_run_id = now, run_id
    if request.outcome is DecisionOutcome.APPROVED:
        pending = four_eyes(settings, application.year)
        act = record_act(
            session, application=application, kommune=kommune, kind=GrantActKind.APPROVAL,
            requested_by=request.decided_by, now=now, pending=pending, personnel=request.granted_personnel_eur,
            material=request.granted_material_eur, reason=message, override=override,
        )  # fmt: skip
        if pending:
            session.add(application)
            return DecisionResult(
                id_of(application), 0, kommune.ags, kommune.name, application.year, application.revision,
                request.outcome, application.status, False, awaiting_confirmation=id_of(act),
            )  # fmt: skip
        return approval_takes_effect(session, settings, application=application, kommune=kommune, act=act, now=now)
    decision = Decision(
        application_id=id_of(application), application_revision=application.revision, outcome=request.outcome,
        message=message, decided_by=request.decided_by.strip(), decided_at=now,
    )  # fmt: skip
    return _takes_effect(session, settings, application, kommune, decision, status, now, {})


def approval_budget_problems(
    session: Session, application: Application, rules: FundingRules, grant: Grant, override: str | None
) -> list[str]:
    """The ceiling check of an approval: its pro-rata part of the funded period against what is left.

    The part is computed as the budget sums it (``grant_state.pro_rata_of``: personnel and material each rounded),
    so the check and the sum never differ by a cent."""
    budget = budget_state(session, year=application.year, rules=rules, excluding=id_of(application))
    return budget_problems(budget, pro_rata_of(application, grant).total, override)


def approval_takes_effect(
    session: Session, settings: Settings, *, application: Application, kommune: Kommune, act: GrantDecision,
    now: datetime,
) -> DecisionResult:  # fmt: skip
    """A (confirmed) approval: the decision row, status "bewilligt", obligations, event and the email."""
    decision = Decision(
        application_id=id_of(application), application_revision=act.application_revision,
        outcome=DecisionOutcome.APPROVED, granted_personnel_eur=act.granted_personnel_eur,
        granted_material_eur=act.granted_material_eur, message=act.reason, decided_by=act.requested_by,
        decided_at=now,
    )  # fmt: skip
    status = apply_decision(application.status, DecisionOutcome.APPROVED)
    extra = {"budget_override_reason": act.budget_override_reason, "grant_decision_id": act.id,
             "requested_by": act.requested_by, "confirmed_by": act.reviewed_by}  # fmt: skip
    result = _takes_effect(session, settings, application, kommune, decision, status, now, extra)
    act.decision_id = result.decision_id
    session.add(act)
    return result


def _takes_effect(
    session: Session, settings: Settings, application: Application, kommune: Kommune, decision: Decision,
    status: ApplicationStatus, now: datetime, extra: dict[str, Any],
) -> DecisionResult:  # fmt: skip
    application.status, application.updated_at = status, now
    session.add_all([decision, application])
    session.flush()
    actor = extra.get("confirmed_by") or decision.decided_by
    record_event(
        session, now=now, actor=actor, action="kim.application.decided", subject_type="application",
        subject_id=str(id_of(application)), year=application.year,
        payload={**_event_payload(decision, kommune), "budget_override_reason": None, **extra},
    )  # fmt: skip
    follow_decision(session, application=application, kommune=kommune, now=now, actor=actor, tz=settings.tz)
    queued = _queue_email(session, settings, kommune, application, decision, now)
    return DecisionResult(
        id_of(application), id_of(decision), kommune.ags, kommune.name, application.year, application.revision,
        decision.outcome, status, queued,
    )  # fmt: skip


def rules_for(settings: Settings, year: int) -> FundingRules:
    return load_funding_rules(load_policy(year, settings.policy_dir))


def _next_status(
    session: Session, application: Application, kommune: Kommune, outcome: DecisionOutcome, revision: int | None
) -> ApplicationStatus:
    what = f"Der Antrag von {kommune.name} für {application.year}"
    if revision is not None and revision != application.revision:
        raise DecisionNotPending(f"{what} wurde inzwischen erneut eingereicht (Revision {application.revision}).")
    waiting = pending_act(session, id_of(application))
    if waiting is not None:
        raise DecisionNotPending(
            f"{what}: eine Bewilligung (Nr. {waiting.id}) von {waiting.requested_by} wartet auf Bestätigung durch "
            "eine zweite Person (Vier-Augen-Prinzip); bitte zuerst bestätigen oder verwerfen "
            "(kim application confirm)."
        )
    try:
        return apply_decision(application.status, outcome)
    except InvalidTransition as exc:
        label = STATUS_LABELS[application.status]
        raise DecisionNotPending(
            f"{what} liegt nicht zur Entscheidung vor (Status: {label}); nur eingereichte Anträge können "
            f"entschieden werden (jetzt möglich: {allowed_text(exc.allowed)})."
        ) from None


def _grant_total(request: DecisionRequest) -> Decimal | None:
    if request.granted_personnel_eur is None or request.granted_material_eur is None:
        return None
    if not (request.granted_personnel_eur.is_finite() and request.granted_material_eur.is_finite()):
        return None
    return request.granted_personnel_eur + request.granted_material_eur


def _event_payload(decision: Decision, kommune: Kommune) -> dict[str, Any]:
    def plain(amount: Decimal | None) -> str | None:
        return None if amount is None else format(amount, "f")

    return {
        "application_id": decision.application_id,
        "ags": kommune.ags,
        "revision": decision.application_revision,
        "outcome": decision.outcome.value,
        "decision_id": decision.id,
        "granted_personnel_eur": plain(decision.granted_personnel_eur),
        "granted_material_eur": plain(decision.granted_material_eur),
    }


def _queue_email(
    session: Session, settings: Settings, kommune: Kommune, application: Application, decision: Decision, now: datetime
) -> bool:
    """The decision to the integration manager(s), deputies in Cc; False if the Kommune has no active contact."""
    to, cc = split_recipients(active_contacts_by_kommune(session, [id_of(kommune)]).get(id_of(kommune), []))
    if not to:
        return False
    mailer = Mailer(settings)
    context = {
        "kommune_name": display_name(kommune.name, kommune.kind),
        "funding_year": application.year,
        "reference": file_reference(kommune.ags, application.year),
        **_outcome_context(mailer, application, decision, now.astimezone(settings.tz).date()),
    }
    email = mailer.compose(
        _KINDS[decision.outcome],
        subject_ref=application_ref(kommune.ags, application.year),
        occasion=decision_occasion(decision.application_revision, decision.outcome.value),
        to=[Recipient.of(c) for c in to],
        cc=[Recipient.of(c) for c in cc],
        key_recipient=kommune_recipient(kommune.ags),
        context=context,
    )
    enqueue(session, [email], now=now, sender_domain=mailer.sender_domain)
    return True


def _outcome_context(mailer: Mailer, application: Application, decision: Decision, today: date) -> dict[str, Any]:
    if decision.outcome is DecisionOutcome.REJECTED:
        return {"reason": decision.message}
    if decision.outcome is DecisionOutcome.CHANGES_REQUESTED:
        resubmit_by = next_working_day(today + timedelta(days=RESUBMIT_DAYS))
        return {
            "message": decision.message,
            "resubmit_by": resubmit_by,
            "submission_address": mailer.submission_address,
        }
    personnel, material = decision.granted_personnel_eur or Decimal(0), decision.granted_material_eur or Decimal(0)
    period = funded_period(application)
    share = funded_share(period, application.year)
    return {
        "grant_lines": [
            {"label": f"Personalkosten ({format_fte(application.fte_total)} VZÄ)", "amount": personnel},
            {"label": "Sachkosten", "amount": material},
        ],
        "granted_total": personnel + material,
        "funding_period_start": period.start,
        "funding_period_end": period.end,
        "vacancies": "; ".join(f"{v.start:%d.%m.%Y} bis {v.end:%d.%m.%Y}" for v in period.vacancies) or None,
        "pro_rata_total": None if share == 1 else pro_rata_of(application, Grant(personnel, material)).total,
        "pro_rata_share": None if share == 1 else share_text(share),
        "message": decision.message,
    }
