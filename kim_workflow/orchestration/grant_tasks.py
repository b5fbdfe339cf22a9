"""Prefect task of the four-eyes confirmation: a second person confirms or rejects a waiting grant decision."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from kim_workflow.app import utc_now
from kim_workflow.db.engine import session_scope
from kim_workflow.orchestration.context import current_app
from kim_workflow.services.grant_acts import GrantResult
from kim_workflow.services.grant_review import confirm_grant_decision, reject_grant_decision


@task(name="review-grant-decision", cache_policy=NO_CACHE)
def review_grant_task(grant_decision_id: int, by: str, confirm: bool, reason: str | None) -> GrantResult:
    """Confirm (it takes effect, the email is queued) or reject; bad input (same person …) fails the run, German."""
    kim = current_app()
    with session_scope(kim.engine) as session:
        if confirm:
            return confirm_grant_decision(session, kim.settings, act_id=grant_decision_id, by=by, now=utc_now())
        return reject_grant_decision(
            session, kim.settings, act_id=grant_decision_id, by=by, reason=reason or "", now=utc_now()
        )
