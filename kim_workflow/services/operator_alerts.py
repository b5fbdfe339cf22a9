"""Queue an operator alert (``operator_alert``): the missed morning sweep, or a failed or crashed flow run.

Keyed per incident (:func:`kim_workflow.core.alerts.incident_id`): however often Prefect's automation fires for
the same incident, one email is queued. Goes to ``KIM_OPERATOR_ALERT_ADDRESS``, else the ministry's address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from kim_workflow.core.alerts import Incident, RunFacts, incident_id, state_label
from kim_workflow.db.events import record_event
from kim_workflow.email.keys import alert_occasion, alert_ref
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.outbox import enqueue
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.settings import Settings

ACTOR = "system:alerts"


@dataclass(frozen=True)
class AlertQueued:
    incident_id: str
    queued: bool  # False: this incident's alert was queued before


def queue_operator_alert(
    session: Session, settings: Settings, *, incident: Incident, now: datetime, run: RunFacts | None = None
) -> AlertQueued:
    """Queue the alert for ``incident`` unless it was queued before (same incident id)."""
    ident = incident_id(incident, day=now.astimezone(settings.tz).date(), run=run)
    mailer = Mailer(settings)
    email = mailer.compose(
        MessageKind.OPERATOR_ALERT,
        subject_ref=alert_ref(incident.value),
        occasion=alert_occasion(ident),
        to=[Recipient(settings.operator_alert_address or settings.ministry_escalation_address)],
        context={
            "incident": incident.value,
            "run_name": run.run_name if run else None,
            "deployment": run.deployment if run else None,
            "state": state_label(run.state_name) if run else None,
            "message": (run.state_message or None) if run else None,
            "detected_at": now,
            "ui_url": run.ui_url if run else None,
        },
    )
    queued = enqueue(session, [email], now=now, sender_domain=mailer.sender_domain).created > 0
    if queued:
        record_event(
            session, now=now, actor=ACTOR, action="kim.operator_alert.queued", subject_type="alert",
            subject_id=ident[:100], payload={"incident": incident.value},
        )  # fmt: skip
    return AlertQueued(ident, queued)
