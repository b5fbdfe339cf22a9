"""The application deadline is enforced: on the deadline accepted, a day later refused or (by policy) marked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from kim_workflow.core.domain import DecisionOutcome
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Application, DomainEvent, OutboxMessage
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.orchestration.forms import decision_form_description
from kim_workflow.services import applications as overview_service
from kim_workflow.services import registry
from kim_workflow.services.application_input import parse_application
from kim_workflow.services.application_intake import ApplicationRejected, SubmitResult, submit_application
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.decision_runs import claim_decision_run
from kim_workflow.services.decisions import DecisionRequest, decide_application
from kim_workflow.services.policies import load_policy
from kim_workflow.settings import Settings
from tests.support.smtp import SmtpServer

MAINZ, IM = "07315000", "im@mainz.example"
ON_THE_DEADLINE = datetime(2026, 3, 31, 21, 59, tzinfo=UTC)  # 23:59 in Mainz (summer time): still 31 March
A_DAY_LATE = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # 00:00 on 1 April in Mainz
APPLICATION: dict[str, Any] = {
    "ags": MAINZ,
    "year": 2026,
    "staff": [{"name": "Erika Muster", "fte": "1.0"}],
    "personnel_costs_eur": 60000,
    "material_costs_eur": 20000,
    "overhead_costs_eur": 0,
    "position_in_administration": True,
}


@pytest.fixture
def year_2026(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=ON_THE_DEADLINE)
        contacts = f"ags,name,email,role\n{MAINZ},IM Mainz,{IM},integration_manager\n"
        assert registry.import_contacts(session, contacts, now=ON_THE_DEADLINE, actor="t").ok
        open_cycle(session, policy=load_policy(2026), now=ON_THE_DEADLINE, actor="t")
    return engine


def accept_late(settings: Settings) -> None:
    folder = Path(settings.policy_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "2026.toml").write_text('[application_window]\nlate_applications = "accept_marked"\n', encoding="utf-8")


def submit(engine: Engine, settings: Settings, now: datetime) -> SubmitResult:
    with session_scope(engine) as session:
        application = parse_application(APPLICATION)
        return submit_application(session, settings, application=application, now=now, actor="t")


def stored(engine: Engine) -> tuple[int, int, int]:
    """Applications, emails and application events."""
    with session_scope(engine) as session:
        submitted = (
            select(func.count()).select_from(DomainEvent).where(col(DomainEvent.action).like("kim.application%"))
        )
        return (
            session.exec(select(func.count()).select_from(Application)).one(),
            session.exec(select(func.count()).select_from(OutboxMessage)).one(),
            session.exec(submitted).one(),
        )


@pytest.mark.parametrize(
    ("now", "policy", "late"),
    [
        (ON_THE_DEADLINE, "refuse", False),
        (ON_THE_DEADLINE, "accept_marked", False),
        (A_DAY_LATE, "accept_marked", True),
    ],
)
def test_an_accepted_application_carries_the_late_mark_everywhere(
    year_2026: Engine, settings: Settings, smtp_server: SmtpServer, now: datetime, policy: str, late: bool
) -> None:
    if policy == "accept_marked":
        accept_late(settings)
    result = submit(year_2026, settings, now)
    assert result.late is late
    with session_scope(year_2026) as session:
        assert session.exec(select(Application)).one().late is late
        (event,) = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.application.submitted"))
        assert event.payload["late"] is late
        pending = claim_decision_run(session, settings, application_id=result.application_id, run_id="run-1")
        rows = {row.ags: row for row in overview_service.overview(session, year=2026)}
    assert ("Verspätet eingegangen" in decision_form_description(pending.summary, None)) is late
    assert overview_service.as_table([rows[MAINZ]])[0]["Status"] == (
        "eingereicht, verspätet" if late else "eingereicht"
    )
    assert dispatch_sync(year_2026, settings, now=now).sent == 1
    (receipt,) = smtp_server.handler.by_recipient()[IM]
    assert ("(verspätet eingegangen)" in str(receipt.message["Subject"])) is late
    body = receipt.message.get_body(("plain",))
    assert body is not None
    assert ("nach Ablauf der Antragsfrist eingegangen und wurde als verspätet vermerkt" in body.get_content()) is late


def test_a_day_after_the_deadline_is_refused_by_default_and_nothing_is_stored(
    year_2026: Engine, settings: Settings
) -> None:
    with pytest.raises(ApplicationRejected) as excinfo:
        submit(year_2026, settings, A_DAY_LATE)
    (violation,) = excinfo.value.violations
    assert violation.code == "after_application_deadline"
    assert violation.message == (
        "Die Antragsfrist für das Förderjahr 2026 endete am 31.03.2026; "
        "ein Antrag vom 01.04.2026 kann nicht mehr angenommen werden."
    )
    assert stored(year_2026) == (0, 0, 0)


def test_a_resubmission_after_a_request_for_changes_is_not_late(year_2026: Engine, settings: Settings) -> None:
    submit(year_2026, settings, ON_THE_DEADLINE)
    request = DecisionRequest(outcome=DecisionOutcome.CHANGES_REQUESTED, decided_by="Referentin", message="Bitte …")
    with session_scope(year_2026) as session:
        decide_application(session, settings, request=request, now=A_DAY_LATE, ags=MAINZ, year=2026)
    again = submit(year_2026, settings, datetime(2026, 4, 20, 9, tzinfo=UTC))
    assert (again.revision, again.late) == (2, False)


def test_the_switch_is_read_and_checked(settings: Settings) -> None:
    from kim_workflow.core.policy import LateApplications, PolicyError

    assert load_policy(2026).application_window.late_applications is LateApplications.REFUSE
    accept_late(settings)
    window = load_policy(2026, Path(settings.policy_dir)).application_window
    assert window.late_applications is LateApplications.ACCEPT_MARKED
    (Path(settings.policy_dir) / "2026.toml").write_text('[application_window]\nlate_applications = "ja"\n')
    with pytest.raises(PolicyError, match="Schlüssel late_applications: 'ja' ist nicht zulässig"):
        load_policy(2026, Path(settings.policy_dir))
