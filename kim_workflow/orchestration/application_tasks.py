"""Coarse Prefect tasks of the application cycle, the decision form, and helpers around paused decision runs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from uuid import UUID

from prefect import task
from prefect.cache_policies import NO_CACHE

from kim_workflow.app import utc_now
from kim_workflow.db.engine import session_scope
from kim_workflow.orchestration import views
from kim_workflow.orchestration.context import current_app
from kim_workflow.orchestration.forms import DecisionForm
from kim_workflow.orchestration.outcomes import retry_unless_bad_input
from kim_workflow.orchestration.results import DecisionAnswer, DecisionClaim
from kim_workflow.services.application_input import ApplicationInput
from kim_workflow.services.application_intake import SubmitResult, submit_application
from kim_workflow.services.application_window import WindowRun, run_window
from kim_workflow.services.decision_runs import claim_decision_run, decide_through_run, decided_by_run
from kim_workflow.services.decisions import (
    DecisionNotPending,
    InvalidDecision,
)


@task(name="submit-application")
def submit_application_task(application: ApplicationInput, actor: str) -> SubmitResult:
    """Check and store one application; a rejected one raises (the run fails visibly, nothing is stored)."""
    kim = current_app()
    with session_scope(kim.engine) as session:
        return submit_application(session, kim.settings, application=application, now=utc_now(), actor=actor)


@task(name="claim-decision-run", cache_policy=NO_CACHE)
def claim_decision_run_task(application_id: int, run_id: str, force: bool = False) -> DecisionClaim:
    """Register this run as the one waiting for the decision; return the application's state and, if this run's
    form was applied already, that decision (``decided_here``)."""
    kim = current_app()
    with session_scope(kim.engine) as session:
        state = claim_decision_run(session, kim.settings, application_id=application_id, run_id=run_id, force=force)
        decided = decided_by_run(session, application_id=application_id, run_id=run_id)
    return DecisionClaim(state, None if decided is None else decided)


@task(name="decide-application", cache_policy=NO_CACHE)
def decide_task(application_id: int, revision: int, run_id: str, answer: DecisionForm) -> DecisionAnswer:
    """Store the decision; ``status`` is ``decided``, ``invalid`` (with ``problems``) or ``not_pending``."""
    kim = current_app()
    try:
        with session_scope(kim.engine) as session:
            result = decide_through_run(
                session, kim.settings, application_id=application_id, revision=revision, run_id=run_id,
                request=answer.to_request(), now=utc_now(),
            )  # fmt: skip
    except InvalidDecision as exc:
        return DecisionAnswer("invalid", application_id, problems=exc.problems)
    except DecisionNotPending as exc:
        return DecisionAnswer("not_pending", application_id, reason=str(exc))
    return DecisionAnswer("decided", application_id, decision=result)


def decision_key(revision: int, attempt: int) -> str:
    """The pause key of the ``attempt``-th form for ``revision``: stable, so a resumed run replays the answers."""
    return f"decision-r{revision}-a{attempt}"


def parse_decision_key(key: str | None) -> tuple[int, int] | None:
    """``(revision, attempt)`` of a key made by :func:`decision_key`, else None."""
    if not key or not key.startswith("decision-r"):
        return None
    revision, _, attempt = key.removeprefix("decision-r").partition("-a")
    return (int(revision), int(attempt)) if revision.isdigit() and attempt.isdigit() else None


@task(name="plan-application-window", retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_unless_bad_input)
def plan_application_window(today: date) -> list[WindowRun]:
    """One transaction: the day's calls for applications and reminders of every open year."""
    kim = current_app()
    with session_scope(kim.engine) as session:
        return run_window(session, kim.settings, today=today, now=utc_now())


@task(name="publish-application-overview")
def publish_application_overview(years: list[int]) -> int:
    """Table ``kim-applications-<year>``: status, VZÄ, requested and granted amounts per Kommune."""
    return len(views.publish_applications(current_app().engine, years=years))


def run_is_active(run_id: str) -> bool:
    """Whether a flow run exists and has not finished (e.g. another decision run still waiting)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(run_id)).state
    except (ObjectNotFound, ValueError):
        return False
    return state is not None and not state.is_final()


def release_waiting_run(run_id: str, answer: Mapping[str, object]) -> bool:
    """Resume a paused decision run after a decision made elsewhere; it then sees the decision and ends cleanly.

    ``answer`` must fit ``DecisionForm`` (the server validates it); return False if the run is not paused.
    """
    from prefect.client.orchestration import get_client
    from prefect.flow_runs import resume_flow_run

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(run_id)).state
    if state is None or not state.is_paused():
        return False
    resume_flow_run(UUID(run_id), run_input=DecisionForm(**answer).model_dump(mode="json"))
    return True
