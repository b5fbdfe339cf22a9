"""Four eyes (Vier-Augen-Prinzip): the form on which a second person confirms or rejects a waiting decision."""

from __future__ import annotations

from typing import Annotated, Literal

from prefect import State, flow
from pydantic import BaseModel

from kim_workflow.orchestration.application_tasks import publish_application_overview
from kim_workflow.orchestration.cycle_tasks import dispatch_outbox, publish_events
from kim_workflow.orchestration.forms import OptionalText, de
from kim_workflow.orchestration.grant_tasks import review_grant_task
from kim_workflow.orchestration.outcomes import delivery_outcome
from kim_workflow.services.grant_acts import GrantResult

CONFIRM, REJECT = "Bestätigen", "Verwerfen"


class GrantReview(BaseModel):
    """Eine Bewilligung, Änderung oder einen Widerruf, der auf Bestätigung wartet, bestätigen oder verwerfen."""

    grant_decision_id: int = de(
        "Nummer der Entscheidung", "Spalte „Vier Augen“ der Antragsübersicht oder kim application pending", ge=1
    )
    answer: Literal["Bestätigen", "Verwerfen"] = de(
        "Entscheidung", "Bestätigen: wird wirksam, die Kommune erhält die E-Mail; Verwerfen: wird nicht wirksam",
        default=CONFIRM,
    )  # fmt: skip
    reviewed_by: str = de(
        "Zweite Person", "Ihr Name; nicht die Person, die die Entscheidung erfasst hat", min_length=1, max_length=200
    )
    reason: OptionalText = de("Begründung des Verwerfens", "Nur beim Verwerfen (Pflicht)", default=None,
                              max_length=1000)  # fmt: skip


@flow(name="grant-confirmation", description="Vier-Augen-Prinzip: wartende Entscheidung bestätigen oder verwerfen")
def grant_confirmation(
    review: Annotated[GrantReview, de("Bestätigung", "Welche Entscheidung, wer bestätigt, bestätigen oder verwerfen")],
) -> GrantResult | State[GrantResult]:
    """Applies the confirmation through the same use case as ``kim application confirm`` and sends the email."""
    result = review_grant_task(review.grant_decision_id, review.reviewed_by, review.answer == CONFIRM, review.reason)
    dispatch = dispatch_outbox()
    publish_application_overview([result.year])
    publish_events()
    return delivery_outcome(result, dispatch)
