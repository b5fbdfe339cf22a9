"""Operator alerts: which incidents there are, how one is identified (one email each), and their German state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Incident(StrEnum):
    MISSED_SWEEP = "missed_sweep"  # no completed daily-sweep by the morning's deadline
    RUN_FAILED = "run_failed"  # a flow run of a kim deployment failed or crashed


STATE_LABELS = {
    "Crashed": "abgestürzt",
    "Failed": "fehlgeschlagen",
    "TimedOut": "wegen Zeitüberschreitung abgebrochen",
}


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What Prefect says about the run an alert concerns (no parameters: they may name a Kommune)."""

    flow_run_id: str
    run_name: str | None = None
    deployment: str | None = None
    state_name: str | None = None
    state_message: str | None = None
    run_count: int = 0
    ui_url: str | None = None


def state_label(state_name: str | None) -> str | None:
    """The German word for a Prefect end state (unknown names as they are)."""
    if state_name is None:
        return None
    return STATE_LABELS.get(state_name, state_name)


def incident_id(incident: Incident, *, day: date, run: RunFacts | None = None) -> str:
    """One alert per incident: a missed sweep once per day; a failed run once per run, state and attempt."""
    if incident is Incident.MISSED_SWEEP or run is None:
        return f"{incident.value}:{day.isoformat()}"
    return f"{incident.value}:{run.flow_run_id}:{run.state_name or 'unknown'}:{run.run_count}"


def flow_run_id_of(resource_id: str) -> str:
    """The id from an event's resource id (``prefect.flow-run.<id>``), or the value itself."""
    prefix = "prefect.flow-run."
    return resource_id[len(prefix) :] if resource_id.startswith(prefix) else resource_id
