"""Amendment (Änderungsbescheid), revocation (Widerrufsbescheid) and four eyes on a real database (#13 items 2, 3)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.core.domain import ApplicationStatus, DecisionOutcome, DeliverableStatus, GrantActState
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Application, Deliverable, GrantDecision
from kim_workflow.services import applications as overview_service
from kim_workflow.services.decisions import DecisionNotPending, DecisionRequest, decide_application, rules_for
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.grant_acts import InvalidGrantDecision, amend_grant, revoke_grant
from kim_workflow.services.grant_review import (
    FourEyesRefused,
    confirm_grant_decision,
    pending_grants,
    reject_grant_decision,
)
from kim_workflow.settings import Settings
from tests.integration.test_applications import MAINZ, NOW, emails, events, submit, year_2026
from tests.integration.test_budget import with_ceiling

__all__ = ["year_2026"]
A, B = "Referentin Schulz", "Referatsleiter Wagner"
GRANT = Decimal("57000")  # 45.000 € + 12.000 €


def approve_pending(engine: Engine, settings: Settings) -> int:
    request = DecisionRequest(
        outcome=DecisionOutcome.APPROVED, decided_by=A, granted_personnel_eur=Decimal("45000"),
        granted_material_eur=Decimal("12000"),
    )  # fmt: skip
    with session_scope(engine) as session:
        result = decide_application(session, settings, request=request, now=NOW, ags=MAINZ, year=2026)
    assert result.awaiting_confirmation is not None and result.status is ApplicationStatus.SUBMITTED
    return result.awaiting_confirmation


def confirm(engine: Engine, settings: Settings, act_id: int, by: str = B) -> None:
    with session_scope(engine) as session:
        confirm_grant_decision(session, settings, act_id=act_id, by=by, now=NOW)


def status(engine: Engine) -> ApplicationStatus:
    with session_scope(engine) as session:
        return session.exec(select(Application.status)).one()


@pytest.fixture
def approved(year_2026: Engine, settings: Settings) -> Engine:
    """Mainz applied (45.000 € + 12.000,50 €) and was approved (45.000 € + 12.000 €), confirmed by B."""
    submit(year_2026, settings)
    confirm(year_2026, settings, approve_pending(year_2026, settings))
    return year_2026


@pytest.mark.parametrize(("second", "allowed"), [(A, False), (f"  {A.upper()} ", False), (B, True)])
def test_four_eyes_the_same_person_cannot_confirm(
    year_2026: Engine, settings: Settings, second: str, allowed: bool
) -> None:
    submit(year_2026, settings)
    act_id = approve_pending(year_2026, settings)
    assert emails(year_2026, "decision_approved") == [] and status(year_2026) is ApplicationStatus.SUBMITTED
    if not allowed:
        with pytest.raises(FourEyesRefused, match=r"Vier-Augen-Prinzip: .* hat die Entscheidung selbst erfasst"):
            confirm(year_2026, settings, act_id, second)
        assert status(year_2026) is ApplicationStatus.SUBMITTED and emails(year_2026, "decision_approved") == []
        return
    confirm(year_2026, settings, act_id, second)
    assert status(year_2026) is ApplicationStatus.APPROVED and len(emails(year_2026, "decision_approved")) == 1
    [confirmed] = events(year_2026, "kim.grant.confirmed")
    assert (confirmed.payload["requested_by"], confirmed.payload["confirmed_by"], confirmed.actor) == (A, B, B)
    confirm(year_2026, settings, act_id, "Dritte Person")  # twice: nothing changes, nothing is sent twice
    assert len(emails(year_2026, "decision_approved")) == 1 and len(events(year_2026, "kim.grant.confirmed")) == 1


def test_a_pending_approval_blocks_other_decisions_and_can_be_rejected(year_2026: Engine, settings: Settings) -> None:
    submit(year_2026, settings)
    act_id = approve_pending(year_2026, settings)
    with session_scope(year_2026) as session:
        assert [p.grant_decision_id for p in pending_grants(session, year=2026)] == [act_id]
    reject = DecisionRequest(outcome=DecisionOutcome.REJECTED, decided_by=B, message="Nein")
    with pytest.raises(DecisionNotPending, match="wartet auf Bestätigung"), session_scope(year_2026) as session:
        decide_application(session, settings, request=reject, now=NOW, ags=MAINZ, year=2026)
    with pytest.raises(UseCaseError, match="Bitte begründen"), session_scope(year_2026) as session:
        reject_grant_decision(session, settings, act_id=act_id, by=B, reason="  ", now=NOW)
    with session_scope(year_2026) as session:
        reject_grant_decision(session, settings, act_id=act_id, by=B, reason="Beträge vertauscht", now=NOW)
    with pytest.raises(UseCaseError, match="verworfen"):
        confirm(year_2026, settings, act_id)
    [rejected] = events(year_2026, "kim.grant.rejected")
    assert (rejected.payload["requested_by"], rejected.payload["rejected_by"]) == (A, B)
    assert status(year_2026) is ApplicationStatus.SUBMITTED and emails(year_2026, "decision_approved") == []
    confirm(year_2026, settings, approve_pending(year_2026, settings))  # a new approval is possible again
    assert status(year_2026) is ApplicationStatus.APPROVED


@pytest.mark.parametrize(
    ("left_before", "allowed"),
    [(Decimal("0.50"), True), (Decimal("0.49"), False)],
    ids=["exactly-at-the-ceiling", "one-cent-above"],
)
def test_an_amendment_at_and_above_the_ceiling(
    approved: Engine, settings: Settings, left_before: Decimal, allowed: bool
) -> None:
    with_ceiling(settings, str(GRANT + left_before))  # the amendment adds 0,50 € material (all that was requested)
    amend = {"ags": MAINZ, "year": 2026, "personnel": Decimal("45000"), "material": Decimal("12000.50"),
             "reason": "Höhere Sachkosten", "by": A, "now": NOW}  # fmt: skip
    if not allowed:
        refused = pytest.raises(InvalidGrantDecision, match="übersteigt das verbleibende Jahresbudget")
        with refused, session_scope(approved) as session:
            amend_grant(session, settings, **amend)  # type: ignore[arg-type]
        with session_scope(approved) as session:
            amend_grant(session, settings, **amend, budget_override_reason="Restmittel")  # type: ignore[arg-type]
    else:
        with session_scope(approved) as session:
            amend_grant(session, settings, **amend)  # type: ignore[arg-type]
    with session_scope(approved) as session:
        [waiting] = pending_grants(session)
    assert emails(approved, "grant_amended") == []
    confirm(approved, settings, waiting.grant_decision_id)
    [mail] = emails(approved, "grant_amended")
    assert "12.000,00 €" in mail.text_body and "12.000,50 €" in mail.text_body and "Höhere Sachkosten" in mail.text_body
    with session_scope(approved) as session:
        rows = {r.ags: r for r in overview_service.overview(session, year=2026)}
    assert rows[MAINZ].granted_material == Decimal("12000.50") and rows[MAINZ].pro_rata_total == Decimal("57000.50")


def test_an_amendment_needs_a_reason_and_an_approved_grant(year_2026: Engine, settings: Settings) -> None:
    submit(year_2026, settings)
    amend = {"ags": MAINZ, "year": 2026, "personnel": Decimal("45000"), "material": Decimal("1"), "by": A, "now": NOW}
    with pytest.raises(UseCaseError, match="nur bei einem bewilligten Antrag"), session_scope(year_2026) as session:
        amend_grant(session, settings, reason="x", **amend)  # type: ignore[arg-type]
    confirm(year_2026, settings, approve_pending(year_2026, settings))
    with pytest.raises(InvalidGrantDecision, match="Begründung der Änderung"), session_scope(year_2026) as session:
        amend_grant(session, settings, reason=" ", **amend)  # type: ignore[arg-type]
    with session_scope(year_2026) as session:
        assert session.exec(select(GrantDecision).where(col(GrantDecision.kind) == "amendment")).all() == []


@pytest.mark.parametrize(
    ("effective_on", "message"),
    [
        (date(2025, 12, 31), "liegt nicht im Förderjahr 2026"),  # one day before the period start (1 January)
        (date(2027, 1, 1), "liegt nicht im Förderjahr 2026"),
        (date(2026, 1, 1), None),  # at the period start: the whole grant is revoked
        (date(2026, 10, 15), None),
    ],
)
def test_revocation_dates(approved: Engine, settings: Settings, effective_on: date, message: str | None) -> None:
    revoke = {"ags": MAINZ, "year": 2026, "effective_on": effective_on, "reason": "Stelle nicht besetzt", "by": A,
              "now": NOW}  # fmt: skip
    if message is not None:
        with pytest.raises(InvalidGrantDecision, match=message), session_scope(approved) as session:
            revoke_grant(session, settings, **revoke)  # type: ignore[arg-type]
        assert status(approved) is ApplicationStatus.APPROVED
        return
    with session_scope(approved) as session:
        act = revoke_grant(session, settings, **revoke)  # type: ignore[arg-type]
    assert act.state is GrantActState.PENDING and status(approved) is ApplicationStatus.APPROVED
    confirm(approved, settings, act.grant_decision_id)
    assert status(approved) is ApplicationStatus.REVOKED
    with session_scope(approved) as session:
        deliverables = list(session.exec(select(Deliverable)))
        rows = {r.ags: r for r in overview_service.overview(session, year=2026)}
    until = effective_on - timedelta(days=1)
    wording = f"mit Wirkung vom {effective_on:%d.%m.%Y} an (gefördert bis einschließlich {until:%d.%m.%Y})"
    reason = f"Förderung widerrufen {wording}"
    # pro rata up to the day before: 1 January → nothing; 15 October → 57.000 € × (9 + 14/31) / 12
    expected = Decimal(0) if effective_on.month == 1 else Decimal("44895.16")
    # nothing remains → the reports are waived; money kept → they stay owed (Verwendungsnachweis)
    owed = {(DeliverableStatus.WAIVED, reason)} if not expected else {(DeliverableStatus.OUTSTANDING, None)}
    assert {(d.status, d.waived_reason) for d in deliverables} == owed
    assert rows[MAINZ].pro_rata_total == expected
    assert overview_service.as_table([rows[MAINZ]])[0]["Status"] == f"widerrufen zum {effective_on:%d.%m.%Y}"
    [mail] = emails(approved, "grant_revoked")
    assert f"mit Wirkung vom {effective_on:%d.%m.%Y} an" in mail.subject and "Stelle nicht besetzt" in mail.text_body
    text, html = " ".join(mail.text_body.split()), " ".join((mail.html_body or "").split())
    assert wording in text and wording in html and "Bewilligungszeitraum" in text
    assert "zum" not in mail.subject and "Förderzeitraum" not in text
    sentence = "bleiben geschuldet: Sie weisen die Verwendung" if expected else "entfallen für dieses Förderjahr"
    assert sentence in text and sentence in html
    with pytest.raises(UseCaseError, match="nur bei einem bewilligten Antrag"), session_scope(approved) as session:
        revoke_grant(session, settings, **revoke)  # type: ignore[arg-type]


JULY = {"from": "2026-07-01", "to": "2026-07-31"}
PERIOD = {"start": "2026-03-01", "end": "2026-12-31", "vacancies": [JULY]}


@pytest.mark.parametrize(
    ("period", "problem"),
    [
        ({**PERIOD, "start": "2025-12-31"}, "Beginn des Förderzeitraums (31.12.2025) liegt nicht im Förderjahr 2026"),
        ({**PERIOD, "start": "2026-08-01", "end": "2026-07-31", "vacancies": []}, "beginnt (01.08.2026) nach"),
        ({**PERIOD, "vacancies": [JULY, {"from": "2026-07-31", "to": "2026-08-10"}]},
         "Vakanz 1 und Vakanz 2 überschneiden sich"),  # by one day
        ({**PERIOD, "vacancies": [JULY, {"from": "2026-08-01", "to": "2026-08-10"}]}, None),
        ({**PERIOD, "vacancies": [{"from": "2026-02-28", "to": "2026-03-10"}]}, "liegt nicht im Förderzeitraum"),
        ({**PERIOD, "start": "01.03.2026"}, "erwartet ein Datum JJJJ-MM-TT"),
    ],
)  # fmt: skip
def test_a_bad_funded_period_is_refused_with_a_german_reason(
    year_2026: Engine, settings: Settings, period: dict[str, object], problem: str | None
) -> None:
    from kim_workflow.services.application_input import ApplicationInputError
    from kim_workflow.services.application_intake import ApplicationRejected

    if problem is None:  # the day after the first vacancy: no overlap
        assert submit(year_2026, settings, funded_period=period).revision == 1
        return
    with pytest.raises((ApplicationRejected, ApplicationInputError)) as info:
        submit(year_2026, settings, funded_period=period)
    assert problem in str([v.message for v in info.value.violations])
    with session_scope(year_2026) as session:
        assert session.exec(select(Application)).all() == []


def test_a_partial_year_is_granted_pro_rata_in_the_list_the_form_and_the_email(
    year_2026: Engine, settings: Settings
) -> None:
    from kim_workflow.services.decision_runs import claim_decision_run

    submit(year_2026, settings, funded_period=PERIOD)
    with session_scope(year_2026) as session:
        summary = claim_decision_run(session, settings, application_id=1, run_id="r").summary
    assert "Förderzeitraum 01.03.2026 bis 31.12.2026, unbesetzt 01.07.2026 bis 31.07.2026: anteilig 9 von 12" in summary
    confirm(year_2026, settings, approve_pending(year_2026, settings))
    with session_scope(year_2026) as session:
        [row] = [r for r in overview_service.overview(session, year=2026) if r.ags == MAINZ]
    assert row.pro_rata_total == Decimal("42750.00")  # 57.000 € × 9/12
    table = overview_service.as_table([row])[0]
    assert table["Förderzeitraum"] == "01.03.2026 bis 31.12.2026, unbesetzt 01.07.2026 bis 31.07.2026"
    assert table["Zuwendung anteilig"] == "42.750,00 €"
    [mail] = emails(year_2026, "decision_approved")
    assert "Bewilligungszeitraum: 01.03.2026 bis 31.12.2026" in " ".join(mail.text_body.split())
    text, html = " ".join(mail.text_body.split()), " ".join(mail.html_body.split())
    assert "Jahresbetrag 57.000,00 €" in text and "Bewilligt insgesamt" not in text
    for body in (text, html):
        assert "Zuwendung (Höchstbetrag) für den Bewilligungszeitraum (9 von 12 Monaten)" in body
        assert "42.750,00 €" in body
    assert "unbesetzt ist: 01.07.2026 bis 31.07.2026" in mail.text_body


@pytest.mark.parametrize(
    ("effective_on", "allowed", "counted"),
    [(date(2026, 3, 1), True, Decimal("0.00")), (date(2026, 2, 28), False, None),
     (date(2026, 8, 1), True, Decimal("19000.00"))],  # 4 months (March to June; July vacant) of 57.000 €
    ids=["at-period-start", "one-day-before", "after-the-vacancy"],
)  # fmt: skip
def test_a_revocation_is_not_before_the_funded_period_and_the_budget_keeps_the_part_before_it(
    year_2026: Engine, settings: Settings, effective_on: date, allowed: bool, counted: Decimal | None
) -> None:
    submit(year_2026, settings, funded_period=PERIOD)
    confirm(year_2026, settings, approve_pending(year_2026, settings))
    revoke = {"ags": MAINZ, "year": 2026, "effective_on": effective_on, "reason": "Stelle nicht besetzt", "by": A,
              "now": NOW}  # fmt: skip
    if not allowed:
        refused = pytest.raises(InvalidGrantDecision, match=r"liegt vor dem Beginn des Förderzeitraums \(01.03.2026\)")
        with refused, session_scope(year_2026) as session:
            revoke_grant(session, settings, **revoke)  # type: ignore[arg-type]
        return
    with session_scope(year_2026) as session:
        act = revoke_grant(session, settings, **revoke)  # type: ignore[arg-type]
    confirm(year_2026, settings, act.grant_decision_id)
    with session_scope(year_2026) as session:
        budget = overview_service.budget_state(session, year=2026, rules=rules_for(settings, 2026))
    assert budget.granted == counted


def test_without_four_eyes_every_decision_takes_effect_at_once(year_2026: Engine, settings: Settings) -> None:
    settings.policy_dir.mkdir(parents=True, exist_ok=True)
    (settings.policy_dir / "2026.toml").write_text("[decisions]\nfour_eyes = false\n", encoding="utf-8")
    submit(year_2026, settings)
    request = DecisionRequest(outcome=DecisionOutcome.APPROVED, decided_by=A, granted_personnel_eur=Decimal("45000"),
                              granted_material_eur=Decimal("12000"))  # fmt: skip
    with session_scope(year_2026) as session:
        result = decide_application(session, settings, request=request, now=NOW, ags=MAINZ, year=2026)
    assert result.awaiting_confirmation is None and result.status is ApplicationStatus.APPROVED
    with session_scope(year_2026) as session:
        amended = amend_grant(session, settings, ags=MAINZ, year=2026, personnel=Decimal("40000"),
                              material=Decimal("12000"), reason="Teilzeit", by=A, now=NOW)  # fmt: skip
    assert amended.state is GrantActState.CONFIRMED and amended.email_queued
    assert len(emails(year_2026, "decision_approved")) == len(emails(year_2026, "grant_amended")) == 1
    assert events(year_2026, "kim.grant.requested") == [] and len(events(year_2026, "kim.grant.amended")) == 1
    with session_scope(year_2026) as session:
        assert pending_grants(session) == []


def test_withdrawing_rejects_the_waiting_approval_in_the_same_transaction(
    year_2026: Engine, settings: Settings
) -> None:
    from kim_workflow.services.withdrawals import withdraw_application

    submit(year_2026, settings)
    act_id = approve_pending(year_2026, settings)
    with session_scope(year_2026) as session:
        result = withdraw_application(session, settings, ags=MAINZ, year=2026, reason="Stelle nicht besetzbar",
                                      now=NOW, actor="Kommune Mainz")  # fmt: skip
    assert result.rejected_grant_decision == act_id and status(year_2026) is ApplicationStatus.WITHDRAWN
    [rejected] = events(year_2026, "kim.grant.rejected")
    assert rejected.payload["rejection_reason"] == "Antrag zurückgezogen"
    assert rejected.payload["rejected_by"] == "Kommune Mainz" and rejected.payload["automatic"] is True
    with session_scope(year_2026) as session:
        assert pending_grants(session) == []
        assert session.exec(select(GrantDecision.state)).one() is GrantActState.REJECTED
    with pytest.raises(UseCaseError, match="verworfen"):
        confirm(year_2026, settings, act_id)
    assert events(year_2026, "kim.grant.confirmed") == [] and emails(year_2026, "decision_approved") == []


@pytest.mark.parametrize("left_as", [ApplicationStatus.WITHDRAWN, ApplicationStatus.REJECTED])
def test_confirming_when_the_application_moved_on_is_a_german_refusal_before_any_change(
    year_2026: Engine, settings: Settings, left_as: ApplicationStatus
) -> None:
    """A waiting approval left behind (e.g. by the version before the withdrawal rejected it): no raw error."""
    submit(year_2026, settings)
    act_id = approve_pending(year_2026, settings)
    with session_scope(year_2026) as session:
        application = session.exec(select(Application)).one()
        application.status = left_as
        session.add(application)
    with pytest.raises(
        UseCaseError, match=r"kann nicht mehr bestätigt werden: der Antrag von .* ist (zurückgezogen|abgelehnt)"
    ):
        confirm(year_2026, settings, act_id)
    assert status(year_2026) is left_as and events(year_2026, "kim.grant.confirmed") == []
    with session_scope(year_2026) as session:
        assert session.exec(select(GrantDecision.state)).one() is GrantActState.PENDING
    assert emails(year_2026, "decision_approved") == []


@pytest.mark.parametrize(
    ("effective_on", "allowed"),
    [(date(2026, 9, 29), True), (date(2026, 9, 30), True), (date(2026, 10, 1), False), (date(2026, 10, 15), False)],
    ids=["before-the-end", "on-the-last-day", "one-day-after-the-end", "october"],
)
def test_a_revocation_after_the_funded_period_ends_is_refused(
    year_2026: Engine, settings: Settings, effective_on: date, allowed: bool
) -> None:
    submit(year_2026, settings, funded_period={"start": "2026-01-01", "end": "2026-09-30", "vacancies": []})
    confirm(year_2026, settings, approve_pending(year_2026, settings))
    revoke = {"ags": MAINZ, "year": 2026, "effective_on": effective_on, "reason": "Stelle nicht besetzt", "by": A,
              "now": NOW}  # fmt: skip
    if not allowed:
        refused = pytest.raises(
            InvalidGrantDecision, match=r"liegt nach dem Ende des Bewilligungszeitraums \(30.09.2026\)"
        )
        with refused, session_scope(year_2026) as session:
            revoke_grant(session, settings, **revoke)  # type: ignore[arg-type]
        with session_scope(year_2026) as session:
            assert pending_grants(session) == []
        return
    with session_scope(year_2026) as session:
        act = revoke_grant(session, settings, **revoke)  # type: ignore[arg-type]
    confirm(year_2026, settings, act.grant_decision_id)
    assert status(year_2026) is ApplicationStatus.REVOKED
    with session_scope(year_2026) as session:  # money kept for January to September: the reports stay owed
        assert {d.status for d in session.exec(select(Deliverable))} == {DeliverableStatus.OUTSTANDING}


@pytest.mark.parametrize(
    ("ceiling", "allowed"),
    [("44908.07", True), ("44908.06", True), ("44908.05", False)],
    ids=["one-cent-below", "exactly-at-the-ceiling", "one-cent-above"],
)
def test_the_budget_check_and_the_budget_sum_use_the_same_pro_rata(
    year_2026: Engine, settings: Settings, ceiling: str, allowed: bool
) -> None:
    """45.000,37 € + 12.016 € for 1 January to 14 October (293/372 of the year): 35.443,84 € + 9.464,22 € =
    44.908,06 € as the budget counts it, each part rounded (the total rounded once would be 44.908,05 €)."""
    with_ceiling(settings, ceiling)
    submit(year_2026, settings, personnel_costs_eur="45000.37", material_costs_eur="12016",
           funded_period={"start": "2026-01-01", "end": "2026-10-14", "vacancies": []})  # fmt: skip
    request = DecisionRequest(
        outcome=DecisionOutcome.APPROVED, decided_by=A, granted_personnel_eur=Decimal("45000.37"),
        granted_material_eur=Decimal("12016"),
    )  # fmt: skip
    if not allowed:
        refused = pytest.raises(UseCaseError, match="übersteigt das verbleibende Jahresbudget")
        with refused, session_scope(year_2026) as session:
            decide_application(session, settings, request=request, now=NOW, ags=MAINZ, year=2026)
        return
    with session_scope(year_2026) as session:
        result = decide_application(session, settings, request=request, now=NOW, ags=MAINZ, year=2026)
    assert result.awaiting_confirmation is not None
    confirm(year_2026, settings, result.awaiting_confirmation)  # checked again at confirmation: still within
    with session_scope(year_2026) as session:
        budget = overview_service.budget_state(session, year=2026, rules=rules_for(settings, 2026))
    assert budget.granted == Decimal("44908.06") and budget.granted <= Decimal(ceiling)


@pytest.mark.parametrize(
    ("second_state", "allowed"),
    [(GrantActState.PENDING, False), (GrantActState.CONFIRMED, True), (GrantActState.REJECTED, True)],
)
def test_at_most_one_decision_per_application_waits_for_confirmation(
    year_2026: Engine, settings: Settings, second_state: GrantActState, allowed: bool
) -> None:
    """The database refuses a second waiting decision even past the service's check (two racing sessions)."""
    from sqlalchemy.exc import IntegrityError

    from kim_workflow.core.domain import GrantActKind

    submit(year_2026, settings)
    act_id = approve_pending(year_2026, settings)
    with session_scope(year_2026) as session:
        first = session.get(GrantDecision, act_id)
        assert first is not None
        copy = GrantDecision(
            application_id=first.application_id, application_revision=first.application_revision,
            kind=GrantActKind.APPROVAL, state=second_state, requested_by=B, requested_at=NOW,
        )  # fmt: skip
    if allowed:
        with session_scope(year_2026) as session:
            session.add(copy)
        return
    with pytest.raises(IntegrityError), session_scope(year_2026) as session:
        session.add(copy)
    with session_scope(year_2026) as session:
        assert [row.id for row in session.exec(select(GrantDecision))] == [act_id]
