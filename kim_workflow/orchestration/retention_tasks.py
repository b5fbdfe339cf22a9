"""The Prefect task of the monthly retention run: one coarse task, whatever the amount of data."""

from __future__ import annotations

from datetime import date

from prefect import task

from kim_workflow.app import utc_now
from kim_workflow.db.engine import session_scope
from kim_workflow.orchestration.context import current_app
from kim_workflow.orchestration.outcomes import retry_unless_bad_input
from kim_workflow.orchestration.results import RetentionSummary
from kim_workflow.services.retention import apply_retention


@task(name="apply-retention", retries=1, retry_delay_seconds=[30], retry_condition_fn=retry_unless_bad_input)
def apply_retention_task(today: date, dry_run: bool = False) -> RetentionSummary:
    """One transaction: pseudonymise, scrub and delete what the retention policy says is due on ``today``."""
    kim = current_app()
    with session_scope(kim.engine) as session:
        run = apply_retention(session, kim.settings, today=today, now=utc_now(), dry_run=dry_run)
        if dry_run:
            session.rollback()
    counts = run.counts
    return RetentionSummary(
        contacts_pseudonymised=counts.contacts_pseudonymised,
        emails_scrubbed=counts.emails_scrubbed,
        upload_files_deleted=counts.upload_files_deleted,
        upload_years=list(counts.upload_years),
    )
