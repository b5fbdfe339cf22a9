"""Mirroring the domain event log into Prefect events (at least once; Prefect dedupes by event id)."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime
from typing import Any
from uuid import UUID

from prefect.events import Event
from prefect.events.clients import get_events_client
from sqlalchemy.engine import Engine
from sqlmodel import col, select, update

from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import DomainEvent

logger = logging.getLogger(__name__)
BATCH = 500


def resource_id(subject_type: str, subject_id: str) -> str:
    """``kim.kommune.07315000``, ``kim.application.12`` …: what triggers in prefect.yaml match on."""
    return f"kim.{subject_type}.{subject_id}"


def to_prefect_event(row: DomainEvent) -> Event:
    resource = {"prefect.resource.id": resource_id(row.subject_type, row.subject_id), "kim.actor": row.actor}
    related: list[dict[str, str]] = []
    if row.year is not None:
        resource["kim.year"] = str(row.year)
        related.append({"prefect.resource.id": f"kim.year.{row.year}", "prefect.resource.role": "year"})
    payload: dict[str, Any] = {**row.payload, "year": row.year, "subject_id": row.subject_id}
    return Event(
        id=UUID(row.uuid),
        occurred=row.occurred_at,
        event=row.action,
        resource=resource,
        related=related,
        payload=payload,
    )


async def publish_pending(engine: Engine, *, now: datetime, limit: int = BATCH) -> int:
    """Emit unpublished domain events in order and mark them published; return how many."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(DomainEvent)
            .where(col(DomainEvent.published_at).is_(None))
            .order_by(col(DomainEvent.id))
            .limit(limit)
        ).all()
    if not rows:
        return 0
    async with get_events_client() as client:
        for row in rows:
            await client.emit(to_prefect_event(row))
    with session_scope(engine) as session:
        session.exec(update(DomainEvent).where(col(DomainEvent.id).in_([r.id for r in rows])).values(published_at=now))
    return len(rows)


def publish_pending_sync(engine: Engine, *, now: datetime) -> int:
    """Publish everything pending (several batches if needed) from synchronous code."""
    total = 0
    while published := asyncio.run(publish_pending(engine, now=now)):
        total += published
    return total


class EventRelay(threading.Thread):
    """Background thread of ``kim up``: publishes events written by the CLI or other processes."""

    def __init__(self, engine: Engine, clock: Any, interval_seconds: float = 3.0) -> None:
        super().__init__(name="kim-event-relay", daemon=True)
        self.engine, self.clock, self.interval = engine, clock, interval_seconds
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                publish_pending_sync(self.engine, now=self.clock())
            except Exception:  # keep relaying; the rows stay unpublished and are retried
                logger.warning("Publishing domain events to Prefect failed; retrying", exc_info=True)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
