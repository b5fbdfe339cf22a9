"""The outbox state machine as data: which event moves an outbox row from which status to which.

The store's SQL takes its ``WHERE status …`` from :func:`sources` and its new status from :func:`target`, so
these rules are written here only. Every event has exactly one target status::

    pending --claim--> claimed --start--> sending --record_sent--> sent
                          |                  |----record_retry----> pending  (4xx, connection error; backoff)
                          |                  |----record_failed---> failed   (5xx, retries used up)
                          |                  |----record_unknown--> unknown  (no answer after DATA)
                          |                  `----interrupt-------> unknown  (dead dispatcher, stale)
                          `--release--> pending  (never on the wire: attempt given back)
    failed, unknown --resend--> pending;  failed, unknown --dismiss--> dismissed  (operator)
    sent, unknown --record_bounce--> failed  (a bounce report by email after the server had accepted)

Outcomes may also be recorded for a still ``claimed`` row (a message the dispatch stopped before it was sent
is released with ``record_retry``), ``start`` may be repeated after a lost connection, and a server's 250 wins
over a stale recovery that marked the row ``unknown`` meanwhile (``record_sent`` from ``unknown``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from kim_workflow.core.domain import OutboxStatus


class OutboxEvent(StrEnum):
    CLAIM = "claim"  # a dispatcher takes a due row (one attempt counted)
    START = "start"  # marked just before the message goes on the wire (repeatable)
    RELEASE = "release"  # a claim handed back unsent (attempt not counted)
    INTERRUPT = "interrupt"  # a dead dispatcher left it on the wire: the outcome is unknown
    RECORD_SENT = "record_sent"
    RECORD_RETRY = "record_retry"
    RECORD_FAILED = "record_failed"
    RECORD_UNKNOWN = "record_unknown"
    RECORD_BOUNCE = "record_bounce"  # a delivery status notification arrived later: the server gave up
    RESEND = "resend"  # operator
    DISMISS = "dismiss"  # operator


_S, _E = OutboxStatus, OutboxEvent
_OUTCOMES = {_E.RECORD_SENT: _S.SENT, _E.RECORD_RETRY: _S.PENDING, _E.RECORD_FAILED: _S.FAILED,
             _E.RECORD_UNKNOWN: _S.UNKNOWN}  # fmt: skip
_OPERATOR = {_E.RESEND: _S.PENDING, _E.DISMISS: _S.DISMISSED}

TRANSITIONS: Mapping[OutboxStatus, Mapping[OutboxEvent, OutboxStatus]] = MappingProxyType(
    {
        _S.PENDING: MappingProxyType({_E.CLAIM: _S.CLAIMED}),
        _S.CLAIMED: MappingProxyType({_E.START: _S.SENDING, _E.RELEASE: _S.PENDING, **_OUTCOMES}),
        _S.SENDING: MappingProxyType({_E.START: _S.SENDING, _E.INTERRUPT: _S.UNKNOWN, **_OUTCOMES}),
        _S.SENT: MappingProxyType({_E.RECORD_BOUNCE: _S.FAILED}),
        _S.FAILED: MappingProxyType(_OPERATOR),
        _S.UNKNOWN: MappingProxyType({_E.RECORD_SENT: _S.SENT, _E.RECORD_BOUNCE: _S.FAILED, **_OPERATOR}),
        _S.DISMISSED: MappingProxyType({}),
    }
)

INITIAL_STATUS = OutboxStatus.PENDING  # every row is queued as ``pending``
FINAL_STATUSES = frozenset(status for status, targets in TRANSITIONS.items() if not targets)


class InvalidOutboxTransition(ValueError):
    """An event the row's current status does not allow."""

    def __init__(self, current: OutboxStatus, event: OutboxEvent) -> None:
        self.current, self.event = current, event
        allowed = ", ".join(allowed_events(current)) or "keine (Endstatus)"
        super().__init__(f"Outbox: {event.value!r} ist im Status {current.value!r} nicht zulässig; erlaubt: {allowed}")

    def __reduce__(self) -> tuple[type[InvalidOutboxTransition], tuple[OutboxStatus, OutboxEvent]]:
        return (InvalidOutboxTransition, (self.current, self.event))


def allowed_events(status: OutboxStatus) -> tuple[OutboxEvent, ...]:
    """The events possible in ``status``, in the table's order (empty for a final status)."""
    return tuple(TRANSITIONS[OutboxStatus(status)])


def transition(current: OutboxStatus, event: OutboxEvent) -> OutboxStatus:
    """The status after ``event``; ``InvalidOutboxTransition`` if ``current`` does not allow it."""
    status = OutboxStatus(current)
    new = TRANSITIONS[status].get(OutboxEvent(event))
    if new is None:
        raise InvalidOutboxTransition(status, OutboxEvent(event))
    return new


def is_allowed(current: OutboxStatus, event: OutboxEvent) -> bool:
    return OutboxEvent(event) in TRANSITIONS[OutboxStatus(current)]


def _by_event() -> dict[OutboxEvent, tuple[tuple[OutboxStatus, ...], OutboxStatus]]:
    table: dict[OutboxEvent, tuple[tuple[OutboxStatus, ...], OutboxStatus]] = {}
    for event in OutboxEvent:
        edges = [(status, TRANSITIONS[status][event]) for status in OutboxStatus if event in TRANSITIONS[status]]
        targets_of_event = {new for _, new in edges}
        if len(targets_of_event) != 1:  # the store sets one status per statement
            raise AssertionError(f"outbox event {event} must have exactly one target, has {targets_of_event}")
        table[event] = (tuple(status for status, _ in edges), targets_of_event.pop())
    return table


_BY_EVENT = _by_event()


def sources(event: OutboxEvent) -> tuple[OutboxStatus, ...]:
    """The statuses ``event`` may leave from (the store's ``WHERE status IN …``), in enum order."""
    return _BY_EVENT[OutboxEvent(event)][0]


def target(event: OutboxEvent) -> OutboxStatus:
    """The one status ``event`` leads to."""
    return _BY_EVENT[OutboxEvent(event)][1]


OPERATOR_STATUSES = sources(OutboxEvent.RESEND)  # waiting for an operator's decision (failed, unknown)
