"""No input reaches a header: generated meeting, contact, application and decision texts through the real use
cases and database; every email they queue, built by both paths, parses into exactly the headers it set."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.core.domain import ContactRole, DecisionOutcome, MeetingType
from kim_workflow.core.header_text import forbidden_in_header
from kim_workflow.core.meetings import MeetingDraft, MeetingInputError
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Application, ApplicationRevision, Contact, Decision, Kommune, OutboxMessage
from kim_workflow.email.dispatcher.outcomes import ClaimedMessage
from kim_workflow.email.dispatcher.transport import render as dispatcher_render
from kim_workflow.email.mime import Attachment, Envelope, build_message, expected_headers
from kim_workflow.services import meeting_notifications, meetings, registry
from kim_workflow.services.application_input import parse_application
from kim_workflow.services.application_intake import ApplicationRejected, submit_application
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.decisions import DecisionRequest, InvalidDecision, decide_application
from kim_workflow.services.policies import load_policy
from kim_workflow.settings import Settings

NOW = datetime(2026, 2, 10, 9, tzinfo=UTC)
INJECTION = "=?utf-8?q?X=0D=0AReply-To:_evil@evil.example=0D=0ABcc:_x@y?="
PIECES = ["\r\n", "\n", "\r", "\x00", "\u2028", "\u2029", "\x85", "\u202e", "\u2066", "\u200b", "\ufeff", "Bcc: x@y",
          "Reply-To: evil@evil.example", "=?utf-8?q?", "=?utf-8?b?", "=0D=0A", "DQo=", "?=", "ä", "„", "“", " ", ":",
          ";", '"', "<", ">", "@", "Protokoll", INJECTION]  # fmt: skip
SAFE = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp")), min_size=1, max_size=40)
RISKY = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), min_size=1, max_size=8).map("".join)
TEXT = st.one_of(SAFE, SAFE, RISKY)  # mostly accepted input (so emails get built), often an attack
DOCUMENT = {
    "year": 2026,
    "staff": [{"name": "Erika Muster", "fte": "1"}],
    "personnel_costs_eur": 60000,
    "material_costs_eur": 12000,
    "overhead_costs_eur": 0,
    "position_in_administration": True,
}


@pytest.fixture
def world(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        open_cycle(session, policy=load_policy(2026), now=NOW, actor="t")
    return engine


def _fresh_start(engine: Engine, ags: str, name: str, number: int) -> None:
    """An empty outbox, no application of ``ags`` and one active contact (name as generated) for it.

    The contact goes straight into the table: names reach only bodies, so even an unchecked name must not make a
    header."""
    with session_scope(engine) as session:
        kommune = session.exec(select(Kommune).where(col(Kommune.ags) == ags)).one()
        for model in (OutboxMessage, Decision, ApplicationRevision, Application):
            for row in session.exec(select(model)):
                session.delete(row)
            session.flush()
        for contact in session.exec(select(Contact).where(col(Contact.kommune_id) == kommune.id)):
            contact.active = False
        name = name.replace("\x00", "")[:200] or "x"  # PostgreSQL stores no NUL (the import refuses it anyway)
        session.add(Contact(kommune_id=kommune.id, name=name, email=f"im{ags}.{number}@kommune.example",
                            role=ContactRole.INTEGRATION_MANAGER, created_at=NOW, updated_at=NOW))  # fmt: skip


def _meeting(engine: Engine, settings: Settings, ags: str, title: str, location: str, folder: Path, name: str) -> None:
    start = NOW + timedelta(days=30)
    draft = MeetingDraft(type=MeetingType.ARBEITSTREFFEN, title=title, start=start, end=start + timedelta(hours=2),
                         location=location, agenda=f"1. {title}\n2. {location}")  # fmt: skip
    try:
        with session_scope(engine) as session:
            meeting_id = meetings.add_meeting(session, settings, draft=draft, now=NOW, actor="t", kommunen=[ags]).id
    except MeetingInputError:
        texts = (title.strip(), location.strip())
        assert any(forbidden_in_header(t) for t in texts) or not all(texts) or len(texts[0]) > 300
        return
    assert meeting_id is not None
    with session_scope(engine) as session:
        meeting_notifications.notify_meeting(session, settings, meeting_id=meeting_id, now=NOW)
    minutes = folder / ((name.replace("/", "_").replace("\x00", "_").strip()[:100] or "p") + ".pdf")
    minutes.write_bytes(b"%PDF-1.4")
    try:
        with session_scope(engine) as session:
            meeting_notifications.attach_minutes(session, settings, meeting_id=meeting_id, file=minutes,
                                                 now=start + timedelta(days=1), actor="t")  # fmt: skip
    except MeetingInputError:
        assert forbidden_in_header(minutes.name)
    except OSError:  # a name the file system refuses (too long in bytes)
        pass


def _application(engine: Engine, settings: Settings, ags: str, notes: str, message: str) -> None:
    try:
        application = parse_application({**DOCUMENT, "ags": ags, "notes": notes[:4000]})
        with session_scope(engine) as session:
            submit_application(session, settings, application=application, now=NOW, actor="t")
    except (ApplicationRejected, ValueError):
        return
    request = DecisionRequest(outcome=DecisionOutcome.CHANGES_REQUESTED, decided_by="Referentin", message=message)
    try:
        with session_scope(engine) as session:
            decide_application(session, settings, request=request, now=NOW, ags=ags, year=2026)
    except InvalidDecision:
        pass


def _claimed(row: OutboxMessage) -> ClaimedMessage:
    return ClaimedMessage(id=row.id or 0, kind=row.kind, subject_ref=row.subject_ref, contact_id=row.contact_id,
                          recipient=row.recipient, cc=tuple(row.cc), subject=row.subject, text_body=row.text_body,
                          html_body=row.html_body, attachments=tuple(row.attachments), message_id=row.message_id,
                          attempts=row.attempts)  # fmt: skip


def assert_exact_headers(data: bytes, envelope: Envelope) -> None:
    message: Any = message_from_bytes(data, policy=policy.default)
    assert sorted(message.keys()) == sorted(expected_headers(envelope))
    assert str(message["Subject"]) == envelope.subject and str(message["To"]) == envelope.recipient
    assert str(message["Reply-To"] or "") == (envelope.reply_to or "")
    names = [part.get_filename() for part in message.iter_attachments()]
    assert names == [a.filename for a in envelope.attachments]


_COUNTER = itertools.count()
_AGS = [k.ags for k in registry.reference_kommunen()]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=TEXT, location=TEXT, name=TEXT, notes=TEXT, message=TEXT)
def test_no_generated_text_adds_a_header_to_any_email(
    world: Engine, settings: Settings, tmp_path: Path, title: str, location: str, name: str, notes: str, message: str
) -> None:
    number = next(_COUNTER)
    ags = _AGS[number % len(_AGS)]
    _fresh_start(world, ags, name, number)
    _meeting(world, settings, ags, title, location, tmp_path, name)
    _application(world, settings, ags, notes, message)
    with session_scope(world) as session:
        queued = list(session.exec(select(OutboxMessage)))
    for row in queued:
        fast = dispatcher_render(_claimed(row), sender=settings.mail_from, reply_to=settings.mail_reply_to, date=NOW)
        envelope = Envelope(sender=settings.mail_from, recipient=row.recipient, subject=row.subject,
                            text=row.text_body, html=row.html_body, message_id=row.message_id, date=NOW,
                            reply_to=settings.mail_reply_to, cc=tuple(row.cc),
                            attachments=tuple(Attachment.from_json(a) for a in row.attachments))  # fmt: skip
        assert_exact_headers(fast, envelope)
        assert_exact_headers(build_message(envelope).as_bytes(policy=policy.SMTP), envelope)


def test_the_reported_injection_through_a_meeting_title_is_refused_at_input(world: Engine, settings: Settings) -> None:
    start = NOW + timedelta(days=30)
    draft = MeetingDraft(type=MeetingType.ARBEITSTREFFEN, title=f"Treffen {INJECTION}", start=start,
                         end=start + timedelta(hours=1), location="Mainz")  # fmt: skip
    with pytest.raises(MeetingInputError, match="kodierten Zeichenfolge"), session_scope(world) as session:
        meetings.add_meeting(session, settings, draft=draft, now=NOW, actor="t")
    with session_scope(world) as session:
        assert list(session.exec(select(OutboxMessage))) == []
