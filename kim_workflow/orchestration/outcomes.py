"""How a flow run ends when its emails did not all go out: failed (red in the UI), with the reason as message."""

from __future__ import annotations

from typing import TypeVar

from prefect import State
from prefect.states import Failed

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
