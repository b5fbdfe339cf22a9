"""Application use cases on a real database: intake, resubmission, decisions, the window, the overview."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from kim_workflow.core.domain import ApplicationStatus, DecisionOutcome
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Application, ApplicationRevision, Decision, DomainEvent, OutboxMessage, ReminderLog
from kim_workflow.db.reminder_log import ReminderScope
from kim_workflow.services import application_window, registry
from kim_workflow.services import applications as overview_service
from kim_workflow.services.application_input import ApplicationInputError, parse_application, parse_application_json
from kim_workflow.services.application_intake import ApplicationRejected, SubmitResult, submit_application
from kim_workflow.services.application_window import nothing_due as check
from kim_workflow.services.application_window import run_window
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.decision_runs import claim_decision_run
from kim_workflow.services.decisions import (
    DecisionNotPending,
    DecisionRequest,
    DecisionResult,
    InvalidDecision,
)
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.policies import load_policy
from kim_workflow.settings import Settings
from tests.support.four_eyes import SECOND_PERSON, decide_and_confirm

NOW = datetime(2026, 2, 10, 9, tzinfo=UTC)
MAINZ, TRIER = "07315000", "07211000"
VALID: dict[str, Any] = {
    "ags": MAINZ,
    "year": 2026,
    "staff": [{"name": "Erika Muster", "fte": "0.5"}, {"name": "Max Beispiel", "fte": 0.5}],
    "personnel_costs_eur": 60000,
    "material_costs_eur": "12000.50",
    "overhead_costs_eur": 0,
    "position_in_administration": True,
}
TABLES = (Application, ApplicationRevision, Decision, OutboxMessage, DomainEvent)


@pytest.fixture
def year_2026(engine: Engine) -> Engine:
    """36 Kommunen, an integration manager each (Trier without), a deputy in Mainz, funding year 2026 open."""
    contacts = "ags,name,email,role\n" + "".join(
        f"{k.ags},IM {k.name},im{k.ags}@kommune.example,integration_manager\n"
        for k in registry.reference_kommunen()
        if k.ags != TRIER
    )
    contacts += f"{MAINZ},Vertretung Mainz,vertretung@mainz.example,deputy\n"
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        assert registry.import_contacts(session, contacts, now=NOW, actor="t").ok
        open_cycle(session, policy=load_policy(2026), now=NOW, actor="t")
    return engine


def submit(engine: Engine, settings: Settings, document: dict[str, Any] | None = None, **change: Any) -> SubmitResult:
    with session_scope(engine) as session:
        application = parse_application({**(document or VALID), **change})
        return submit_application(session, settings, application=application, now=NOW, actor="t")


def decide(engine: Engine, settings: Settings, outcome: DecisionOutcome, **fields: Any) -> DecisionResult:
    revision = fields.pop("revision", None)
    request = DecisionRequest(outcome=outcome, decided_by="Referentin", **fields)
    with session_scope(engine) as session:
        return decide_and_confirm(session, settings, request=request, now=NOW, ags=MAINZ, year=2026, revision=revision)


def approve(engine: Engine, settings: Settings, personnel: str = "45000", material: str = "12000", **kw: Any) -> Any:
    fields = {"granted_personnel_eur": Decimal(personnel), "granted_material_eur": Decimal(material), **kw}
    return decide(engine, settings, DecisionOutcome.APPROVED, **fields)


def counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return {t.__name__: session.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def emails(engine: Engine, kind: str) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == kind)))


def events(engine: Engine, action: str) -> list[DomainEvent]:
    with session_scope(engine) as session:
        return list(session.exec(select(DomainEvent).where(col(DomainEvent.action) == action)))


def test_a_valid_application_is_stored_with_event_and_receipt(year_2026: Engine, settings: Settings) -> None:
    result = submit(year_2026, settings, notes="Zwei halbe Stellen")
    assert (result.revision, result.status, result.receipt_queued) == (1, ApplicationStatus.SUBMITTED, True)
    with session_scope(year_2026) as session:
        stored = session.exec(select(Application)).one()
        history = session.exec(select(ApplicationRevision)).one()
    assert stored.material_costs_eur == Decimal("12000.50") and stored.fte_total == Decimal("1.00")
    assert stored.staff == [{"name": "Erika Muster", "fte": "0.5"}, {"name": "Max Beispiel", "fte": "0.5"}]
    assert (history.revision, history.content["material_costs_eur"]) == (1, "12000.50")
    [event] = events(year_2026, "kim.application.submitted")
    assert (event.subject_type, event.subject_id, event.payload["ags"]) == ("application", str(stored.id), MAINZ)
    assert "Erika" not in json.dumps(event.payload) and event.payload["staff_count"] == 2
    [receipt] = emails(year_2026, "application_received")
    assert (receipt.recipient, receipt.cc) == (f"im{MAINZ}@kommune.example", ["vertretung@mainz.example"])
    assert "72.000,50 €" in receipt.text_body and "KIM-2026-07315000" in receipt.subject


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"staff": [{"name": "A", "fte": "0.4"}]}, "fte_share_below_minimum"),
        ({"staff": [{"name": "A", "fte": 1}, {"name": "B", "fte": "0.5"}]}, "fte_total_above_maximum"),
        ({"staff": []}, "no_staff"),
        ({"personnel_costs_eur": "60000.01"}, "personnel_costs_above_cap"),
        ({"staff": [{"name": "A", "fte": "0.5"}], "personnel_costs_eur": 30001}, "personnel_costs_above_cap"),
        ({"material_costs_eur": "20000.01"}, "material_costs_above_cap"),
        ({"overhead_costs_eur": "0.01"}, "overhead_not_fundable"),
        ({"personnel_costs_eur": -1}, "negative_amount"),
        ({"material_costs_eur": "100.005"}, "too_many_decimals"),
        ({"position_in_administration": False}, "not_in_administration"),
        ({"ags": "0731500"}, "invalid_ags"),
        ({"ags": "07999999"}, "unknown_ags"),
        ({"year": 2031}, "no_open_cycle"),
    ],
)
def test_each_invalid_kind_is_refused_and_nothing_is_stored(
    year_2026: Engine, settings: Settings, change: dict[str, Any], code: str
) -> None:
    before = counts(year_2026)
    with pytest.raises(ApplicationRejected) as caught:
        submit(year_2026, settings, **change)
    assert code in [v.code for v in caught.value.violations]
    assert all(v.message and "{" not in v.message for v in caught.value.violations)
    assert counts(year_2026) == before


def test_every_violation_is_reported_at_once(year_2026: Engine, settings: Settings) -> None:
    with pytest.raises(ApplicationRejected) as caught:
        submit(year_2026, settings, ags="07999999", year=2031, overhead_costs_eur=5, material_costs_eur=-3)
    codes = [v.code for v in caught.value.violations]
    assert codes == ["negative_amount", "overhead_not_fundable", "unknown_ags", "no_open_cycle"]
    assert "Gemeinkosten" in str(caught.value) and "5,00 €" in str(caught.value)


def test_resubmission_after_changes_requested_keeps_the_history(year_2026: Engine, settings: Settings) -> None:
    first = submit(year_2026, settings)
    decide(year_2026, settings, DecisionOutcome.CHANGES_REQUESTED, message="Bitte Stellenbeschreibung beilegen.")
    second = submit(year_2026, settings, material_costs_eur="9000")
    assert (second.application_id, second.revision, second.status) == (first.application_id, 2, "submitted")
    with session_scope(year_2026) as session:
        history = session.exec(select(ApplicationRevision).order_by(col(ApplicationRevision.revision))).all()
        current = session.exec(select(Application)).one()
    assert [(h.revision, h.content["material_costs_eur"]) for h in history] == [(1, "12000.50"), (2, "9000")]
    assert current.material_costs_eur == Decimal("9000.00")
    assert len(emails(year_2026, "application_received")) == 2
    [changes] = emails(year_2026, "decision_changes_requested")
    assert "Bitte Stellenbeschreibung beilegen." in changes.text_body and "24.02.2026" in changes.subject


@pytest.mark.parametrize("decided", [None, DecisionOutcome.APPROVED, DecisionOutcome.REJECTED])
def test_a_second_submission_is_refused_unless_changes_were_requested(
    year_2026: Engine, settings: Settings, decided: DecisionOutcome | None
) -> None:
    submit(year_2026, settings)
    if decided is DecisionOutcome.APPROVED:
        approve(year_2026, settings)
    elif decided is DecisionOutcome.REJECTED:
        decide(year_2026, settings, decided, message="Zu spät.")
    before = counts(year_2026)
    with pytest.raises(UseCaseError, match="bereits einen Antrag") as caught:
        submit(year_2026, settings, material_costs_eur=1)
    assert "nur nach einer Nachforderung" in str(caught.value)
    assert counts(year_2026) == before


def test_approval_is_stored_logged_and_mailed_with_german_amounts(year_2026: Engine, settings: Settings) -> None:
    submit(year_2026, settings)
    result = approve(year_2026, settings, "45000", "12000.5", message="Erste Rate im März.")
    assert (result.status, result.email_queued) == (ApplicationStatus.APPROVED, True)
    with session_scope(year_2026) as session:
        decision = session.exec(select(Decision)).one()
    assert (decision.decided_by, decision.decided_at, decision.application_revision) == ("Referentin", NOW, 1)
    assert decision.granted_material_eur == Decimal("12000.50")
    [event] = events(year_2026, "kim.application.decided")
    assert (event.payload["outcome"], event.payload["granted_personnel_eur"], event.actor) == (
        "approved", "45000.00", SECOND_PERSON
    )  # fmt: skip
    assert (event.payload["requested_by"], event.payload["confirmed_by"]) == ("Referentin", SECOND_PERSON)
    [mail] = emails(year_2026, "decision_approved")
    assert "45.000,00 €" in mail.text_body and "12.000,50 €" in mail.text_body and "57.000,50 €" in mail.text_body
    assert "Personalkosten (1,0 VZÄ)" in mail.text_body and mail.cc == ["vertretung@mainz.example"]


def test_rejection_carries_the_reason(year_2026: Engine, settings: Settings) -> None:
    submit(year_2026, settings)
    decide(year_2026, settings, DecisionOutcome.REJECTED, message="Die Stelle ist extern vergeben.")
    [mail] = emails(year_2026, "decision_rejected")
    assert "Die Stelle ist extern vergeben." in mail.text_body


@pytest.mark.parametrize(
    ("outcome", "fields", "fragment"),
    [
        (DecisionOutcome.APPROVED, {"granted_personnel_eur": Decimal("60000.01")}, "Höchstbetrag"),
        (DecisionOutcome.APPROVED, {"granted_material_eur": Decimal("12000.51")}, "beantragten Sachkosten"),
        (DecisionOutcome.APPROVED, {"granted_material_eur": None}, "Personal- und Sachkosten anzugeben"),
        (DecisionOutcome.APPROVED, {"granted_personnel_eur": Decimal("-1")}, "nicht negativ"),
        (DecisionOutcome.REJECTED, {}, "Begründung"),
        (DecisionOutcome.CHANGES_REQUESTED, {"message": " "}, "was geändert werden soll"),
        (DecisionOutcome.REJECTED, {"message": "x", "granted_personnel_eur": Decimal(1)}, "nur bei einer Bewilligung"),
    ],
)
def test_invalid_decisions_are_refused_and_nothing_changes(
    year_2026: Engine, settings: Settings, outcome: DecisionOutcome, fields: dict[str, Any], fragment: str
) -> None:
    submit(year_2026, settings)
    if outcome is DecisionOutcome.APPROVED:
        fields = {"granted_personnel_eur": Decimal(45000), "granted_material_eur": Decimal(12000), **fields}
    before = counts(year_2026)
    with pytest.raises(InvalidDecision) as caught:
        decide(year_2026, settings, outcome, **fields)
    assert any(fragment in problem for problem in caught.value.problems)
    assert counts(year_2026) == before


def test_pro_rata_cap_applies_to_the_grant(year_2026: Engine, settings: Settings) -> None:
    submit(year_2026, settings, staff=[{"name": "A", "fte": "0.5"}], personnel_costs_eur=30000)
    with pytest.raises(InvalidDecision, match=r"30\.000,00 €"):
        approve(year_2026, settings, "30000.01", "0")
    assert approve(year_2026, settings, "30000", "0").status is ApplicationStatus.APPROVED


def test_invalid_transitions_are_refused_by_the_state_machine(year_2026: Engine, settings: Settings) -> None:
    with pytest.raises(UseCaseError, match="keinen Antrag gestellt"):
        approve(year_2026, settings)
    submit(year_2026, settings)
    approve(year_2026, settings)
    refused = r"nicht zur Entscheidung vor \(Status: bewilligt\).*jetzt möglich: widerrufen"
    with pytest.raises(DecisionNotPending, match=refused):
        decide(year_2026, settings, DecisionOutcome.REJECTED, message="doch nicht")
    assert len(emails(year_2026, "decision_approved")) == 1 and len(emails(year_2026, "decision_rejected")) == 0


def test_a_stale_revision_is_not_decided(year_2026: Engine, settings: Settings) -> None:
    submit(year_2026, settings)
    decide(year_2026, settings, DecisionOutcome.CHANGES_REQUESTED, message="Bitte ergänzen.")
    submit(year_2026, settings)
    with pytest.raises(DecisionNotPending, match="erneut eingereicht"):
        approve(year_2026, settings, revision=1)
    assert approve(year_2026, settings, revision=2).revision == 2


def test_the_decision_run_is_claimed_once(year_2026: Engine, settings: Settings) -> None:
    result = submit(year_2026, settings)
    with session_scope(year_2026) as session:
        first = claim_decision_run(session, settings, application_id=result.application_id, run_id="run-a")
        second = claim_decision_run(session, settings, application_id=result.application_id, run_id="run-b")
        forced = claim_decision_run(session, settings, application_id=result.application_id, run_id="b", force=True)
    assert (first.decision_run_id, second.decision_run_id, forced.decision_run_id) == ("run-a", "run-a", "b")
    assert first.pending and "1,0 VZÄ" in first.summary and "Erika" not in first.summary


def test_overview_lists_every_kommune_with_german_amounts(year_2026: Engine, settings: Settings) -> None:
    submit(year_2026, settings)
    approve(year_2026, settings, "45000", "12000.5")
    submit(year_2026, settings, ags=TRIER)
    with session_scope(year_2026) as session:
        rows = overview_service.overview(session, year=2026)
    table = {row["AGS"]: row for row in overview_service.as_table(rows)}
    assert len(table) == 36 and table["07111000"]["Status"] == "kein Antrag"
    assert table[MAINZ]["Status"] == "bewilligt" and table[MAINZ]["Personalkosten bewilligt"] == "45.000,00 €"
    assert table[TRIER]["Status"] == "eingereicht" and table[TRIER]["VZÄ"] == "1,0"
    assert overview_service.description(rows, year=2026).endswith("bewilligt insgesamt 57.000,50 €")


def test_window_sends_the_call_once_and_reminds_only_those_without_application(
    year_2026: Engine, settings: Settings
) -> None:
    def run(day: date) -> list[Any]:
        with session_scope(year_2026) as session:
            return run_window(session, settings, today=day, now=NOW)

    assert run(date(2026, 1, 14))[0].queued == 0
    [first] = run(date(2026, 1, 15))
    assert (first.calls, first.queued, first.without_contact) == (35, 35, [f"{TRIER} Trier"])
    assert run(date(2026, 1, 16))[0].queued == 0
    submit(year_2026, settings)
    [reminder] = run(date(2026, 3, 30))  # missed reminder-14: only the latest stage goes out
    assert (reminder.calls, reminder.reminders, reminder.stages) == (0, 34, ["reminder-3"])
    assert run(date(2026, 3, 31))[0].queued == 0
    [call] = emails(year_2026, "call_for_applications")[:1]
    assert "60.000,00 €" in call.text_body and "31.03.2026" in call.subject
    assert {m.recipient for m in emails(year_2026, "application_reminder")} == {
        f"im{k.ags}@kommune.example" for k in registry.reference_kommunen() if k.ags not in (MAINZ, TRIER)
    }
    with session_scope(year_2026) as session:
        application = ReminderLog.scope == ReminderScope.APPLICATION
        logged = session.exec(select(func.count()).select_from(ReminderLog).where(application))
        assert logged.one() == 35 + 34


# --- generated malformed documents through the whole intake: nothing is ever stored ------------------------------

bad_values = st.one_of(
    st.none(), st.booleans(), st.text(max_size=10), st.lists(st.integers(), max_size=2), st.floats(), st.integers()
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(VALID)), value=bad_values, drop=st.booleans())
def test_generated_bad_documents_never_store_anything(
    year_2026: Engine, settings: Settings, field: str, value: Any, drop: bool
) -> None:
    document = {k: v for k, v in VALID.items() if not (drop and k == field)} | ({} if drop else {field: value})
    document["overhead_costs_eur"] = document.get("overhead_costs_eur", 1) or 1  # certainly invalid
    try:
        text = json.dumps(document)
    except ValueError:
        return
    with pytest.raises((ApplicationInputError, ApplicationRejected)), session_scope(year_2026) as session:
        application = parse_application_json(text)
        submit_application(session, settings, application=application, now=NOW, actor="t")
    with session_scope(year_2026) as session:
        assert session.exec(select(func.count()).select_from(Application)).one() == 0


def test_the_windows_cheap_check_agrees_with_the_planner_on_every_day(
    year_2026: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``nothing_due`` is True exactly on the days the full planning queues nothing (Trier gets a contact late)."""
    policy = load_policy(2026)
    monkeypatch.setattr(application_window, "nothing_due", lambda *a, **k: False)  # the runs always plan in full
    day, disagreements, quiet = date(2026, 1, 10), [], set()
    while day <= date(2026, 4, 2):
        if day == date(2026, 2, 2):
            submit(year_2026, settings)
        if day == date(2026, 3, 1):
            with session_scope(year_2026) as session:
                text = f"ags,name,email,role\n{TRIER},IM Trier,im@trier.example,integration_manager\n"
                assert registry.import_contacts(session, text, now=NOW, actor="t").ok
        with session_scope(year_2026) as session:
            cheap = check(session, policy=policy, today=day)
            [run] = run_window(session, settings, today=day, now=NOW)
        in_window = date(2026, 1, 15) <= day <= date(2026, 3, 31)
        if in_window and cheap != (run.queued == 0 and not run.without_contact):
            disagreements.append((day, cheap, run.queued))
        if cheap:
            quiet.add(day)
        day += timedelta(days=1)
    assert disagreements == []
    # once every Kommune has a contact, the days between the stages skip the full load
    assert {date(2026, 3, d) for d in range(2, 16)} <= quiet
    assert len(emails(year_2026, "call_for_applications")) == 36  # Trier's call went out once it had a contact
