"""Manual deployments of admins: open a funding year, record a submission, extend a deadline."""

from __future__ import annotations

from typing import Annotated

from prefect import State, flow
from pydantic import BaseModel

from kim_workflow.orchestration.cycle_tasks import (
    dispatch_outbox,
    extend_deadline_task,
    local_today,
    open_cycle_task,
    publish_events,
    publish_status_artifacts,
    record_submission_task,
)
from kim_workflow.orchestration.forms import Actor, DeliverableChoice, GermanDate, Kommune, Year, de
from kim_workflow.orchestration.outcomes import delivery_outcome
from kim_workflow.orchestration.results import DispatchSummary, SubmissionSummary
from kim_workflow.services.cycles import OpenCycleResult

FundingYear = Annotated[Year, de("Förderjahr", "z. B. 2026")]


class Submission(BaseModel):
    """Eingang eines Jahresberichts oder Fragebogens."""

    ags: Kommune = de("Kommune", "Die Kommune, deren Unterlage eingegangen ist")
    year: Year = de("Förderjahr", "z. B. 2026")
    kind: DeliverableChoice = de("Unterlage", "Jahresbericht oder Fragebogen")
    received_on: GermanDate = de("Eingangsdatum", "TT.MM.JJJJ, z. B. 20.11.2026")


class Extension(BaseModel):
    """Fristverlängerung für eine Kommune."""

    ags: Kommune = de("Kommune", "Die Kommune, deren Frist verlängert wird")
    year: Year = de("Förderjahr", "z. B. 2026")
    until: GermanDate = de("Neue Frist", "TT.MM.JJJJ, z. B. 29.01.2027")
    reason: str = de("Grund", "Wird im Ereignisprotokoll vermerkt", min_length=1, max_length=1000)


@flow(name="open-cycle", description="Förderjahr eröffnen: Berichtspflichten laut Richtlinie (Bewilligungen) anlegen")
def open_cycle(year: FundingYear, actor: Actor = "prefect-ui") -> OpenCycleResult:
    result = open_cycle_task(year, actor)
    publish_status_artifacts(local_today(), [year])
    publish_events()
    return result


@flow(name="record-submission", description="Eingang von Jahresbericht oder Fragebogen erfassen")
def record_submission(
    submission: Annotated[Submission, de("Eingang", "Welche Unterlage von welcher Kommune wann einging")],
    actor: Actor = "prefect-ui",
) -> SubmissionSummary:
    """Stores the submission and queues the confirmation; the event it emits triggers the dispatch."""
    result = record_submission_task(
        submission.ags, submission.year, submission.kind, submission.received_on, local_today(), actor
    )
    publish_events()
    return result


@flow(name="extend-deadline", description="Frist einer Kommune verlängern")
def extend_deadline(
    extension: Annotated[Extension, de("Fristverlängerung", "Kommune, Förderjahr, neue Frist und Grund")],
    actor: Actor = "prefect-ui",
) -> list[str]:
    kinds = extend_deadline_task(extension.ags, extension.year, extension.until, extension.reason, actor)
    publish_events()
    return kinds


@flow(name="submission-received", description="Bestätigung sofort versenden und Status aktualisieren")
def submission_received(year: FundingYear) -> DispatchSummary | State[DispatchSummary]:
    """Triggered by ``kim.submission.received`` and ``kim.deadline.extended`` (see prefect.yaml)."""
    report = dispatch_outbox()
    publish_status_artifacts(local_today(), [year])
    return delivery_outcome(report, report)
