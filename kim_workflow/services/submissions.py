"""Recording submissions (annual report, questionnaire) and extending a Kommune's deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from kim_workflow.core.domain import DeliverableKind, DeliverableStatus
from kim_workflow.core.policy import parse_policy
from kim_workflow.core.receipts import ReceiptRefused, check_not_future, receipt_remark
from kim_workflow.core.status import is_late
from kim_workflow.core.validation import InvalidValueError, check_header_safe
from kim_workflow.db.events import record_event
from kim_workflow.db.limits import max_length
from kim_workflow.db.models import Deliverable, Kommune
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.lookups import cycle_for, kommune_by_ags

REASON_MAX = max_length(Deliverable, "extension_reason")


@dataclass(frozen=True)
class SubmissionOutcome:
    kommune: Kommune
    deliverable: Deliverable
    newly_recorded: bool
    remark: str | None = None
    """Set for a receipt before the regular start (e.g. before 1 December); shown in the confirmation."""

    @property
    def late(self) -> bool:
        return self.deliverable.status is DeliverableStatus.RECEIVED_LATE


def _deliverables(session: Session, kommune: Kommune, year: int) -> dict[DeliverableKind, Deliverable]:
    cycle_for(session, year)
    rows = session.exec(
        select(Deliverable).where(col(Deliverable.kommune_id) == kommune.id, col(Deliverable.year) == year)
    ).all()
    if not rows:
        raise UseCaseError(f"{kommune.name} ({kommune.ags}) hat im Förderjahr {year} keine Berichtspflichten.")
    return {d.kind: d for d in rows}


def record_submission(
    session: Session,
    *,
    ags: str,
    year: int,
    kind: DeliverableKind,
    received_on: date,
    today: date,
    now: datetime,
    actor: str,
) -> SubmissionOutcome:
    """Store a received deliverable (late if after its due date, remarked if early); a second record is a no-op.

    A receipt dated after ``today`` or before the funding year is refused (``UseCaseError``, nothing stored).
    """
    try:
        check_not_future(received_on, today)  # before any look-up: the clearest message for a typo in the date
    except ReceiptRefused as exc:
        raise UseCaseError(str(exc)) from None
    kommune = kommune_by_ags(session, ags)
    deliverable = _deliverables(session, kommune, year)[kind]
    if deliverable.status is DeliverableStatus.WAIVED:
        raise UseCaseError(
            f"Für {kommune.name} entfällt der {kind.label_de} {year} ({deliverable.waived_reason}); nichts erfasst."
        )
    regular_from = parse_policy(year, cycle_for(session, year).policy).report.regular_receipt_start(year)
    remark = _check_receipt(received_on, year=year, today=today, regular_from=regular_from)
    if deliverable.received_on is not None:
        return SubmissionOutcome(kommune, deliverable, newly_recorded=False)
    late = is_late(received_on, deliverable.due_date)
    deliverable.received_on = received_on
    deliverable.status = DeliverableStatus.RECEIVED_LATE if late else DeliverableStatus.RECEIVED_ON_TIME
    deliverable.recorded_at, deliverable.recorded_by = now, actor
    record_event(
        session,
        now=now,
        actor=actor,
        action="kim.submission.received",
        subject_type="kommune",
        subject_id=ags,
        year=year,
        payload={
            "kind": kind.value,
            "received_on": received_on.isoformat(),
            "late": late,
            "due_date": deliverable.due_date.isoformat(),
            "remark": remark,
        },
    )
    return SubmissionOutcome(kommune, deliverable, newly_recorded=True, remark=remark)


def _check_receipt(received_on: date, *, year: int, today: date, regular_from: date) -> str | None:
    try:
        return receipt_remark(received_on, year=year, today=today, regular_from=regular_from)
    except ReceiptRefused as exc:
        raise UseCaseError(str(exc)) from None


@dataclass(frozen=True)
class ExtensionOutcome:
    kommune: Kommune
    until: date
    extended: list[DeliverableKind]
    shortened: bool = False
    """The new date lies before the previous (already extended) one."""
    previous: date | None = None
    """The due date before the change (of the deliverables changed); ``None`` if nothing changed."""
    revision: int = 0
    """The Kommune's ``due_revision`` after the change: the SEQUENCE of the deadline's calendar entry."""
    notice_queued: bool = False
    """The Kommune's notice of the change is in the outbox (``services/deadline_notice.py``)."""


def extend_deadline(
    session: Session,
    *,
    ags: str,
    year: int,
    until: date,
    reason: str,
    now: datetime,
    actor: str,
) -> ExtensionOutcome:
    """Move the due date of every outstanding deliverable of one Kommune; the ladder re-plans from it."""
    reason = _extension_reason(reason)
    kommune = kommune_by_ags(session, ags)
    owed = [d for d in _deliverables(session, kommune, year).values() if d.status is not DeliverableStatus.WAIVED]
    if not owed:
        raise UseCaseError(f"Für {kommune.name} entfallen die Berichtspflichten {year}; keine Frist zu verlängern.")
    outstanding = [d for d in owed if d.received_on is None]
    if not outstanding:
        raise UseCaseError(f"{kommune.name} hat für {year} bereits alles eingereicht; nichts zu verlängern.")
    original = min(d.original_due_date for d in outstanding)
    if until <= original:
        raise UseCaseError(
            f"Die neue Frist {until:%d.%m.%Y} muss nach der ursprünglichen ({original:%d.%m.%Y}) liegen."
        )
    limit = parse_policy(year, cycle_for(session, year).policy).report.max_extension_days
    if until > original + timedelta(days=limit):
        latest = original + timedelta(days=limit)
        raise UseCaseError(
            f"Die neue Frist {until:%d.%m.%Y} liegt mehr als {limit} Tage nach der ursprünglichen "
            f"({original:%d.%m.%Y}); spätestens möglich: {latest:%d.%m.%Y}."
        )
    shortened = any(until < d.due_date for d in outstanding)
    changed = [d for d in outstanding if d.due_date != until]
    previous = max((d.due_date for d in changed), default=None)
    for deliverable in changed:
        deliverable.due_date, deliverable.extension_reason = until, reason
        deliverable.due_revision += 1
    if changed:
        record_event(
            session,
            now=now,
            actor=actor,
            action="kim.deadline.extended",
            subject_type="kommune",
            subject_id=ags,
            year=year,
            payload={
                "until": until.isoformat(),
                "reason": reason,
                "kinds": [d.kind.value for d in changed],
                "previous": previous.isoformat() if previous else None,
                "shortened": shortened,
            },
        )
    revision = max(d.due_revision for d in _deliverables(session, kommune, year).values())
    return ExtensionOutcome(
        kommune, until, [d.kind for d in changed], shortened=shortened, previous=previous, revision=revision
    )


def _extension_reason(reason: str) -> str:
    """Required, one line, kept whole: longer than the column holds is refused, never cut."""
    reason = reason.strip()
    if not reason:
        raise UseCaseError("Bitte einen Grund für die Fristverlängerung angeben.")
    if len(reason) > REASON_MAX:
        raise UseCaseError(
            f"Grund: höchstens {REASON_MAX} Zeichen (nicht {len(reason)}); bitte kürzen, er wird nie abgeschnitten."
        )
    try:
        return check_header_safe(reason, field="Grund")
    except InvalidValueError as exc:
        raise UseCaseError(str(exc)) from None
