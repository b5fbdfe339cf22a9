"""1 October – 31 December 2026 for all 36 Kommunen, day by day, with real SMTP: who got exactly what."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.core.domain import DeliverableKind
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Contact, OutboxMessage
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.delivery_problems import dispatch_and_report
from kim_workflow.services.notifications import record_submission_and_confirm
from kim_workflow.services.submissions import extend_deadline
from kim_workflow.services.sweep import sweep_day
from kim_workflow.settings import Settings
from tests.support.obligations import all_active_policy
from tests.support.smtp import SmtpServer

AGS = [k.ags for k in registry.reference_kommunen()]
EARLY, JUST_IN_TIME, LATE, NEVER = AGS[0:8], AGS[8:16], AGS[16:24], AGS[24:34]
EXTENDED, NO_CONTACT = AGS[34], AGS[35]
REPORT, QUESTIONNAIRE = DeliverableKind.ANNUAL_REPORT, DeliverableKind.QUESTIONNAIRE
SUBMISSIONS: dict[date, list[tuple[str, DeliverableKind]]] = defaultdict(list)
for ags in EARLY:
    SUBMISSIONS[date(2026, 11, 20)] += [(ags, REPORT), (ags, QUESTIONNAIRE)]
for ags in JUST_IN_TIME:
    SUBMISSIONS[date(2026, 12, 5)].append((ags, REPORT))
    SUBMISSIONS[date(2026, 12, 14)].append((ags, QUESTIONNAIRE))
for ags in LATE:
    SUBMISSIONS[date(2026, 12, 18)] += [(ags, REPORT), (ags, QUESTIONNAIRE)]


def at(day: date) -> datetime:
    return datetime.combine(day, time(6, 0), tzinfo=UTC)


def im(ags: str) -> str:
    return f"im{ags}@kommune.example"


def deputy(ags: str) -> str:
    return f"vertretung{ags}@kommune.example"


def run_season(engine: Engine, settings: Settings, *, bounces: bool = False) -> None:
    """The season day by day; with ``bounces`` the dispatch runs the delivery loop (``dispatch_and_report``)."""
    contacts = "ags,name,email,role\n" + "".join(
        f"{a},Frau IM {a},{im(a)},integration_manager\n{a},Herr Vertretung {a},{deputy(a)},deputy\n"
        for a in AGS
        if a != NO_CONTACT
    )
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=at(date(2026, 9, 30)))
        assert registry.import_contacts(session, contacts, now=at(date(2026, 9, 30)), actor="t").ok
        open_cycle(session, policy=all_active_policy(2026), now=at(date(2026, 9, 30)), actor="t")
    day = date(2026, 10, 1)
    while day <= date(2026, 12, 31):
        with session_scope(engine) as session:
            for ags, kind in SUBMISSIONS.get(day, []):
                record_submission_and_confirm(
                    session, settings, ags=ags, year=2026, kind=kind, received_on=day, today=day, now=at(day), actor="t"
                )
            if day == date(2026, 12, 10):
                extend_deadline(
                    session,
                    ags=EXTENDED,
                    year=2026,
                    until=date(2027, 1, 29),
                    reason="Elternzeit",
                    now=at(day),
                    actor="t",
                )
        with session_scope(engine) as session:
            sweep_day(session, settings, today=day, now=at(day))
        if bounces:
            dispatch_and_report(engine, settings, now=at(day) + timedelta(minutes=1))
        else:
            report = dispatch_sync(engine, settings, now=at(day) + timedelta(minutes=1))
            assert report.failed == report.unknown == 0
        day += timedelta(days=1)


def received(engine: Engine, smtp: SmtpServer) -> dict[str, list[str]]:
    """Per address: what it got, as ``kind`` or ``kind:stage`` (looked up by Message-ID in the outbox)."""
    with session_scope(engine) as session:
        by_message_id = {m.message_id: m for m in session.exec(select(OutboxMessage))}
    result: dict[str, list[str]] = defaultdict(list)
    for address, messages in smtp.handler.by_recipient().items():
        for message in messages:
            row = by_message_id[message.message_id]
            stage = next((p.split(":", 1)[1] for p in row.idempotency_key.split("|") if p.startswith("stage:")), None)
            result[address].append(f"{row.kind}:{stage}" if stage else row.kind)
    return {address: sorted(kinds) for address, kinds in result.items()}


R42, R14, R3 = "deliverable_reminder:reminder-42", "deliverable_reminder:reminder-14", "deliverable_reminder:reminder-3"
O1, O7 = "overdue_notice:overdue-1", "overdue_notice:overdue-7"


@pytest.mark.timeout(300)
def test_a_reporting_season_sends_exactly_the_expected_emails(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    run_season(engine, settings)
    got = received(engine, smtp_server)
    r42, r14, r3, o1, o7, confirmation = R42, R14, R3, O1, O7, "submission_confirmation"
    expected: dict[str, list[str]] = {}
    for ags in EARLY:
        expected[im(ags)] = expected[deputy(ags)] = sorted([r42, confirmation, confirmation])
    for ags in JUST_IN_TIME:
        expected[im(ags)] = expected[deputy(ags)] = sorted([r42, r14, confirmation, r3, confirmation])
    for ags in LATE:
        expected[im(ags)] = expected[deputy(ags)] = sorted([r42, r14, r3, o1, confirmation, confirmation])
    for ags in NEVER:
        expected[im(ags)] = expected[deputy(ags)] = sorted([r42, r14, r3, o1, o7])
    # Extended on 10.12. to 29.01.2027: the new ladder starts with its 42-day reminder on 18.12.2026.
    expected[im(EXTENDED)] = expected[deputy(EXTENDED)] = sorted([r42, r14, r42])
    expected[settings.ministry_escalation_address] = ["escalation_digest"]
    assert got == expected

    digest = next(r for r in smtp_server.handler.received if settings.ministry_escalation_address in r.rcpt_tos)
    text = digest.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    names = {k.ags: k.name for k in registry.reference_kommunen()}
    for ags in [*NEVER, NO_CONTACT]:
        assert ags in text, names[ags]
    for ags in [*EARLY, *JUST_IN_TIME, *LATE, EXTENDED]:
        assert ags not in text
    assert sum(smtp_server.handler.received_ids().values()) == len(smtp_server.handler.received_ids())


@pytest.mark.timeout(300)
def test_a_manager_address_that_bounces_on_the_42_day_reminder_hands_over_to_the_deputy(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    bounced = NEVER[0]
    smtp_server.handler.behaviour.reject_rcpt_550 = {im(bounced)}
    run_season(engine, settings, bounces=True)
    got = received(engine, smtp_server)
    assert im(bounced) not in got
    assert got[deputy(bounced)] == sorted([R42, R14, R3, O1, O7])  # the 42-day one in Cc, then in To
    assert got[deputy(NEVER[1])] == got[im(NEVER[1])] == sorted([R42, R14, R3, O1, O7])
    assert got[settings.ministry_escalation_address] == ["delivery_failed", "escalation_digest"]
    with session_scope(engine) as session:
        rows = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.subject_ref == f"kommune:{bounced}:year:2026")
            .order_by(col(OutboxMessage.id))
        )
        assert [(m.recipient, m.cc) for m in rows] == [(im(bounced), [deputy(bounced)])] + [(deputy(bounced), [])] * 4
        [marked] = session.exec(select(Contact).where(Contact.undeliverable_at.is_not(None))).all()  # type: ignore[union-attr]
        assert marked.email == im(bounced)
