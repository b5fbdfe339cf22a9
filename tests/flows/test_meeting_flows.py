"""The meeting flows on the Prefect test server, with a real database and a real SMTP sink.

The flows read the clock (``utc_now``), so the meetings here lie relative to the real date.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlmodel import col, select

from flows.meetings import (
    Attendance,
    NewMeeting,
    meeting_add,
    meeting_attendance,
    meeting_cancel,
    meeting_move,
    meeting_notify,
    meeting_reminders,
)
from kim_workflow.core.domain import MeetingType
from kim_workflow.core.meetings import MeetingDraft, MeetingInputError
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.models import DomainEvent, Meeting
from kim_workflow.orchestration.events import to_prefect_event
from kim_workflow.services import meetings as service
from kim_workflow.services import registry
from kim_workflow.settings import load_settings
from tests.support.smtp import SmtpServer

BERLIN = ZoneInfo("Europe/Berlin")
REAL_NOW = datetime.now(UTC)
MAINZ, KOBLENZ = "07315000", "07111000"
CONTACTS = f"""ags,name,email,role
{MAINZ},Frau Anna Berg,im@mainz.example,integration_manager
{KOBLENZ},Herr Tom Kern,im@koblenz.example,integration_manager
,DBKI Geschäftsstelle,dbki@dbki.example,dbki
"""


@pytest.fixture
def meeting_env(kim_flow_env: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("KIM_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("KIM_SMTP_PORT", str(smtp_server.port))
    with session_scope(make_engine(kim_flow_env)) as session:
        registry.seed_kommunen(session, now=REAL_NOW)
        registry.import_contacts(session, CONTACTS, now=REAL_NOW, actor="t")
    return kim_flow_env


def local(days: int, hour: int = 10) -> datetime:
    """``days`` from today at ``hour`` o'clock, Europe/Berlin, without a zone (as entered in the UI)."""
    return datetime.combine(REAL_NOW.astimezone(BERLIN).date() + timedelta(days=days), time(hour))


def new_meeting(**overrides: Any) -> NewMeeting:
    values: dict[str, Any] = {"type": MeetingType.FACHVERANSTALTUNG, "title": "Fachtag Ehrenamt",
                              "start": local(20), "end": local(20, 16), "location": "Mainz"}  # fmt: skip
    return NewMeeting(**{**values, **overrides})


def methods(smtp_server: SmtpServer, address: str) -> list[tuple[str, int]]:
    result = []
    for mail in smtp_server.handler.by_recipient()[address]:
        (part,) = [p for p in mail.message.walk() if p.get_content_type() == "text/calendar"]
        calendar = Calendar.from_ical(part.get_payload(decode=True))
        result.append((str(calendar["METHOD"]), int(calendar.walk("VEVENT")[0]["SEQUENCE"])))
    return result


