"""The application cycle: intake (manual), the ministry's decision (paused for input), the daily window."""

from __future__ import annotations

import itertools
from typing import Annotated

from prefect import State, flow, get_run_logger, pause_flow_run, suspend_flow_run
from prefect.runtime import deployment, flow_run
from pydantic import ValidationError

from kim_workflow.core.policy import PolicyError
from kim_workflow.orchestration.application_form import ApplicationForm
from kim_workflow.orchestration.application_tasks import (
    claim_decision_run_task,
    decide_task,
    decision_key,
    plan_application_window,
    publish_application_overview,
    run_is_active,
    submit_application_task,
)
from kim_workflow.orchestration.cycle_tasks import dispatch_outbox, local_today, publish_events
from kim_workflow.orchestration.forms import Actor as FormActor
from kim_workflow.orchestration.forms import DecisionForm, Today, de, decision_form_description, validation_problems
from kim_workflow.orchestration.outcomes import delivery_outcome, policy_refused
from kim_workflow.orchestration.results import DecisionAnswer, DecisionClaim, DecisionStatus
from kim_workflow.services.application_intake import SubmitResult
from kim_workflow.services.application_window import WindowRun

DAY = 86_400


@flow(name="submit-application", description="Antrag einer Kommune auf KIM-Förderung einreichen (manuell)")
def submit_application(
    application: Annotated[ApplicationForm, de("Antrag", "Kommune, Förderjahr, Personal und beantragte Beträge")],
    actor: FormActor = "prefect-ui",
) -> SubmitResult | State[SubmitResult]:
    """Checks and stores the application and queues the receipt; an invalid one fails the run, nothing stored."""
    result = submit_application_task(application.to_input(), actor)
    dispatch = dispatch_outbox()
    publish_application_overview([application.year])
    publish_events()  # kim.application.submitted starts application-decision
    return delivery_outcome(result, dispatch)


@flow(name="application-decision", description="Auf die Entscheidung des Ministeriums über einen Antrag warten")
def application_decision(
    application_id: Annotated[int, de("Antragsnummer", "Die Nummer des Antrags (kim application list)", ge=1)],
    timeout_days: Annotated[int, de("Wartezeit in Tagen", "So lange bleibt das Formular offen", ge=1, le=365)] = 90,
    poll_interval_seconds: Annotated[
        int, de("Prüfintervall in Sekunden", "Nur ohne Deployment: wie oft der Lauf nach dem Formular sieht", ge=1)
    ] = 10,
    take_over: Annotated[
        bool, de("Übernehmen", "Auch wenn ein anderer Lauf den Antrag hält (z. B. nach einem Absturz)")
    ] = False,
) -> DecisionAnswer | State[DecisionAnswer]:
    """Waits for the decision (form ``DecisionForm``), stores it and notifies the Kommune.

    Served from a deployment the run is *suspended* while it waits: no process is kept, the form survives any
    restart of ``kim up``, and the resumed run starts again from the top, replaying the forms already answered
    (their keys are stable). Refused input (e.g. above the funding rules) reopens the form with the German reason
    on top. If the application is no longer waiting (decided from the CLI, resubmitted) the run ends cleanly. A
    second run for the same application ends at once while the first is unfinished, unless ``take_over``.
    """
    run_id = str(flow_run.id)
    suspend = deployment.id is not None  # only a deployment's run can be resumed after its process is gone
    result = _await_decision(application_id, run_id, timeout_days * DAY, poll_interval_seconds, take_over, suspend)
    if result.decision is None:
        return result
    dispatch = dispatch_outbox()
    publish_application_overview([result.decision.year])
    publish_events()
    return delivery_outcome(result, dispatch)


def _await_decision(
    application_id: int, run_id: str, timeout: int, poll_interval: int, take_over: bool, suspend: bool
) -> DecisionAnswer:
    logger = get_run_logger()
    claim = _claim(application_id, run_id, take_over)
    if claim.decided_here is not None:  # this run's form was applied already (by kim up's watcher)
        return DecisionAnswer("decided", application_id, decision=claim.decided_here)
    state = claim.application
    if not state.pending or state.decision_run_id != run_id:
        status: DecisionStatus = "not_pending" if not state.pending else "duplicate"
        logger.info("Antrag %s wartet nicht (mehr) auf diesen Lauf: %s", application_id, status)
        return DecisionAnswer(status, application_id)
    refusal: str | None = None
    previous: DecisionForm | None = None
    for attempt in itertools.count():
        form = DecisionForm.prefilled(decision_form_description(state.summary, refusal), previous)
        key = decision_key(state.revision, attempt)
        try:
            if suspend:
                answer = suspend_flow_run(wait_for_input=form, timeout=timeout, key=key)
            else:  # an in-process run (tests): no deployment to resume, so it waits in this process
                answer = pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=poll_interval, key=key)
        except ValidationError as exc:
            refusal, previous = "\n".join(validation_problems(exc, DecisionForm)), None
            logger.warning("Eingabe unvollständig oder fehlerhaft, bitte erneut entscheiden:\n%s", refusal)
            continue
        result = decide_task(application_id, state.revision, run_id, answer)
        if result.status != "invalid":
            return result
        refusal, previous = "\n".join(result.problems), answer
        logger.warning("Entscheidung nicht zulässig, bitte erneut entscheiden:\n%s", refusal)
    raise AssertionError("unreachable")


def _claim(application_id: int, run_id: str, take_over: bool) -> DecisionClaim:
    """Claim the application for this run; take it over if the run that held it has ended (or if told to)."""
    claim = claim_decision_run_task(application_id, run_id, force=take_over)
    holder = claim.application.decision_run_id
    if claim.application.pending and holder is not None and holder != run_id and not run_is_active(holder):
        claim = claim_decision_run_task(application_id, run_id, force=True)
    return claim


@flow(name="application-window", description="Aufruf zur Antragstellung und Erinnerungen an die Antragsfrist")
def application_window(today: Today = None) -> list[WindowRun] | State[list[WindowRun]]:
    """Daily: the call once per Kommune and year, reminders before the deadline; a second run sends nothing twice."""
    day = today or local_today()
    try:
        summaries = plan_application_window(day)
    except PolicyError as exc:
        return policy_refused(exc)
    dispatch = dispatch_outbox()
    publish_application_overview([s.year for s in summaries])
    return delivery_outcome(summaries, dispatch)
