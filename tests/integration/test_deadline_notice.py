"""A deadline change notifies the Kommune with the updated calendar entry (same UID, next SEQUENCE), once."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.message import EmailMessage

import pytest
from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Deliverable, DomainEvent, OutboxMessage
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.deadline_notice import extend_deadline_and_notify
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.submissions import REASON_MAX, ExtensionOutcome
from kim_workflow.services.sweep import sweep_day
from kim_workflow.settings import Settings
from tests.support.obligations import all_active_policy
from tests.support.smtp import SmtpServer

NOW = datetime(2026, 11, 3, 8, tzinfo=UTC)
MAINZ = "07315000"
IM, DEPUTY = "im@mainz.example", "vertretung@mainz.example"
CONTACTS = (
    "ags,name,email,role,anrede,titel\n"
    f"{MAINZ},Anna Müller,{IM},integration_manager,Frau,\n{MAINZ},Ben Wolf,{DEPUTY},deputy,Herr,\n"
)


@pytest.fixture
def year_2026(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        assert registry.import_contacts(session, CONTACTS, now=NOW, actor="t").ok
        open_cycle(session, policy=all_active_policy(2026), now=NOW, actor="t")
    return engine


def extend(engine: Engine, settings: Settings, until: date, reason: str = "Elternzeit") -> ExtensionOutcome:
    with session_scope(engine) as session:
        return extend_deadline_and_notify(
            session, settings, ags=MAINZ, year=2026, until=until, reason=reason, now=NOW, actor="t"
        )


def calendar_of(message: EmailMessage) -> Calendar:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert "method=PUBLISH" in part["Content-Type"].replace('"', "")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return Calendar.from_ical(payload)


def event_of(calendar: Calendar) -> tuple[str, int, date, str]:
    (event,) = calendar.walk("VEVENT")
    return str(event["UID"]), int(event["SEQUENCE"]), event.decoded("DTSTART"), str(calendar["METHOD"])


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_an_extension_sends_the_reminders_calendar_entry_one_sequence_further(
    year_2026: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    with session_scope(year_2026) as session:
        sweep_day(session, settings, today=date(2026, 11, 3), now=NOW)  # the 42-day reminder, SEQUENCE 0
    outcome = extend(year_2026, settings, date(2027, 1, 29), reason="Elternzeit der Integrationsmanagerin")
    assert (outcome.previous, outcome.revision, outcome.shortened, outcome.notice_queued) == (
        date(2026, 12, 15), 1, False, True,
    )  # fmt: skip
    dispatch_sync(year_2026, settings, now=NOW)
    reminder, notice = smtp_server.handler.by_recipient()[IM]
    assert [r.rcpt_tos for r in (reminder, notice)] == [[IM, DEPUTY], [IM, DEPUTY]]  # the deputy in Cc
    reminder_uid, reminder_sequence, _, _ = event_of(calendar_of(reminder.message))
    assert reminder_uid == f"kim-deadline-2026-{MAINZ}@{settings.mail_from.split('@')[1].rstrip('>')}"
    assert event_of(calendar_of(notice.message)) == (reminder_uid, reminder_sequence + 1, date(2027, 1, 29), "PUBLISH")
    assert str(notice.message["Subject"]).startswith("Frist verlängert: Jahresbericht und Fragebogen 2026")
    text = text_of(notice.message)
    assert "Die Frist wurde verlängert." in text and "verkürzt" not in text
    assert "Elternzeit der Integrationsmanagerin" in text and "15. Dezember 2026" in text
    assert "29. Januar 2027" in text


def test_the_same_extension_again_sends_nothing_and_shortening_says_so(
    year_2026: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    extend(year_2026, settings, date(2027, 1, 29))
    again = extend(year_2026, settings, date(2027, 1, 29))
    assert (again.extended, again.notice_queued) == ([], False)
    shorter = extend(year_2026, settings, date(2027, 1, 15), reason="Vertretung früher als geplant")
    assert (shorter.shortened, shorter.previous, shorter.revision) == (True, date(2027, 1, 29), 2)
    assert dispatch_sync(year_2026, settings, now=NOW).sent == 2
    first, second = smtp_server.handler.by_recipient()[IM]
    assert [event_of(calendar_of(m.message))[1:3] for m in (first, second)] == [
        (1, date(2027, 1, 29)),
        (2, date(2027, 1, 15)),
    ]
    assert str(second.message["Subject"]).startswith("Frist verkürzt:")
    assert "Die Frist wurde verkürzt." in text_of(second.message)
    with session_scope(year_2026) as session:
        keys = sorted(m.idempotency_key for m in session.exec(select(OutboxMessage)))
    assert keys == [
        f"deadline_changed|kommune:{MAINZ}:year:2026|deadline:rev1|due:2027-01-29|to:kommune:{MAINZ}",
        f"deadline_changed|kommune:{MAINZ}:year:2026|deadline:rev2|due:2027-01-15|to:kommune:{MAINZ}",
    ]


def test_a_reason_of_the_full_column_length_is_kept_whole_in_row_event_and_notice(
    year_2026: Engine, settings: Settings
) -> None:
    assert REASON_MAX == 1000
    reason = ("Elternzeit und Krankheit der Integrationsmanagerin; " * 25)[: REASON_MAX - 1] + "."
    extend(year_2026, settings, date(2027, 1, 29), reason=reason)
    with session_scope(year_2026) as session:
        stored = {
            d.extension_reason for d in session.exec(select(Deliverable).where(col(Deliverable.due_revision) == 1))
        }
        (event,) = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.deadline.extended"))
        (notice,) = session.exec(select(OutboxMessage))
    assert stored == {reason} and event.payload["reason"] == reason
    assert reason in notice.text_body
    assert reason in (notice.html_body or "")


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("x" * (REASON_MAX + 1), "höchstens 1000 Zeichen (nicht 1001); bitte kürzen, er wird nie abgeschnitten"),
        ("   ", "Bitte einen Grund"),
        ("", "Bitte einen Grund"),
    ],
)
def test_a_missing_or_too_long_reason_is_refused_and_nothing_changes(
    year_2026: Engine, settings: Settings, reason: str, message: str
) -> None:
    with pytest.raises(UseCaseError, match=re.escape(message)):
        extend(year_2026, settings, date(2027, 1, 29), reason=reason)
    with session_scope(year_2026) as session:
        assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == 0
        assert session.exec(select(func.count()).select_from(DomainEvent).where(
            col(DomainEvent.action) == "kim.deadline.extended")).one() == 0  # fmt: skip
        assert {d.due_revision for d in session.exec(select(Deliverable))} == {0}
