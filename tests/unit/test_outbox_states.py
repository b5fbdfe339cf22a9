"""The outbox state machine: every documented transition works, every other (status, event) pair is refused."""

from __future__ import annotations

import pickle

import pytest

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.core.outbox_states import (
    FINAL_STATUSES,
    INITIAL_STATUS,
    OPERATOR_STATUSES,
    TRANSITIONS,
    InvalidOutboxTransition,
    OutboxEvent,
    allowed_events,
    is_allowed,
    sources,
    target,
    transition,
)

S, E = OutboxStatus, OutboxEvent
EXPECTED = {
    (S.PENDING, E.CLAIM): S.CLAIMED,
    (S.CLAIMED, E.START): S.SENDING,
    (S.CLAIMED, E.RELEASE): S.PENDING,
    (S.CLAIMED, E.RECORD_SENT): S.SENT,
    (S.CLAIMED, E.RECORD_RETRY): S.PENDING,
    (S.CLAIMED, E.RECORD_FAILED): S.FAILED,
    (S.CLAIMED, E.RECORD_UNKNOWN): S.UNKNOWN,
    (S.SENDING, E.START): S.SENDING,  # repeated after a lost connection
    (S.SENDING, E.INTERRUPT): S.UNKNOWN,
    (S.SENDING, E.RECORD_SENT): S.SENT,
    (S.SENDING, E.RECORD_RETRY): S.PENDING,
    (S.SENDING, E.RECORD_FAILED): S.FAILED,
    (S.SENDING, E.RECORD_UNKNOWN): S.UNKNOWN,
    (S.UNKNOWN, E.RECORD_SENT): S.SENT,  # a 250 wins over a stale recovery
    (S.UNKNOWN, E.RESEND): S.PENDING,
    (S.UNKNOWN, E.DISMISS): S.DISMISSED,
    (S.FAILED, E.RESEND): S.PENDING,
    (S.FAILED, E.DISMISS): S.DISMISSED,
    (S.SENT, E.RECORD_BOUNCE): S.FAILED,  # a delivery status notification by email, after the 250
    (S.UNKNOWN, E.RECORD_BOUNCE): S.FAILED,
}
INVALID = [(s, e) for s in S for e in E if (s, e) not in EXPECTED]


def test_the_table_is_exactly_the_documented_machine() -> None:
    table = {(s, e): new for s, targets in TRANSITIONS.items() for e, new in targets.items()}
    assert table == EXPECTED
    assert set(TRANSITIONS) == set(S)
    assert len(EXPECTED) + len(INVALID) == len(S) * len(E)


@pytest.mark.parametrize(("current", "event", "new"), [(s, e, t) for (s, e), t in EXPECTED.items()])
def test_allowed_pairs_lead_to_the_documented_status(
    current: OutboxStatus, event: OutboxEvent, new: OutboxStatus
) -> None:
    assert transition(current, event) is new
    assert transition(current.value, event.value) is new  # type: ignore[arg-type]  # as read from the database
    assert is_allowed(current, event) and event in allowed_events(current)


@pytest.mark.parametrize(("current", "event"), INVALID)
def test_every_other_pair_is_refused(current: OutboxStatus, event: OutboxEvent) -> None:
    with pytest.raises(InvalidOutboxTransition) as caught:
        transition(current, event)
    assert not is_allowed(current, event) and event not in allowed_events(current)
    assert repr(event.value) in str(caught.value) and repr(current.value) in str(caught.value)
    assert (caught.value.current, caught.value.event) == (current, event)


@pytest.mark.parametrize("event", list(E))
def test_sources_and_target_are_the_table_read_by_event(event: OutboxEvent) -> None:
    edges = {(s, t) for (s, e), t in EXPECTED.items() if e is event}
    assert set(sources(event)) == {s for s, _ in edges} and {target(event)} == {t for _, t in edges}
    assert list(sources(event)) == sorted(sources(event), key=list(S).index)  # enum order: stable SQL


def test_the_store_statements_read_these_sources() -> None:
    assert sources(E.CLAIM) == (S.PENDING,)
    assert sources(E.START) == (S.CLAIMED, S.SENDING)
    assert sources(E.RECORD_SENT) == (S.CLAIMED, S.SENDING, S.UNKNOWN)
    assert sources(E.RECORD_RETRY) == sources(E.RECORD_FAILED) == sources(E.RECORD_UNKNOWN) == (S.CLAIMED, S.SENDING)
    assert sources(E.RELEASE) == (S.CLAIMED,) and sources(E.INTERRUPT) == (S.SENDING,)
    assert OPERATOR_STATUSES == sources(E.RESEND) == sources(E.DISMISS) == (S.FAILED, S.UNKNOWN)
    assert sources(E.RECORD_BOUNCE) == (S.SENT, S.UNKNOWN) and target(E.RECORD_BOUNCE) is S.FAILED


def test_final_and_initial_statuses() -> None:
    assert {S.DISMISSED} == FINAL_STATUSES  # a sent email may still bounce later (record_bounce)
    assert allowed_events(S.SENT) == (E.RECORD_BOUNCE,)
    assert allowed_events(S.DISMISSED) == () and "keine (Endstatus)" in str(
        InvalidOutboxTransition(S.DISMISSED, E.RESEND)
    )
    assert INITIAL_STATUS is S.PENDING


def test_every_status_is_reachable_from_the_initial_one() -> None:
    seen, frontier = {INITIAL_STATUS}, [INITIAL_STATUS]
    while frontier:
        for new in TRANSITIONS[frontier.pop()].values():
            if new not in seen:
                seen.add(new)
                frontier.append(new)
    assert seen == set(S)


def test_an_unknown_status_value_is_a_plain_value_error() -> None:
    with pytest.raises(ValueError, match="bogus") as caught:
        transition("bogus", E.CLAIM)  # type: ignore[arg-type]
    assert not isinstance(caught.value, InvalidOutboxTransition)


def test_the_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(InvalidOutboxTransition(S.SENT, E.DISMISS)))
    assert (error.current, error.event) == (S.SENT, E.DISMISS) and "'dismiss'" in str(error)
