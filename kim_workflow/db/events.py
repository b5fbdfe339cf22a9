"""Writing the append-only domain event log (inside the caller's transaction)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session

from kim_workflow.db.models import DomainEvent


def record_event(
    session: Session,
    *,
    now: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    year: int | None = None,
    payload: dict[str, Any] | None = None,
) -> DomainEvent:
    """Add an event to the session; it commits or rolls back with the state change it describes."""
    event = DomainEvent(
        uuid=str(uuid.uuid4()),
        occurred_at=now,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        year=year,
        payload=payload or {},
    )
    session.add(event)
    return event
