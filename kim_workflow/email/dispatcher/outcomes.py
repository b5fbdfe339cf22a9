"""The dispatcher's plain data: a claimed message, the result of sending it, the retry policy and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from kim_workflow.settings import Settings


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """The data of one claimed outbox row that sending needs (plain, detached from any session)."""

    id: int
    kind: str
    subject_ref: str
    contact_id: int | None
    recipient: str
    cc: tuple[str, ...]
    subject: str
    text_body: str
    html_body: str
    attachments: tuple[dict[str, str], ...]
    message_id: str
    attempts: int


class Result(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # temporary failure on the wire
    RELEASED = "released"  # never reached the wire (dispatch stopped); handled like a retry
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Outcome:
    message: ClaimedMessage
    result: Result
    code: int | None = None
    error: str | None = None


@dataclass
class Tally:
    sent: int = 0
    retried: int = 0
    released: int = 0
    failed: int = 0
    unknown: int = 0


@dataclass
class DispatchReport:
    """What one dispatch did; ``summary()`` is the operator-facing German line."""

    worker_id: str
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    released: int = 0
    failed: int = 0
    unknown: int = 0
    recovered_stale: int = 0
    released_stale: int = 0
    disabled: bool = False
    errors: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("sent", "retried", "released", "failed", "unknown"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self) -> str:
        if self.disabled:
            return "Versand ist abgeschaltet (KIM_SEND_ENABLED=false); es wurde nichts gesendet."
        text = (
            f"{self.sent} gesendet, {self.retried + self.released} später erneut, {self.failed} fehlgeschlagen, "
            f"{self.unknown} ungeklärt (bitte prüfen)"
        )
        if self.recovered_stale:
            text += f"; {self.recovered_stale} hängende Nachricht(en) als ungeklärt markiert"
        if self.released_stale:
            text += f"; {self.released_stale} liegengebliebene, nie versendete Nachricht(en) wieder eingereiht"
        return "; ".join([text, *self.errors])


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    cap_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> RetryPolicy:
        return cls(
            settings.dispatch_max_attempts, settings.dispatch_backoff_seconds, settings.dispatch_backoff_cap_seconds
        )

    def delay(self, attempts: int) -> timedelta:
        """``min(cap, base * 2**(attempts-1))``."""
        exponent = min(max(attempts - 1, 0), 40)
        return timedelta(seconds=min(self.cap_seconds, self.base_seconds * 2**exponent))
