"""The reminder log: which ladder stage was planned for whom; its unique key makes every ladder idempotent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from kim_workflow.db.models import ReminderLog


def insert_ignoring_duplicates(connection: sa.Connection, table: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the connection's dialect (SQLite or PostgreSQL)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database dialect {dialect!r} (SQLite and PostgreSQL are supported)")


def log_row(*, scope: str, ref: str, year: int, stage: str, due: date, today: date, now: datetime) -> dict[str, Any]:
    return {
        "scope": scope,
        "ref": ref,
        "year": year,
        "stage": stage,
        "due_date": due,
        "planned_for": today,
        "created_at": now,
    }


def record_stages(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Log planned stages in one executemany; a stage logged before (a rerun, a parallel run) is left alone."""
    if rows:
        connection = session.connection()
        connection.execute(insert_ignoring_duplicates(connection, ReminderLog), list(rows))
