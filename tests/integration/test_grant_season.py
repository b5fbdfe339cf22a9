"""A whole funding year, day by day, against a real aiosmtpd sink (#13): the exact emails each address received.

Four Kommunen apply: Trier is rejected, Mainz, Koblenz and Kusel are approved (four eyes: recorded by one person,
confirmed by another). Koblenz's grant is revoked with effect from 15 October: it keeps the money for January
to 14 October, so its reports stay owed (they prove the use of that money) and it is reminded and escalated like
an approved Kommune that never hands in.
From November the mail server refuses Mainz's manager (550 at RCPT): the 42-day reminder reaches the deputy in
Cc, the ministry is told once, and from then on the deputy gets the reminders. Kusel hands in both reports on
10 December; Mainz never does and is escalated.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.core.domain import DecisionOutcome, DeliverableKind, DeliverableStatus
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Deliverable, Kommune, OutboxMessage
from kim_workflow.services import registry
from kim_workflow.services.application_input import parse_application
from kim_workflow.services.application_intake import submit_application
from kim_workflow.services.application_window import run_window
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.decisions import DecisionRequest, decide_application
from kim_workflow.services.delivery_problems import dispatch_and_report
from kim_workflow.services.grant_acts import revoke_grant
from kim_workflow.services.grant_review import confirm_grant_decision
from kim_workflow.services.notifications import record_submission_and_confirm
from kim_workflow.services.policies import load_policy
from kim_workflow.services.sweep import sweep_day
from kim_workflow.settings import Settings
from tests.support.smtp import SmtpServer

MAINZ, KOBLENZ, KUSEL, TRIER = "07315000", "07111000", "07336000", "07211000"
MINISTRY = "integration@mffki.rlp.example"
A, B = "Referentin Schulz", "Referatsleiter Wagner"
IM = {ags: f"im@{name}.example" for ags, name in ((MAINZ, "mainz"), (KOBLENZ, "koblenz"), (KUSEL, "kusel"),
                                                  (TRIER, "trier"))}  # fmt: skip
DEPUTY = "vertretung@mainz.example"
CONTACTS = (
    "ags,name,email,role\n"
    + "".join(f"{ags},Frau IM {ags},{email},integration_manager\n" for ags, email in IM.items())
    + f"{MAINZ},Herr Vertretung,{DEPUTY},deputy\n"
)
START, END = date(2026, 1, 14), date(2026, 12, 31)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 8, tzinfo=UTC)


def apply(engine: Engine, settings: Settings, ags: str, day: date) -> None:
    document = {"ags": ags, "year": 2026, "staff": [{"name": "Erika Muster", "fte": "1.0"}],
                "personnel_costs_eur": "60000", "material_costs_eur": "20000", "overhead_costs_eur": "0",
                "position_in_administration": True}  # fmt: skip
    with session_scope(engine) as session:
        submit_application(session, settings, application=parse_application(document), now=at(day), actor="t")


def decide(engine: Engine, settings: Settings, ags: str, outcome: DecisionOutcome, day: date) -> None:
    approved = outcome is DecisionOutcome.APPROVED
    request = DecisionRequest(
        outcome=outcome, decided_by=A, granted_personnel_eur=Decimal(60000) if approved else None,
        granted_material_eur=Decimal(20000) if approved else None,
        message=None if approved else "Die Stelle ist nicht in der Kommunalverwaltung angesiedelt.",
    )  # fmt: skip
    with session_scope(engine) as session:
        result = decide_application(session, settings, request=request, now=at(day), ags=ags, year=2026)
        if result.awaiting_confirmation is not None:
            confirm_grant_decision(session, settings, act_id=result.awaiting_confirmation, by=B, now=at(day))


def revoke_koblenz(engine: Engine, settings: Settings, day: date) -> None:
    with session_scope(engine) as session:
        act = revoke_grant(session, settings, ags=KOBLENZ, year=2026, effective_on=date(2026, 10, 15),
                           reason="Die Stelle ist seit dem 1. Oktober unbesetzt.", by=A, now=at(day))  # fmt: skip
    with session_scope(engine) as session:  # the next day, by the second person
        confirm_grant_decision(session, settings, act_id=act.grant_decision_id, by=B, now=at(day + timedelta(1)))


def kusel_hands_in(engine: Engine, settings: Settings, day: date) -> None:
    with session_scope(engine) as session:
        for kind in DeliverableKind:
            record_submission_and_confirm(session, settings, ags=KUSEL, year=2026, kind=kind, received_on=day,
                                          today=day, now=at(day), actor="t")  # fmt: skip


@pytest.mark.slow
def test_a_season_with_rejections_a_revocation_and_a_bounce(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    settings = settings.model_copy(update={"ministry_escalation_address": MINISTRY})
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=at(START))
        assert registry.import_contacts(session, CONTACTS, now=at(START), actor="t").ok
        open_cycle(session, policy=load_policy(2026), now=at(START), actor="t")
    events = {
        date(2026, 1, 20): lambda d: [apply(engine, settings, ags, d) for ags in IM],
        date(2026, 2, 10): lambda d: (
            [decide(engine, settings, ags, DecisionOutcome.APPROVED, d) for ags in (MAINZ, KOBLENZ, KUSEL)]
            + [decide(engine, settings, TRIER, DecisionOutcome.REJECTED, d)]
        ),
        date(2026, 10, 1): lambda d: revoke_koblenz(engine, settings, d),
        date(2026, 11, 1): lambda d: smtp_server.handler.behaviour.reject_rcpt_550.add(IM[MAINZ]),
        date(2026, 12, 10): lambda d: kusel_hands_in(engine, settings, d),
    }
    day = START
    while day <= END:
        if day in events:
            events[day](day)
        with session_scope(engine) as session:
            run_window(session, settings, today=day, now=at(day))
            sweep_day(session, settings, today=day, now=at(day))
        dispatch_and_report(engine, settings, now=at(day))
        day += timedelta(days=1)

    kinds = {m.message_id: m.kind for m in outbox(engine)}
    got = {
        address: Counter(kinds[r.message_id] for r in items)
        for address, items in smtp_server.handler.by_recipient().items()
    }
    kommune = {"call_for_applications": 1, "application_received": 1}
    assert got == {
        IM[TRIER]: Counter(kommune | {"decision_rejected": 1}),  # rejected: never reminded
        IM[KOBLENZ]: Counter(  # revoked from 15 October, money kept before: the reports stay owed
            kommune | {"decision_approved": 1, "grant_revoked": 1, "deliverable_reminder": 3, "overdue_notice": 2}
        ),
        IM[KUSEL]: Counter(
            kommune
            | {
                "decision_approved": 1,
                "deliverable_reminder": 2,  # 42 and 14 days
                "submission_confirmation": 2,
            }
        ),
        IM[MAINZ]: Counter(kommune | {"decision_approved": 1}),  # refused from November on
        DEPUTY: Counter(kommune | {"decision_approved": 1, "deliverable_reminder": 3, "overdue_notice": 2}),
        MINISTRY: Counter({"delivery_failed": 1, "escalation_digest": 1}),
    }
    with session_scope(engine) as session:
        koblenz = session.exec(select(Kommune).where(col(Kommune.ags) == KOBLENZ)).one()
        owed = session.exec(select(Deliverable).where(col(Deliverable.kommune_id) == koblenz.id)).all()
        digest = session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "escalation_digest")).one()
    assert {(d.status, d.waived_reason) for d in owed} == {(DeliverableStatus.OUTSTANDING, None)}
    assert "Mainz" in digest.text_body and "Koblenz" in digest.text_body and "Trier" not in digest.text_body
    assert "Kusel" not in digest.text_body


def outbox(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage)))
