"""The ladder's database side: one query for what was sent, the "all covered" check, log and queue together."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Kommune, OutboxMessage, ReminderLog
from kim_workflow.db.reminder_log import ReminderScope
from kim_workflow.email.keys import deliverable_ref, kommune_recipient, outbox_key, stage_occasion
from kim_workflow.email.outbox import NewEmail
from kim_workflow.services import registry
from kim_workflow.services.reminder_ladder import all_covered, log_and_queue, sent_stages, stage_rows

NOW = datetime(2026, 11, 3, 6, tzinfo=UTC)
TODAY, DUE, LATER = date(2026, 11, 3), date(2026, 12, 15), date(2027, 1, 15)
MAINZ = "07315000"


def rows(scope: ReminderScope, ref: str, due: date, *stages: str, year: int = 2026) -> list[dict[str, object]]:
    return stage_rows(scope=scope, ref=ref, year=year, due=due, stages=stages, today=TODAY, now=NOW)


def email(ags: str) -> NewEmail:
    ref = deliverable_ref(ags, 2026)
    key = outbox_key("deliverable_reminder", ref, kommune_recipient(ags), stage_occasion("reminder-42", DUE))
    return NewEmail(idempotency_key=key, kind="deliverable_reminder", subject_ref=ref, recipient=f"im{ags}@k.example",
                    subject="Erinnerung", text="Text", html="<p>Text</p>")  # fmt: skip


def test_stages_are_logged_and_queued_together_once(engine: Engine) -> None:
    log = rows(ReminderScope.DELIVERABLE, MAINZ, DUE, "reminder-42")
    for expected in (1, 0):
        with session_scope(engine) as session:
            assert (
                log_and_queue(session, log_rows=log, emails=[email(MAINZ)], now=NOW, sender_domain="x.de") == expected
            )
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(ReminderLog)).one() == 1
        assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == 1


def test_one_query_reads_the_sent_stages_by_scope_year_and_due_date(engine: Engine) -> None:
    log = [
        *rows(ReminderScope.DELIVERABLE, MAINZ, DUE, "reminder-42", "reminder-14"),
        *rows(ReminderScope.DELIVERABLE, MAINZ, LATER, "reminder-42"),
        *rows(ReminderScope.ESCALATION, "ministry", DUE, "escalation"),
        *rows(ReminderScope.APPLICATION, MAINZ, DUE, "call"),
        *rows(ReminderScope.DELIVERABLE, MAINZ, DUE, "overdue-1", year=2027),
    ]
    with session_scope(engine) as session:
        log_and_queue(session, log_rows=log, emails=[], now=NOW, sender_domain="x.de")
    with session_scope(engine) as session:
        both = sent_stages(session, scopes=[ReminderScope.DELIVERABLE, ReminderScope.ESCALATION], years=[2026])
        assert both == {
            (ReminderScope.DELIVERABLE, MAINZ, DUE): {"reminder-42", "reminder-14"},
            (ReminderScope.DELIVERABLE, MAINZ, LATER): {"reminder-42"},
            (ReminderScope.ESCALATION, "ministry", DUE): {"escalation"},
        }
        one_due = sent_stages(session, scopes=[ReminderScope.DELIVERABLE], years=[2026, 2027], due_dates=[DUE])
        assert one_due == {(ReminderScope.DELIVERABLE, MAINZ, DUE): {"reminder-42", "reminder-14", "overdue-1"}}


def test_all_covered_needs_a_stage_of_every_group_for_every_recipient(engine: Engine) -> None:
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        agss = list(session.exec(select(Kommune.ags).order_by(col(Kommune.ags))))
    recipients = select(col(Kommune.ags))
    groups = [("call",), ("reminder-14", "reminder-7")]

    def covered() -> bool:
        with session_scope(engine) as session:
            return all_covered(
                session,
                recipients,
                stage_groups=groups,
                scope=ReminderScope.APPLICATION,
                year=2026,
                due=DUE,
            )

    def log(*stored: list[dict[str, object]]) -> None:
        with session_scope(engine) as session:
            log_and_queue(session, log_rows=[r for rs in stored for r in rs], emails=[], now=NOW, sender_domain="x")

    assert not covered()
    log(*(rows(ReminderScope.APPLICATION, ags, DUE, "call") for ags in agss))
    assert not covered()
    log(*(rows(ReminderScope.APPLICATION, ags, DUE, "reminder-7") for ags in agss[1:]))
    log(
        rows(ReminderScope.APPLICATION, agss[0], DUE, "reminder-21"),
        rows(ReminderScope.DELIVERABLE, agss[0], DUE, "reminder-14"),
        rows(ReminderScope.APPLICATION, agss[1], DUE, "reminder-14"),
        rows(ReminderScope.APPLICATION, "99999999", DUE, "reminder-14"),
    )
    assert not covered()  # an earlier stage, another scope, two stages of one ref or a stranger's do not count
    log(rows(ReminderScope.APPLICATION, agss[0], DUE, "reminder-14"))
    assert covered()
    with session_scope(engine) as session:
        assert all_covered(
            session,
            recipients.where(col(Kommune.ags) == "none"),
            stage_groups=[],
            scope=ReminderScope.APPLICATION,
            year=2026,
            due=DUE,
        )
