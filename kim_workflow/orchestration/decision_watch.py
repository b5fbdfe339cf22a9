"""Decision forms, handled by ``kim up`` itself: applied within a second, and never lost across restarts.

A decision run waits *suspended* (no process). When an official submits its form, Prefect moves the run to
``Scheduled``/"Resuming"; the runner would start a new process for it only 10–25 s later. The watcher reads the
submitted form at once and stores the decision through the same use case the run would call
(:func:`decide_through_run`, exactly once whoever comes first); the outbox relay then sends the email. Refused
input is left to the run, which reopens the form with the reason.

:meth:`DecisionWatcher.reconcile` keeps exactly one resumable form per waiting application: a run that was
cancelled (e.g. ``kim up`` stopped by SIGTERM while it was starting), crashed or vanished is replaced by a new
one, registered in the database by compare-and-set so that two watchers never create two.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateName,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.exceptions import ObjectNotFound
from prefect.input.run_input import keyset_from_paused_state
from prefect.states import Cancelled, Scheduled
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from kim_workflow.db.engine import session_scope
from kim_workflow.orchestration.application_tasks import parse_decision_key
from kim_workflow.orchestration.forms import DecisionForm
from kim_workflow.services.decision_runs import (
    RECONCILE_GRACE,
    decide_through_run,
    replace_decision_run,
    waiting_applications,
)
from kim_workflow.services.decisions import DecisionNotPending, InvalidDecision
from kim_workflow.settings import Settings

logger = logging.getLogger("kim_workflow.decisions")
DECISION_DEPLOYMENT = "application-decision/application-decision"
STUCK_AFTER = timedelta(minutes=10)  # a decision run only runs briefly before it suspends
FORM_GRACE = timedelta(seconds=30)  # between suspending and saving its form a run may take a moment


class DecisionWatcher:
    """Applies submitted decision forms and keeps one decision run per waiting application."""

    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.engine, self.settings, self.clock = engine, settings, clock
        self._handled: set[tuple[UUID, str]] = set()
        self._deployment_id: UUID | None = None

    def apply_submitted_forms(self) -> int:
        """Store the decision of every form submitted since the last round; return how many were stored."""
        with get_client(sync_client=True) as client:
            deployment_id = self._deployment(client)
            if deployment_id is None:
                return 0
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]),
                        name=FlowRunFilterStateName(any_=["Resuming"]),
                    )
                ),
                limit=200,
            )
            return sum(self._apply(client, run) for run in runs)

    def _apply(self, client: SyncPrefectClient, run: FlowRun) -> bool:
        form = _submitted_form(client, run.id)
        if form is None or (run.id, form[0]) in self._handled:
            return False
        key, answer = form
        self._handled.add((run.id, key))
        parsed = parse_decision_key(key)
        application_id = run.parameters.get("application_id")
        if parsed is None or not isinstance(application_id, int):
            return False  # a run started by ags/year: it applies its form itself when it starts
        try:
            request = DecisionForm.model_validate(answer).to_request()
            with session_scope(self.engine) as session:
                result = decide_through_run(
                    session, self.settings, application_id=application_id, revision=parsed[0],
                    run_id=str(run.id), request=request, now=self.clock(),
                )  # fmt: skip
        except (ValidationError, InvalidDecision, DecisionNotPending):
            return False  # the run itself reopens the form with the reason, or ends
        logger.info("Entscheidung zu Antrag %s gespeichert (%s)", application_id, result.outcome.value)
        return result.email_queued

    def reconcile(self) -> int:
        """Give every waiting application without a live decision run a new one; return how many were made."""
        with session_scope(self.engine) as session:
            waiting = waiting_applications(session, submitted_before=self.clock() - RECONCILE_GRACE)
        if not waiting:
            return 0
        made = 0
        with get_client(sync_client=True) as client:
            deployment_id = self._deployment(client)
            if deployment_id is None:
                return 0
            for application in waiting:
                if application.decision_run_id and _alive(client, application.decision_run_id, self.clock()):
                    continue
                made += self._replace(client, deployment_id, application.application_id, application.decision_run_id)
        return made

    def _replace(self, client: SyncPrefectClient, deployment_id: UUID, application_id: int, old: str | None) -> int:
        run = client.create_flow_run_from_deployment(
            deployment_id, parameters={"application_id": application_id}, state=Scheduled()
        )
        with session_scope(self.engine) as session:
            registered = replace_decision_run(session, application_id=application_id, expected=old, run_id=str(run.id))
        if not registered:  # someone else replaced it meanwhile: ours must not become a second form
            client.set_flow_run_state(run.id, Cancelled(message="Doppelter Entscheidungslauf"), force=True)
            return 0
        if old is not None:
            _end(client, old)
        logger.info("Antrag %s: neuer Entscheidungslauf %s (vorher: %s)", application_id, run.id, old or "keiner")
        return 1

    def _deployment(self, client: SyncPrefectClient) -> UUID | None:
        if self._deployment_id is None:
            try:
                self._deployment_id = client.read_deployment_by_name(DECISION_DEPLOYMENT).id
            except ObjectNotFound:
                return None
        return self._deployment_id


def _submitted_form(client: SyncPrefectClient, run_id: UUID) -> tuple[str, Any] | None:
    """The pause key and the answer of the form that was last submitted for ``run_id``, if any."""
    paused = [s for s in client.read_flow_run_states(run_id) if s.is_paused() and s.state_details.pause_key]
    if not paused:
        return None
    last = max(paused, key=lambda s: s.timestamp)
    raw = _read_input(client, run_id, keyset_from_paused_state(last)["response"])
    if raw is None:
        return None
    return str(last.state_details.pause_key), json.loads(raw)


def _alive(client: SyncPrefectClient, run_id: str, now: datetime) -> bool:
    """Whether ``run_id`` is a decision run that still waits or will go on by itself."""
    try:
        state = client.read_flow_run(UUID(run_id)).state
    except (ObjectNotFound, ValueError):
        return False
    if state is None or state.is_final():
        return False
    if state.is_paused():
        # A pause without reschedule belongs to a process; after a restart nothing is behind it. A suspension
        # whose form was never saved (the process died in between) cannot be resumed either.
        if not state.state_details.pause_reschedule:
            return False
        return has_form(client, UUID(run_id), state) or now - state.timestamp < FORM_GRACE
    if state.is_running() or state.is_pending():
        return now - state.timestamp < STUCK_AFTER
    return True


def has_form(client: SyncPrefectClient, run_id: UUID, state: State) -> bool:
    """Whether the paused ``state`` has the form (input schema) an official needs to resume it."""
    return _read_input(client, run_id, keyset_from_paused_state(state)["schema"]) is not None


def _read_input(client: SyncPrefectClient, run_id: UUID, key: str) -> str | None:
    """A run input's raw value, or None if there is none under ``key``."""
    try:
        return client.read_flow_run_input(run_id, key)
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == 404:
            return None
        raise


def _end(client: SyncPrefectClient, run_id: str) -> None:
    """Close a replaced run that is not final yet (e.g. a pause whose process is gone)."""
    try:
        state = client.read_flow_run(UUID(run_id)).state
        if state is not None and not state.is_final():
            client.set_flow_run_state(
                UUID(run_id), Cancelled(message="Ersetzt durch einen neuen Entscheidungslauf"), force=True
            )
    except (ObjectNotFound, ValueError):
        pass
