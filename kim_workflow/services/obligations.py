"""The year's obligations follow the funding decisions: create, waive and un-waive deliverables.

:func:`sync_obligations` brings every active Kommune's deliverables of a year in line with the rule of
:mod:`kim_workflow.core.obligations` (``open_cycle`` calls it); :func:`follow_decision` does the same for one
Kommune right after its decision is stored, in the decision's transaction. Each change logs a domain event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from kim_workflow.core.domain import ApplicationStatus, DeliverableKind, DeliverableStatus, GrantActKind, GrantActState
from kim_workflow.core.obligations import Obligation, obligation, summary_de, waiver_reason
from kim_workflow.core.policy import YearPolicy, parse_policy
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Application, Cycle, Decision, Deliverable, GrantDecision, Kommune
from kim_workflow.services.grant_state import grant_of, pro_rata_of
from kim_workflow.services.lookups import id_of

PROGRAMME_TZ = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class ObligationSync:
    """What :func:`sync_obligations` found and changed."""

    reasons: dict[str, Obligation]  # AGS → why the Kommune owes (or does not owe) its deliverables
    created: int = 0
    waived: int = 0
    restored: int = 0

    def summary_de(self) -> str:
        return summary_de(self.reasons.values(), per_kommune=len(DeliverableKind))


def sync_obligations(
    session: Session, *, policy: YearPolicy, now: datetime, tz: tzinfo = PROGRAMME_TZ
) -> ObligationSync:
    """Create owed deliverables, waive those of rejected applications, un-waive approved ones (idempotent).

    The caller logs one event for the whole year (``kim.cycle.opened``).
    """
    year = policy.year
    kommunen = list(session.exec(select(Kommune).where(col(Kommune.active)).order_by(col(Kommune.ags))))
    applications = {a.kommune_id: a for a in session.exec(select(Application).where(col(Application.year) == year))}
    existing: dict[int, list[Deliverable]] = {}
    for deliverable in session.exec(select(Deliverable).where(col(Deliverable.year) == year)):
        existing.setdefault(deliverable.kommune_id, []).append(deliverable)
    reasons: dict[str, Obligation] = {}
    totals = [0, 0, 0]
    for kommune in kommunen:
        application = applications.get(id_of(kommune))
        reason = obligation(
            policy.report.obligations, application.status if application else None, kept=_kept(session, application)
        )
        reasons[kommune.ags] = reason
        text = _waiver_text(session, application, reason, tz) if reason.waived else None
        changes = _apply(session, kommune, existing.get(id_of(kommune), []), policy, reason, text, now)
        totals = [t + c for t, c in zip(totals, changes, strict=True)]
    return ObligationSync(reasons, *totals)


def follow_decision(
    session: Session, *, application: Application, kommune: Kommune, now: datetime, actor: str, tz: tzinfo,
    on: date | None = None,
) -> tuple[int, int, int]:  # fmt: skip
    """After a decision on ``application``: (created, waived, restored) deliverables of its Kommune.

    ``on`` dates the waiver's reason (a revocation: the day it takes effect); default: today.
    """
    cycle = session.exec(select(Cycle).where(col(Cycle.year) == application.year)).first()
    if cycle is None:
        return (0, 0, 0)
    policy = parse_policy(application.year, cycle.policy)  # the rule the year was opened with
    reason = obligation(policy.report.obligations, application.status, kept=_kept(session, application))
    if not (reason.owed or reason.waived):
        return (0, 0, 0)
    rows = list(
        session.exec(
            select(Deliverable).where(
                col(Deliverable.year) == application.year, col(Deliverable.kommune_id) == id_of(kommune)
            )
        )
    )
    text = waiver_reason(reason, on or now.astimezone(tz).date()) if reason.waived else None
    changes = _apply(session, kommune, rows, policy, reason, text, now)
    _log(session, kommune, application.year, reason, changes, text, now, actor)
    return changes


def _kept(session: Session, application: Application | None) -> bool:
    """Whether a revoked grant leaves the Kommune money for the time before the revocation (pro rata above 0)."""
    if application is None or application.status is not ApplicationStatus.REVOKED:
        return False
    grant = grant_of(session, application)
    return grant is not None and pro_rata_of(application, grant).total > 0


def _apply(
    session: Session,
    kommune: Kommune,
    rows: list[Deliverable],
    policy: YearPolicy,
    reason: Obligation,
    text: str | None,
    now: datetime,
) -> tuple[int, int, int]:
    """Bring one Kommune's rows in line with ``reason``; rows are only created when owed or waived."""
    if not (reason.owed or reason.waived):
        return (0, 0, 0)
    by_kind = {row.kind: row for row in rows}
    deadline = policy.deadline()
    created = waived = restored = 0
    for kind in DeliverableKind:
        row = by_kind.get(kind)
        if row is None:
            status = DeliverableStatus.WAIVED if reason.waived else DeliverableStatus.OUTSTANDING
            row = Deliverable(
                kommune_id=id_of(kommune), year=policy.year, kind=kind, original_due_date=deadline,
                due_date=deadline, status=status, waived_reason=text, waived_at=now if reason.waived else None,
            )  # fmt: skip
            session.add(row)
            created += int(reason.owed)
            waived += int(reason.waived)
        elif reason.waived and row.status is DeliverableStatus.OUTSTANDING:
            row.status, row.waived_reason, row.waived_at = DeliverableStatus.WAIVED, text, now
            session.add(row)
            waived += 1
        elif reason.owed and row.status is DeliverableStatus.WAIVED:
            row.status, row.waived_reason, row.waived_at = DeliverableStatus.OUTSTANDING, None, None
            session.add(row)
            restored += 1
    session.flush()
    return created, waived, restored


def _waiver_text(session: Session, application: Application | None, reason: Obligation, tz: tzinfo) -> str:
    """The reason of a waiver, dated by the latest decision of that outcome (a revocation: its effective date)."""
    if reason is Obligation.REVOKED and application is not None:
        revocation = session.exec(
            select(GrantDecision).where(
                col(GrantDecision.application_id) == id_of(application),
                col(GrantDecision.kind) == GrantActKind.REVOCATION,
                col(GrantDecision.state) == GrantActState.CONFIRMED,
            )
        ).first()
        if revocation is not None and revocation.effective_on is not None:
            return waiver_reason(reason, revocation.effective_on)
    decided_at = None
    if application is not None:
        decided_at = session.exec(
            select(Decision.decided_at)
            .where(col(Decision.application_id) == id_of(application))
            .order_by(col(Decision.decided_at).desc())
        ).first()
    when = decided_at or (application.updated_at if application else None)
    assert when is not None
    return waiver_reason(reason, when.astimezone(tz).date())


def _log(
    session: Session,
    kommune: Kommune,
    year: int,
    reason: Obligation,
    changes: Iterable[int],
    text: str | None,
    now: datetime,
    actor: str,
) -> None:
    created, waived, restored = changes
    for action, count in (("created", created), ("waived", waived), ("restored", restored)):
        if count:
            record_event(
                session, now=now, actor=actor, action=f"kim.obligations.{action}", subject_type="kommune",
                subject_id=kommune.ags, year=year,
                payload={"ags": kommune.ags, "deliverables": count, "basis": reason.value, "reason": text},
            )  # fmt: skip
