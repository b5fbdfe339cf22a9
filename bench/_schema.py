"""A throw-away database for a benchmark: a temporary SQLite file, or a schema of its own on a PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from kim_workflow.db.engine import make_engine, normalise_url


def throwaway_database(database_url: str | None, folder: Path) -> tuple[str, Callable[[], None]]:
    """The URL to use and the function that removes it again (dropping the schema on PostgreSQL)."""
    if not database_url:
        return f"sqlite:///{folder / 'bench.db'}", lambda: None
    server = normalise_url(database_url)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in server else "?"
    return f"{server}{separator}options=-csearch_path%3D{schema}", drop
