"""Manual deployments of admins: open a funding year, record a submission, extend a deadline."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from prefect import flow
from pydantic import BaseModel, Field, StringConstraints

from kim_workflow.core.domain import DeliverableKind
from kim_workflow.orchestration.cycle_tasks import (
    dispatch_outbox,
    extend_deadline_task,
    local_today,
    open_cycle_task,
    publish_events,
    publish_status_artifacts,
    record_submission_task,
)

Ags = Annotated[str, StringConstraints(pattern=r"^\d{8}$")]
Actor = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\r\n\x00]+$")]


class Submission(BaseModel):
    """Eingang eines Jahresberichts oder Fragebogens."""

    ags: Ags = Field(description="AGS der Kommune, z. B. 07315000")
    year: int = Field(ge=2000, le=2100, description="Förderjahr")
    kind: DeliverableKind = Field(description="annual_report (Jahresbericht) oder questionnaire (Fragebogen)")
    received_on: date = Field(description="Eingangsdatum")


class Extension(BaseModel):
    """Fristverlängerung für eine Kommune."""

    ags: Ags
    year: int = Field(ge=2000, le=2100)
    until: date = Field(description="Neue Frist")
    reason: str = Field(min_length=1, max_length=1000, description="Grund (wird protokolliert)")


@flow(name="open-cycle", description="Förderjahr eröffnen: Berichtspflichten für alle aktiven Kommunen anlegen")
def open_cycle(year: Annotated[int, Field(ge=2000, le=2100)], actor: Actor = "prefect-ui") -> dict[str, Any]:
    result = open_cycle_task(year, actor)
    publish_status_artifacts(local_today(), [year])
    publish_events()
    return result


@flow(name="record-submission", description="Eingang von Jahresbericht oder Fragebogen erfassen")
def record_submission(submission: Submission, actor: Actor = "prefect-ui") -> dict[str, Any]:
    """Stores the submission and queues the confirmation; the event it emits triggers the dispatch."""
    result = record_submission_task(
        submission.ags, submission.year, submission.kind, submission.received_on, local_today(), actor
    )
    publish_events()
    return result


@flow(name="extend-deadline", description="Frist einer Kommune verlängern")
def extend_deadline(extension: Extension, actor: Actor = "prefect-ui") -> list[str]:
    kinds = extend_deadline_task(extension.ags, extension.year, extension.until, extension.reason, actor)
    publish_events()
    return kinds


@flow(name="submission-received", description="Bestätigung sofort versenden und Status aktualisieren")
def submission_received(year: int) -> dict[str, Any]:
    """Triggered by ``kim.submission.received`` and ``kim.deadline.extended`` (see prefect.yaml)."""
    report = dispatch_outbox()
    publish_status_artifacts(local_today(), [year])
    return report