async def artifact(key: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        found = await client.read_latest_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return found[0]


def test_add_move_cancel_each_notified_once_by_the_notify_flow(meeting_env: str, smtp_server: SmtpServer) -> None:
    added = meeting_add(new_meeting(kommunen=[MAINZ]), actor="test")
    meeting_id = added.meeting_id
    with session_scope(make_engine(meeting_env)) as session:
        events = session.exec(select(DomainEvent).where(col(DomainEvent.subject_type) == "meeting")).all()
        assert [(e.action, e.published_at is not None) for e in events] == [("kim.meeting.scheduled", True)]
    for _ in range(2):
        result = meeting_notify(meeting_id)
    assert result.queued == 0 and result.dispatch is not None and result.dispatch.sent == 0
    meeting_move(meeting_id, local(21), local(21, 14), actor="test")
    meeting_notify(meeting_id)
    meeting_cancel(meeting_id, "Krankheit", actor="test")
    meeting_notify(meeting_id)
    assert set(smtp_server.handler.by_recipient()) == {"im@mainz.example", "dbki@dbki.example"}
    assert methods(smtp_server, "im@mainz.example") == [("REQUEST", 0), ("REQUEST", 1), ("CANCEL", 2)]
    markdown = asyncio.run(artifact(f"kim-meetings-{added.year}")).data
    assert "Fachveranstaltung: Fachtag Ehrenamt" in markdown and "| abgesagt | 2 | 0 |" in markdown


def test_bad_input_fails_the_run_and_stores_nothing(meeting_env: str) -> None:
    with pytest.raises(MeetingInputError, match="Steuerzeichen"):
        meeting_add(new_meeting(title="Fachtag\r\nBcc: alle@example.org"), actor="test")
    with session_scope(make_engine(meeting_env)) as session:
        assert session.exec(select(Meeting)).all() == []


def test_reminders_flow_sends_the_due_stage_once(meeting_env: str, smtp_server: SmtpServer) -> None:
    added = meeting_add(new_meeting(), actor="test")
    meeting_notify(added.meeting_id)
    meeting_day = local(20).date()
    first = meeting_reminders(today=meeting_day)
    assert first.dispatch is not None and (first.queued, first.dispatch.sent) == (3, 3)
    again = meeting_reminders(today=meeting_day)
    assert again.dispatch is not None and (again.planned, again.dispatch.sent) == (0, 0)
    subjects = [m.message["Subject"] for m in smtp_server.handler.by_recipient()["im@koblenz.example"]]
    assert [s.split(":")[0] for s in subjects] == ["Einladung", "Erinnerung"]


def test_attendance_flow_records_kommunen_and_sends_the_minutes_link(meeting_env: str) -> None:
    engine, settings = make_engine(meeting_env), load_settings()
    start = REAL_NOW - timedelta(days=3)
    draft = MeetingDraft(MeetingType.ARBEITSTREFFEN, "Arbeitstreffen", start, start + timedelta(hours=3), "Mainz")
    with session_scope(engine) as session:
        meeting_id = service.add_meeting(session, settings, draft=draft, now=start - timedelta(days=30), actor="t").id
    assert meeting_id is not None
    attendance = Attendance(meeting_id=meeting_id, present=[MAINZ], absent=[KOBLENZ], minutes="https://cloud.example/p")
    result = meeting_attendance(attendance, actor="test")
    assert (result.present, result.recorded, result.minutes_queued) == (1, 2, 3)


def test_the_trigger_template_passes_the_meeting_id_as_an_int(meeting_env: str) -> None:
    """What prefect.yaml's ``meeting_id: "{{ event.payload.meeting_id }}"`` renders to, and that the spec loads."""
    from prefect.server.events.actions import RunDeployment
    from prefect.utilities.schema_tools.hydration import HydrationContext, hydrate

    from kim_workflow.orchestration.deployments import DeploymentSpec, to_runner_deployment

    meeting_id = meeting_add(new_meeting(), actor="test").meeting_id
    with session_scope(make_engine(meeting_env)) as session:
        row = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.meeting.scheduled")).one()
    parameters: dict[str, Any] = {"meeting_id": "{{ event.payload.meeting_id }}"}
    RunDeployment._upgrade_v1_templates(parameters)
    context = HydrationContext(render_jinja=True, raise_on_error=True, jinja_context={"event": to_prefect_event(row)})
    assert hydrate(parameters, context) == {"meeting_id": meeting_id}
    trigger = {"type": "event", "enabled": True, "match": {"prefect.resource.id": "kim.meeting.*"},
               "expect": [f"kim.meeting.{a}" for a in ("scheduled", "rescheduled", "cancelled", "minutes_attached")],
               "parameters": {"meeting_id": "{{ event.payload.meeting_id }}"}}  # fmt: skip
    spec = DeploymentSpec("meeting-notify", "flows/meetings.py:meeting_notify", triggers=[trigger])
    deployment = to_runner_deployment(spec, Path(__file__).resolve().parents[2])
    assert deployment.triggers[0].expect == set(trigger["expect"])
