"""Send whatever is due in the outbox (retries after backoff, or right after a state change)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from kim_workflow.orchestration.cycle_tasks import dispatch_outbox as dispatch_task
from kim_workflow.orchestration.cycle_tasks import publish_events, publish_failed_emails


@flow(name="dispatch-outbox", description="Fällige E-Mails aus dem Postausgang versenden")
def dispatch_outbox() -> dict[str, Any]:
    report = dispatch_task()
    if report["failed"] or report["unknown"]:
        publish_failed_emails()
    publish_events()
    return report
