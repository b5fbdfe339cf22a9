"""Test databases: a migrated SQLite template copied per test, or a private PostgreSQL schema per run."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kim_workflow.db.engine import make_engine, normalise_url
from kim_workflow.db.migrate import upgrade


def is_postgres(url: str) -> bool:
    return normalise_url(url).startswith("postgresql")


class PostgresSchema:
    """A schema of its own for this test run (search_path in the URL), dropped at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = normalise_url(server_url)
        self.name = f"kim_test_{uuid.uuid4().hex[:10]}"
        separator = "&" if "?" in self.server_url else "?"
        self.url = f"{self.server_url}{separator}options=-csearch_path%3D{self.name}"

    def create(self) -> None:
        admin = make_engine(self.server_url)
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{self.name}"'))
        admin.dispose()

    def drop(self) -> None:
        admin = make_engine(self.server_url)
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        admin.dispose()


def truncate_all(engine: Engine) -> None:
    """Empty every table of a PostgreSQL test schema (TRUNCATE fires no row triggers) and restart its sequences.

    Only tables with rows are truncated: TRUNCATE costs ~25 ms a table even when it is empty, whereas most tests
    fill a few tables only.
    """
    with engine.begin() as connection:
        tables = [t for t in sa.inspect(connection).get_table_names() if t != "alembic_version"]
        if not tables:
            return
        probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {_quoted(t)})" for t in tables)
        used = [_quoted(t) for t in connection.execute(sa.text(probe)).scalars()]
        if used:
            connection.execute(sa.text(f"TRUNCATE {', '.join(used)} CASCADE"))
        connection.execute(
            sa.text(
                "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false) FROM pg_sequences "
                "WHERE schemaname = current_schema()"
            )
        )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def migrated_sqlite_template(folder: Path) -> Path:
    path = folder / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def copy_sqlite(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"
