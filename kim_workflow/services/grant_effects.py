"""What an amendment or a revocation does once it takes effect: status, obligations, event and the Kommune's email.

A revocation ends the grant on its effective date: the application becomes "widerrufen". When nothing of the grant
remains (pro rata 0, e.g. effective at the funded period's start), the year's outstanding annual report and
questionnaire are waived ("entfällt") with the reason "Förderung widerrufen mit Wirkung vom <date> an (…)"
through the obligations code, so no reminder or escalation follows. When the Kommune keeps money for the months
before, the reports stay owed: they prove the use of that money (Verwendungsnachweis). What was received stays
received. The approval's effect lives in ``services/decisions.py``.
"""

from __future__ import annotations

import getpass
import os
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from kim_workflow.core.application_states import ApplicationAction, transition
from kim_workflow.core.domain import GrantActKind
from kim_workflow.core.funded_period import period_text
from kim_workflow.core.grants import Grant
from kim_workflow.core.money import format_fte
from kim_workflow.core.registry import display_name
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Application, GrantDecision, Kommune
from kim_workflow.email.keys import application_ref, grant_occasion, kommune_recipient
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.outbox import enqueue
from kim_workflow.services.applications import reference as file_reference
from kim_workflow.services.grant_state import funded_period, pro_rata_of
from kim_workflow.services.lookups import active_contacts_by_kommune, id_of, split_recipients
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.services.obligations import follow_decision
from kim_workflow.settings import Settings


def plain(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount, "f")


def process_login() -> str | None:
    """The operating-system login of this process (``SUDO_USER`` first), beside the typed names for four eyes."""
    sudo = os.environ.get("SUDO_USER", "").strip()
    if sudo:
        return sudo
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment nor in the password database
        return None


def act_payload(act: GrantDecision, kommune: Kommune) -> dict[str, Any]:
    """The event payload of a grant decision (the officials' typed names and the process's OS login)."""
    return {
        "grant_decision_id": act.id, "application_id": act.application_id, "ags": kommune.ags,
        "kind": act.kind.value, "revision": act.application_revision,
        "granted_personnel_eur": plain(act.granted_personnel_eur),
        "granted_material_eur": plain(act.granted_material_eur),
        "effective_on": act.effective_on.isoformat() if act.effective_on else None, "reason": act.reason,
        "budget_override_reason": act.budget_override_reason, "requested_by": act.requested_by,
        "confirmed_by": act.reviewed_by, "os_login": process_login(),
    }  # fmt: skip


def amendment_takes_effect(
    session: Session, settings: Settings, *, application: Application, kommune: Kommune, act: GrantDecision,
    previous: Grant, now: datetime,
) -> bool:  # fmt: skip
    """Log ``kim.grant.amended`` and queue ``grant_amended``; True if an email was queued."""
    actor = act.reviewed_by or act.requested_by
    record_event(
        session, now=now, actor=actor, action="kim.grant.amended", subject_type="application",
        subject_id=str(id_of(application)), year=application.year,
        payload={**act_payload(act, kommune), "previous_personnel_eur": plain(previous.personnel),
                 "previous_material_eur": plain(previous.material)},
    )  # fmt: skip
    new = Grant(act.granted_personnel_eur or Decimal(0), act.granted_material_eur or Decimal(0))
    context = {
        "old_lines": _lines(application, previous),
        "old_total": previous.total,
        "new_lines": _lines(application, new),
        "new_total": new.total,
        "funding_period": period_text(funded_period(application)),
        "pro_rata_total": pro_rata_of(application, new).total,
        "reason": act.reason,
    }
    return _queue(session, settings, kommune, application, act, MessageKind.GRANT_AMENDED, context, now)


def revocation_takes_effect(
    session: Session, settings: Settings, *, application: Application, kommune: Kommune, act: GrantDecision,
    previous: Grant, now: datetime,
) -> bool:  # fmt: skip
    """Status "widerrufen", reports waived if nothing remains, ``kim.grant.revoked``, ``grant_revoked`` queued."""
    assert act.effective_on is not None
    actor = act.reviewed_by or act.requested_by
    application.status, application.updated_at = transition(application.status, ApplicationAction.REVOKE), now
    session.add(application)
    session.flush()
    record_event(
        session, now=now, actor=actor, action="kim.grant.revoked", subject_type="application",
        subject_id=str(id_of(application)), year=application.year, payload=act_payload(act, kommune),
    )  # fmt: skip
    follow_decision(
        session, application=application, kommune=kommune, now=now, actor=actor, tz=settings.tz,
        on=act.effective_on,
    )  # fmt: skip
    ended = Grant(previous.personnel, previous.material, act.effective_on)
    context = {
        "old_lines": _lines(application, previous),
        "old_total": previous.total,
        "funding_period": period_text(funded_period(application)),
        "effective_on": act.effective_on,
        "funded_until": act.effective_on - timedelta(days=1),
        "remaining_total": pro_rata_of(application, ended).total,
        "reason": act.reason,
    }
    return _queue(session, settings, kommune, application, act, MessageKind.GRANT_REVOKED, context, now)


def _lines(application: Application, grant: Grant) -> list[dict[str, Any]]:
    return [
        {"label": f"Personalkosten ({format_fte(application.fte_total)} VZÄ)", "amount": grant.personnel},
        {"label": "Sachkosten", "amount": grant.material},
    ]


def _queue(
    session: Session, settings: Settings, kommune: Kommune, application: Application, act: GrantDecision,
    kind: MessageKind, context: dict[str, Any], now: datetime,
) -> bool:  # fmt: skip
    to, cc = split_recipients(active_contacts_by_kommune(session, [id_of(kommune)]).get(id_of(kommune), []))
    if not to:
        return False
    mailer = Mailer(settings)
    email = mailer.compose(
        kind,
        subject_ref=application_ref(kommune.ags, application.year),
        occasion=grant_occasion(id_of(act), GrantActKind(act.kind).value),
        to=[Recipient.of(c) for c in to],
        cc=[Recipient.of(c) for c in cc],
        key_recipient=kommune_recipient(kommune.ags),
        context={
            "kommune_name": display_name(kommune.name, kommune.kind),
            "funding_year": application.year,
            "reference": file_reference(kommune.ags, application.year),
            **context,
        },
    )
    enqueue(session, [email], now=now, sender_domain=mailer.sender_domain)
    return True
