"""Receipt dates as the seed says ("im Dezember eines Jahres"): through the use case, the event and real SMTP."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select
from typer.testing import CliRunner

from kim_workflow.app import simulated_time
from kim_workflow.cli import app
from kim_workflow.core.domain import DeliverableKind
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Cycle, Deliverable, DomainEvent, OutboxMessage
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.notifications import record_submission_and_confirm
from kim_workflow.settings import Settings
from tests.support.obligations import all_active_policy
from tests.support.smtp import SmtpServer

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
MAINZ = "07315000"
CONTACTS = "ags,name,email,role,anrede,titel\n07315000,Anna Müller,a@mainz.de,integration_manager,Frau,\n"
REMARK = "Vorzeitig eingegangen am 30.11.2026"


@pytest.fixture
def year_2026(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        registry.import_contacts(session, CONTACTS, now=NOW, actor="t")
        open_cycle(session, policy=all_active_policy(2026), now=NOW, actor="t")
    return engine


def record(engine: Engine, settings: Settings, received: date, today: date) -> tuple[bool, str | None]:
    with session_scope(engine) as session:
        outcome = record_submission_and_confirm(
            session, settings, ags=MAINZ, year=2026, kind=DeliverableKind.ANNUAL_REPORT, received_on=received,
            today=today, now=NOW, actor="t",
        )  # fmt: skip
    return outcome.late, outcome.remark


@pytest.mark.parametrize(
    ("received", "today", "late", "remarked"),
    [
        (date(2026, 11, 30), date(2026, 12, 1), False, True),
        (date(2026, 12, 1), date(2026, 12, 1), False, False),
        (date(2026, 12, 15), date(2026, 12, 15), False, False),
        (date(2026, 12, 16), date(2026, 12, 16), True, False),
        (date(2027, 1, 20), date(2027, 2, 1), True, False),  # in the next year, not after today: late
    ],
)
def test_an_accepted_receipt_is_late_or_remarked_in_outcome_event_and_email(
    year_2026: Engine, settings: Settings, smtp_server: SmtpServer, received: date, today: date, late: bool,
    remarked: bool,
) -> None:  # fmt: skip
    outcome_late, remark = record(year_2026, settings, received, today)
    assert (outcome_late, remark is not None) == (late, remarked)
    with session_scope(year_2026) as session:
        (event,) = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.submission.received"))
    assert (event.payload["late"], event.payload["remark"]) == (late, remark)
    assert dispatch_sync(year_2026, settings, now=NOW).sent == 1
    (received_mail,) = smtp_server.handler.by_recipient()["a@mainz.de"]
    body = received_mail.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert (REMARK in text, "nach Ablauf der Frist" in text) == (remarked, late)
    if remarked:
        assert f"Hinweis: {remark}" in text


@pytest.mark.parametrize(
    ("received", "today", "message"),
    [
        (date(2025, 12, 31), date(2026, 12, 1), "vor dem Förderjahr 2026"),
        (date(2026, 12, 2), date(2026, 12, 1), "in der Zukunft"),  # tomorrow
        (date(2027, 1, 5), date(2026, 12, 20), "in der Zukunft"),  # in the next year, after today
    ],
)
def test_a_receipt_before_the_year_or_after_today_is_refused_and_nothing_stored(
    year_2026: Engine, settings: Settings, received: date, today: date, message: str
) -> None:
    with pytest.raises(UseCaseError, match=message):
        record(year_2026, settings, received, today)
    with session_scope(year_2026) as session:
        received_count = session.exec(
            select(func.count()).select_from(Deliverable).where(col(Deliverable.received_on).is_not(None))
        ).one()
        assert received_count == 0
        assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == 0
        events = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.submission.received")).all()
        assert events == []


def test_the_regular_start_comes_from_the_years_policy(year_2026: Engine, settings: Settings) -> None:
    with session_scope(year_2026) as session:
        cycle = session.exec(select(Cycle)).one()
        cycle.policy = {**cycle.policy, "report": {**cycle.policy["report"], "regular_receipt_from": "--11-15"}}
    assert record(year_2026, settings, date(2026, 11, 20), date(2026, 12, 1)) == (False, None)


def test_the_cli_shows_the_remark_and_refuses_a_date_before_the_year(
    year_2026: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIM_DATABASE_URL", database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    record = ["submission", "record", "--ags", MAINZ, "--year", "2026", "--kind", "annual_report", "--received-on"]
    with simulated_time(NOW):
        before = CliRunner().invoke(app, [*record, "2025-12-31"])
        early = CliRunner().invoke(app, [*record, "2026-11-30"])
    assert before.exit_code == 2 and "liegt vor dem Förderjahr 2026" in " ".join(before.output.split())
    output = " ".join(early.output.split())
    assert early.exit_code == 0 and "erfasst (fristgerecht)" in output, output
    assert f"Vermerk: {REMARK}" in output
