"""What the Prefect tasks hand to the flows: small frozen dataclasses, read by attribute (mypy checks each read).

Results are not persisted (no task sets a cache policy or result storage); were they, Prefect pickles
dataclasses as they are. Enum fields are ``StrEnum`` members, so they compare equal to their plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kim_workflow.core.domain import MeetingStatus
from kim_workflow.services.decision_runs import PendingDecision
from kim_workflow.services.decisions import DecisionResult


@dataclass(frozen=True)
class DispatchSummary:
    """One dispatch of the outbox; ``undelivered`` failed or became unknown, ``problems`` name them (German)."""

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
    undelivered: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SweepSummary:
    """The day's deliverable reminders of one funding year."""

    year: int
    planned: int
    queued: int
    stages: list[str]
    escalation: bool
    without_contact: list[str]


@dataclass(frozen=True)
class SubmissionSummary:
    """A recorded submission (``newly_recorded`` False if it was known already)."""

    newly_recorded: bool
    late: bool
    kommune: str
    remark: str | None = None
    """Set for an early receipt (before the regular start, e.g. 1 December)."""


@dataclass(frozen=True)
class DecisionClaim:
    """The application as the decision run sees it, and the decision this run's form already made, if any."""

    application: PendingDecision
    decided_here: DecisionResult | None = None


DecisionStatus = Literal["decided", "invalid", "not_pending", "duplicate"]


@dataclass(frozen=True)
class DecisionAnswer:
    """How a decision attempt ended: ``decided`` (with ``decision``), ``invalid`` (with ``problems``),
    ``not_pending`` (with ``reason``) or ``duplicate`` (another run holds the application)."""

    status: DecisionStatus
    application_id: int
    decision: DecisionResult | None = None
    problems: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass(frozen=True)
class MeetingSummary:
    """A stored meeting's identity and state."""

    meeting_id: int
    year: int
    sequence: int
    status: MeetingStatus


@dataclass(frozen=True)
class SeriesSummary:
    """A generated meeting series: ids of the new meetings, counts of those that existed or lay in the past."""

    year: int
    created: list[int]
    existing: int
    past: int


@dataclass(frozen=True)
class AttendanceSummary:
    meeting_id: int
    year: int
    present: int
    recorded: int


@dataclass(frozen=True)
class MinutesSummary:
    meeting_id: int
    year: int
    minutes_queued: int


@dataclass(frozen=True)
class MeetingAttendance:
    """What ``meeting-attendance`` stored and queued (zero for the part it was not asked to do)."""

    meeting_id: int
    year: int
    present: int = 0
    recorded: int = 0
    minutes_queued: int = 0


@dataclass(frozen=True)
class MeetingNotified:
    """The emails of a meeting's current version: planned per kind, newly queued, and the dispatch (flow only)."""

    meeting_id: int
    year: int
    sequence: int
    status: MeetingStatus
    planned: dict[str, int]
    queued: int
    dispatch: DispatchSummary | None = None


@dataclass(frozen=True)
class MeetingReminders:
    """The day's meeting reminders: planned, newly queued, the meetings and years concerned, the dispatch."""

    planned: int
    queued: int
    meetings: list[str]
    years: list[int]
    dispatch: DispatchSummary | None = None


@dataclass(frozen=True)
class BounceSummary:
    """One poll of the bounce mailbox: messages read, what each was (failed, partial, known, …), errors (German)."""

    configured: bool = True
    read: int = 0
    handled: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    summary: str = ""


@dataclass(frozen=True)
class RetentionSummary:
    """What the monthly retention run deleted or pseudonymised (counts only)."""

    contacts_pseudonymised: int
    emails_scrubbed: int
    upload_files_deleted: int
    upload_years: list[int]


@dataclass(frozen=True)
class AlertSummary:
    """An operator alert: which incident, and whether this run queued its email (False: queued before)."""

    incident: str
    incident_id: str
    queued: bool
