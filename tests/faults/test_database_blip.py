"""A database blip in the middle of a dispatch: the connection is lost (PostgreSQL: every connection of the
dispatcher terminated and new logins refused for ~4 s) or the database is locked (SQLite: an exclusive lock held
by another connection for ~4 s, longer than the dispatcher's busy timeout). Exact counts at the aiosmtpd sink:
nothing lost, nothing twice, nothing ``unknown`` (every message on the wire got its answer and was kept in memory
until the database was back)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.db.engine import is_sqlite, make_engine
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.settings import Settings
from tests.integration.test_dispatcher import LATER, NOW, queue, rows
from tests.support.smtp import SmtpServer

TOTAL = 800
BLIP_SECONDS = 4.0


@contextmanager
def postgres_dispatcher(engine: Engine, database_url: str) -> Iterator[tuple[Engine, Callable[..., None]]]:
    """An engine logging in as a role of this test's own, and the blip: that role may not log in and all its
    connections are terminated for ``BLIP_SECONDS`` (nobody else's connection is touched)."""
    role = f"kim_blip_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
        for statement in (f"CREATE ROLE {role} LOGIN", f'GRANT USAGE ON SCHEMA "{schema}" TO {role}',
                          f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {role}',
                          f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {role}'):  # fmt: skip
            connection.execute(sa.text(statement))
    url = sa.engine.make_url(database_url).set(username=role).render_as_string(hide_password=False)
    dispatcher = make_engine(url)

    def blip(seconds: float = BLIP_SECONDS, began: threading.Event | None = None) -> None:
        with engine.connect() as admin:
            admin.execution_options(isolation_level="AUTOCOMMIT")
            admin.execute(sa.text(f"ALTER ROLE {role} NOLOGIN"))
            if began is not None:
                began.set()
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                admin.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                              {"r": role})  # fmt: skip
                time.sleep(0.05)
            admin.execute(sa.text(f"ALTER ROLE {role} LOGIN"))

    try:
        yield dispatcher, blip
    finally:
        dispatcher.dispose()
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP OWNED BY {role}"))
            connection.execute(sa.text(f"DROP ROLE {role}"))


@contextmanager
def sqlite_dispatcher(database_url: str) -> Iterator[tuple[Engine, Callable[..., None]]]:
    """An engine with a 100 ms busy timeout (the test's setting, not the default 30 s) and the blip: another
    connection holds the write lock (BEGIN EXCLUSIVE) for ``BLIP_SECONDS``."""
    dispatcher = make_engine(database_url)

    @sa.event.listens_for(dispatcher, "connect")
    def short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:  # runs after the engine's own pragmas
        dbapi_connection.execute("PRAGMA busy_timeout=100")

    def blip(seconds: float = BLIP_SECONDS, began: threading.Event | None = None) -> None:
        locker = sqlite3.connect(sa.engine.make_url(database_url).database or "", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        if began is not None:
            began.set()
        time.sleep(seconds)
        locker.execute("ROLLBACK")
        locker.close()

    try:
        yield dispatcher, blip
    finally:
        dispatcher.dispose()


@pytest.mark.timeout(180)
def test_a_database_blip_mid_dispatch_loses_nothing_sends_nothing_twice_and_leaves_nothing_unknown(
    engine: Engine, database_url: str, settings: Settings, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    queue(engine, TOTAL)
    smtp_server.handler.behaviour.data_delay_seconds = 0.01  # ~4 s of sending: the blip falls in the middle
    setup = sqlite_dispatcher(database_url) if is_sqlite(database_url) else postgres_dispatcher(engine, database_url)
    with setup as (dispatcher, blip), caplog.at_level(logging.WARNING, logger="kim_workflow.email.dispatcher"):

        def blip_after_the_first_messages() -> None:
            while len(smtp_server.handler.received) < 100:
                time.sleep(0.005)
            blip()

        blipper = threading.Thread(target=blip_after_the_first_messages)
        blipper.start()
        started = time.monotonic()
        report = dispatch_sync(dispatcher, settings, now=NOW)
        took = time.monotonic() - started
        blipper.join()
        after_blip = Counter(r.status for r in rows(engine))
        # claims whose commit a lost connection swallowed were handed back: the next dispatch sends them
        second = dispatch_sync(dispatcher, settings, now=LATER)

    retries = [r for r in caplog.records if "Datenbankverbindung unterbrochen" in r.getMessage()]
    assert retries and took > BLIP_SECONDS  # the blip really hit the dispatch, which waited it out
    assert report.errors == [] and report.unknown == report.failed == 0
    assert after_blip[OutboxStatus.UNKNOWN] == 0 and set(after_blip) <= {OutboxStatus.SENT, OutboxStatus.PENDING}
    assert report.sent == after_blip[OutboxStatus.SENT] and report.sent + second.sent == TOTAL
    received = smtp_server.handler.received_ids()
    assert len(received) == TOTAL and set(received.values()) == {1}  # 0 lost, 0 duplicates (by Message-ID)
    assert {r.message_id for r in rows(engine)} == set(received)
    assert Counter(r.status for r in rows(engine)) == Counter({OutboxStatus.SENT: TOTAL})


@pytest.mark.timeout(60)
def test_a_database_away_for_longer_than_the_retry_budget_is_a_german_error_and_changes_nothing(
    engine: Engine, database_url: str, settings: Settings, smtp_server: SmtpServer
) -> None:
    queue(engine, 5)
    setup = sqlite_dispatcher(database_url) if is_sqlite(database_url) else postgres_dispatcher(engine, database_url)
    with setup as (dispatcher, blip):
        began = threading.Event()
        # a short blip that still outlasts the short retry budget (the other test's 4 s would only be waited out)
        blipper = threading.Thread(target=blip, kwargs={"seconds": 1.5, "began": began})
        blipper.start()
        assert began.wait(10)
        report = dispatch_sync(dispatcher, settings.model_copy(update={"dispatch_db_retry_seconds": 0.3}), now=NOW)
        blipper.join()
    assert (
        report.sent == 0 and "Datenbank nicht erreichbar" in report.errors[0] and "nichts versendet" in report.errors[0]
    )
    assert smtp_server.handler.received == []
    assert all(r.status is OutboxStatus.PENDING and r.attempts == 0 for r in rows(engine))
