"""The Prefect task of the ``operator-alert`` deployment: describe the run from Prefect, queue one alert."""

from __future__ import annotations

from uuid import UUID

from prefect import task

from kim_workflow.app import utc_now
from kim_workflow.core.alerts import Incident, RunFacts, flow_run_id_of
from kim_workflow.db.engine import session_scope
from kim_workflow.orchestration.context import current_app
from kim_workflow.orchestration.results import AlertSummary
from kim_workflow.services.operator_alerts import queue_operator_alert


def run_facts(resource_id: str) -> RunFacts:
    """Name, deployment and end state of the flow run (Prefect's API), for the alert's text."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_UI_URL

    run_id = flow_run_id_of(resource_id)
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(run_id))
        deployment = client.read_deployment(run.deployment_id).name if run.deployment_id else None
        history = sorted(client.read_flow_run_states(UUID(run_id)), key=lambda state: state.timestamp)
    # the incident is the last failure, not the current state: a crashed run may be running again by now
    failures = [i for i, state in enumerate(history) if state.type.value in ("CRASHED", "FAILED")]
    incident = history[failures[-1]] if failures else run.state
    attempts = sum(1 for state in history[: failures[-1] if failures else None] if state.type.value == "RUNNING")
    ui = PREFECT_UI_URL.value()
    return RunFacts(
        flow_run_id=run_id,
        run_name=run.name,
        deployment=deployment,
        state_name=incident.name if incident else None,
        state_message=(incident.message or "")[:500] if incident else None,
        run_count=attempts if failures else run.run_count,
        ui_url=f"{ui}/runs/flow-run/{run_id}" if ui else None,
    )


@task(name="queue-operator-alert", retries=2, retry_delay_seconds=[5, 30])
def queue_alert(incident: Incident, flow_run: str | None = None) -> AlertSummary:
    """Queue the alert email (one per incident: a repeated trigger queues nothing)."""
    facts = run_facts(flow_run) if flow_run else None
    kim = current_app()
    with session_scope(kim.engine) as session:
        queued = queue_operator_alert(session, kim.settings, incident=incident, now=utc_now(), run=facts)
    return AlertSummary(incident=incident.value, incident_id=queued.incident_id, queued=queued.queued)
