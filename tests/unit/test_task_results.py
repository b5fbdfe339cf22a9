"""The typed results tasks hand to flows: frozen, picklable, passed through Prefect's input resolution intact."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from kim_workflow.core.domain import ApplicationStatus, DecisionOutcome, GrantActKind, GrantActState, MeetingStatus
from kim_workflow.orchestration import results
from kim_workflow.orchestration.outcomes import delivery_outcome
from kim_workflow.orchestration.results import DecisionAnswer, DispatchSummary, MeetingNotified, SweepSummary
from kim_workflow.services.decisions import DecisionResult
from kim_workflow.services.grant_acts import GrantResult

DECIDED = DecisionResult(1, 2, "07315000", "Mainz", 2026, 1, DecisionOutcome.APPROVED, ApplicationStatus.APPROVED, True)
SAMPLES = [
    DispatchSummary(claimed=3, sent=2, failed=1, undelivered=1, problems=["Outbox-Nr. 7 …"]),
    SweepSummary(2026, planned=36, queued=36, stages=["reminder-42"], escalation=False, without_contact=[]),
    DecisionAnswer("decided", 1, decision=DECIDED),
    MeetingNotified(4, 2026, 0, MeetingStatus.SCHEDULED, {"meeting_invitation": 3}, 3, dispatch=DispatchSummary()),
    GrantResult(3, 1, "Mainz", 2026, GrantActKind.REVOCATION, GrantActState.CONFIRMED, True),  # grant-confirmation
]


def test_every_result_is_a_frozen_dataclass() -> None:
    classes = [c for c in vars(results).values() if isinstance(c, type) and dataclasses.is_dataclass(c)]
    assert len(classes) >= 14
    for cls in classes:
        assert cls.__dataclass_params__.frozen, cls.__name__  # type: ignore[attr-defined]


@pytest.mark.parametrize("result", SAMPLES, ids=lambda r: type(r).__name__)
def test_results_survive_pickling_and_prefects_input_resolution(result: object) -> None:
    from prefect.utilities.collections import visit_collection

    assert pickle.loads(pickle.dumps(result)) == result
    assert visit_collection([result], lambda value: value, return_data=True) == [result]


def test_enum_fields_compare_equal_to_their_plain_values() -> None:
    assert DECIDED.outcome == "approved" and DECIDED.status == "approved"


def test_a_dispatch_with_undelivered_emails_fails_the_run_and_a_clean_one_returns_the_result() -> None:
    sweep = SAMPLES[1]
    assert delivery_outcome(sweep, DispatchSummary(sent=5), None) is sweep
    state = delivery_outcome(sweep, DispatchSummary(sent=1, failed=2, undelivered=2), None)
    assert (
        not isinstance(state, SweepSummary)
        and state.is_failed()
        and "2 E-Mail(s) nicht zugestellt" in str(state.message)
    )
