"""Mirroring the domain event log into Prefect events (at least once; Prefect dedupes by event id)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from uuid import UUID

from prefect.events import Event
from prefect.events.clients import get_events_client
from sqlalchemy.engine import Engine
from sqlmodel import col, select, update

from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import DomainEvent
from kim_workflow.orchestration.views import Change, refresh_after
from kim_workflow.settings import Settings

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


async def publish_pending(engine: Engine, *, now: datetime, limit: int = BATCH) -> list[Change]:
    """Emit unpublished domain events in order and mark them published; return what they changed."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(DomainEvent)
            .where(col(DomainEvent.published_at).is_(None))
            .order_by(col(DomainEvent.id))
            .limit(limit)
        ).all()
    if not rows:
        return []
    async with get_events_client() as client:
        for row in rows:
            await client.emit(to_prefect_event(row))
    with session_scope(engine) as session:
        session.exec(update(DomainEvent).where(col(DomainEvent.id).in_([r.id for r in rows])).values(published_at=now))
    return [Change(row.action, row.year) for row in rows]


def publish_pending_sync(engine: Engine, *, now: datetime) -> list[Change]:
    """Publish everything pending (several batches if needed) from synchronous code."""
    changes: list[Change] = []
    while published := asyncio.run(publish_pending(engine, now=now)):
        changes += published
    return changes


def publish_and_refresh(engine: Engine, settings: Settings, *, now: datetime) -> int:
    """Publish pending domain events and rebuild the artifacts they touch; return how many events."""
    changes = publish_pending_sync(engine, now=now)
    if changes:
        refresh_after(engine, settings, changes, now=now)
    return len(changes)
