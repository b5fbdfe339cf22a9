"""The application (Antrag) state machine as data: which action leads from which status to which."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from kim_workflow.core.domain import ApplicationStatus, DecisionOutcome


class ApplicationAction(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"
    REVOKE = "revoke"


STATUS_LABELS: Mapping[ApplicationStatus, str] = MappingProxyType(
    {
        ApplicationStatus.DRAFT: "Entwurf",
        ApplicationStatus.SUBMITTED: "eingereicht",
        ApplicationStatus.APPROVED: "bewilligt",
        ApplicationStatus.REJECTED: "abgelehnt",
        ApplicationStatus.CHANGES_REQUESTED: "Nachforderung",
        ApplicationStatus.WITHDRAWN: "zurückgezogen",
        ApplicationStatus.REVOKED: "widerrufen",
    }
)
ACTION_LABELS: Mapping[str, str] = MappingProxyType(
    {
        ApplicationAction.SUBMIT: "einreichen",
        ApplicationAction.APPROVE: "bewilligen",
        ApplicationAction.REJECT: "ablehnen",
        ApplicationAction.REQUEST_CHANGES: "nachfordern",
        ApplicationAction.RESUBMIT: "erneut einreichen",
        ApplicationAction.WITHDRAW: "zurückziehen",
        ApplicationAction.REVOKE: "widerrufen",
    }
)


def action_label(action: str) -> str:
    """The German label of ``action`` (an unknown one in quotes, as typed)."""
    return ACTION_LABELS.get(action, f"„{action}“")


def allowed_text(allowed: tuple[str, ...]) -> str:
    """The actions a status allows, in German (``"keine, Endstatus"`` for a final status)."""
    return ", ".join(action_label(action) for action in allowed) or "keine, Endstatus"


def _frozen(targets: dict[str, ApplicationStatus]) -> Mapping[str, ApplicationStatus]:
    return MappingProxyType(targets)


TRANSITIONS: Mapping[ApplicationStatus, Mapping[str, ApplicationStatus]] = MappingProxyType(
    {
        ApplicationStatus.DRAFT: _frozen(
            {
                ApplicationAction.SUBMIT: ApplicationStatus.SUBMITTED,
                ApplicationAction.WITHDRAW: ApplicationStatus.WITHDRAWN,
            }
        ),
        ApplicationStatus.SUBMITTED: _frozen(
            {
                ApplicationAction.APPROVE: ApplicationStatus.APPROVED,
                ApplicationAction.REJECT: ApplicationStatus.REJECTED,
                ApplicationAction.REQUEST_CHANGES: ApplicationStatus.CHANGES_REQUESTED,
                ApplicationAction.WITHDRAW: ApplicationStatus.WITHDRAWN,
            }
        ),
        ApplicationStatus.CHANGES_REQUESTED: _frozen(
            {
                ApplicationAction.RESUBMIT: ApplicationStatus.SUBMITTED,
                ApplicationAction.WITHDRAW: ApplicationStatus.WITHDRAWN,
            }
        ),
        ApplicationStatus.APPROVED: _frozen({ApplicationAction.REVOKE: ApplicationStatus.REVOKED}),
        ApplicationStatus.REJECTED: _frozen({}),
        ApplicationStatus.WITHDRAWN: _frozen({}),
        ApplicationStatus.REVOKED: _frozen({}),
    }
)

DECISION_ACTIONS: Mapping[DecisionOutcome, ApplicationAction] = MappingProxyType(
    {
        DecisionOutcome.APPROVED: ApplicationAction.APPROVE,
        DecisionOutcome.REJECTED: ApplicationAction.REJECT,
        DecisionOutcome.CHANGES_REQUESTED: ApplicationAction.REQUEST_CHANGES,
    }
)

FINAL_STATUSES = frozenset(status for status, targets in TRANSITIONS.items() if not targets)


class InvalidTransition(ValueError):
    """An action that the current status does not allow; the message is German (labels of ``STATUS_LABELS``)."""

    def __init__(self, current: ApplicationStatus, action: str, allowed: tuple[str, ...]) -> None:
        self.current, self.action, self.allowed = current, action, allowed
        super().__init__(
            f"„{action_label(action)}“ ist im Antragsstatus „{STATUS_LABELS[ApplicationStatus(current)]}“ nicht "
            f"zulässig; möglich: {allowed_text(allowed)}."
        )

    def __reduce__(self) -> tuple[type[InvalidTransition], tuple[ApplicationStatus, str, tuple[str, ...]]]:
        return (InvalidTransition, (self.current, self.action, self.allowed))  # picklable across processes


def allowed_actions(status: ApplicationStatus) -> tuple[str, ...]:
    """The actions possible in ``status``, in a fixed order (empty for a final status)."""
    return tuple(TRANSITIONS[ApplicationStatus(status)])


def transition(current: ApplicationStatus, action: str) -> ApplicationStatus:
    """The status after ``action``; ``InvalidTransition`` if ``current`` does not allow it.

    An unknown ``current`` value raises the plain ``ValueError`` of the enum (a data bug, not a user error).
    """
    status = ApplicationStatus(current)
    target = TRANSITIONS[status].get(action)
    if target is None:
        raise InvalidTransition(status, action, allowed_actions(status))
    return target


def action_for_decision(outcome: DecisionOutcome) -> ApplicationAction:
    """The action that records the ministry's decision ``outcome``."""
    return DECISION_ACTIONS[DecisionOutcome(outcome)]


def apply_decision(current: ApplicationStatus, outcome: DecisionOutcome) -> ApplicationStatus:
    """The status after the ministry decides; only a submitted application can be decided."""
    return transition(current, action_for_decision(outcome))


def is_final(status: ApplicationStatus) -> bool:
    return ApplicationStatus(status) in FINAL_STATUSES
