"""Daily at 07:00 Europe/Berlin: plan the day's reminders, queue them, send them, refresh the status views."""

from __future__ import annotations

from prefect import State, flow

from kim_workflow.core.policy import PolicyError
from kim_workflow.orchestration.cycle_tasks import (
    dispatch_outbox,
    local_today,
    plan_and_enqueue,
    publish_events,
    publish_status_artifacts,
    publish_sweep_report,
)
from kim_workflow.orchestration.forms import DryRun, Today
from kim_workflow.orchestration.outcomes import delivery_outcome, policy_refused
from kim_workflow.orchestration.results import SweepSummary


@flow(name="daily-sweep", description="Erinnerungen, Mahnungen und Eskalation zum 15. Dezember planen und versenden")
def daily_sweep(today: Today = None, dry_run: DryRun = False) -> list[SweepSummary] | State[list[SweepSummary]]:
    """``today`` defaults to the current day in Europe/Berlin; a second run on the same day sends nothing twice."""
    day = today or local_today()
    try:
        summaries = plan_and_enqueue(day, dry_run)
    except PolicyError as exc:
        return policy_refused(exc)
    dispatch = None if dry_run else dispatch_outbox()
    publish_status_artifacts(day)
    publish_sweep_report(day, summaries, dispatch)
    publish_events()
    return delivery_outcome(summaries, dispatch)
