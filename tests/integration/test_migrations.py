"""The schema comes only from migrations, matches the models, and migrates both ways."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import kim_workflow.db.models  # noqa: F401
from kim_workflow.db.engine import is_sqlite
from kim_workflow.db.migrate import current_revision, downgrade, head_revision, upgrade
from tests.conftest import TEST_DATABASE_URL
from tests.support.databases import is_postgres

EXPECTED_TABLES = {
    "kommune",
    "contact",
    "cycle",
    "application",
    "application_revision",
    "decision",
    "grant_decision",
    "deliverable",
    "meeting",
    "meeting_invitee",
    "meeting_attendance",
    "outbox_message",
    "domain_event",
}


def test_database_is_at_head_with_every_domain_table(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) >= EXPECTED_TABLES


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_downgrade_to_empty_and_upgrade_again(engine: Engine) -> None:
    downgrade(engine, "base")
    with engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_domain_event_log_is_append_only(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO domain_event (uuid, occurred_at, actor, action, subject_type, subject_id, payload) "
                "VALUES ('u-1', CURRENT_TIMESTAMP, 'test', 'kim.test', 'x', '1', '{}')"
            )
        )
        connection.execute(sa.text("UPDATE domain_event SET published_at = CURRENT_TIMESTAMP"))
    for statement in ("UPDATE domain_event SET action = 'changed'", "DELETE FROM domain_event"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(sa.text(statement))


@pytest.mark.skipif(is_postgres(TEST_DATABASE_URL), reason="SQLite pragmas only")
def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(engine: Engine) -> None:
    assert is_sqlite(engine)
    with engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}
