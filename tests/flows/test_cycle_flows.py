"""The cycle's flows on the Prefect test server, with a real database and a real SMTP sink."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from flows.cycle_admin import Extension, Submission, extend_deadline, open_cycle, record_submission, submission_received
from flows.daily_sweep import daily_sweep
from kim_workflow.core.domain import DeliverableKind, OutboxStatus
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.models import OutboxMessage
from kim_workflow.services import registry
from tests.support.obligations import write_all_active
from tests.support.smtp import SmtpServer

NOW = datetime(2026, 10, 1, tzinfo=UTC)
MAINZ = "07315000"


@pytest.fixture
def year_env(kim_flow_env: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> str:
    return open_year_2026(kim_flow_env, smtp_server, monkeypatch)


def open_year_2026(kim_flow_env: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """36 Kommunen with an integration manager each, 2026 opened through the flow, SMTP at ``smtp_server``."""
    monkeypatch.setenv("KIM_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("KIM_SMTP_PORT", str(smtp_server.port))
    engine = make_engine(kim_flow_env)
    contacts = "ags,name,email,role\n" + "".join(
        f"{k.ags},IM {k.name},im{k.ags}@kommune.example,integration_manager\n" for k in registry.reference_kommunen()
    )
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        registry.import_contacts(session, contacts, now=NOW, actor="t")
    write_all_active(Path(os.environ["KIM_DATA_DIR"]) / "policies")  # a year without applications: all 36 owe
    open_cycle(year=2026, actor="test")
    return kim_flow_env


async def artifact(key: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        found = await client.read_latest_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return found[0]


def test_daily_sweep_sends_each_reminder_once_and_publishes_the_status(year_env: str, smtp_server: SmtpServer) -> None:
    summaries = daily_sweep(today=date(2026, 11, 3))
    assert summaries[0].queued == 36 and summaries[0].stages == ["reminder-42"]
    assert len(smtp_server.handler.received) == 36
    again = daily_sweep(today=date(2026, 11, 3))
    assert again[0].queued == 0
    assert len(smtp_server.handler.received) == 36
    status = asyncio.run(artifact("kim-status-2026"))
    rows = json.loads(status.data) if isinstance(status.data, str) else status.data
    assert len(rows) == 36
    assert "Erinnerung am" in str(status.data)
    assert f"/ministerium/jahr/2026/kommune/{MAINZ}" in str(status.data)  # each row links to the portal page


def test_recording_a_submission_queues_the_confirmation_and_the_triggered_flow_sends_it(
    year_env: str, smtp_server: SmtpServer
) -> None:
    result = record_submission(
        Submission(ags=MAINZ, year=2026, kind=DeliverableKind.ANNUAL_REPORT, received_on=date(2026, 11, 20)),
        actor="test",
    )
    assert result.newly_recorded is True and result.late is False
    with session_scope(make_engine(year_env)) as session:
        queued = session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "submission_confirmation")).one()
        assert queued.status is OutboxStatus.PENDING and queued.recipient == f"im{MAINZ}@kommune.example"
    submission_received(year=2026)
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [[f"im{MAINZ}@kommune.example"]]
    again = record_submission(
        Submission(ags=MAINZ, year=2026, kind=DeliverableKind.ANNUAL_REPORT, received_on=date(2026, 11, 21)),
        actor="test",
    )
    assert again.newly_recorded is False
    submission_received(year=2026)
    assert len(smtp_server.handler.received) == 1


def test_an_early_receipt_is_remarked_and_an_extension_sends_the_kommune_its_notice_once(
    year_env: str, smtp_server: SmtpServer
) -> None:
    early = record_submission(
        Submission(ags=MAINZ, year=2026, kind=DeliverableKind.ANNUAL_REPORT, received_on=date(2026, 11, 20)),
        actor="test",
    )
    assert early.remark is not None and "regulär werden die Unterlagen ab dem 01.12.2026" in early.remark
    extension = Extension(ags=MAINZ, year=2026, until=date(2027, 1, 29), reason="Elternzeit der Integrationsmanagerin")
    assert extend_deadline(extension, actor="test") == ["questionnaire"]
    assert extend_deadline(extension, actor="test") == []
    submission_received(year=2026)
    subjects = [str(r.message["Subject"]) for r in smtp_server.handler.received]
    assert len(subjects) == 2 and subjects[1] == "Frist verlängert: Fragebogen 2026 fällig am 29.01.2027"


def test_bad_submission_fails_the_run_visibly_and_stores_nothing(year_env: str) -> None:
    from kim_workflow.services.errors import UseCaseError

    with pytest.raises(UseCaseError, match="Unbekannter AGS"):
        record_submission(
            Submission(ags="99999999", year=2026, kind=DeliverableKind.QUESTIONNAIRE, received_on=date(2026, 11, 2)),
            actor="test",
        )
    with session_scope(make_engine(year_env)) as session:
        assert session.exec(select(OutboxMessage)).all() == []


def test_an_email_that_bounces_fails_the_run_lists_it_and_tells_the_ministry_once(
    year_env: str, smtp_server: SmtpServer
) -> None:
    bounced = f"im{MAINZ}@kommune.example"
    smtp_server.handler.behaviour.reject_rcpt_550.add(bounced)
    record_submission(
        Submission(ags=MAINZ, year=2026, kind=DeliverableKind.ANNUAL_REPORT, received_on=date(2026, 11, 20)),
        actor="test",
    )
    state = submission_received(year=2026, return_state=True)
    assert state.is_failed() and "1 E-Mail(s) nicht zugestellt" in (state.message or "")
    [notice] = [r for r in smtp_server.handler.received if r.message["Subject"].startswith("Zustellung fehlgeschlagen")]
    assert notice.rcpt_tos == ["integration@mffki.rlp.de"]
    body = notice.message.get_body(("plain",)).get_content()
    assert bounced in body and "550" in body and "Eingangsbestätigung" in body
    table = asyncio.run(artifact("kim-outbox-failed"))
    rows = json.loads(table.data)
    assert [(r["Art"], r["Status"]) for r in rows] == [("submission_confirmation", "fehlgeschlagen")]
    with session_scope(make_engine(year_env)) as session:
        failed = session.exec(select(OutboxMessage).where(col(OutboxMessage.status) == OutboxStatus.FAILED)).one()
        assert failed.problem_reported_at is not None
    again = submission_received(year=2026, return_state=True)  # nothing new: a green run, no second notice
    assert again.is_completed()
    assert len([r for r in smtp_server.handler.received if "Zustellung" in r.message["Subject"]]) == 1


def test_a_broken_policy_file_fails_the_sweep_at_once_with_the_german_reason(
    year_env: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    policies = tmp_path / "data" / "policies"
    policies.mkdir(parents=True, exist_ok=True)
    (policies / "2026.toml").write_text('[funding]\nmax_fte = "eins"\n', encoding="utf-8")
    started = time.monotonic()
    state = daily_sweep(today=date(2026, 11, 3), return_state=True)
    assert time.monotonic() - started < 5, "a broken policy must not be retried"
    assert state.is_failed()
    assert "Fehlerhafte Richtlinie" in (state.message or "") and "Schlüssel max_fte" in (state.message or "")
    assert smtp_server.handler.received == []
    with session_scope(make_engine(year_env)) as session:
        assert session.exec(select(OutboxMessage)).all() == []
