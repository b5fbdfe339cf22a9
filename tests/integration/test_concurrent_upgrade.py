"""Several workers start at once: ``kim db upgrade`` migrates once, the others wait and find nothing to do."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kim_workflow.db.engine import make_engine
from kim_workflow.db.migrate import current_revision, head_revision
from tests.support.databases import PostgresSchema, is_postgres

WORKERS = 4


@pytest.fixture
def empty_url(_database_template: str, tmp_path: Path) -> Iterator[str]:
    """A database without any table: a new SQLite file, or a new schema on the test's PostgreSQL server."""
    if not is_postgres(_database_template):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    schema = PostgresSchema(_database_template.split("?")[0])
    schema.create()
    yield schema.url
    schema.drop()


def test_upgrades_started_together_all_succeed_and_migrate_once(empty_url: str, tmp_path: Path) -> None:
    kim = Path(sys.executable).with_name("kim")
    env = {**os.environ, "KIM_DATABASE_URL": empty_url, "KIM_DATA_DIR": str(tmp_path / "data")}
    processes = [
        subprocess.Popen([str(kim), "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(WORKERS)
    ]
    outputs = [process.communicate(timeout=120)[0].decode() for process in processes]
    assert [process.returncode for process in processes] == [0] * WORKERS, outputs
    engine = make_engine(empty_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
