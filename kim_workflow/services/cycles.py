"""Opening a funding year: the cycle, and the deliverables of every Kommune that owes them (see obligations)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from kim_workflow.core.domain import CycleStatus
from kim_workflow.core.policy import YearPolicy, policy_to_dict
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Cycle
from kim_workflow.services.obligations import sync_obligations


@dataclass(frozen=True)
class OpenCycleResult:
    year: int
    created_cycle: bool
    created_deliverables: int
    deadline: str
    obligations: str = ""  # German: how many obligations exist and why the other Kommunen have none
    waived_deliverables: int = field(default=0)


def open_cycle(session: Session, *, policy: YearPolicy, now: datetime, actor: str) -> OpenCycleResult:
    """Create the cycle (with a snapshot of its policy) and the missing deliverables; idempotent.

    Which Kommunen owe deliverables follows ``policy.report.obligations``; a reopened cycle keeps the snapshot
    it was first opened with for later decisions, but this call applies ``policy`` to the missing rows.
    """
    year = policy.year
    cycle = session.exec(select(Cycle).where(col(Cycle.year) == year)).first()
    created_cycle = cycle is None
    if cycle is None:
        cycle = Cycle(year=year, status=CycleStatus.OPEN, policy=policy_to_dict(policy), opened_at=now)
        session.add(cycle)
        session.flush()
    synced = sync_obligations(session, policy=policy, now=now)
    deadline = policy.deadline()
    changed = synced.created or synced.waived or synced.restored
    if created_cycle or changed:
        record_event(
            session,
            now=now,
            actor=actor,
            action="kim.cycle.opened",
            subject_type="year",
            subject_id=str(year),
            year=year,
            payload={
                "deliverables_created": synced.created,
                "deliverables_waived": synced.waived,
                "deliverables_restored": synced.restored,
                "obligations": policy.report.obligations.value,
                "deadline": deadline.isoformat(),
            },
        )
    return OpenCycleResult(
        year, created_cycle, synced.created, deadline.isoformat(), synced.summary_de(), synced.waived
    )
