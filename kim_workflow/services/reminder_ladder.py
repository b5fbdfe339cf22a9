"""The one ladder's database side: the stages already sent, the "nothing due today" check, log and queue.

Every use (deliverables, application window, meetings) reads what was sent with :func:`sent_stages`, plans with
``core.ladder``, and records the planned stages together with their emails with :func:`log_and_queue` — in
the caller's transaction, so a stage is logged exactly when its email is queued.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from kim_workflow.db.models import ReminderLog
from kim_workflow.db.reminder_log import ReminderScope, log_row, record_stages
from kim_workflow.email.outbox import NewEmail, enqueue

SentLog = dict[tuple[ReminderScope, str, date], set[str]]
"""Per (scope, ref, due date): the stage strings logged."""


def sent_stages(
    session: Session,
    *,
    scopes: Sequence[ReminderScope],
    years: Iterable[int],
    due_dates: Iterable[date] | None = None,
) -> SentLog:
    """The stages already logged for ``scopes`` in ``years`` (only for ``due_dates`` if given)."""
    query = sa.select(col(ReminderLog.scope), col(ReminderLog.ref), col(ReminderLog.due_date), col(ReminderLog.stage))
    query = query.where(col(ReminderLog.scope).in_([s.value for s in scopes]), col(ReminderLog.year).in_(list(years)))
    if due_dates is not None:
        query = query.where(col(ReminderLog.due_date).in_(sorted(set(due_dates))))
    sent: SentLog = defaultdict(set)
    for scope, ref, due, stage in session.connection().execute(query):
        sent[(ReminderScope(scope), ref, due)].add(stage)
    return sent


def logged(*, scope: ReminderScope, year: int, due: date, ref: Any, stages: Sequence[str] | None = None) -> sa.Exists:
    """``EXISTS`` a log row of ``scope``, ``year`` and ``due`` for ``ref`` (a value or a correlated column),
    with one of ``stages`` if given."""
    where = [
        col(ReminderLog.scope) == scope.value,
        col(ReminderLog.year) == year,
        col(ReminderLog.due_date) == due,
        col(ReminderLog.ref) == ref,
    ]
    if stages is not None:
        where.append(col(ReminderLog.stage).in_(list(stages)))
    return sa.exists().where(*where)


def all_covered(
    session: Session,
    refs: sa.Select[Any],
    *,
    scope: ReminderScope,
    year: int,
    due: date,
    stage_groups: Sequence[Sequence[str]],
) -> bool:
    """Whether every ref that ``refs`` (a one-column query) yields has a stage of each group logged.

    The groups come from ``Ladder.covering`` (and e.g. ``("call",)``): one statement of counts that tells a use
    "nothing due today" without loading its state (distinct counts, not a correlated ``NOT EXISTS`` per
    recipient: three times faster on 36,000 Kommunen).
    """
    wanted = refs.subquery()
    ref = wanted.c[0]
    counts = [
        sa.select(sa.func.count(sa.distinct(col(ReminderLog.ref))))
        .where(
            col(ReminderLog.scope) == scope.value,
            col(ReminderLog.year) == year,
            col(ReminderLog.due_date) == due,
            col(ReminderLog.stage).in_(list(group)),
            col(ReminderLog.ref).in_(sa.select(ref)),
        )
        .scalar_subquery()
        for group in stage_groups
    ]
    total, *logged_counts = (
        session.connection()
        .execute(sa.select(sa.select(sa.func.count(sa.distinct(ref))).scalar_subquery(), *counts))
        .one()
    )
    return all(count == total for count in logged_counts)


def stage_rows(
    *, scope: ReminderScope, ref: str, year: int, due: date, stages: Iterable[str], today: date, now: datetime
) -> list[dict[str, Any]]:
    """The reminder-log rows recording ``stages`` planned ``today`` for ``ref``."""
    return [log_row(scope=scope, ref=ref, year=year, stage=s, due=due, today=today, now=now) for s in stages]


def log_and_queue(
    session: Session, *, log_rows: Sequence[dict[str, Any]], emails: Sequence[NewEmail], now: datetime,
    sender_domain: str,
) -> int:  # fmt: skip
    """Record the planned stages and queue their emails in the caller's transaction; return how many are new."""
    record_stages(session, log_rows)
    return enqueue(session, emails, now=now, sender_domain=sender_domain).created
