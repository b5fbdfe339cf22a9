"""The store's statements follow the state table: each one, run against a row in every status, changes exactly
the rows whose status allows its event, to the event's target (a real database, SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.core.outbox_states import OutboxEvent, is_allowed, target, transition
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import OutboxMessage
from kim_workflow.email.dispatcher.outcomes import ClaimedMessage, Outcome, Result, RetryPolicy
from kim_workflow.email.dispatcher.store import (
    claim_batch,
    mark_sending,
    record_outcomes,
    recover_stale,
    release_claims,
)
from kim_workflow.email.outbox import NewEmail, OutboxActionError, dismiss, enqueue, resend

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WORKER = "worker-a"
RETRY = RetryPolicy(max_attempts=3, base_seconds=60, cap_seconds=600)
_T: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]


def one_row_per_status(engine: Engine, *, attempts: int = 1) -> dict[OutboxStatus, int]:
    """A due row in every status, held by ``WORKER`` since an hour ago; the ids by status."""
    emails = [
        NewEmail(
            idempotency_key=f"test|{s.value}",
            kind="deliverable_reminder",
            subject_ref=f"kommune:{i:08d}",
            recipient=f"im{i}@kommune.de",
            subject="Erinnerung",
            text="Text",
            html="<p>Text</p>",
        )
        for i, s in enumerate(OutboxStatus)
    ]
    with session_scope(engine) as session:
        enqueue(session, emails, now=NOW - timedelta(hours=2), sender_domain="mffki.rlp.de")
    ids = {}
    with engine.begin() as connection:
        for status in OutboxStatus:
            key = f"test|{status.value}"
            ids[status] = connection.execute(sa.select(_T.c.id).where(_T.c.idempotency_key == key)).scalar_one()
            values = {
                "status": status,
                "attempts": attempts,
                "claimed_by": WORKER,
                "claimed_at": NOW - timedelta(hours=1),
            }
            connection.execute(sa.update(_T).where(_T.c.id == ids[status]).values(values))
    return ids


def statuses(engine: Engine, ids: dict[OutboxStatus, int]) -> dict[OutboxStatus, OutboxStatus]:
    """The status now of the row that was in each status."""
    with engine.connect() as connection:
        now = dict(connection.execute(sa.select(_T.c.id, _T.c.status)).tuples().all())
    return {status: OutboxStatus(now[row_id]) for status, row_id in ids.items()}


def expected(event: OutboxEvent) -> dict[OutboxStatus, OutboxStatus]:
    return {s: transition(s, event) if is_allowed(s, event) else s for s in OutboxStatus}


def claimed(engine: Engine, row_id: int) -> ClaimedMessage:
    columns = [_T.c[f.name] for f in fields(ClaimedMessage)]
    with engine.connect() as connection:
        row = dict(connection.execute(sa.select(*columns).where(_T.c.id == row_id)).mappings().one())
    return ClaimedMessage(**(row | {"cc": tuple(row["cc"] or ()), "attachments": tuple(row["attachments"] or ())}))


STATEMENTS: dict[OutboxEvent, Callable[[Engine, dict[OutboxStatus, int]], object]] = {
    OutboxEvent.CLAIM: lambda e, ids: claim_batch(e, due_before=NOW, claimed_at=NOW, limit=50, worker_id=WORKER),
    OutboxEvent.START: lambda e, ids: mark_sending(e, list(ids.values()), worker_id=WORKER),
    OutboxEvent.RELEASE: lambda e, ids: release_claims(e, worker_id=WORKER),
}


@pytest.mark.parametrize("event", list(STATEMENTS))
def test_claim_start_and_release_follow_the_table(engine: Engine, event: OutboxEvent) -> None:
    ids = one_row_per_status(engine)
    STATEMENTS[event](engine, ids)
    assert statuses(engine, ids) == expected(event)


def test_a_row_of_another_worker_is_not_started_or_released(engine: Engine) -> None:
    ids = one_row_per_status(engine)
    mark_sending(engine, list(ids.values()), worker_id="worker-b")
    release_claims(engine, worker_id="worker-b")
    assert statuses(engine, ids) == {s: s for s in OutboxStatus}


def test_stale_recovery_interrupts_sending_rows_and_releases_claimed_ones(engine: Engine) -> None:
    ids = one_row_per_status(engine)
    recover_stale(engine, now=NOW, older_than=timedelta(minutes=15))
    want = {s: target(OutboxEvent.INTERRUPT) if is_allowed(s, OutboxEvent.INTERRUPT) else s for s in OutboxStatus}
    assert statuses(engine, ids) == want | {OutboxStatus.CLAIMED: target(OutboxEvent.RELEASE)}
    assert is_allowed(OutboxStatus.CLAIMED, OutboxEvent.RELEASE)


@pytest.mark.parametrize(
    ("result", "error", "attempts", "event"),
    [
        (Result.SENT, None, 1, OutboxEvent.RECORD_SENT),
        (Result.SENT, "Gesendet, aber abgelehnt für: cc", 1, OutboxEvent.RECORD_SENT),
        (Result.RETRY, "451", 1, OutboxEvent.RECORD_RETRY),
        (Result.RELEASED, "abgebrochen", 1, OutboxEvent.RECORD_RETRY),
        (Result.RETRY, "451", 3, OutboxEvent.RECORD_FAILED),  # retries used up
        (Result.FAILED, "550", 1, OutboxEvent.RECORD_FAILED),
        (Result.UNKNOWN, "keine Antwort", 1, OutboxEvent.RECORD_UNKNOWN),
    ],
)
def test_recorded_outcomes_follow_the_table(
    engine: Engine, result: Result, error: str | None, attempts: int, event: OutboxEvent
) -> None:
    ids = one_row_per_status(engine, attempts=attempts)
    outcomes = [Outcome(claimed(engine, row_id), result, None, error) for row_id in ids.values()]
    record_outcomes(engine, outcomes, at=NOW, retry=RETRY, worker_id=WORKER)
    assert statuses(engine, ids) == expected(event)
    record_outcomes(engine, outcomes, at=NOW, retry=RETRY, worker_id="worker-b")  # not theirs: nothing changes
    assert statuses(engine, ids) == expected(event)


@pytest.mark.parametrize(("event", "action"), [(OutboxEvent.RESEND, resend), (OutboxEvent.DISMISS, dismiss)])
@pytest.mark.parametrize("status", list(OutboxStatus))
def test_operator_actions_follow_the_table(
    engine: Engine, event: OutboxEvent, action: Callable[..., int], status: OutboxStatus
) -> None:
    ids = one_row_per_status(engine)
    with session_scope(engine) as session:
        if is_allowed(status, event):
            assert action(session, [ids[status]], now=NOW, actor="ops") == 1
        else:
            with pytest.raises(OutboxActionError):
                action(session, [ids[status]], now=NOW, actor="ops")
    want = {s: s for s in OutboxStatus} | {status: expected(event)[status]}
    assert statuses(engine, ids) == want
