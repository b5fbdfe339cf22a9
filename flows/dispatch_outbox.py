"""Send whatever is due in the outbox (retries after backoff, or right after a state change)."""

from __future__ import annotations

from prefect import State, flow

from kim_workflow.orchestration.cycle_tasks import dispatch_outbox as dispatch_task
from kim_workflow.orchestration.cycle_tasks import publish_events
from kim_workflow.orchestration.outcomes import delivery_outcome
from kim_workflow.orchestration.results import DispatchSummary


@flow(name="dispatch-outbox", description="Fällige E-Mails aus dem Postausgang versenden")
def dispatch_outbox() -> DispatchSummary | State[DispatchSummary]:
    """Ends failed (red) when an email failed or became unknown; the log names each one."""
    report = dispatch_task()
    publish_events()
    return delivery_outcome(report, report)
