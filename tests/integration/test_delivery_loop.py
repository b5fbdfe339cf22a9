"""The delivery loop against a real aiosmtpd server: a 550 marks the address, the next contact takes over, the
ministry hears of it once, and a rerun sends nothing twice."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Contact, DomainEvent, OutboxMessage
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.delivery_problems import dispatch_and_report
from kim_workflow.services.status import status_matrix
from kim_workflow.services.sweep import sweep_day
from kim_workflow.services.undeliverable import clear_undeliverable
from kim_workflow.settings import Settings
from tests.support.obligations import all_active_policy
from tests.support.smtp import SmtpServer

MAINZ, KOBLENZ, KUSEL = "07315000", "07111000", "07336000"  # manager + deputy, manager + mailbox, manager only
R42, R14, ESCALATION = date(2026, 11, 3), date(2026, 12, 1), date(2026, 12, 23)
MINISTRY = "integration@mffki.rlp.example"
CONTACTS = (
    "ags,name,email,role\n"
    f"{MAINZ},Frau IM Mainz,im@mainz.example,integration_manager\n"
    f"{MAINZ},Herr Vertretung Mainz,vertretung@mainz.example,deputy\n"
    f"{KOBLENZ},Frau IM Koblenz,im@koblenz.example,integration_manager\n"
    f"{KOBLENZ},Integrationsbüro Koblenz,buero@koblenz.example,role_mailbox\n"
    f"{KUSEL},Frau IM Kusel,im@kusel.example,integration_manager\n"
)
BOUNCING = {"im@mainz.example", "im@koblenz.example", "im@kusel.example"}


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 7, tzinfo=UTC)


@pytest.fixture
def loop_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ministry_escalation_address": MINISTRY})


@pytest.fixture
def cycle(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=at(date(2026, 10, 1)))
        assert registry.import_contacts(session, CONTACTS, now=at(date(2026, 10, 1)), actor="t").ok
        open_cycle(session, policy=all_active_policy(2026), now=at(date(2026, 10, 1)), actor="t")
    return engine


def run_day(engine: Engine, settings: Settings, day: date) -> None:
    with session_scope(engine) as session:
        sweep_day(session, settings, today=day, now=at(day))
    dispatch_and_report(engine, settings, now=at(day))


def received(engine: Engine, server: SmtpServer) -> dict[str, list[str]]:
    """Per address, the kinds of email it received (in To or Cc)."""
    kinds = {m.message_id: m.kind for m in outbox(engine)}
    return {
        address: sorted(kinds[r.message_id] for r in items) for address, items in server.handler.by_recipient().items()
    }


def contact(engine: Engine, email: str) -> Contact:
    with session_scope(engine) as session:
        return session.exec(select(Contact).where(col(Contact.email) == email)).one()


def outbox(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def test_a_550_marks_the_address_and_the_next_contact_takes_over(
    cycle: Engine, loop_settings: Settings, smtp_server: SmtpServer
) -> None:
    smtp_server.handler.behaviour.reject_rcpt_550 = set(BOUNCING)
    run_day(cycle, loop_settings, R42)

    for address in BOUNCING:
        marked = contact(cycle, address)
        assert marked.undeliverable_at == at(R42) and "550 5.1.1 Mailbox unavailable" in (
            marked.undeliverable_reason or ""
        )
    for address in ("vertretung@mainz.example", "buero@koblenz.example"):
        assert contact(cycle, address).undeliverable_at is None
    got = received(cycle, smtp_server)
    assert got == {
        "vertretung@mainz.example": ["deliverable_reminder"],  # in Cc of the bounced reminder
        "buero@koblenz.example": ["deliverable_reminder"],  # the same reminder, re-sent at once
        MINISTRY: ["delivery_failed", "kommune_unreachable"],  # Kusel has nobody left
    }
    rows = outbox(cycle)
    koblenz = [m for m in rows if m.subject_ref == f"kommune:{KOBLENZ}:year:2026"]
    assert [(m.recipient, m.status) for m in koblenz] == [
        ("im@koblenz.example", OutboxStatus.FAILED),
        ("buero@koblenz.example", OutboxStatus.SENT),
    ]
    assert koblenz[1].idempotency_key == (
        f"deliverable_reminder|kommune:{KOBLENZ}:year:2026|stage:reminder-42|due:2026-12-15|to:buero@koblenz.example"
    )
    assert "Integrationsbüro Koblenz" in koblenz[1].text_body and "IM Koblenz" not in koblenz[1].text_body
    unreachable = next(m for m in rows if m.kind == "kommune_unreachable")
    assert "Kusel" in unreachable.subject and "550 5.1.1 Mailbox unavailable" in unreachable.text_body
    digest = next(m for m in rows if m.kind == "delivery_failed")
    assert "im@mainz.example" in digest.text_body and "teilweise abgelehnt" in digest.text_body
    with session_scope(cycle) as session:
        events = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.contact.undeliverable"))
        assert len(list(events)) == 3
        matrix = {row.ags: row.letzte_erinnerung for row in status_matrix(session, year=2026, today=R42)}
    assert matrix[MAINZ] == matrix[KOBLENZ] == "Erinnerung am 03.11.2026"
    assert matrix[KUSEL] == "Erinnerung nicht zustellbar am 03.11.2026"

    # a rerun of the same day (sweep and dispatch) sends nothing
    before = Counter(smtp_server.handler.received_ids())
    run_day(cycle, loop_settings, R42)
    assert Counter(smtp_server.handler.received_ids()) == before
    assert len(outbox(cycle)) == len(rows)

    # the next stage goes to the deputy (To) and to the mailbox; Kusel gets nothing
    run_day(cycle, loop_settings, R14)
    new = [m for m in outbox(cycle) if m.id not in {r.id for r in rows}]
    assert sorted((m.recipient, tuple(m.cc)) for m in new) == [
        ("buero@koblenz.example", ()),
        ("vertretung@mainz.example", ()),
    ]
    assert {m.status for m in new} == {OutboxStatus.SENT}

    # the escalation digest says that Kusel cannot be reached
    run_day(cycle, loop_settings, ESCALATION)
    escalation = next(m for m in outbox(cycle) if m.kind == "escalation_digest")
    assert "Kusel (nicht zustellbar!)" in escalation.text_body


def test_an_import_or_an_activation_clears_the_mark(
    cycle: Engine, loop_settings: Settings, smtp_server: SmtpServer
) -> None:
    smtp_server.handler.behaviour.reject_rcpt_550 = {"im@kusel.example", "im@koblenz.example"}
    run_day(cycle, loop_settings, R42)
    assert contact(cycle, "im@kusel.example").undeliverable_at is not None
    smtp_server.handler.behaviour.reject_rcpt_550 = set()
    with session_scope(cycle) as session:
        result = registry.import_contacts(session, CONTACTS, now=at(R42), actor="t")
    assert result.ok and result.updated == 2
    assert contact(cycle, "im@kusel.example").undeliverable_at is None
    assert contact(cycle, "im@kusel.example").undeliverable_reason is None
    with session_scope(cycle) as session:
        assert registry.import_contacts(session, CONTACTS, now=at(R42), actor="t").updated == 0
    run_day(cycle, loop_settings, R14)
    assert "deliverable_reminder" in received(cycle, smtp_server)["im@kusel.example"]


def test_clear_undeliverable_counts_only_marked_contacts(cycle: Engine) -> None:
    with session_scope(cycle) as session:
        mainz = session.exec(select(Contact).where(col(Contact.email) == "im@mainz.example")).one()
        mainz.undeliverable_at, mainz.undeliverable_reason = at(R42), "550 nope"
        session.add(mainz)
    with session_scope(cycle) as session:
        assert clear_undeliverable(session, email="IM@mainz.example", now=at(R14), actor="t") == 1
        assert clear_undeliverable(session, email="im@mainz.example", now=at(R14), actor="t") == 0
    assert contact(cycle, "im@mainz.example").undeliverable_at is None


def test_contacts_list_shows_the_mark_and_activate_clears_it(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from kim_workflow.cli import app
    from kim_workflow.db.engine import make_engine

    monkeypatch.setenv("KIM_DATABASE_URL", database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    assert runner.invoke(app, ["seed"]).exit_code == 0
    (tmp_path / "c.csv").write_text(CONTACTS, encoding="utf-8")
    assert (
        runner.invoke(app, ["contacts", "import", str(tmp_path / "c.csv"), "--mode", "merge", "--apply"]).exit_code == 0
    )
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        kusel = session.exec(select(Contact).where(col(Contact.email) == "im@kusel.example")).one()
        kusel.undeliverable_at, kusel.undeliverable_reason = at(R42), "Dauerhaft abgelehnt: 550 unbekannt"
        session.add(kusel)
    listed = runner.invoke(app, ["contacts", "list"])
    assert listed.exit_code == 0, listed.output
    assert "nicht zustellbar seit 03.11.2026" in listed.output and "5 Ansprechpersonen, davon 1 nicht" in listed.output
    activated = runner.invoke(app, ["contacts", "activate", "im@kusel.example"])
    assert activated.exit_code == 0 and "Markierung „nicht zustellbar“ entfernt" in activated.output
    assert "davon 0 nicht zustellbar" in runner.invoke(app, ["contacts", "list"]).output
    engine.dispose()


def test_a_refused_sender_marks_no_address(cycle: Engine, loop_settings: Settings, smtp_server: SmtpServer) -> None:
    smtp_server.handler.behaviour.reject_mail_from_553 = True
    run_day(cycle, loop_settings, R42)
    rows = outbox(cycle)
    reminders = [m for m in rows if m.kind == "deliverable_reminder"]
    assert len(reminders) == 3 and {m.status for m in reminders} == {OutboxStatus.FAILED}
    assert all("Absender abgelehnt (MAIL FROM): 553" in (m.last_error or "") for m in reminders)
    with session_scope(cycle) as session:
        assert session.exec(select(Contact).where(col(Contact.undeliverable_at).is_not(None))).all() == []
    assert {m.kind for m in rows} == {"deliverable_reminder", "delivery_failed"}


def test_a_relay_that_refuses_everyone_for_its_own_reasons_marks_no_address(
    cycle: Engine, loop_settings: Settings, smtp_server: SmtpServer
) -> None:
    """554 5.7.1 (policy: "relay access denied") says nothing about the addresses: nobody is marked, nothing is
    re-sent to the deputies, and the ministry hears of the failed emails."""
    smtp_server.handler.behaviour.reject_rcpt_550 = set(BOUNCING)
    smtp_server.handler.behaviour.rcpt_refusal = "554 5.7.1 Relay access denied"
    run_day(cycle, loop_settings, R42)
    with session_scope(cycle) as session:
        assert session.exec(select(Contact).where(col(Contact.undeliverable_at).is_not(None))).all() == []
    kinds = [m.kind for m in outbox(cycle)]
    assert kinds.count("deliverable_reminder") == 3 and "kommune_unreachable" not in kinds
    assert "delivery_failed" in kinds
