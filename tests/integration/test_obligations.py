"""Obligations follow the funding decision: 29 approved of 36 are reminded, a rejected Kommune is not (issue #13)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from kim_workflow.cli import app as kim_app
from kim_workflow.core.domain import ApplicationStatus, ContactRole, DecisionOutcome, DeliverableStatus
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Application, Contact, Deliverable, DomainEvent, Kommune, OutboxMessage
from kim_workflow.services.application_input import parse_application
from kim_workflow.services.application_intake import submit_application
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.obligations import sync_obligations
from kim_workflow.services.policies import load_policy
from kim_workflow.services.status import status_matrix, summary_markdown
from kim_workflow.services.sweep import sweep_day
from kim_workflow.services.withdrawals import withdraw_application
from kim_workflow.settings import Settings
from kim_workflow.simulation.runner import application_document, decision_request, populate
from kim_workflow.simulation.scenario import Decide
from tests.support.four_eyes import decide_and_confirm

TRIER, MAINZ = "07211000", "07315000"
OPENED, APPLIED, DECIDED = (datetime(2026, m, d, 8, tzinfo=UTC) for m, d in ((1, 10), (2, 2), (3, 2)))
REMINDER_DAY, ESCALATION_DAY = date(2026, 11, 3), date(2026, 12, 22)
CC = "referatsleitung@mffki.rlp.de"
SUMMARY = (
    "36 aktive Kommunen: 29 mit bewilligtem Antrag → 58 Berichtspflichten; 4 ohne Antrag, 2 abgelehnt (entfällt), "
    "1 noch nicht entschieden"
)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 6, tzinfo=UTC)


def _apply(session: Session, settings: Settings, ags: str) -> None:
    document = application_document(ags, 2026, 1)
    submit_application(session, settings, application=parse_application(document), now=APPLIED, actor="t")


def _decide(session: Session, settings: Settings, ags: str, outcome: DecisionOutcome) -> None:
    request = decision_request(Decide(ags, outcome))
    decide_and_confirm(session, settings, request=request, now=DECIDED, ags=ags, year=2026)


@pytest.fixture
def year(engine: Engine, settings: Settings) -> dict[str, list[str]]:
    """36 Kommunen (simulation contacts, one ministry contact); 32 apply: 29 approved, Trier and one more
    rejected, one still undecided; 4 never apply. The year opened before the applications (default rule)."""
    settings.policy_dir.mkdir(parents=True)
    (settings.policy_dir / "default.toml").write_text(f'[report]\nescalation_cc = ["{CC}"]\n', encoding="utf-8")
    ags = populate(engine, 36, now=OPENED)
    others = [a for a in ags if a != TRIER]
    groups = {"approved": others[:29], "rejected": [TRIER, others[29]], "undecided": [others[30]], "none": others[31:]}
    with session_scope(engine) as session:
        opened = open_cycle(session, policy=load_policy(2026, settings.policy_dir), now=OPENED, actor="t")
        assert opened.created_deliverables == 0
        assert (
            opened.obligations == "36 aktive Kommunen: 0 mit bewilligtem Antrag → 0 Berichtspflichten; 36 ohne Antrag"
        )
    for a in [*groups["approved"], *groups["rejected"], *groups["undecided"]]:
        with session_scope(engine) as session:
            _apply(session, settings, a)
    for outcome, key in ((DecisionOutcome.APPROVED, "approved"), (DecisionOutcome.REJECTED, "rejected")):
        for a in groups[key]:
            with session_scope(engine) as session:
                _decide(session, settings, a, outcome)
    return groups


def deliverables(engine: Engine, ags: str) -> list[tuple[str, str | None]]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(Deliverable.status, Deliverable.waived_reason)
            .join(Kommune, col(Kommune.id) == col(Deliverable.kommune_id))
            .where(col(Kommune.ags) == ags)
            .order_by(col(Deliverable.kind))
        ).all()
    return [(str(status), reason) for status, reason in rows]


def outbox(engine: Engine, kind: str) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == kind)))


def test_an_approval_after_opening_adds_the_obligations_and_a_rejection_waives_them(
    engine: Engine, year: dict[str, list[str]]
) -> None:
    assert deliverables(engine, MAINZ) == [("outstanding", None)] * 2
    assert deliverables(engine, TRIER) == [("waived", "Antrag abgelehnt am 02.03.2026")] * 2
    assert deliverables(engine, year["undecided"][0]) == deliverables(engine, year["none"][0]) == []
    with session_scope(engine) as session:
        events = session.exec(select(DomainEvent.action, DomainEvent.subject_id)).all()
    created = {ags for action, ags in events if action == "kim.obligations.created"}
    waived = {ags for action, ags in events if action == "kim.obligations.waived"}
    assert created == set(year["approved"]) and waived == set(year["rejected"])


def test_reopening_the_year_says_how_many_and_why(
    engine: Engine, settings: Settings, year: dict[str, list[str]]
) -> None:
    with session_scope(engine) as session:
        again = open_cycle(session, policy=load_policy(2026, settings.policy_dir), now=DECIDED, actor="t")
    assert (again.created_cycle, again.created_deliverables, again.obligations) == (False, 0, SUMMARY)


def test_29_approved_get_29_reminders_and_the_rejected_trier_is_neither_reminded_nor_escalated(
    engine: Engine, settings: Settings, year: dict[str, list[str]]
) -> None:
    with session_scope(engine) as session:
        [sweep] = sweep_day(session, settings, today=REMINDER_DAY, now=at(REMINDER_DAY))
    assert sweep.queued == 29
    reminded = {m.subject_ref.split(":")[1] for m in outbox(engine, "deliverable_reminder")}
    assert reminded == set(year["approved"])

    with session_scope(engine) as session:
        [late] = sweep_day(session, settings, today=ESCALATION_DAY, now=at(ESCALATION_DAY))
    assert {str(r.ags) for r in late.plan.reminders} == set(year["approved"])
    [digest] = outbox(engine, "escalation_digest")
    assert TRIER not in digest.text_body and all(a in digest.text_body for a in year["approved"])
    assert digest.recipient == "referat@mffki.example" and tuple(digest.cc) == (CC,)

    with session_scope(engine) as session:
        rows = {r.ags: r for r in status_matrix(session, year=2026, today=ESCALATION_DAY)}
    assert set(rows) == {*year["approved"], *year["rejected"]}
    assert rows[TRIER].jahresbericht == rows[TRIER].fragebogen == "entfällt (Antrag abgelehnt am 02.03.2026)"
    assert rows[TRIER].letzte_erinnerung == "—" and not rows[TRIER].missing_something
    summary = summary_markdown(list(rows.values()), year=2026, today=ESCALATION_DAY)
    assert "- Kommunen: **29**" in summary and "- entfällt (Antrag abgelehnt oder zurückgezogen): **2**" in summary
    assert "- überfällig: **29**" in summary and TRIER not in summary


def test_the_digest_goes_to_every_ministry_contact_with_the_policy_cc(
    engine: Engine, settings: Settings, year: dict[str, list[str]]
) -> None:
    with session_scope(engine) as session:
        session.add(Contact(name="Dr. Erika Referentin", email="erika.referentin@mffki.example",
                            role=ContactRole.MINISTRY, created_at=OPENED, updated_at=OPENED))  # fmt: skip
        session.add(Contact(name="Ehemals", email="ehemals@mffki.example", role=ContactRole.MINISTRY, active=False,
                            created_at=OPENED, updated_at=OPENED))  # fmt: skip
    for _ in range(2):  # the same day twice: one digest
        with session_scope(engine) as session:
            sweep_day(session, settings, today=ESCALATION_DAY, now=at(ESCALATION_DAY))
    [digest] = outbox(engine, "escalation_digest")
    assert digest.recipient == "referat@mffki.example"
    assert tuple(digest.cc) == ("erika.referentin@mffki.example", CC)
    assert digest.idempotency_key.endswith("|to:referat@mffki.example")


def test_without_ministry_contacts_the_setting_is_the_fallback(
    engine: Engine, settings: Settings, year: dict[str, list[str]]
) -> None:
    with session_scope(engine) as session:
        for contact in session.exec(select(Contact).where(col(Contact.role) == ContactRole.MINISTRY)):
            contact.active = False
            session.add(contact)
        sweep_day(session, settings, today=ESCALATION_DAY, now=at(ESCALATION_DAY))
    [digest] = outbox(engine, "escalation_digest")
    assert (digest.recipient, tuple(digest.cc)) == (settings.ministry_escalation_address, (CC,))


def test_an_approval_after_a_waiver_makes_the_deliverables_outstanding_again(
    engine: Engine, settings: Settings, year: dict[str, list[str]]
) -> None:
    with session_scope(engine) as session:
        application = session.exec(
            select(Application).join(Kommune, col(Kommune.id) == col(Application.kommune_id))
            .where(col(Kommune.ags) == TRIER)
        ).one()  # fmt: skip
        application.status = ApplicationStatus.APPROVED  # as an amended decision would leave it
        session.add(application)
        synced = sync_obligations(session, policy=load_policy(2026, settings.policy_dir), now=DECIDED)
    assert (synced.created, synced.waived, synced.restored) == (0, 0, 2)
    assert deliverables(engine, TRIER) == [(DeliverableStatus.OUTSTANDING.value, None)] * 2


def test_all_active_keeps_the_old_behaviour_whatever_is_decided(engine: Engine, settings: Settings) -> None:
    (settings.policy_dir).mkdir(parents=True)
    (settings.policy_dir / "2026.toml").write_text('[report]\nobligations = "all_active"\n', encoding="utf-8")
    populate(engine, 36, now=OPENED)
    with session_scope(engine) as session:
        opened = open_cycle(session, policy=load_policy(2026, settings.policy_dir), now=OPENED, actor="t")
    with session_scope(engine) as session:
        _apply(session, settings, TRIER)
    with session_scope(engine) as session:
        _decide(session, settings, TRIER, DecisionOutcome.REJECTED)
    assert opened.created_deliverables == 72 and deliverables(engine, TRIER) == [("outstanding", None)] * 2


def test_kim_cycle_open_prints_the_obligations(
    engine: Engine, settings: Settings, year: dict[str, list[str]], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIM_DATABASE_URL", database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(kim_app, ["cycle", "open", "--year", "2026"])
    assert result.exit_code == 0, result.output
    assert " ".join(result.output.split()) == (
        f"Förderjahr 2026 war bereits eröffnet; 0 Berichtspflichten neu, Frist 15.12.2026. {SUMMARY}."
    )


def test_kim_cycle_open_on_a_fresh_year(engine: Engine, settings: Settings, database_url: str,
                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # fmt: skip
    populate(engine, 36, now=OPENED)
    monkeypatch.setenv("KIM_DATABASE_URL", database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(kim_app, ["cycle", "open", "--year", "2026"])
    assert result.exit_code == 0, result.output
    assert " ".join(result.output.split()) == (
        "Förderjahr 2026 eröffnet; 0 Berichtspflichten neu, Frist 15.12.2026. "
        "36 aktive Kommunen: 0 mit bewilligtem Antrag → 0 Berichtspflichten; 36 ohne Antrag."
    )


def test_a_withdrawn_application_waives_the_reports(
    engine: Engine, settings: Settings, year: dict[str, list[str]]
) -> None:
    [undecided] = year["undecided"]
    withdrawn_at = datetime(2026, 3, 9, 8, tzinfo=UTC)
    with session_scope(engine) as session:
        result = withdraw_application(session, settings, ags=undecided, year=2026, reason="Stelle nicht besetzbar",
                                      now=withdrawn_at, actor="t")  # fmt: skip
    assert (result.previous, result.waived) == (ApplicationStatus.SUBMITTED, 2)
    assert deliverables(engine, undecided) == [("waived", "Antrag zurückgezogen am 09.03.2026")] * 2
    with session_scope(engine) as session:
        [event] = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.application.withdrawn")).all()
        again = open_cycle(session, policy=load_policy(2026, settings.policy_dir), now=withdrawn_at, actor="t")
        [sweep] = sweep_day(session, settings, today=REMINDER_DAY, now=at(REMINDER_DAY))
    assert event.payload["reason"] == "Stelle nicht besetzbar" and sweep.queued == 29
    assert again.obligations.endswith("4 ohne Antrag, 2 abgelehnt (entfällt), 1 zurückgezogen (entfällt)")


@pytest.mark.parametrize(
    ("ags", "reason", "message"),
    [
        (MAINZ, "zu spät", "kann nicht zurückgezogen werden (Status: bewilligt; jetzt möglich: widerrufen)"),
        (TRIER, "egal", "kann nicht zurückgezogen werden (Status: abgelehnt"),
        ("07337000", "nie beantragt", "hat für 2026 keinen Antrag gestellt"),
        (MAINZ, "  ", "Bitte den Grund der Rücknahme angeben"),
    ],
)
def test_a_decided_or_missing_application_cannot_be_withdrawn(
    engine: Engine, settings: Settings, year: dict[str, list[str]], ags: str, reason: str, message: str
) -> None:
    before = deliverables(engine, ags)
    with pytest.raises(UseCaseError, match=re.escape(message)), session_scope(engine) as session:
        withdraw_application(session, settings, ags=ags, year=2026, reason=reason, now=DECIDED, actor="t")
    assert deliverables(engine, ags) == before


def test_kim_application_withdraw(
    engine: Engine, settings: Settings, year: dict[str, list[str]], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIM_DATABASE_URL", database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(settings.data_dir))
    [undecided] = year["undecided"]
    args = ["application", "withdraw", undecided, "--year", "2026", "--reason", "Stelle nicht besetzbar"]
    done = CliRunner().invoke(kim_app, args)
    assert done.exit_code == 0, done.output
    assert " ".join(done.output.split()).endswith(
        "für 2026 zurückgezogen. Jahresbericht und Fragebogen entfallen (2 Berichtspflichten)."
    )
    twice = CliRunner().invoke(kim_app, args)
    assert twice.exit_code == 2 and "kann nicht zurückgezogen werden (Status: zurückgezogen" in twice.output
    assert "Traceback" not in twice.output


def test_a_waived_report_can_be_neither_recorded_nor_extended_and_nothing_changes(
    engine: Engine, settings: Settings, year: dict[str, list[str]]
) -> None:
    from kim_workflow.core.domain import DeliverableKind
    from kim_workflow.services.deadline_notice import extend_deadline_and_notify
    from kim_workflow.services.submissions import record_submission

    with session_scope(engine) as session, pytest.raises(UseCaseError, match="entfällt der Jahresbericht 2026"):
        record_submission(session, ags=TRIER, year=2026, kind=DeliverableKind.ANNUAL_REPORT,
                          received_on=date(2026, 12, 2), today=date(2026, 12, 3), now=DECIDED, actor="t")  # fmt: skip
    with session_scope(engine) as session, pytest.raises(UseCaseError, match="entfallen die Berichtspflichten"):
        extend_deadline_and_notify(session, settings, ags=TRIER, year=2026, until=date(2027, 1, 15),
                                   reason="Elternzeit", now=DECIDED, actor="t")  # fmt: skip
    assert deliverables(engine, TRIER) == [("waived", "Antrag abgelehnt am 02.03.2026")] * 2
    assert outbox(engine, "deadline_changed") == []
