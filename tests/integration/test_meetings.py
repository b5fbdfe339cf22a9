"""Meetings against a real database and the aiosmtpd sink: invitations, updates, cancellations, reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from kim_workflow.core.domain import MeetingType
from kim_workflow.core.meetings import MeetingDraft, MeetingInputError
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import DomainEvent, Meeting, MeetingInvitee, OutboxMessage, ReminderLog
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.orchestration.events import to_prefect_event
from kim_workflow.services import meeting_notifications as notifications
from kim_workflow.services import meetings as service
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.status import status_matrix
from kim_workflow.settings import Settings
from tests.support.obligations import all_active_policy
from tests.support.smtp import Received, SmtpServer

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 5, 4, 8, tzinfo=UTC)  # Monday, 10:00 in Mainz
START = datetime(2026, 6, 10, 10, tzinfo=BERLIN)  # a Wednesday
MAINZ, KOBLENZ, TRIER = "07315000", "07111000", "07211000"
IM_MAINZ, MAILBOX_KOBLENZ, IM_TRIER = "im@mainz.example", "integration@koblenz.example", "im@trier.example"
EVERYONE = {IM_MAINZ, MAILBOX_KOBLENZ, IM_TRIER, "dbki@dbki.example", "referat@mffki.example"}
CONTACTS = f"""ags,name,email,role
{MAINZ},Frau Anna Berg,{IM_MAINZ},integration_manager
{MAINZ},Herr Vertreter,vertretung@mainz.example,deputy
{KOBLENZ},Integrationsbüro Koblenz,{MAILBOX_KOBLENZ},role_mailbox
{TRIER},Herr Tom Kern,{IM_TRIER},integration_manager
,DBKI Geschäftsstelle,dbki@dbki.example,dbki
,Referat Integration,referat@mffki.example,ministry
"""


@pytest.fixture
def registry_db(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        assert registry.import_contacts(session, CONTACTS, now=NOW, actor="t").ok
    return engine


def draft(**overrides: Any) -> MeetingDraft:
    values: dict[str, Any] = {
        "type": MeetingType.VERNETZUNGSTREFFEN,
        "title": "Vernetzungstreffen Juni",
        "start": START,
        "end": START + timedelta(hours=5),
        "location": "MFFKI Mainz",
        "agenda": "1. Begrüßung\n2. Austausch",
    }
    return MeetingDraft(**{**values, **overrides})


def add(engine: Engine, settings: Settings, now: datetime = NOW, **overrides: Any) -> int:
    kommunen = overrides.pop("kommunen", None)
    with session_scope(engine) as session:
        meeting = service.add_meeting(
            session, settings, draft=draft(**overrides), kommunen=kommunen, now=now, actor="t"
        )
        return meeting.id or 0


def notify(engine: Engine, settings: Settings, meeting_id: int, now: datetime = NOW) -> notifications.Notified:
    with session_scope(engine) as session:
        return notifications.notify_meeting(session, settings, meeting_id=meeting_id, now=now)


def send(engine: Engine, settings: Settings, now: datetime = NOW) -> None:
    report = dispatch_sync(engine, settings, now=now + timedelta(seconds=1))
    assert report.failed == report.unknown == 0


def meeting(engine: Engine, meeting_id: int) -> Meeting:
    with session_scope(engine) as session:
        found = session.get(Meeting, meeting_id)
        assert found is not None
        return found


def ics(received: Received) -> tuple[str, Any]:
    """(METHOD, VEVENT) of the one calendar attachment of an email."""
    parts = [p for p in received.message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    calendar = Calendar.from_ical(parts[0].get_payload(decode=True))
    (event,) = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), event


def count(engine: Engine, model: Any) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_invitations_one_per_invitee_with_a_parsable_ics(
    registry_db: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    meeting_id = add(registry_db, settings)
    result = notify(registry_db, settings, meeting_id)
    assert result.counts == {"meeting_invitation": 5} and result.queued == 5
    send(registry_db, settings)
    by_recipient = smtp_server.handler.by_recipient()
    assert set(by_recipient) == EVERYONE and all(len(mails) == 1 for mails in by_recipient.values())
    uid = meeting(registry_db, meeting_id).uid
    for address, (mail,) in by_recipient.items():
        method, event = ics(mail)
        assert (method, str(event["UID"]), int(event["SEQUENCE"])) == ("REQUEST", uid, 0)
        assert event.decoded("DTSTART") == START and str(event["ATTENDEE"]) == f"mailto:{address}"
        assert mail.message["Subject"].startswith("Einladung: Vernetzungstreffen")
    assert "Sehr geehrte Frau Berg," in by_recipient[IM_MAINZ][0].message.get_body(("plain",)).get_content()
    assert notify(registry_db, settings, meeting_id).queued == 0
    send(registry_db, settings)
    assert len(smtp_server.handler.received) == 5


def test_move_and_cancel_send_exactly_one_update_and_one_cancellation_per_invitee(
    registry_db: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    meeting_id = add(registry_db, settings)
    notify(registry_db, settings, meeting_id)
    with session_scope(registry_db) as session:
        moved = service.move_meeting(session, settings, meeting_id=meeting_id, start=START + timedelta(days=7),
                                     end=START + timedelta(days=7, hours=4), now=NOW, actor="t")  # fmt: skip
        assert moved.sequence == 1
    for _ in range(2):
        notify(registry_db, settings, meeting_id)
        send(registry_db, settings)
    with session_scope(registry_db) as session:
        service.cancel_meeting(session, meeting_id=meeting_id, reason="Terminüberschneidung", now=NOW, actor="t")
    for _ in range(2):
        notify(registry_db, settings, meeting_id)
        send(registry_db, settings)
    uid = meeting(registry_db, meeting_id).uid
    for mails in smtp_server.handler.by_recipient().values():
        assert [ics(m)[0] for m in mails] == ["REQUEST", "REQUEST", "CANCEL"]
        assert [int(ics(m)[1]["SEQUENCE"]) for m in mails] == [0, 1, 2]
        assert {str(ics(m)[1]["UID"]) for m in mails} == {uid}
        update, cancellation = (m.message.get_body(("plain",)).get_content() for m in mails[1:])
        assert "bisher: Mittwoch, 10. Juni 2026, 10:00–15:00 Uhr" in update
        assert "Terminüberschneidung" in cancellation and str(ics(mails[2])[1]["STATUS"]) == "CANCELLED"
    assert len(smtp_server.handler.received) == 15


def test_a_meeting_changed_before_notification_gets_invitations_and_a_cancelled_one_nothing(
    registry_db: Engine, settings: Settings
) -> None:
    moved, cancelled = add(registry_db, settings), add(registry_db, settings)
    with session_scope(registry_db) as session:
        service.move_meeting(session, settings, meeting_id=moved, start=START + timedelta(hours=1),
                             end=START + timedelta(hours=5), now=NOW, actor="t")  # fmt: skip
        service.cancel_meeting(session, meeting_id=cancelled, reason="entfällt", now=NOW, actor="t")
    assert notify(registry_db, settings, moved).counts == {"meeting_invitation": 5}
    assert notify(registry_db, settings, cancelled).counts == {}
    with session_scope(registry_db) as session:
        keys = session.exec(select(OutboxMessage.idempotency_key)).all()
    assert f"meeting_invitation|meeting:{moved}|seq:1|to:{IM_MAINZ}" in keys


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": "Treffen\r\nBcc: alle@example.org"}, "Steuerzeichen"),
        ({"end": START - timedelta(hours=1)}, "Ende des Termins"),
        ({"video_link": "javascript:alert(1)"}, "https://"),
        ({"location": "x" * 501}, "höchstens 500"),
        ({"start": NOW - timedelta(days=1), "end": NOW}, "Vergangenheit"),
        ({"kommunen": [MAINZ, "99999999"]}, "Unbekannte AGS: 99999999"),
        ({"location": None}, "Ort oder einen Videolink"),
    ],
)
def test_bad_meetings_are_refused_and_nothing_is_stored(
    registry_db: Engine, settings: Settings, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises((UseCaseError, MeetingInputError), match=message):
        add(registry_db, settings, **overrides)
    assert (count(registry_db, Meeting), count(registry_db, MeetingInvitee)) == (0, 0)
    with session_scope(registry_db) as session:
        assert session.exec(select(DomainEvent).where(col(DomainEvent.subject_type) == "meeting")).all() == []


def test_bad_moves_and_cancellations_change_nothing(registry_db: Engine, settings: Settings) -> None:
    meeting_id = add(registry_db, settings)
    attempts = [
        (lambda s: service.move_meeting(s, settings, meeting_id=meeting_id, start=START, end=START + timedelta(hours=5),
                                        now=NOW, actor="t"), "Es ändert sich nichts"),
        (lambda s: service.move_meeting(s, settings, meeting_id=999, start=START, end=START, now=NOW, actor="t"),
         "gibt es nicht"),
        (lambda s: service.cancel_meeting(s, meeting_id=meeting_id, reason=" ", now=NOW, actor="t"), "Grund"),
        (lambda s: service.cancel_meeting(s, meeting_id=meeting_id, reason="x", now=START, actor="t"), "begonnen"),
    ]  # fmt: skip
    for attempt, message in attempts:
        with pytest.raises((UseCaseError, MeetingInputError), match=message), session_scope(registry_db) as session:
            attempt(session)
    stored = meeting(registry_db, meeting_id)
    assert (stored.sequence, stored.status.value, stored.starts_at) == (0, "scheduled", START)


def test_regional_meetings_invite_the_chosen_kommunen_plus_dbki_and_ministry(
    registry_db: Engine, settings: Settings
) -> None:
    meeting_id = add(registry_db, settings, kommunen=[TRIER, KOBLENZ])
    with session_scope(registry_db) as session:
        invited = {c.email for c in notifications.invitees(session, meeting_id)}
    assert invited == EVERYONE - {IM_MAINZ}


def at(day: date) -> datetime:
    return datetime.combine(day, time(7), tzinfo=BERLIN)


def remind(engine: Engine, settings: Settings, day: date) -> list[str]:
    with session_scope(engine) as session:
        run = notifications.plan_meeting_reminders(session, settings, today=day, now=at(day))
    return sorted(f"{e.recipient}|{e.idempotency_key.split('|')[3]}" for e in run.emails if run.queued)


def test_reminders_skip_declines_and_send_each_stage_once(registry_db: Engine, settings: Settings) -> None:
    meeting_id = add(registry_db, settings)
    with session_scope(registry_db) as session:
        service.record_decline(session, meeting_id=meeting_id, email="IM@Trier.example", now=NOW, actor="t")
    with pytest.raises(UseCaseError, match="nicht eingeladen"), session_scope(registry_db) as session:
        service.record_decline(session, meeting_id=meeting_id, email="x@y.example", now=NOW, actor="t")
    assert remind(registry_db, settings, date(2026, 6, 2)) == []
    first = remind(registry_db, settings, date(2026, 6, 3))
    assert first == sorted(f"{a}|stage:reminder-7" for a in EVERYONE - {IM_TRIER})
    assert remind(registry_db, settings, date(2026, 6, 3)) == []
    assert remind(registry_db, settings, date(2026, 6, 5)) == []
    assert len(remind(registry_db, settings, date(2026, 6, 9))) == 4
    assert remind(registry_db, settings, date(2026, 6, 9)) == []
    assert count(registry_db, ReminderLog) == 8 and count(registry_db, OutboxMessage) == 8


def test_catch_up_sends_the_latest_stage_and_nothing_for_cancelled_moved_away_or_past_meetings(
    registry_db: Engine, settings: Settings
) -> None:
    late, cancelled, moved = (add(registry_db, settings) for _ in range(3))
    add(registry_db, settings, start=START - timedelta(days=2), end=START - timedelta(days=2, hours=-2))
    with session_scope(registry_db) as session:
        service.cancel_meeting(session, meeting_id=cancelled, reason="entfällt", now=NOW, actor="t")
        service.move_meeting(session, settings, meeting_id=moved, start=START + timedelta(days=14),
                             end=START + timedelta(days=14, hours=5), now=NOW, actor="t")  # fmt: skip
    sent = remind(registry_db, settings, date(2026, 6, 9))  # the 7-day stage was missed
    assert sent == sorted(f"{a}|stage:reminder-1" for a in EVERYONE)
    with session_scope(registry_db) as session:
        refs = set(session.exec(select(OutboxMessage.subject_ref)).all())
    assert refs == {f"meeting:{late}"}  # the earlier one is past by then, the others cancelled or moved
    assert len(remind(registry_db, settings, date(2026, 6, 17))) == 5  # 7 days before the moved date


def test_attendance_feeds_the_status_matrix(registry_db: Engine, settings: Settings) -> None:
    with session_scope(registry_db) as session:
        open_cycle(session, policy=all_active_policy(2026), now=NOW, actor="t")
    meeting_id = add(registry_db, settings)
    after = START + timedelta(hours=6)
    with pytest.raises(UseCaseError, match="noch nicht begonnen"), session_scope(registry_db) as session:
        service.record_attendance(session, meeting_id=meeting_id, present=[MAINZ], absent=[], now=NOW, actor="t")
    for present, absent, message in [([MAINZ], [MAINZ], "Sowohl"), ([MAINZ, "99999999"], [], "99999999"),
                                     ([], [], "mindestens")]:  # fmt: skip
        with pytest.raises(UseCaseError, match=message), session_scope(registry_db) as session:
            service.record_attendance(session, meeting_id=meeting_id, present=present, absent=absent, now=after,
                                      actor="t")  # fmt: skip
    with session_scope(registry_db) as session:
        service.record_attendance(session, meeting_id=meeting_id, present=[MAINZ, KOBLENZ], absent=[TRIER],
                                  now=after, actor="t")  # fmt: skip
        service.record_attendance(session, meeting_id=meeting_id, present=[], absent=[KOBLENZ], now=after, actor="t")
    with session_scope(registry_db) as session:
        rows = {r.ags: r.teilnahmen for r in status_matrix(session, year=2026, today=after.date())}
        (overview,) = service.overview(session, 2026)
    assert (rows[MAINZ], rows[KOBLENZ], rows[TRIER]) == (1, 0, 0)
    assert (overview.invited, overview.declined, overview.attended) == (5, 0, 1)


def test_minutes_a_file_is_attached_a_link_put_in_the_text_each_sent_once(
    registry_db: Engine, settings: Settings, tmp_path: Path
) -> None:
    meeting_id = add(registry_db, settings)
    after = START + timedelta(days=1)
    minutes_file = tmp_path / "Protokoll_2026-06-10.pdf"
    minutes_file.write_bytes(b"%PDF-1.4 minutes")

    def attach(**what: Any) -> int:
        with session_scope(registry_db) as session:
            return notifications.attach_minutes(session, settings, meeting_id=meeting_id, now=after, actor="t", **what)

    with pytest.raises(UseCaseError, match="noch nicht stattgefunden"), session_scope(registry_db) as session:
        notifications.attach_minutes(session, settings, meeting_id=meeting_id, file=minutes_file, now=NOW, actor="t")
    with pytest.raises(MeetingInputError, match="nicht lesbar"):
        attach(file=tmp_path / "fehlt.pdf")
    assert attach(file=minutes_file, summary="Nächstes Treffen im Herbst.") == 5
    assert attach(file=minutes_file) == 0
    assert attach(link="https://cloud.rlp.example/protokoll") == 5
    with session_scope(registry_db) as session:
        messages = session.exec(select(OutboxMessage).where(col(OutboxMessage.recipient) == IM_MAINZ)).all()
    with_file, with_link = messages
    assert with_file.attachments[0]["filename"] == "Protokoll_2026-06-10.pdf" and "Herbst" in with_file.text_body
    assert with_link.attachments == [] and "https://cloud.rlp.example/protokoll" in with_link.text_body
    assert meeting(registry_db, meeting_id).minutes_ref == "https://cloud.rlp.example/protokoll"


def test_series_is_idempotent_even_after_a_move(registry_db: Engine, settings: Settings) -> None:
    with session_scope(registry_db) as session:
        first = service.generate_series(session, settings, year=2026, now=NOW, actor="t")
        days = [m.starts_at.astimezone(BERLIN).date() for m in first.created]
        moved_id = first.created[0].id or 0
    assert (len(first.created), first.existing, first.past) == (6, 0, 2)
    assert date(2026, 5, 26) in days and date(2026, 3, 11) not in days
    with session_scope(registry_db) as session:
        service.move_meeting(session, settings, meeting_id=moved_id, start=START, end=START + timedelta(hours=2),
                             now=NOW, actor="t")  # fmt: skip
        again = service.generate_series(session, settings, year=2026, now=NOW, actor="t")
    assert (len(again.created), again.existing, again.past) == (0, 6, 2)
    assert count(registry_db, Meeting) == 6 and count(registry_db, MeetingInvitee) == 30


def test_domain_events_carry_the_meeting_id_for_the_trigger(registry_db: Engine, settings: Settings) -> None:
    meeting_id = add(registry_db, settings)
    with session_scope(registry_db) as session:
        service.cancel_meeting(session, meeting_id=meeting_id, reason="entfällt", now=NOW, actor="t")
        rows = session.exec(select(DomainEvent).where(col(DomainEvent.subject_type) == "meeting")).all()
    assert [r.action for r in rows] == ["kim.meeting.scheduled", "kim.meeting.cancelled"]
    for row in rows:
        event = to_prefect_event(row)
        assert event.resource.id == f"kim.meeting.{meeting_id}" and event.payload["meeting_id"] == meeting_id
        assert event.payload["year"] == 2026


def test_cli_stores_without_sending_and_notify_sends(
    registry_db: Engine, database_url: str, smtp_server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from kim_workflow.cli.meetings import meeting_app

    for name, value in {"KIM_DATABASE_URL": database_url, "KIM_DATA_DIR": str(tmp_path / "data"),
                        "KIM_SMTP_HOST": smtp_server.host, "KIM_SMTP_PORT": str(smtp_server.port)}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    day = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    runner = CliRunner()
    base = [
        "add",
        "--type",
        "arbeitstreffen",
        "--start",
        f"{day} 10:00",
        "--end",
        f"{day} 12:00",
        "--location",
        "Mainz",
    ]
    bad = runner.invoke(meeting_app, [*base, "--title", "Treffen\nBcc: x@example.org"])
    assert bad.exit_code == 2 and "Steuerzeichen" in bad.output and count(registry_db, Meeting) == 0
    wrong_time = runner.invoke(meeting_app, [*base[:3], "--start", "morgen", *base[5:], "--title", "T"])
    assert wrong_time.exit_code == 2 and "JJJJ-MM-TT HH:MM" in wrong_time.output
    added = runner.invoke(meeting_app, [*base, "--title", "Arbeitstreffen", "--kommunen", MAINZ])
    assert added.exit_code == 0, added.output
    output = " ".join(added.output.split())
    assert "Termin 1 angelegt" in output and "kim meeting notify 1" in output
    assert smtp_server.handler.received == []
    sent = runner.invoke(meeting_app, ["notify", "1"])
    assert (
        sent.exit_code == 0
        and "3 neu im Postausgang" in " ".join(sent.output.split())
        and len(smtp_server.handler.received) == 3
    )
    listed = runner.invoke(meeting_app, ["list", "--year", day[:4]])
    assert listed.exit_code == 0 and "Termine" in listed.output and "Mainz" in listed.output
