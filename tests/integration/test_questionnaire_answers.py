"""Answers per Kommune and year: draft (partial), submission (final check, then read-only; the questionnaire is
received through the use case of ``kim submission record`` so its reminders stop), correction as a revision with
reason and person; each step an event; nothing stored when a value is refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from kim_workflow.core.domain import DeliverableKind, DeliverableStatus, KommuneKind
from kim_workflow.core.questionnaire import AnswerSource, AnswerStatus
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import (
    Deliverable,
    DomainEvent,
    OutboxMessage,
    QuestionnaireAnswers,
    QuestionnaireAnswersRevision,
)
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.questionnaire_answers import correct, load_answers, save_draft, submit
from kim_workflow.services.submissions import record_submission
from kim_workflow.services.sweep import sweep_day
from kim_workflow.settings import Settings
from tests.support.questionnaire import MAINZ, MAYEN_KOBLENZ, NOW, complete_answers, open_year

TODAY = date(2026, 12, 2)


@pytest.fixture
def year(engine: Engine) -> Engine:
    open_year(engine)
    return engine


def actions(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        rows = session.exec(select(DomainEvent.action).where(col(DomainEvent.action).like("kim.questionnaire.%")))
        return list(rows)


def count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_a_partial_draft_is_saved_and_replaced_by_the_next(year: Engine, settings: Settings) -> None:
    with session_scope(year) as session:
        first = save_draft(session, settings, year=2026, ags=MAINZ, raw_answers={"gremien.netzwerkrunden": "3"},
                           by="Erika Muster", now=NOW)  # fmt: skip
    assert first.saved and first.problems == [] and first.status is AnswerStatus.DRAFT
    with session_scope(year) as session:
        save_draft(session, settings, year=2026, ags=MAINZ, by="Erika Muster", now=NOW,
                   raw_answers={"gremien.netzwerkrunden": "", "sachkosten.verwendet": "ja",
                                "sachkosten.betrag": "1.234,56"})  # fmt: skip
        stored = load_answers(session, settings, year=2026, ags=MAINZ)
    assert stored is not None and stored.status is AnswerStatus.DRAFT and stored.revision == 0
    assert stored.values == {"sachkosten.verwendet": True, "sachkosten.betrag": Decimal("1234.56")}
    assert stored.questionnaire_version == "2026-1" and stored.revisions == []
    assert actions(year) == ["kim.questionnaire.draft_saved"] * 2


def test_a_refused_value_stores_nothing_and_lists_every_problem(year: Engine, settings: Settings) -> None:
    raw = {"gremien.netzwerkrunden": "100", "stelle.vzae": "viel", "x.y": "1", "konzept.status": "vorhanden"}
    with session_scope(year) as session:
        result = save_draft(session, settings, year=2026, ags=MAINZ, raw_answers=raw, by="E", now=NOW)
    assert not result.saved
    assert {p.question_id: p.message for p in result.problems} == {
        "x.y": "Diese Frage gibt es im Fragebogen nicht.",
        "gremien.netzwerkrunden": "Bitte geben Sie eine ganze Zahl zwischen 0 und 99 an.",
        "stelle.vzae": "Bitte geben Sie eine Zahl zwischen 0,01 und 5 an (höchstens 2 Nachkommastellen).",
    }
    assert count(year, QuestionnaireAnswers) == 0 and actions(year) == []


def test_answers_to_hidden_questions_are_discarded(year: Engine, settings: Settings) -> None:
    raw = {"gemeinden.einbindung": "alle", "sachkosten.verwendet": "nein", "sachkosten.betrag": "10"}
    with session_scope(year) as session:
        result = save_draft(session, settings, year=2026, ags=MAINZ, raw_answers=raw, by="E", now=NOW)
    assert result.saved and result.values == {"sachkosten.verwendet": False}


@pytest.mark.parametrize(
    ("ags", "kind"), [(MAINZ, KommuneKind.KREISFREIE_STADT), (MAYEN_KOBLENZ, KommuneKind.LANDKREIS)]
)
def test_submission_records_the_questionnaire_received_and_stops_its_reminders(
    year: Engine, settings: Settings, ags: str, kind: KommuneKind
) -> None:
    with session_scope(year) as session:
        record_submission(session, ags=ags, year=2026, kind=DeliverableKind.ANNUAL_REPORT, received_on=TODAY,
                          today=TODAY, now=NOW, actor="t")  # fmt: skip
    with session_scope(year) as session:
        before = sweep_day(session, settings, today=date(2026, 12, 12), now=NOW, dry_run=True)
        session.rollback()
    assert any(f"im{ags}@" in email.recipient for email in before[0].emails)
    with session_scope(year) as session:
        result = submit(session, settings, year=2026, ags=ags, raw_answers=complete_answers(kind), by="Erika Muster",
                        now=NOW, today=TODAY)  # fmt: skip
    assert result.saved and result.status is AnswerStatus.SUBMITTED and result.revision == 1
    assert result.submission is not None and result.submission.newly_recorded
    with session_scope(year) as session:
        owed = select(Deliverable).where(col(Deliverable.kind) == DeliverableKind.QUESTIONNAIRE)
        deliverable = session.exec(owed.where(col(Deliverable.received_on).is_not(None))).one()
        assert deliverable.status is DeliverableStatus.RECEIVED_ON_TIME and deliverable.recorded_by == "Erika Muster"
        received = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.submission.received",
                                                          col(DomainEvent.subject_id) == ags)).all()  # fmt: skip
        assert [e.payload["kind"] for e in received] == ["annual_report", "questionnaire"]
        confirmations = session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "submission_confirmation"))
        assert len(list(confirmations)) == 1  # the annual report was recorded without the email use case
        after = sweep_day(session, settings, today=date(2026, 12, 12), now=NOW, dry_run=True)
        session.rollback()
    assert not any(f"im{ags}@" in email.recipient for email in after[0].emails)
    assert actions(year) == ["kim.questionnaire.submitted"]


def test_submitting_the_stored_draft_checks_everything_then_it_is_read_only(year: Engine, settings: Settings) -> None:
    with session_scope(year) as session:
        save_draft(session, settings, year=2026, ags=MAINZ, raw_answers={"stelle.besetzung": "unbesetzt"}, by="E",
                   now=NOW)  # fmt: skip
        refused = submit(session, settings, year=2026, ags=MAINZ, by="E", now=NOW, today=TODAY)
    assert not refused.saved and "stelle.vakanz_monate" in {p.question_id for p in refused.problems}
    assert {p.message for p in refused.problems} == {"Bitte beantworten Sie diese Frage."}
    with session_scope(year) as session:
        assert load_answers(session, settings, year=2026, ags=MAINZ).status is AnswerStatus.DRAFT  # type: ignore[union-attr]
        raw = complete_answers(KommuneKind.KREISFREIE_STADT)
        save_draft(session, settings, year=2026, ags=MAINZ, raw_answers=raw, by="E", now=NOW)
        assert submit(session, settings, year=2026, ags=MAINZ, by="E", now=NOW, today=TODAY).saved
    for attempt in (
        lambda s: save_draft(s, settings, year=2026, ags=MAINZ, raw_answers={}, by="E", now=NOW),
        lambda s: submit(s, settings, year=2026, ags=MAINZ, by="E", now=NOW, today=TODAY),
    ):
        refused = pytest.raises(UseCaseError, match=r"bereits am 02\.12\.2026 eingereicht und kann nur noch mit")
        with refused, session_scope(year) as session:
            attempt(session)


def test_a_correction_is_a_new_revision_with_reason_and_person(year: Engine, settings: Settings) -> None:
    raw = complete_answers(KommuneKind.KREISFREIE_STADT)
    with session_scope(year) as session:
        submit(session, settings, year=2026, ags=MAINZ, raw_answers=raw, by="Erika Muster", now=NOW, today=TODAY)
    with session_scope(year) as session:
        result = correct(session, settings, year=2026, ags=MAINZ, by="Max Referent", now=NOW,
                         raw_answers={"gremien.netzwerkrunden": "7", "sachkosten.zwecke": ""},
                         reason="Telefonische Korrektur der Kommune vom 03.12.2026")  # fmt: skip
    assert result.saved and result.revision == 2
    with session_scope(year) as session:
        stored = load_answers(session, settings, year=2026, ags=MAINZ)
        event = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.questionnaire.corrected")).one()
    assert stored is not None and stored.values["gremien.netzwerkrunden"] == 7
    assert "sachkosten.zwecke" not in stored.values
    assert [(r.revision, r.created_by, r.source, r.reason) for r in stored.revisions] == [
        (1, "Erika Muster", AnswerSource.PORTAL, None),
        (2, "Max Referent", AnswerSource.CLI, "Telefonische Korrektur der Kommune vom 03.12.2026"),
    ]
    assert event.actor == "Max Referent"
    assert event.payload["changed"] == ["gremien.netzwerkrunden", "sachkosten.zwecke"]
    assert count(year, QuestionnaireAnswersRevision) == 2


@pytest.mark.parametrize(
    ("raw", "reason", "message"),
    [
        ({"gremien.netzwerkrunden": "7"}, " ", "Bitte geben Sie einen Grund für die Korrektur an."),
        ({"gremien.netzwerkrunden": "7"}, "x" * 1001, r"höchstens 1000 Zeichen \(nicht 1001\)"),
        ({"gremien.netzwerkrunden": "6"}, "Grund", "Die Korrektur ändert keine Antwort"),
    ],
)
def test_a_correction_without_reason_or_change_is_refused(
    year: Engine, settings: Settings, raw: dict[str, str], reason: str, message: str
) -> None:
    with session_scope(year) as session:
        submit(session, settings, year=2026, ags=MAINZ, raw_answers=complete_answers(KommuneKind.KREISFREIE_STADT),
               by="E", now=NOW, today=TODAY)  # fmt: skip
    with pytest.raises(UseCaseError, match=message), session_scope(year) as session:
        correct(session, settings, year=2026, ags=MAINZ, raw_answers=raw, reason=reason, by="M", now=NOW)
    with session_scope(year) as session:
        failed = correct(session, settings, year=2026, ags=MAINZ, raw_answers={"gremien.netzwerkrunden": "-1"},
                         reason="Grund", by="M", now=NOW)  # fmt: skip
    assert not failed.saved and count(year, QuestionnaireAnswersRevision) == 1


def test_a_correction_before_submission_and_answers_of_a_kommune_owing_none_are_refused(
    year: Engine, settings: Settings
) -> None:
    with pytest.raises(UseCaseError, match="noch nicht eingereicht"), session_scope(year) as session:
        correct(session, settings, year=2026, ags=MAINZ, raw_answers={}, reason="r", by="M", now=NOW)
    with pytest.raises(UseCaseError, match="kein Förderjahr eröffnet"), session_scope(year) as session:
        save_draft(session, settings, year=2027, ags=MAINZ, raw_answers={}, by="E", now=NOW)
    with session_scope(year) as session:
        for row in session.exec(select(Deliverable).where(col(Deliverable.kind) == DeliverableKind.QUESTIONNAIRE)):
            session.delete(row)
    with pytest.raises(UseCaseError, match="schuldet für 2026 keinen Fragebogen"), session_scope(year) as session:
        save_draft(session, settings, year=2026, ags=MAINZ, raw_answers={}, by="E", now=NOW)
    with pytest.raises(UseCaseError, match="wer die Angaben macht"), session_scope(year) as session:
        save_draft(session, settings, year=2026, ags=MAINZ, raw_answers={}, by="  ", now=NOW)
