"""The daily sweep against a real database: planning, keys, catch-up, extensions, dry runs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.core.domain import DeliverableKind
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import OutboxMessage, ReminderLog
from kim_workflow.db.reminder_log import ReminderScope, log_row, record_stages
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.submissions import extend_deadline, record_submission
from kim_workflow.services.sweep import sweep_day
from kim_workflow.settings import Settings
from tests.support.obligations import all_active_policy

NOW = datetime(2026, 10, 1, 6, tzinfo=UTC)
MAINZ, KOBLENZ, KUSEL = "07315000", "07111000", "07336000"


@pytest.fixture
def cycle(engine: Engine, settings: Settings) -> Engine:
    agss = [k.ags for k in registry.reference_kommunen() if k.ags != KUSEL]
    contacts = "ags,name,email,role\n" + "".join(
        f"{ags},Frau IM {ags},im{ags}@kommune.example,integration_manager\n"
        f"{ags},Herr Vertretung {ags},vertretung{ags}@kommune.example,deputy\n"
        for ags in agss
    )
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        assert registry.import_contacts(session, contacts, now=NOW, actor="t").ok
        open_cycle(session, policy=all_active_policy(2026), now=NOW, actor="t")
    return engine


def sweep(engine: Engine, settings: Settings, day: date, dry_run: bool = False) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        before = {m.id for m in session.exec(select(OutboxMessage))}
        results = sweep_day(session, settings, today=day, now=NOW, dry_run=dry_run)
        assert [r.year for r in results] == [2026]
    with session_scope(engine) as session:
        return [m for m in session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))) if m.id not in before]


def test_first_reminder_goes_to_every_kommune_with_a_contact_deputy_in_cc(cycle: Engine, settings: Settings) -> None:
    with session_scope(cycle) as session:
        plan = sweep_day(session, settings, today=date(2026, 11, 3), now=NOW, dry_run=True)[0]
    assert plan.without_contact == [f"{KUSEL} Kusel"]
    messages = sweep(cycle, settings, date(2026, 11, 3))
    assert len(messages) == 35
    mainz = next(m for m in messages if m.recipient == f"im{MAINZ}@kommune.example")
    assert mainz.cc == [f"vertretung{MAINZ}@kommune.example"]
    assert mainz.kind == "deliverable_reminder"
    assert mainz.idempotency_key == (
        f"deliverable_reminder|kommune:{MAINZ}:year:2026|stage:reminder-42|due:2026-12-15|to:kommune:{MAINZ}"
    )
    assert "Jahresbericht" in mainz.text_body and "Fragebogen" in mainz.text_body
    assert mainz.attachments[0]["filename"] == "abgabefrist.ics"


def test_same_day_twice_and_days_between_stages_queue_nothing_new(cycle: Engine, settings: Settings) -> None:
    assert len(sweep(cycle, settings, date(2026, 11, 3))) == 35
    assert sweep(cycle, settings, date(2026, 11, 3)) == []
    assert sweep(cycle, settings, date(2026, 11, 20)) == []


def test_dry_run_changes_nothing(cycle: Engine, settings: Settings) -> None:
    assert sweep(cycle, settings, date(2026, 11, 3), dry_run=True) == []
    assert len(sweep(cycle, settings, date(2026, 11, 3))) == 35


def test_catch_up_after_a_gap_sends_only_the_latest_stage(cycle: Engine, settings: Settings) -> None:
    messages = sweep(cycle, settings, date(2026, 12, 12))  # 42- and 14-day stages missed, 3-day stage (11.12.) due
    assert len(messages) == 35
    assert {m.idempotency_key.split("|")[2] for m in messages} == {"stage:reminder-3"}


def test_delivered_kommunen_are_left_alone_and_partial_ones_get_the_rest(cycle: Engine, settings: Settings) -> None:
    with session_scope(cycle) as session:
        for kind in DeliverableKind:
            record_submission(session, ags=MAINZ, year=2026, kind=kind, received_on=date(2026, 12, 1),
                              today=date(2026, 12, 1), now=NOW, actor="t")  # fmt: skip
        record_submission(session, ags=KOBLENZ, year=2026, kind=DeliverableKind.ANNUAL_REPORT,
                          received_on=date(2026, 12, 1), today=date(2026, 12, 1), now=NOW, actor="t")  # fmt: skip
    messages = sweep(cycle, settings, date(2026, 12, 16))
    recipients = {m.recipient: m for m in messages}
    assert f"im{MAINZ}@kommune.example" not in recipients
    koblenz = recipients[f"im{KOBLENZ}@kommune.example"]
    assert koblenz.kind == "overdue_notice" and "Fragebogen" in koblenz.text_body
    assert "Jahresbericht" not in koblenz.subject


def test_escalation_digest_goes_once_to_the_ministry_with_the_second_overdue_notice(
    cycle: Engine, settings: Settings
) -> None:
    sweep(cycle, settings, date(2026, 12, 16))
    messages = sweep(cycle, settings, date(2026, 12, 22))
    digest = [m for m in messages if m.kind == "escalation_digest"]
    assert len(digest) == 1 and digest[0].recipient == settings.ministry_escalation_address
    assert "Kusel" in digest[0].text_body and "keine aktive Ansprechperson" in digest[0].text_body
    assert sum(m.kind == "overdue_notice" for m in messages) == 35
    assert sweep(cycle, settings, date(2026, 12, 23)) == []


def test_an_extension_restarts_the_ladder_from_the_new_date(cycle: Engine, settings: Settings) -> None:
    sweep(cycle, settings, date(2026, 12, 11))
    with session_scope(cycle) as session:
        extend_deadline(session, ags=MAINZ, year=2026, until=date(2027, 1, 29), reason="Krankheit", now=NOW, actor="t")
    messages = sweep(cycle, settings, date(2026, 12, 16))
    assert f"im{MAINZ}@kommune.example" not in {m.recipient for m in messages}
    messages = sweep(cycle, settings, date(2027, 1, 15))  # 14 days before the new date
    mainz = [m for m in messages if m.recipient == f"im{MAINZ}@kommune.example"]
    assert [m.idempotency_key.split("|")[2:4] for m in mainz] == [["stage:reminder-14", "due:2027-01-29"]]
    assert "29. Januar 2027" in mainz[0].text_body


def test_a_large_reminder_log_batch_is_recorded_once(engine: Engine) -> None:
    """Above COPY_FROM_ROWS PostgreSQL takes the COPY path; a rerun with overlap adds only the new stages."""
    day, now = date(2026, 11, 3), datetime(2026, 11, 3, 6, tzinfo=UTC)
    rows = [log_row(scope=ReminderScope.DELIVERABLE, ref=f"9{i:07d}", year=2026, stage="reminder-42",
                    due=date(2026, 12, 15), today=day, now=now) for i in range(1500)]  # fmt: skip
    with session_scope(engine) as session:
        record_stages(session, rows[:1200])
        record_stages(session, rows)
    with session_scope(engine) as session:
        logged = session.exec(select(ReminderLog.ref, ReminderLog.due_date, ReminderLog.created_at)).all()
    assert len(logged) == 1500 and len({ref for ref, *_ in logged}) == 1500
    assert {(due, created) for _, due, created in logged} == {(date(2026, 12, 15), now)}
