"""Monthly: delete or pseudonymise personal data whose retention period after a closed year has ended."""

from __future__ import annotations

from prefect import flow

from kim_workflow.orchestration.cycle_tasks import local_today
from kim_workflow.orchestration.forms import DryRun, Today
from kim_workflow.orchestration.results import RetentionSummary
from kim_workflow.orchestration.retention_tasks import apply_retention_task


@flow(name="retention", description="Aufbewahrungsfristen abgeschlossener Förderjahre anwenden")
def retention(today: Today = None, dry_run: DryRun = False) -> RetentionSummary:
    """``today`` defaults to the current day in Europe/Berlin; a second run changes nothing."""
    return apply_retention_task(today or local_today(), dry_run)
