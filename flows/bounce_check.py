"""Poll the bounce mailbox: delivery status notifications that arrive by email after the server had accepted."""

from __future__ import annotations

from prefect import State, flow
from prefect.states import Failed

from kim_workflow.orchestration.bounce_tasks import check_bounce_mailbox
from kim_workflow.orchestration.cycle_tasks import publish_events
from kim_workflow.orchestration.results import BounceSummary


@flow(name="bounce-check", description="Unzustellbarkeitsmeldungen im Bounce-Postfach auswerten")
def bounce_check() -> BounceSummary | State[BounceSummary]:
    """Ends failed (red) when the mailbox could not be read; the message says why."""
    summary = check_bounce_mailbox()
    publish_events()
    if summary.errors:
        return Failed(message="; ".join(summary.errors))
    return summary
