"""Operator alerts: one German email per incident through the outbox, to the operators' address."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from kim_workflow.core.alerts import Incident, RunFacts, flow_run_id_of, incident_id, state_label
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import DomainEvent
from kim_workflow.services.delivery_problems import dispatch_and_report
from kim_workflow.services.operator_alerts import queue_operator_alert
from kim_workflow.settings import Settings
from tests.support.smtp import SmtpServer

NOW = datetime(2026, 12, 1, 8, 1, tzinfo=UTC)  # 09:01 in Berlin
CRASHED = RunFacts(
    flow_run_id="0b6c7e1a-3f52-4c0e-9d8e-1a2b3c4d5e6f", run_name="gelassener-biber", deployment="daily-sweep",
    state_name="Crashed", state_message="Kein Heartbeat mehr", run_count=1, ui_url="http://prefect:4200/runs/x",
)  # fmt: skip


def queue(engine: Engine, settings: Settings, incident: Incident, now: datetime, run: RunFacts | None = None) -> bool:
    with session_scope(engine) as session:
        return queue_operator_alert(session, settings, incident=incident, now=now, run=run).queued


@pytest.mark.parametrize(
    ("first", "second", "same_incident"),
    [
        (NOW, NOW + timedelta(minutes=5), True),  # the automation fired twice the same morning
        (NOW, NOW.replace(hour=22, minute=59), True),  # 23:59 in Berlin: still the same day
        (NOW, NOW.replace(hour=23, minute=0), False),  # 00:00 in Berlin: the next day's incident
    ],
)
def test_missed_sweep_is_one_email_per_day(
    engine: Engine, settings: Settings, first: datetime, second: datetime, same_incident: bool
) -> None:
    assert queue(engine, settings, Incident.MISSED_SWEEP, first) is True
    assert queue(engine, settings, Incident.MISSED_SWEEP, second) is (not same_incident)


def test_run_failed_is_one_email_per_run_state_and_attempt(engine: Engine, settings: Settings) -> None:
    assert queue(engine, settings, Incident.RUN_FAILED, NOW, CRASHED) is True
    assert queue(engine, settings, Incident.RUN_FAILED, NOW + timedelta(seconds=3), CRASHED) is False
    assert queue(engine, settings, Incident.RUN_FAILED, NOW, replace(CRASHED, run_count=2)) is True  # the re-run
    assert queue(engine, settings, Incident.RUN_FAILED, NOW, replace(CRASHED, state_name="Failed")) is True


def test_the_alert_reaches_the_operators_in_german(engine: Engine, settings: Settings, smtp_server: SmtpServer) -> None:
    settings = settings.model_copy(update={"operator_alert_address": "betrieb@lbm.rlp.example"})
    queue(engine, settings, Incident.RUN_FAILED, NOW, CRASHED)
    queue(engine, settings, Incident.MISSED_SWEEP, NOW)
    assert dispatch_and_report(engine, settings, now=NOW).report.sent == 2
    received = {r.message["Subject"]: r for r in smtp_server.handler.received}
    assert set(received) == {
        "Warnung: Lauf von daily-sweep abgestürzt",
        "Warnung: Die tägliche Erinnerungsrunde (daily-sweep) ist ausgeblieben",
    }
    crash = received["Warnung: Lauf von daily-sweep abgestürzt"]
    assert crash.rcpt_tos == ["betrieb@lbm.rlp.example"]
    text = crash.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "ein Lauf von kim-workflow ist abgestürzt (festgestellt Dienstag, 1. Dezember 2026, 09:01 Uhr)" in text
    assert "gelassener-biber" in text and "http://prefect:4200/runs/x" in text
    with Session(engine) as session:
        events = list(session.exec(select(DomainEvent).where(DomainEvent.action == "kim.operator_alert.queued")))
    assert sorted(e.payload["incident"] for e in events) == ["missed_sweep", "run_failed"]


def test_without_an_operator_address_the_ministry_gets_it(engine: Engine, settings: Settings) -> None:
    from kim_workflow.db.models import OutboxMessage

    queue(engine, settings, Incident.MISSED_SWEEP, NOW)
    with Session(engine) as session:
        [row] = session.exec(select(OutboxMessage)).all()
    assert row.recipient == settings.ministry_escalation_address
    assert row.idempotency_key == "operator_alert|alert:missed_sweep|incident:missed_sweep:2026-12-01|to:" + (
        settings.ministry_escalation_address
    )


@pytest.mark.parametrize(
    ("state", "label"), [("Crashed", "abgestürzt"), ("Failed", "fehlgeschlagen"), ("Odd", "Odd"), (None, None)]
)
def test_state_labels(state: str | None, label: str | None) -> None:
    assert state_label(state) == label


def test_incident_ids_and_resource_ids() -> None:
    assert flow_run_id_of("prefect.flow-run.abc") == "abc" and flow_run_id_of("abc") == "abc"
    day = NOW.date()
    assert incident_id(Incident.MISSED_SWEEP, day=day) == "missed_sweep:2026-12-01"
    assert incident_id(Incident.RUN_FAILED, day=day, run=CRASHED) == f"run_failed:{CRASHED.flow_run_id}:Crashed:1"
