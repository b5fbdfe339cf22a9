"""The reminder log: which ladder stage was planned for whom; its unique key makes every ladder idempotent."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from kim_workflow.db.models import ReminderLog

_LOG: sa.Table = ReminderLog.__table__  # type: ignore[attr-defined]


class ReminderScope(StrEnum):
    """What a ladder is about (``reminder_log.scope``; existing databases hold these strings)."""

    DELIVERABLE = "deliverable"
    """A Kommune's reminders and overdue notices; ``ref`` is the AGS, ``due_date`` the deliverables' due date."""
    ESCALATION = "escalation"
    """The ministry's digest; ``ref`` is ``ministry``, ``stage`` is ``escalation``."""
    APPLICATION = "application"
    """The call for applications and its reminders; ``ref`` is the AGS, ``due_date`` the deadline."""
    MEETING = "meeting"
    """Meeting reminders; ``ref`` is ``meeting:<id>:contact:<id>``, ``due_date`` the meeting day."""


def insert_ignoring_duplicates(connection: sa.Connection, table: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the connection's dialect (SQLite or PostgreSQL)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database dialect {dialect!r} (SQLite and PostgreSQL are supported)")


COPY_FROM_ROWS = 1000  # on PostgreSQL, from this many rows on: COPY into a temporary table, then one INSERT … SELECT


def insert_rows_ignoring_duplicates(connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert ``rows`` (all with the same keys), leaving rows whose unique key exists alone; return how many were new.

    SQLite: one executemany. PostgreSQL: small sets as ``INSERT … ON CONFLICT DO NOTHING RETURNING`` in pages;
    large ones through ``COPY`` into a temporary table and one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` — a
    constant number of statements, and no client-side parsing of huge multi-row ``VALUES`` lists.
    """
    if not rows:
        return 0
    statement = insert_ignoring_duplicates(connection, table)
    if connection.dialect.name == "sqlite":
        return int(connection.execute(statement, list(rows)).rowcount)
    if len(rows) < COPY_FROM_ROWS:  # psycopg reports no executemany rowcount: count the RETURNING rows
        options = {"insertmanyvalues_page_size": 5000}
        return len(
            connection.execute(statement.returning(*table.primary_key), list(rows), execution_options=options).all()
        )
    return _copy_insert(connection, table, rows)


def _copy_insert(connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> int:
    columns = list(rows[0])
    quoted = ", ".join(f'"{name}"' for name in columns)
    staging = f"kim_bulk_{uuid.uuid4().hex[:12]}"
    connection.exec_driver_sql(
        f'CREATE TEMPORARY TABLE "{staging}" ON COMMIT DROP AS SELECT {quoted} FROM "{table.name}" WITH NO DATA'
    )
    json_columns = {name for name in columns if isinstance(table.c[name].type, sa.JSON)}
    driver = connection.connection.driver_connection  # psycopg's connection: the same transaction
    assert driver is not None
    cursor = driver.cursor()
    with cursor.copy(f'COPY "{staging}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_copy_value(row[name], name in json_columns) for name in columns])
    inserted = connection.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM "{staging}" ON CONFLICT DO NOTHING'
    )
    connection.exec_driver_sql(f'DROP TABLE "{staging}"')
    return int(inserted.rowcount)


def _copy_value(value: Any, as_json: bool) -> Any:
    if as_json:
        return json.dumps(value, ensure_ascii=False)
    return value.value if isinstance(value, Enum) else value


def log_row(
    *, scope: ReminderScope, ref: str, year: int, stage: str, due: date, today: date, now: datetime
) -> dict[str, Any]:
    return {
        "scope": scope.value,
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
        insert_rows_ignoring_duplicates(session.connection(), _LOG, rows)
