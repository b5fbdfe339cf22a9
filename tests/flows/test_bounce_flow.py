"""The bounce-check flow on the Prefect test server: a real IMAP mailbox, a real database and SMTP sink."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlmodel import col, select

from flows.bounce_check import bounce_check
from flows.daily_sweep import daily_sweep
from kim_workflow.core.domain import OutboxStatus
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.models import Contact, OutboxMessage
from tests.flows.test_cycle_flows import MAINZ, open_year_2026
from tests.integration.test_bounces import dsn
from tests.support.imap import ImapServer
from tests.support.smtp import SmtpServer


@pytest.fixture
def imap_server() -> Iterator[ImapServer]:
    server = ImapServer().start()
    yield server
    server.stop()


@pytest.fixture
def bounce_env(
    kim_flow_env: str, smtp_server: SmtpServer, imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The cycle of ``test_cycle_flows`` (one integration manager per Kommune) and the bounce mailbox."""
    for name, value in {
        "HOST": imap_server.host, "PORT": str(imap_server.port), "USER": imap_server.mailbox.user,
        "PASSWORD": imap_server.mailbox.password, "TLS": "none", "ALLOW_PLAINTEXT_ON_LOOPBACK": "true",
    }.items():  # fmt: skip
        monkeypatch.setenv(f"KIM_BOUNCE_IMAP_{name}", value)
    return open_year_2026(kim_flow_env, smtp_server, monkeypatch)


def test_bounce_check_fails_the_reminder_marks_the_address_and_a_second_run_does_nothing(
    bounce_env: str, imap_server: ImapServer, smtp_server: SmtpServer
) -> None:
    daily_sweep(today=date(2026, 11, 3))
    engine = make_engine(bounce_env)
    address = f"im{MAINZ}@kommune.example"
    with session_scope(engine) as session:
        reminder = session.exec(select(OutboxMessage).where(col(OutboxMessage.recipient) == address)).one()
    imap_server.mailbox.add(dsn(reminder.message_id, address))
    summary = bounce_check()
    assert summary.handled == {"failed": 1} and summary.errors == []
    with session_scope(engine) as session:
        assert session.get(OutboxMessage, reminder.id).status is OutboxStatus.FAILED  # type: ignore[union-attr]
        mainz = session.exec(select(Contact).where(col(Contact.email) == address)).one()
        assert mainz.undeliverable_at is not None
        kinds = [m.kind for m in session.exec(select(OutboxMessage).where(col(OutboxMessage.id) > reminder.id))]
    assert "kommune_unreachable" in kinds and "delivery_failed" in kinds  # Mainz has nobody else
    received = len(smtp_server.handler.received)
    again = bounce_check()
    assert again.read == 0 and len(smtp_server.handler.received) == received
