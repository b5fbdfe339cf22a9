"""Triggered by kim's Prefect automations (see ``kim deploy``): tell the operators, once per incident."""

from __future__ import annotations

from typing import Annotated

from prefect import flow

from kim_workflow.orchestration.alert_tasks import queue_alert
from kim_workflow.orchestration.cycle_tasks import dispatch_outbox
from kim_workflow.orchestration.forms import IncidentChoice, OptionalText, de
from kim_workflow.orchestration.results import AlertSummary

IncidentField = Annotated[IncidentChoice, de("Vorfall", "Was die Automation festgestellt hat")]
RunField = Annotated[OptionalText, de("Lauf", "prefect.flow-run.<ID> des betroffenen Laufs (sonst leer)", shown="")]


@flow(name="operator-alert", description="Betriebswarnung an die Betreuer senden (ausgebliebene Tagesrunde, Absturz)")
def operator_alert(incident: IncidentField, flow_run: RunField = None) -> AlertSummary:
    """``flow_run``: the failed run's event resource id (``prefect.flow-run.<id>``); none for a missed sweep."""
    summary = queue_alert(incident, flow_run)
    dispatch_outbox()
    return summary
