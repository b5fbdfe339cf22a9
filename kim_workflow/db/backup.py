"""The database side of backups: a consistent copy with the database's own tools, restore, and row counts.

SQLite: the online backup API (a consistent snapshot while ``kim up`` keeps writing). PostgreSQL: ``pg_dump`` in
its custom format, restored with ``pg_restore`` in one transaction (all or nothing); a database URL whose
``options`` set a ``search_path`` (a schema of its own) is dumped and restored as that schema only.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlmodel import SQLModel

from kim_workflow.db.engine import is_sqlite, normalise_url

SQLITE_FILE = "database.sqlite"
POSTGRES_FILE = "database.pgdump"


class DatabaseBackupError(RuntimeError):
    """A dump or restore the database tools refused (German message)."""


def table_names() -> list[str]:
    """kim's tables in dependency order, and Alembic's version table."""
    return [table.name for table in SQLModel.metadata.sorted_tables] + ["alembic_version"]


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per kim table; a table that does not exist is missing from the result."""
    present = set(sa.inspect(engine).get_table_names())
    with engine.connect() as connection:
        return {
            name: int(connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in table_names()
            if name in present
        }


def revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (``None`` if it was never migrated)."""
    if "alembic_version" not in sa.inspect(engine).get_table_names():
        return None
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def dump(url: str, folder: Path) -> str:
    """Write the database into ``folder``; return the file's name."""
    url = normalise_url(url)
    if is_sqlite(url):
        target = folder / SQLITE_FILE
        _sqlite_copy(_sqlite_path(url), target)
        return SQLITE_FILE
    parsed = sa.engine.make_url(url)
    schema = _schema_of(parsed)
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={folder / POSTGRES_FILE}",
          *([f"--schema={schema}"] if schema else []), _libpq(parsed)], parsed, "pg_dump")  # fmt: skip
    return POSTGRES_FILE


def restore(url: str, file: Path, *, replace_existing: bool) -> None:
    """Restore ``file`` (from :func:`dump`) into the database at ``url``.

    ``replace_existing`` drops kim's tables that exist there first (the caller has checked they may go).
    """
    url = normalise_url(url)
    if is_sqlite(url):
        if file.name != SQLITE_FILE:
            raise DatabaseBackupError("Die Sicherung stammt aus PostgreSQL, die Zieldatenbank ist SQLite.")
        _restore_sqlite(_sqlite_path(url), file)
        return
    if file.name != POSTGRES_FILE:
        raise DatabaseBackupError("Die Sicherung stammt aus SQLite, die Zieldatenbank ist PostgreSQL.")
    parsed = sa.engine.make_url(url)
    clean = ["--clean", "--if-exists"] if replace_existing else []
    _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", *clean,
          f"--dbname={_libpq(parsed)}", str(file)], parsed, "pg_restore")  # fmt: skip


def _restore_sqlite(path: Path, file: Path) -> None:
    """Copy into a temporary file beside the target, then swap it in (the old WAL must not survive)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".restoring")
    staging.unlink(missing_ok=True)
    _sqlite_copy(file, staging)
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    os.replace(staging, path)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent snapshot even while another process writes."""
    with closing(sqlite3.connect(source)) as reader, closing(sqlite3.connect(target)) as writer:
        reader.backup(writer)


def sqlite_file(url: str) -> Path | None:
    """The resolved file of a SQLite database URL; ``None`` for PostgreSQL."""
    url = normalise_url(url)
    return _sqlite_path(url).resolve() if is_sqlite(url) else None


def _sqlite_path(url: str) -> Path:
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise DatabaseBackupError("Eine SQLite-Datenbank im Arbeitsspeicher lässt sich nicht sichern.")
    return Path(database)


def _schema_of(url: URL) -> str | None:
    """The schema named by ``options=-csearch_path=…`` in the URL, if any."""
    options = url.query.get("options")
    text = options if isinstance(options, str) else " ".join(options or ())
    for part in text.split():
        if part.startswith("-csearch_path="):
            return part.removeprefix("-csearch_path=").split(",")[0].strip('"') or None
    return None


def _libpq(url: URL) -> str:
    """A libpq connection URI without the driver, password and SQLAlchemy options (those go to the environment)."""
    plain = url.set(drivername="postgresql", password=None).difference_update_query(["options"])
    return plain.render_as_string(hide_password=False)


def _run(command: list[str], url: URL, tool: str) -> None:
    if shutil.which(tool) is None:
        raise DatabaseBackupError(f"{tool} ist nicht installiert (Paket postgresql-client).")
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise DatabaseBackupError(f"{tool} ist fehlgeschlagen: {detail[-1] if detail else done.returncode}")
