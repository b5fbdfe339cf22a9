"""The application state machine: every valid path works, every other (status, action) pair is refused."""

from __future__ import annotations

import pickle

import pytest

from kim_workflow.core.application_states import (
    ACTION_LABELS,
    DECISION_ACTIONS,
    FINAL_STATUSES,
    STATUS_LABELS,
    TRANSITIONS,
    ApplicationAction,
    InvalidTransition,
    action_for_decision,
    action_label,
    allowed_actions,
    apply_decision,
    is_final,
    transition,
)
from kim_workflow.core.domain import ApplicationStatus, DecisionOutcome

S = ApplicationStatus
EXPECTED = {
    (S.DRAFT, "submit"): S.SUBMITTED,
    (S.SUBMITTED, "approve"): S.APPROVED,
    (S.SUBMITTED, "reject"): S.REJECTED,
    (S.SUBMITTED, "request_changes"): S.CHANGES_REQUESTED,
    (S.CHANGES_REQUESTED, "resubmit"): S.SUBMITTED,
    # issue #13: the Kommune may withdraw an application that is not yet decided
    (S.DRAFT, "withdraw"): S.WITHDRAWN,
    (S.SUBMITTED, "withdraw"): S.WITHDRAWN,
    (S.CHANGES_REQUESTED, "withdraw"): S.WITHDRAWN,
    # issue #13: a grant can be revoked (Widerrufsbescheid); an amendment keeps the status
    (S.APPROVED, "revoke"): S.REVOKED,
}
INVALID = [(s, a) for s in S for a in ApplicationAction if (s, a) not in EXPECTED]


def test_the_table_is_exactly_the_documented_machine() -> None:
    table = {(s, a): target for s, targets in TRANSITIONS.items() for a, target in targets.items()}
    assert table == EXPECTED
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("current", "action", "target"), [(s, a, t) for (s, a), t in EXPECTED.items()])
def test_each_valid_transition(current: ApplicationStatus, action: str, target: ApplicationStatus) -> None:
    assert transition(current, action) is target
    assert transition(current, ApplicationAction(action)) is target


@pytest.mark.parametrize(
    "path",
    [
        ["submit", "approve", "revoke"],
        ["submit", "reject"],
        ["submit", "request_changes", "resubmit", "approve", "revoke"],
        ["submit", "request_changes", "resubmit", "request_changes", "resubmit", "reject"],
        ["withdraw"],
        ["submit", "request_changes", "withdraw"],
    ],
)
def test_every_path_from_draft_ends_in_a_final_status(path: list[str]) -> None:
    status = S.DRAFT
    for action in path:
        status = transition(status, action)
    assert is_final(status)


@pytest.mark.parametrize(("current", "action"), INVALID)
def test_every_other_transition_is_refused(current: ApplicationStatus, action: str) -> None:
    with pytest.raises(InvalidTransition) as info:
        transition(current, action)
    message = str(info.value)
    assert f"„{STATUS_LABELS[current]}“" in message and f"„{action_label(action)}“" in message
    assert "nicht zulässig" in message and info.value.allowed == allowed_actions(current)
    for word in ("not allowed", "Action", "allowed:", "final state", f"'{current.value}'"):  # German only
        assert word not in message
    for allowed in allowed_actions(current):
        assert ACTION_LABELS[allowed] in message


@pytest.mark.parametrize("action", ["", "SUBMIT", "approve ", "delete", "submitted"])
def test_unknown_actions_are_refused(action: str) -> None:
    with pytest.raises(InvalidTransition):
        transition(S.DRAFT, action)


def test_final_statuses_allow_nothing_and_say_so() -> None:
    assert {S.REVOKED, S.REJECTED, S.WITHDRAWN} == FINAL_STATUSES
    with pytest.raises(
        InvalidTransition, match=r"„erneut einreichen“ ist im Antragsstatus „widerrufen“ .*: keine, Endstatus\.$"
    ):
        transition(S.REVOKED, "resubmit")


def test_allowed_actions_and_plain_string_status() -> None:
    assert allowed_actions(S.DRAFT) == ("submit", "withdraw")
    assert allowed_actions(S.SUBMITTED) == ("approve", "reject", "request_changes", "withdraw")
    assert allowed_actions(S.REJECTED) == allowed_actions(S.WITHDRAWN) == allowed_actions(S.REVOKED) == ()
    assert allowed_actions(S.APPROVED) == ("revoke",)
    assert transition("draft", "submit") is S.SUBMITTED  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        transition("archived", "submit")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcome", "target"),
    [
        (DecisionOutcome.APPROVED, S.APPROVED),
        (DecisionOutcome.REJECTED, S.REJECTED),
        (DecisionOutcome.CHANGES_REQUESTED, S.CHANGES_REQUESTED),
    ],
)
def test_each_decision_outcome_maps_to_its_action(outcome: DecisionOutcome, target: ApplicationStatus) -> None:
    assert set(DECISION_ACTIONS) == set(DecisionOutcome)
    assert apply_decision(S.SUBMITTED, outcome) is target
    assert TRANSITIONS[S.SUBMITTED][action_for_decision(outcome)] is target
    for other in set(S) - {S.SUBMITTED}:
        with pytest.raises(InvalidTransition):
            apply_decision(other, outcome)


def test_tables_are_read_only_and_the_error_survives_pickling() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[S.DRAFT]["approve"] = S.APPROVED  # type: ignore[index]
    error = pickle.loads(pickle.dumps(InvalidTransition(S.DRAFT, "approve", ("submit",))))
    assert (error.current, error.action, error.allowed) == (S.DRAFT, "approve", ("submit",))
    assert str(error) == "„bewilligen“ ist im Antragsstatus „Entwurf“ nicht zulässig; möglich: einreichen."
    final = InvalidTransition(S.REVOKED, "approve", ())
    assert str(final) == "„bewilligen“ ist im Antragsstatus „widerrufen“ nicht zulässig; möglich: keine, Endstatus."
    assert set(STATUS_LABELS) == set(S) and set(ACTION_LABELS) == set(ApplicationAction)
