"""Opening a funding year: one annual report and one questionnaire per active Kommune."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from kim_workflow.core.domain import CycleStatus, DeliverableKind, DeliverableStatus
from kim_workflow.core.policy import YearPolicy, policy_to_dict
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Cycle, Deliverable, Kommune
from kim_workflow.services.lookups import id_of


@dataclass(frozen=True)
class OpenCycleResult:
    year: int
    created_cycle: bool
    created_deliverables: int
    deadline: str


def open_cycle(session: Session, *, policy: YearPolicy, now: datetime, actor: str) -> OpenCycleResult:
    """Create the cycle (with a snapshot of its policy) and the missing deliverables; idempotent."""
    year = policy.year
    cycle = session.exec(select(Cycle).where(col(Cycle.year) == year)).first()
    created_cycle = cycle is None
    if cycle is None:
        cycle = Cycle(year=year, status=CycleStatus.OPEN, policy=policy_to_dict(policy), opened_at=now)
        session.add(cycle)
        session.flush()
    existing = {(d.kommune_id, d.kind) for d in session.exec(select(Deliverable).where(col(Deliverable.year) == year))}
    deadline = policy.deadline()
    new = [
        Deliverable(
            kommune_id=id_of(kommune),
            year=year,
            kind=kind,
            original_due_date=deadline,
            due_date=deadline,
            status=DeliverableStatus.OUTSTANDING,
        )
        for kommune in session.exec(select(Kommune).where(col(Kommune.active)).order_by(col(Kommune.ags)))
        for kind in DeliverableKind
        if (kommune.id, kind) not in existing
    ]
    session.add_all(new)
    if created_cycle or new:
        record_event(
            session,
            now=now,
            actor=actor,
            action="kim.cycle.opened",
            subject_type="year",
            subject_id=str(year),
            year=year,
            payload={"deliverables_created": len(new), "deadline": deadline.isoformat()},
        )
    return OpenCycleResult(year, created_cycle, len(new), deadline.isoformat())
