"""Four eyes in tests that are about something else: the approval recorded by one person, confirmed by another.

Since issue #13 (``[decisions] four_eyes = true`` by default) an approval takes effect only when a second person
confirms it. Tests whose subject is not the confirmation call :func:`decide_and_confirm` instead of
``decide_application``; ``tests/integration/test_four_eyes.py`` tests the confirmation itself.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from kim_workflow.core.domain import ApplicationStatus
from kim_workflow.services.decisions import DecisionRequest, DecisionResult, decide_application
from kim_workflow.services.grant_review import confirm_grant_decision
from kim_workflow.settings import Settings

SECOND_PERSON = "Referatsleitung (Zweitprüfung)"


def decide_and_confirm(
    session: Session, settings: Settings, *, request: DecisionRequest, now: datetime, **where: Any
) -> DecisionResult:
    """``decide_application``, then (for an approval waiting for confirmation) the second person confirms."""
    result = decide_application(session, settings, request=request, now=now, **where)
    if result.awaiting_confirmation is None:
        return result
    confirmed = confirm_grant_decision(session, settings, act_id=result.awaiting_confirmation, by=SECOND_PERSON,
                                       now=now)  # fmt: skip
    assert confirmed.decision_id is not None
    return replace(
        result, decision_id=confirmed.decision_id, status=ApplicationStatus.APPROVED,
        email_queued=confirmed.email_queued, awaiting_confirmation=None,
    )  # fmt: skip
