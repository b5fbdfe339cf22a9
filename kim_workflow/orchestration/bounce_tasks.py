"""The coarse Prefect task of the bounce check: one poll of the bounce mailbox per run."""

from __future__ import annotations

from prefect import get_run_logger, task

from kim_workflow.app import utc_now
from kim_workflow.orchestration.context import current_app
from kim_workflow.orchestration.results import BounceSummary
from kim_workflow.services.bounces import check_bounces


@task(name="check-bounce-mailbox", retries=1, retry_delay_seconds=[30])
def check_bounce_mailbox() -> BounceSummary:
    """Read the unseen bounce reports, fail or note their outbox rows, run the delivery loop; mailbox trouble is
    reported in ``errors`` (the next poll reads the same messages again)."""
    kim = current_app()
    check = check_bounces(kim.engine, kim.settings, now=utc_now())
    logger = get_run_logger()
    (logger.error if check.errors else logger.info)("%s", check.summary())
    return BounceSummary(check.configured, check.read, dict(check.handled), list(check.errors), check.summary())
