from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from kim_workflow.core.domain import DeliverableKind, DeliverableStatus
from kim_workflow.core.status import DerivedStatus
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Deliverable, DomainEvent
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.status import status_matrix, summary_markdown, to_csv
from kim_workflow.services.submissions import extend_deadline, record_submission
from tests.support.obligations import all_active_policy

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
MAINZ, KOBLENZ = "07315000", "07111000"


@pytest.fixture
def year_2026(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        open_cycle(session, policy=all_active_policy(2026), now=NOW, actor="test")
    return engine


def events(engine: Engine, action: str) -> list[DomainEvent]:
    with session_scope(engine) as session:
        return list(session.exec(select(DomainEvent).where(col(DomainEvent.action) == action)))


def test_opening_a_year_twice_creates_72_deliverables_once(year_2026: Engine) -> None:
    with session_scope(year_2026) as session:
        again = open_cycle(session, policy=all_active_policy(2026), now=NOW, actor="test")
        total = session.exec(select(func.count()).select_from(Deliverable)).one()
        dues = set(session.exec(select(Deliverable.due_date)).all())
    assert (again.created_cycle, again.created_deliverables, total) == (False, 0, 72)
    assert dues == {date(2026, 12, 15)}
    assert len(events(year_2026, "kim.cycle.opened")) == 1


def record(engine: Engine, kind: DeliverableKind, received: date, today: date | None = None, ags: str = MAINZ):
    with session_scope(engine) as session:
        return record_submission(
            session, ags=ags, year=2026, kind=kind, received_on=received, today=today or received, now=NOW, actor="t"
        )


def test_submission_on_time_late_and_twice(year_2026: Engine) -> None:
    first = record(year_2026, DeliverableKind.ANNUAL_REPORT, date(2026, 12, 10))
    again = record(year_2026, DeliverableKind.ANNUAL_REPORT, date(2026, 12, 11))
    late = record(year_2026, DeliverableKind.QUESTIONNAIRE, date(2026, 12, 16))
    assert (first.newly_recorded, first.late, again.newly_recorded, late.late) == (True, False, False, True)
    assert again.deliverable.received_on == date(2026, 12, 10)
    assert late.deliverable.status is DeliverableStatus.RECEIVED_LATE
    received = events(year_2026, "kim.submission.received")
    assert [(e.subject_type, e.subject_id, e.payload["late"]) for e in received] == [
        ("kommune", MAINZ, False),
        ("kommune", MAINZ, True),
    ]


@pytest.mark.parametrize(
    ("ags", "year", "received", "message"),
    [
        ("99999999", 2026, date(2026, 12, 1), "Unbekannter AGS"),
        (MAINZ, 2031, date(2026, 12, 1), "kein Förderjahr"),
        (MAINZ, 2026, date(2026, 12, 24), "in der Zukunft"),
    ],
)
def test_bad_submissions_are_refused_and_change_nothing(
    year_2026: Engine, ags: str, year: int, received: date, message: str
) -> None:
    with pytest.raises(UseCaseError, match=message), session_scope(year_2026) as session:
        record_submission(
            session,
            ags=ags,
            year=year,
            kind=DeliverableKind.ANNUAL_REPORT,
            received_on=received,
            today=date(2026, 12, 20),
            now=NOW,
            actor="t",
        )
    assert events(year_2026, "kim.submission.received") == []


def test_extension_moves_outstanding_deliverables_and_the_status_shows_it(year_2026: Engine) -> None:
    record(year_2026, DeliverableKind.ANNUAL_REPORT, date(2026, 12, 1))
    with session_scope(year_2026) as session:
        outcome = extend_deadline(
            session, ags=MAINZ, year=2026, until=date(2027, 1, 15), reason="Krankheit", now=NOW, actor="t"
        )
    assert outcome.extended == [DeliverableKind.QUESTIONNAIRE]
    with session_scope(year_2026) as session:
        rows = {r.ags: r for r in status_matrix(session, year=2026, today=date(2026, 12, 20))}
    assert rows[MAINZ].jahresbericht == "fristgerecht eingegangen am 01.12.2026"
    assert rows[MAINZ].fragebogen == "verlängert bis 15.01.2027"
    assert rows[KOBLENZ].report_status is DerivedStatus.OVERDUE
    assert rows[KOBLENZ].jahresbericht == "überfällig seit 16.12.2026"
    assert len(rows) == 36


@pytest.mark.parametrize(
    ("until", "reason", "message"),
    [(date(2026, 12, 1), "Krankheit", "muss nach"), (date(2027, 1, 15), " ", "Grund"),
     (date(2027, 1, 15), "a\r\nBcc: x", "Steuerzeichen")],
)  # fmt: skip
def test_bad_extensions_are_refused(year_2026: Engine, until: date, reason: str, message: str) -> None:
    with pytest.raises(UseCaseError, match=message), session_scope(year_2026) as session:
        extend_deadline(session, ags=MAINZ, year=2026, until=until, reason=reason, now=NOW, actor="t")
    assert events(year_2026, "kim.deadline.extended") == []


def test_summary_and_csv_export(year_2026: Engine) -> None:
    record(year_2026, DeliverableKind.ANNUAL_REPORT, date(2026, 12, 1))
    record(year_2026, DeliverableKind.QUESTIONNAIRE, date(2026, 12, 2))
    with session_scope(year_2026) as session:
        rows = status_matrix(session, year=2026, today=date(2026, 12, 17))
    markdown = summary_markdown(rows, year=2026, today=date(2026, 12, 17))
    assert "vollständig eingereicht: **1**" in markdown and "überfällig: **35**" in markdown
    csv_text = to_csv(rows)
    assert csv_text.splitlines()[0] == "AGS,Kommune,Jahresbericht,Fragebogen,Letzte Erinnerung,Teilnahmen an Treffen"
    assert len(csv_text.splitlines()) == 37
