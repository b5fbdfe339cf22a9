"""Malformed input at every entry point (hypothesis, 500 cases each): a clear error or safe storage, never a crash.

Each property test uses one seeded database; every example runs in a session that is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from kim_workflow.cli import app
from kim_workflow.core.contacts import ContactFileError
from kim_workflow.core.domain import DeliverableKind, MeetingType
from kim_workflow.core.meetings import MeetingDraft
from kim_workflow.core.validation import InvalidValueError
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Contact, Deliverable, DomainEvent, Meeting, OutboxMessage
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.meeting_notifications import notify_meeting
from kim_workflow.services.meetings import add_meeting
from kim_workflow.services.notifications import record_submission_and_confirm
from kim_workflow.services.policies import load_policy
from kim_workflow.settings import Settings

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
MAINZ = "07315000"
MANY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NASTY = ["\r\n", "\n", "\r", "\x00", "{{ 7*7 }}", "{% raw %}", "<script>alert(1)</script>", "Bcc: x@evil.example",
         "ä", "'", '"', ",", ";", " ", "x" * 5000]  # fmt: skip
MARKERS = ["{{ 7*7 }}", "<script>alert(1)</script>", "{% if 1 %}ja{% endif %}", "${7*7}"]
nasty_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=30)), max_size=6).map("".join)
TABLES = (Contact, Deliverable, OutboxMessage, DomainEvent, Meeting)
CONTROL = ("\r", "\n", "\x00")


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """36 Kommunen, an integration manager in Mainz, DBKI and ministry, year 2026 open."""
    contacts = ("ags,name,email,role\n" f"{MAINZ},IM Mainz,im@mainz.example,integration_manager\n"
                ",DBKI,dbki@dbki.example,dbki\n,Referat,referat@mffki.example,ministry\n")  # fmt: skip
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        assert registry.import_contacts(session, contacts, now=NOW, actor="t").ok
        open_cycle(session, policy=load_policy(2026), now=NOW, actor="t")
    return engine


def counts(session: Session) -> tuple[int, ...]:
    session.flush()
    return tuple(session.exec(select(func.count()).select_from(table)).one() for table in TABLES)


def rolled_back(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


def clean(value: str) -> bool:
    return not any(c in value for c in CONTROL)


csv_row = st.tuples(
    st.one_of(st.just(MAINZ), st.just(""), nasty_text),
    nasty_text,
    st.one_of(st.just("a@b.example"), nasty_text.map(lambda t: f"{t}@x.example"), nasty_text),
    st.one_of(st.sampled_from(["integration_manager", "deputy", "dbki"]), nasty_text),
)


@MANY
@given(rows=st.lists(csv_row, max_size=4), header=st.sampled_from(["ags,name,email,role", "ags,name", ""]))
def test_contact_import_reports_or_stores_safely(seeded: Engine, rows: list[tuple[str, ...]], header: str) -> None:
    text = header + "\n" + "\n".join(",".join(row) for row in rows)
    for session in rolled_back(seeded):
        before = counts(session)
        try:
            result = registry.import_contacts(session, text, now=NOW, actor="t")
        except ContactFileError as exc:  # a broken file as a whole: one clear German error
            assert str(exc) and counts(session) == before
            continue
        after = counts(session)
        if not result.ok:
            assert after == before and all(e.message for e in result.errors)
            continue
        for contact in session.exec(select(Contact)):
            assert clean(contact.name) and clean(contact.email) and "," not in contact.email


@MANY
@given(
    ags=st.one_of(st.just(MAINZ), nasty_text),
    year=st.one_of(st.just(2026), st.just(2025), st.integers(min_value=-(10**6), max_value=10**6)),
    kind=st.sampled_from(list(DeliverableKind)),
    received=st.dates(),
    today=st.dates(min_value=date(2000, 1, 1)),
)
def test_submission_record_gives_a_clear_error_or_records(
    seeded: Engine, settings: Settings, ags: str, year: int, kind: DeliverableKind, received: date, today: date
) -> None:
    for session in rolled_back(seeded):
        before = counts(session)
        try:
            record_submission_and_confirm(session, settings, ags=ags, year=year, kind=kind, received_on=received,
                                          today=today, now=NOW, actor="t")  # fmt: skip
        except (UseCaseError, InvalidValueError) as exc:
            assert str(exc) and counts(session) == before
            continue
        assert (ags, year) == (MAINZ, 2026) and received <= today


@MANY
@given(
    title=nasty_text,
    location=st.one_of(st.none(), nasty_text),
    link=st.one_of(st.none(), st.just("https://meet.example/kim"), nasty_text),
    agenda=st.one_of(st.none(), nasty_text),
    marker=st.sampled_from(MARKERS),
    hours=st.integers(min_value=-48, max_value=48),
    length=st.integers(min_value=-3, max_value=30),
)
def test_meeting_entries_are_refused_or_rendered_literally(
    seeded: Engine, settings: Settings, title: str, location: str | None, link: str | None, agenda: str | None,
    marker: str, hours: int, length: int,
) -> None:  # fmt: skip
    start = NOW + timedelta(hours=hours)
    draft = MeetingDraft(
        type=MeetingType.OTHER, title=f"Treffen {title} {marker}", start=start, end=start + timedelta(hours=length),
        location=location, video_link=link, agenda=agenda,
    )  # fmt: skip
    for session in rolled_back(seeded):
        before = counts(session)
        try:
            meeting = add_meeting(session, settings, draft=draft, now=NOW, actor="t", kommunen=[MAINZ])
        except (UseCaseError, InvalidValueError) as exc:
            assert str(exc) and counts(session) == before
            continue
        notify_meeting(session, settings, meeting_id=meeting.id or 0, now=NOW)
        for email in session.exec(select(OutboxMessage)):
            assert clean(email.subject) and clean(email.recipient)
            assert "49" not in email.subject.replace(title, "") or "49" in marker
            assert "<script>" not in email.html_body
            if marker == "{{ 7*7 }}":
                assert marker in email.text_body


runner = CliRunner()
cli_text = st.one_of(nasty_text, st.sampled_from(["07315000", "2026-11-01", "2026", "-1", "1e9", "--help"]))


@MANY
@given(ags=cli_text, year=cli_text, received=cli_text)
def test_cli_submission_record_never_crashes(
    seeded: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object, ags: str, year: str,
    received: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("KIM_DATABASE_URL", database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(tmp_path))
    with session_scope(seeded) as session:
        before = counts(session)
    args = ["submission", "record", "--ags", ags, "--year", year, "--kind", "annual_report", "--received-on", received]
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    with session_scope(seeded) as session:
        after = counts(session)
    if result.exit_code != 0:
        assert after == before
        return
    with session_scope(seeded) as session:  # undo a successful record for the next example
        for deliverable in session.exec(select(Deliverable)):
            deliverable.received_on = None
