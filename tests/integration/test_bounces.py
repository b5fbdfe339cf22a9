"""Later bounces by email: a delivery status notification in a real (test) IMAP mailbox fails the outbox row, marks
the address, and the reminder reaches the next contact; a second poll does nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Contact, DomainEvent, OutboxMessage
from kim_workflow.email.dsn import parse_dsn
from kim_workflow.services import registry
from kim_workflow.services.bounces import Handled, check_bounces
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.delivery_problems import dispatch_and_report
from kim_workflow.services.sweep import sweep_day
from kim_workflow.settings import Settings, SmtpTls
from tests.support.imap import ImapServer
from tests.support.obligations import all_active_policy
from tests.support.smtp import SmtpServer

MAINZ, KOBLENZ = "07315000", "07111000"
R42 = date(2026, 11, 3)
NOW = datetime(2026, 11, 3, 7, tzinfo=UTC)
LATER = NOW + timedelta(hours=3)
MINISTRY = "integration@mffki.rlp.example"
CONTACTS = (
    "ags,name,email,role\n"
    f"{MAINZ},Frau IM Mainz,im@mainz.example,integration_manager\n"
    f"{MAINZ},Herr Vertretung Mainz,vertretung@mainz.example,deputy\n"
    f"{KOBLENZ},Frau IM Koblenz,im@koblenz.example,integration_manager\n"
    f"{KOBLENZ},Integrationsbüro Koblenz,buero@koblenz.example,role_mailbox\n"
)


def dsn(message_id: str, recipient: str, *, headers_only: bool = False) -> bytes:
    returned = (
        f"Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\nSubject: Erinnerung\r\n"
        if headers_only
        else f"Content-Type: message/rfc822\r\n\r\nMessage-ID: {message_id}\r\nSubject: Erinnerung\r\n\r\nText\r\n"
    )
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.kommune.example>\r\n"
        "To: kim@mffki.rlp.de\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.kommune.example\r\nArrival-Date: Tue, 3 Nov 2026 08:00:00 +0100\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\nAction: failed\r\n"
        "Status: 5.1.1\r\nRemote-MTA: dns; mailbox.kommune.example\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address\r\n rejected: User unknown\r\n\r\n"
        f"--B\r\n{returned}--B--\r\n"
    ).encode()


@pytest.fixture
def imap_server() -> Iterator[ImapServer]:
    server = ImapServer().start()
    yield server
    server.stop()


@pytest.fixture
def bounce_settings(settings: Settings, imap_server: ImapServer) -> Settings:
    return settings.model_copy(
        update={
            "ministry_escalation_address": MINISTRY,
            "bounce_imap_host": imap_server.host,
            "bounce_imap_port": imap_server.port,
            "bounce_imap_user": imap_server.mailbox.user,
            "bounce_imap_password": SecretStr(imap_server.mailbox.password),
            "bounce_imap_tls": SmtpTls.NONE,
            "bounce_imap_allow_plaintext_on_loopback": True,
        }
    )


@pytest.fixture
def reminded(engine: Engine, bounce_settings: Settings, smtp_server: SmtpServer) -> dict[str, OutboxMessage]:
    """The 42-day reminders, accepted by the server; by recipient."""
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        assert registry.import_contacts(session, CONTACTS, now=NOW, actor="t").ok
        open_cycle(session, policy=all_active_policy(2026), now=NOW, actor="t")
        sweep_day(session, bounce_settings, today=R42, now=NOW)
    dispatch_and_report(engine, bounce_settings, now=NOW)
    rows = outbox(engine)
    assert {m.status for m in rows} == {OutboxStatus.SENT}
    return {m.recipient: m for m in rows}


def outbox(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def contact(engine: Engine, email: str) -> Contact:
    with session_scope(engine) as session:
        return session.exec(select(Contact).where(col(Contact.email) == email)).one()


def test_a_bounce_by_email_fails_the_row_marks_the_address_and_reaches_the_next_contact(
    engine: Engine,
    bounce_settings: Settings,
    smtp_server: SmtpServer,
    imap_server: ImapServer,
    reminded: dict[str, OutboxMessage],
) -> None:
    koblenz, mainz = reminded["im@koblenz.example"], reminded["im@mainz.example"]
    imap_server.mailbox.add(dsn(koblenz.message_id, "im@koblenz.example"))
    imap_server.mailbox.add(dsn(mainz.message_id, "IM@mainz.example", headers_only=True))
    imap_server.mailbox.add(b"From: someone@example.org\r\nSubject: Abwesenheitsnotiz\r\n\r\nBin im Urlaub.\r\n")
    imap_server.mailbox.add(dsn("<unknown@elsewhere.example>", "x@elsewhere.example"))

    check = check_bounces(engine, bounce_settings, now=LATER)

    assert check.errors == [] and check.read == 4
    assert check.handled == {"failed": 1, "partial": 1, "not_a_bounce": 1, "unmatched": 1}
    rows = {m.id: m for m in outbox(engine)}
    assert rows[koblenz.id].status is OutboxStatus.FAILED
    assert "550 5.1.1 <im@koblenz.example>: Recipient address rejected: User unknown" in (
        rows[koblenz.id].last_error or ""
    )
    assert rows[mainz.id].status is OutboxStatus.SENT  # the deputy in Cc received it
    for address in ("im@koblenz.example", "im@mainz.example"):
        marked = contact(engine, address)
        assert marked.undeliverable_at == LATER and "550 5.1.1" in (marked.undeliverable_reason or "")
    new = [m for m in rows.values() if m.id not in {r.id for r in reminded.values()}]
    assert sorted((m.kind, m.recipient, m.status) for m in new) == [
        ("deliverable_reminder", "buero@koblenz.example", OutboxStatus.SENT),
        ("delivery_failed", MINISTRY, OutboxStatus.SENT),
    ]
    with session_scope(engine) as session:
        [event] = session.exec(
            select(DomainEvent).where(
                col(DomainEvent.action) == "kim.email.failed", col(DomainEvent.subject_id) == str(koblenz.id)
            )
        ).all()
        assert event.payload["code"] == 550 and event.payload["source"] == "bounce"
    assert all("\\Seen" in imap_server.mailbox.flags(m.uid) for m in imap_server.mailbox.messages)
    received = len(smtp_server.handler.received)

    again = check_bounces(engine, bounce_settings, now=LATER + timedelta(minutes=15))
    assert again.read == 0 and again.errors == []
    assert len(outbox(engine)) == len(rows) and len(smtp_server.handler.received) == received


def test_the_same_bounce_read_twice_changes_nothing(
    engine: Engine, bounce_settings: Settings, imap_server: ImapServer, reminded: dict[str, OutboxMessage]
) -> None:
    imap_server.mailbox.add(dsn(reminded["im@koblenz.example"].message_id, "im@koblenz.example"))
    assert check_bounces(engine, bounce_settings, now=LATER).count(Handled.FAILED) == 1
    count = len(outbox(engine))
    imap_server.mailbox.add(dsn(reminded["im@koblenz.example"].message_id, "im@koblenz.example"))
    second = check_bounces(engine, bounce_settings, now=LATER)
    assert second.handled == {"known": 1} and len(outbox(engine)) == count


def test_a_mailbox_that_refuses_the_login_is_a_german_error_and_changes_nothing(
    engine: Engine, bounce_settings: Settings, imap_server: ImapServer
) -> None:
    wrong = bounce_settings.model_copy(update={"bounce_imap_password": SecretStr("falsch")})
    imap_server.mailbox.add(b"Subject: x\r\n\r\ny\r\n")
    check = check_bounces(engine, wrong, now=LATER)
    assert check.read == 0 and "Bounce-Postfach 127.0.0.1 nicht erreichbar" in check.errors[0]
    plaintext = bounce_settings.model_copy(update={"bounce_imap_allow_plaintext_on_loopback": False})
    assert "unverschlüsselt" in check_bounces(engine, plaintext, now=LATER).errors[0]
    unconfigured = bounce_settings.model_copy(update={"bounce_imap_host": None})
    assert "Kein Bounce-Postfach" in check_bounces(engine, unconfigured, now=LATER).summary()


def test_parse_dsn_reads_recipient_status_and_the_returned_message_id() -> None:
    report = parse_dsn(dsn("<abc@mffki.rlp.de>", "im@koblenz.example"))
    assert report is not None and report.message_ids == ("<abc@mffki.rlp.de>",)
    [failed] = report.failed
    assert (failed.address, failed.status, failed.code) == ("im@koblenz.example", "5.1.1", 550)
    delayed = dsn("<abc@mffki.rlp.de>", "im@koblenz.example").replace(b"Action: failed", b"Action: delayed")
    assert parse_dsn(delayed) is None
    assert parse_dsn(b"Subject: hallo\r\n\r\nkein Bounce\r\n") is None
