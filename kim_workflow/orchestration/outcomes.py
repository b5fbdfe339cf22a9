"""How a flow run ends when its emails did not all go out: failed (red in the UI), with the reason as message."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from prefect import State, get_run_logger
from prefect.exceptions import MissingContextError
from prefect.states import Failed

from kim_workflow.core.policy import PolicyError
from kim_workflow.core.validation import InvalidValueError
from kim_workflow.orchestration.results import DispatchSummary

T = TypeVar("T")


def delivery_outcome(result: T, *dispatches: DispatchSummary | None) -> T | State[T]:
    """``result`` unchanged if every dispatch delivered everything; else a Failed state with the reason.

    A run whose emails failed or became ``unknown`` must not look like a plain success: the operator sees it
    red in the run list, its message says how many, and the run's log names each email and the server's reply.
    """
    undelivered = sum(d.undelivered for d in dispatches if d is not None)
    if not undelivered:
        return result
    message = (
        f"{undelivered} E-Mail(s) nicht zugestellt (fehlgeschlagen oder ungeklärt) – Einzelheiten im Log und im "
        "Artefakt kim-outbox-failed; das Ministerium wurde benachrichtigt."
    )
    return Failed(message=message)


def retry_unless_bad_input(task: Any, task_run: Any, state: State[Any]) -> bool:
    """A task's ``retry_condition_fn``: a broken policy file or a refused value does not get better by retrying."""
    try:
        state.result()
    except (PolicyError, InvalidValueError):
        return False
    except Exception:
        return True
    return True


def policy_refused(exc: PolicyError) -> State[Any]:
    """A flow's end after a broken policy file: failed, the German message in the log and the state, no traceback.

    Use in a flow as ``except PolicyError as exc: return policy_refused(exc)``.
    """
    message = f"Fehlerhafte Richtlinie, nichts geplant oder versendet: {exc}"
    try:
        get_run_logger().error(message)
    except MissingContextError:
        logging.getLogger(__name__).error(message)
    return Failed(message=message)
