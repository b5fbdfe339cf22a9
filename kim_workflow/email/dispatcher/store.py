"""The outbox rows' side of sending: claims, ``sending`` marks, stale recovery and outcome writes.

Every statement takes the statuses it may change from, and the status it sets, from the state table
(:mod:`kim_workflow.core.outbox_states`), and changes only rows the worker still holds: each is safe to repeat
after a lost connection (:func:`~kim_workflow.email.dispatcher.db_retry.with_db_retry`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kim_workflow.core.outbox_states import OutboxEvent, sources, target
from kim_workflow.db.engine import session_scope
from kim_workflow.db.events import record_event
from kim_workflow.db.models import OutboxMessage
from kim_workflow.email.dispatcher.outcomes import ClaimedMessage, Outcome, Result, RetryPolicy, Tally

log = logging.getLogger(__name__)

CLAIM_BATCH = 200
STALE_AFTER = timedelta(minutes=15)
ERROR_MAX = 2000
ACTOR = "system:dispatcher"
SQLITE_HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)
STALE_TEXT = (
    "Versand wurde unterbrochen (Prozess beendet?); ob der Server die Nachricht angenommen hat, ist unbekannt. "
    "Bitte prüfen und erneut senden oder verwerfen."
)
_T: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]
_CLAIM_COLUMNS = [_T.c[f.name] for f in fields(ClaimedMessage)]


def _leaves(event: OutboxEvent) -> sa.ColumnElement[bool]:
    """The rows whose status allows ``event``: ``status = …`` ORed (no IN, so executemany works too)."""
    return sa.or_(*(_T.c.status == status for status in sources(event)))


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(_leaves(OutboxEvent.CLAIM), _T.c.next_attempt_at <= now)


def count_due(engine: Engine, *, now: datetime, cap: int) -> int:
    """How many rows are due, counting at most ``cap``."""
    due = sa.select(_T.c.id).where(_due(now)).limit(cap).subquery()
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(due)).scalar_one())


def claim_due(engine: Engine, *, now: datetime, limit: int, worker_id: str) -> list[ClaimedMessage]:
    """Atomically claim up to ``limit`` due rows (one transaction per batch of at most 200)."""
    claimed: list[ClaimedMessage] = []
    while len(claimed) < limit:
        size = min(CLAIM_BATCH, limit - len(claimed))
        batch = claim_batch(engine, due_before=now, claimed_at=now, limit=size, worker_id=worker_id)
        claimed.extend(batch)
        if len(batch) < size:
            break
    return claimed


def claim_batch(
    engine: Engine, *, due_before: datetime, claimed_at: datetime, limit: int, worker_id: str
) -> list[ClaimedMessage]:
    """One claiming transaction: pending → claimed, claimed_at/by set, attempts + 1."""
    values = {"status": target(OutboxEvent.CLAIM), "claimed_at": claimed_at, "claimed_by": worker_id}
    values["attempts"] = _T.c.attempts + 1
    pick = sa.select(_T.c.id).where(_due(due_before)).order_by(_T.c.next_attempt_at, _T.c.id).limit(limit)
    with engine.begin() as connection:  # SQLite: BEGIN IMMEDIATE, so select + update cannot interleave
        if connection.dialect.name == "postgresql":
            ids = list(connection.execute(pick.with_for_update(skip_locked=True)).scalars())
            rows = _update_returning(connection, sa.update(_T).where(_T.c.id.in_(ids)), values) if ids else []
        elif SQLITE_HAS_RETURNING:
            rows = _update_returning(connection, sa.update(_T).where(_T.c.id.in_(pick.scalar_subquery())), values)
        else:
            ids = list(connection.execute(pick).scalars())
            connection.execute(sa.update(_T).where(_T.c.id.in_(ids)).values(values))
            rows = list(connection.execute(sa.select(*_CLAIM_COLUMNS).where(_T.c.id.in_(ids))).mappings())
    return sorted((_claimed(row) for row in rows), key=lambda m: m.id)


def _update_returning(connection: Connection, update: sa.Update, values: dict[str, Any]) -> list[Any]:
    statement = update.where(_leaves(OutboxEvent.CLAIM)).values(values).returning(*_CLAIM_COLUMNS)
    return list(connection.execute(statement).mappings())


def _claimed(row: Any) -> ClaimedMessage:
    data = dict(row)
    data["cc"] = tuple(data["cc"] or ())
    data["attachments"] = tuple(data["attachments"] or ())
    return ClaimedMessage(**data)


def mark_sending(engine: Engine, ids: Sequence[int], *, worker_id: str) -> set[int]:
    """claimed → sending for those of ``ids`` this worker still holds (committed before any of them is sent).

    Safe to repeat after a lost connection: rows this worker already marked are returned again."""
    sending = target(OutboxEvent.START)
    statement = (
        sa.update(_T)
        .where(_T.c.id.in_(ids), _T.c.claimed_by == worker_id, _leaves(OutboxEvent.START))
        .values(status=sending)
    )
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql" or SQLITE_HAS_RETURNING:
            return set(connection.execute(statement.returning(_T.c.id)).scalars())
        connection.execute(statement)
        mine = sa.select(_T.c.id).where(_T.c.id.in_(ids), _T.c.claimed_by == worker_id, _T.c.status == sending)
        return set(connection.execute(mine).scalars())


@dataclass(frozen=True, slots=True)
class Recovery:
    unknown: int  # were on the wire (or sent and not recorded): the operator decides
    released: int  # never left the dispatcher: queued again


def _release() -> dict[str, Any]:
    """The values of a claim handed back unsent: its attempt does not count."""
    return {"status": target(OutboxEvent.RELEASE), "attempts": _T.c.attempts - 1, "claimed_at": None,
            "claimed_by": None}  # fmt: skip


def recover_stale(engine: Engine, *, now: datetime, older_than: timedelta = STALE_AFTER) -> Recovery:
    """Rows a dead dispatcher left behind for longer than ``older_than``: ``sending`` ones become ``unknown``,
    ``claimed`` ones (never handed to the SMTP server) go back to ``pending`` with their attempt not counted."""
    stale = _T.c.claimed_at < now - older_than
    to_unknown = (
        sa.update(_T)
        .where(_leaves(OutboxEvent.INTERRUPT), stale)
        .values(status=target(OutboxEvent.INTERRUPT), last_error=STALE_TEXT)
    )
    release = sa.update(_T).where(_leaves(OutboxEvent.RELEASE), stale).values(_release())
    with engine.begin() as connection:
        recovery = Recovery(int(connection.execute(to_unknown).rowcount), int(connection.execute(release).rowcount))
    if recovery.unknown:
        log.warning("%d hängende Nachricht(en) als 'unknown' markiert", recovery.unknown)
    if recovery.released:
        log.warning("%d liegengebliebene, nie versendete Nachricht(en) wieder eingereiht", recovery.released)
    return recovery


def release_claims(engine: Engine, *, worker_id: str) -> int:
    """Rows still ``claimed`` by this worker after its dispatch (a claim whose answer a lost connection swallowed)
    go back to ``pending``, their attempt not counted; never-sent rows, so not ``unknown``."""
    release = sa.update(_T).where(_leaves(OutboxEvent.RELEASE), _T.c.claimed_by == worker_id).values(_release())
    with engine.begin() as connection:
        return int(connection.execute(release).rowcount)


def record_outcomes(
    engine: Engine, outcomes: Sequence[Outcome], *, at: datetime, retry: RetryPolicy, worker_id: str
) -> Tally:
    """Write outcomes in one transaction, one statement per outcome group; failures get a domain event.

    Safe to repeat after a lost connection: only rows this worker still holds change, and a failure's event is
    written only with the change of its row (failures are rare: one statement each)."""
    groups, tally = _group(outcomes, at=at, retry=retry)
    sent, failed = OutboxEvent.RECORD_SENT, OutboxEvent.RECORD_FAILED
    with session_scope(engine) as session:
        connection = session.connection()
        if groups["sent"]:
            statement = sa.update(_T).where(_T.c.id.in_(groups["sent"]), *_mine(worker_id, sent))
            connection.execute(statement.values(status=target(sent), sent_at=at, last_error=None))
        _update_each(connection, groups["noted"], worker_id, sent, sent_at=at)
        _update_each(connection, groups["pending"], worker_id, OutboxEvent.RECORD_RETRY, next_attempt_at=_b("next"))
        _update_each(connection, groups["unknown"], worker_id, OutboxEvent.RECORD_UNKNOWN)
        fail = sa.update(_T).where(_T.c.id == _b("id"), *_mine(worker_id, failed))
        fail = fail.values(status=target(failed), last_error=_b("error"))
        for row in groups["failed"]:
            if connection.execute(fail, {"b_id": row["b_id"], "b_error": row["b_error"]}).rowcount != 1:
                continue  # written before the connection was lost (or no longer ours)
            message = row["message"]
            payload = {"kind": message.kind, "subject_ref": message.subject_ref, "code": row["code"]}
            payload |= {"contact_id": message.contact_id, "attempts": message.attempts}
            record_event(
                session,
                now=at,
                actor=ACTOR,
                action="kim.email.failed",
                subject_type="outbox",
                subject_id=str(message.id),
                payload=payload,
            )
    return tally


def _group(outcomes: Sequence[Outcome], *, at: datetime, retry: RetryPolicy) -> tuple[dict[str, list[Any]], Tally]:
    groups: dict[str, list[Any]] = {"sent": [], "noted": [], "pending": [], "failed": [], "unknown": []}
    tally = Tally()
    for outcome in outcomes:
        message, error = outcome.message, (outcome.error or "")[:ERROR_MAX]
        row: dict[str, Any] = {"b_id": message.id, "b_error": error, "message": message, "code": outcome.code}
        if outcome.result is Result.SENT:
            groups["noted" if error else "sent"].append(row if error else message.id)
            tally.sent += 1
        elif outcome.result is Result.FAILED:
            groups["failed"].append(row)
            tally.failed += 1
        elif outcome.result is Result.UNKNOWN:
            groups["unknown"].append(row)
            tally.unknown += 1
        elif message.attempts >= retry.max_attempts:
            row["b_error"] = f"Aufgegeben nach {message.attempts} Versuchen; zuletzt: {error}"[:ERROR_MAX]
            groups["failed"].append(row)
            tally.failed += 1
        else:
            groups["pending"].append(row | {"b_next": at + retry.delay(message.attempts)})
            tally.released += outcome.result is Result.RELEASED
            tally.retried += outcome.result is Result.RETRY
    return groups, tally


def _b(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(f"b_{name}")


def _mine(worker_id: str, event: OutboxEvent) -> list[sa.ColumnElement[bool]]:
    """Only rows this worker still holds, in a status ``event`` may leave (a 250 also wins over a stale recovery
    that marked the row unknown meanwhile)."""
    return [_T.c.claimed_by == worker_id, _leaves(event)]


def _update_each(
    connection: Connection, rows: list[dict[str, Any]], worker_id: str, event: OutboxEvent, **values: Any
) -> None:
    if rows:
        statement = sa.update(_T).where(_T.c.id == _b("id"), *_mine(worker_id, event))
        params = [{k: v for k, v in row.items() if k.startswith("b_")} for row in rows]
        connection.execute(statement.values(status=target(event), last_error=_b("error"), **values), params)
