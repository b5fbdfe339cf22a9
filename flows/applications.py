"""The application cycle: intake (manual), the ministry's decision (paused for input), the daily window."""

from __future__ import annotations

from typing import Annotated, Any

from prefect import flow, get_run_logger, pause_flow_run
from prefect.runtime import flow_run
from pydantic import Field, StringConstraints, ValidationError

from kim_workflow.orchestration.application_form import ApplicationForm
from kim_workflow.orchestration.application_tasks import (
    DecisionInput,
    claim_decision_run_task,
    decide_task,
    find_application_task,
    plan_application_window,
    publish_application_overview,
    run_is_active,
    submit_application_task,
)
from kim_workflow.orchestration.cycle_tasks import dispatch_outbox, local_today, publish_events
from kim_workflow.orchestration.forms import Actor as FormActor
from kim_workflow.orchestration.forms import Today, de

Ags = Annotated[str, StringConstraints(pattern=r"^\d{8}$")]
Actor = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\r\n\x00]+$")]
DAY = 86_400


@flow(name="submit-application", description="Antrag einer Kommune auf KIM-Förderung einreichen (manuell)")
def submit_application(
    application: Annotated[ApplicationForm, de("Antrag", "Kommune, Förderjahr, Personal und beantragte Beträge")],
    actor: FormActor = "prefect-ui",
) -> dict[str, Any]:
    """Checks and stores the application and queues the receipt; an invalid one fails the run, nothing stored."""
    result = submit_application_task(application.to_input(), actor)
    dispatch_outbox()
    publish_application_overview([application.year])
    publish_events()  # kim.application.submitted starts application-decision
    return result


@flow(name="application-decision", description="Auf die Entscheidung des Ministeriums über einen Antrag warten")
def application_decision(
    application_id: int | None = None,
    ags: Ags | None = None,
    year: Annotated[int | None, Field(ge=2000, le=2100)] = None,
    timeout_days: Annotated[int, Field(ge=1, le=365)] = 90,
    poll_interval_seconds: Annotated[int, Field(ge=1, le=300)] = 10,
    take_over: bool = False,
) -> dict[str, Any]:
    """Pauses until the decision is entered (form ``DecisionInput``), stores it and notifies the Kommune.

    Invalid input (e.g. above the funding rules) is logged and the run pauses again. If the application is no
    longer waiting (decided from the CLI, resubmitted) the run ends cleanly; it checks before and after waiting.
    A second run for the same application ends at once while the first is unfinished, unless ``take_over`` (for a
    run left paused without a process, e.g. after a restart of ``kim up``).
    """
    if application_id is None:
        if ags is None or year is None:
            raise ValueError("application_id oder ags und year angeben")
        application_id = find_application_task(ags, year)
    run_id = str(flow_run.id)
    result = _await_decision(application_id, run_id, timeout_days * DAY, poll_interval_seconds, take_over)
    if result["status"] == "decided":
        dispatch_outbox()
        publish_application_overview([result["year"]])
        publish_events()
    return result


def _await_decision(
    application_id: int, run_id: str, timeout: int, poll_interval: int, take_over: bool
) -> dict[str, Any]:
    logger = get_run_logger()
    while True:
        state = _claim(application_id, run_id, take_over)
        if not state["pending"] or state["decision_run_id"] != run_id:
            status = "not_pending" if not state["pending"] else "duplicate"
            logger.info("Antrag %s wartet nicht (mehr) auf diesen Lauf: %s", application_id, status)
            return {"status": status, "application_id": application_id}
        form = DecisionInput.with_initial_data(description=state["summary"])
        try:
            answer = pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=poll_interval)
        except ValidationError as exc:
            logger.warning("Eingabe unvollständig oder fehlerhaft, bitte erneut entscheiden: %s", exc)
            continue
        result = decide_task(application_id, state["revision"], answer)
        if result["status"] != "invalid":
            return result
        logger.warning("Entscheidung nicht zulässig, bitte erneut entscheiden:\n%s", "\n".join(result["problems"]))


def _claim(application_id: int, run_id: str, take_over: bool) -> dict[str, Any]:
    """Claim the application for this run; take it over if the run that held it has ended (or if told to)."""
    state = claim_decision_run_task(application_id, run_id, force=take_over)
    holder = state["decision_run_id"]
    if state["pending"] and holder not in (None, run_id) and not run_is_active(holder):
        state = claim_decision_run_task(application_id, run_id, force=True)
    return state


@flow(name="application-window", description="Aufruf zur Antragstellung und Erinnerungen an die Antragsfrist")
def application_window(today: Today = None) -> list[dict[str, Any]]:
    """Daily: the call once per Kommune and year, reminders before the deadline; a second run sends nothing twice."""
    day = today or local_today()
    summaries = plan_application_window(day)
    dispatch_outbox()
    publish_application_overview([s["year"] for s in summaries])
    return summaries
