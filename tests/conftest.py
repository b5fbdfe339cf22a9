"""Shared fixtures: databases (SQLite by default, PostgreSQL with KIM_TEST_DATABASE_URL), SMTP, Prefect; and the
markers every test gets from the fixtures it uses (``prefect``, ``postgres``, ``slow``: see pyproject.toml)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Prefect reads its settings when first imported: keep its home and telemetry out of the user's machine.
_PREFECT_HOME = tempfile.mkdtemp(prefix="kim-prefect-home-")
os.environ.update(
    {
        "PREFECT_HOME": _PREFECT_HOME,
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.3",
    }
)
os.environ.pop("PREFECT_API_URL", None)
for _name in [n for n in os.environ if n.startswith("KIM_") and n != "KIM_TEST_DATABASE_URL"]:
    os.environ.pop(_name)

import pytest  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from kim_workflow.db.engine import make_engine  # noqa: E402
from kim_workflow.email.sink import free_port  # noqa: E402
from kim_workflow.settings import Settings  # noqa: E402
from tests.support.databases import (  # noqa: E402
    PostgresSchema,
    copy_sqlite,
    is_postgres,
    migrated_sqlite_template,
    truncate_all,
)
from tests.support.markers import markers_for  # noqa: E402
from tests.support.smtp import SmtpServer  # noqa: E402

TEST_DATABASE_URL = os.environ.get("KIM_TEST_DATABASE_URL", "")


@pytest.fixture(autouse=True)
def _no_event_loop_left_running(request: pytest.FixtureRequest) -> None:
    """Fail fast and clearly if an earlier fixture left an event loop running on the main thread (Playwright's sync
    API does while its browser is open): every later ``asyncio.run`` — the dispatcher, Prefect — would break."""
    if "browser" in request.fixturenames:
        return
    assert asyncio._get_running_loop() is None, "an event loop is still running on the main thread (a leaked fixture?)"


@pytest.fixture(scope="session")
def _database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for the run: a SQLite template file or a private PostgreSQL schema."""
    if TEST_DATABASE_URL and is_postgres(TEST_DATABASE_URL):
        schema = PostgresSchema(TEST_DATABASE_URL)
        schema.create()
        try:
            from kim_workflow.db.migrate import upgrade

            engine = make_engine(schema.url)
            upgrade(engine)
            engine.dispose()
            yield schema.url
        finally:
            schema.drop()
    else:
        yield str(migrated_sqlite_template(tmp_path_factory.mktemp("db")))


@pytest.fixture
def database_url(_database_template: str, tmp_path: Path) -> str:
    """URL of an empty, migrated database of this test's own (an empty schema on PostgreSQL)."""
    if is_postgres(_database_template):
        engine = make_engine(_database_template)
        truncate_all(engine)
        engine.dispose()
        return _database_template
    return copy_sqlite(Path(_database_template), tmp_path / "kim.db")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings pointing at this test's database, with fast retries, and at this test's SMTP server if the test
    uses ``smtp_server`` (directly or through a fixture); else at a closed port (a send is refused at once)."""
    if "smtp_server" in request.fixturenames:
        server: SmtpServer = request.getfixturevalue("smtp_server")
        host, port = server.host, server.port
    else:
        host, port = "127.0.0.1", free_port()  # nothing listens there
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        smtp_host=host,
        smtp_port=port,
        smtp_timeout_seconds=5,
        dispatch_backoff_seconds=1,
        dispatch_backoff_cap_seconds=4,
        _env_file=None,  # type: ignore[call-arg]
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test from its folder and fixtures (see tests/support/markers.py)."""
    on_postgres = bool(TEST_DATABASE_URL) and is_postgres(TEST_DATABASE_URL)
    for item in items:
        for name in markers_for(item.path, getattr(item, "fixturenames", ()), on_postgres=on_postgres):
            item.add_marker(name)
