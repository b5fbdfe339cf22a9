"""Workbooks: generated per owing Kommune, filled with openpyxl, imported — the answers equal what was filled in;
bad workbooks (wrong version, edited hidden cells, text in number cells, a missing required answer, another
Kommune's workbook, no workbook at all) refused with every problem and its cell, nothing stored; idempotent."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from kim_workflow.core.domain import DeliverableKind, KommuneKind
from kim_workflow.core.questionnaire import AnswerSource, AnswerStatus
from kim_workflow.core.questionnaire_answers import convert_answers
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Deliverable, DomainEvent, OutboxMessage, QuestionnaireAnswers, QuestionnaireImport
from kim_workflow.email.mime import Attachment
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.questionnaire_answers import load_answers, submit
from kim_workflow.services.questionnaire_import import ImportResult, import_workbooks
from kim_workflow.services.questionnaire_workbook import XLSX_TYPE, owing_kommunen, write_workbooks
from kim_workflow.services.questionnaires import load_questionnaire, shipped_default_text
from kim_workflow.services.sweep import sweep_day
from kim_workflow.settings import Settings
from tests.support.obligations import write_all_active
from tests.support.questionnaire import MAINZ, MAYEN_KOBLENZ, NOW, complete_answers, open_year
from tests.support.workbooks import answer_cells, fill

STADT, LANDKREIS = KommuneKind.KREISFREIE_STADT, KommuneKind.LANDKREIS


@pytest.fixture
def year(engine: Engine) -> Engine:
    open_year(engine)
    return engine


def workbook(engine: Engine, settings: Settings, ags: str, folder: Path) -> bytes:
    with session_scope(engine) as session:
        [written] = write_workbooks(session, settings, year=2026, out_dir=folder, now=NOW, ags=ags)
    return written.path.read_bytes()


def run_import(engine: Engine, settings: Settings, *files: tuple[str, bytes]) -> ImportResult:
    with session_scope(engine) as session:
        result = import_workbooks(session, settings, files=list(files), by="Fachreferat", now=NOW, today=NOW.date())
        if not result.stored:
            session.rollback()
    return result


def stored_count(engine: Engine) -> tuple[int, int, int]:
    with session_scope(engine) as session:
        answers = session.exec(select(func.count()).select_from(QuestionnaireAnswers)).one()
        imports = session.exec(select(func.count()).select_from(QuestionnaireImport)).one()
        owed = (
            select(func.count()).select_from(Deliverable).where(col(Deliverable.kind) == DeliverableKind.QUESTIONNAIRE)
        )
        received = session.exec(owed.where(col(Deliverable.received_on).is_not(None))).one()
    return int(answers), int(imports), int(received)


def test_one_workbook_per_owing_kommune_with_name_ags_year_version_and_a_row_per_question(
    year: Engine, settings: Settings, tmp_path: Path
) -> None:
    with session_scope(year) as session:
        submit(session, settings, year=2026, ags=MAINZ, raw_answers=complete_answers(STADT), by="E", now=NOW,
               today=NOW.date())  # fmt: skip
        written = write_workbooks(session, settings, year=2026, out_dir=tmp_path, now=NOW)
        assert MAINZ not in {k.ags for k in owing_kommunen(session, year=2026)}
        with pytest.raises(UseCaseError, match="bereits eingereicht"):
            owing_kommunen(session, year=2026, ags=MAINZ)
    assert len(written) == 35 and MAINZ not in {w.kommune.ags for w in written}
    path = next(w.path for w in written if w.kommune.ags == MAYEN_KOBLENZ)
    assert path.name == "Fragebogen-2026-07137000-Mayen-Koblenz.xlsx"
    book = load_workbook(path)
    sheet = book["Fragebogen"]
    assert [sheet[c].value for c in ("B2", "B3", "B4", "B5")] == ["Mayen-Koblenz", MAYEN_KOBLENZ, 2026, "2026-1"]
    assert [c.value for c in sheet[8]] == ["Nr.", "ID", "Frage", "Hinweis", "Typ", "Zulässige Antworten",
                                           "Bedingung", "Pflicht", "Vorjahr", "Antwort"]  # fmt: skip
    assert book["_kim"].sheet_state == "veryHidden" and sheet.protection.sheet
    cells = answer_cells(path.read_bytes())
    questionnaire = load_questionnaire(2026)
    assert {key.split("=")[0] for key in cells} == {q.id for q in questionnaire.questions}  # a Landkreis: all
    assert not sheet[cells["konzept.status"]].protection.locked and sheet["C9"].protection.locked
    drop_downs = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    assert drop_downs[cells["konzept.status"]].type == "list"
    assert drop_downs[cells["gremien.netzwerkrunden"]].formula2 == "99"
    stadt = next(w.path for w in written if w.kommune.ags == "07111000")  # Koblenz: no Landkreis questions
    assert not any(key.startswith("gemeinden.") for key in answer_cells(stadt.read_bytes()))


@pytest.mark.parametrize(("ags", "kind"), [(MAINZ, STADT), (MAYEN_KOBLENZ, LANDKREIS)])
def test_round_trip_generate_fill_import_gives_the_same_answers(
    year: Engine, settings: Settings, tmp_path: Path, ags: str, kind: KommuneKind
) -> None:
    questionnaire = load_questionnaire(2026)
    raw = complete_answers(kind)
    filled = fill(workbook(year, settings, ags, tmp_path), questionnaire, raw)
    result = run_import(year, settings, ("mappe.xlsx", filled))
    assert result.stored and result.problems == []
    with session_scope(year) as session:
        stored = load_answers(session, settings, year=2026, ags=ags)
    assert stored is not None and stored.status is AnswerStatus.SUBMITTED
    assert stored.values == convert_answers(questionnaire, raw).values
    assert stored.revisions[0].source is AnswerSource.WORKBOOK
    assert stored_count(year) == (1, 1, 1)
    again = run_import(year, settings, ("nochmal.xlsx", filled))
    assert again.stored and again.files[0].already_imported is not None
    assert stored_count(year) == (1, 1, 1)
    with session_scope(year) as session:
        imported = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.questionnaire.imported"))
        assert len(list(imported)) == 1


def test_a_draft_prefills_the_workbook_and_last_years_answers_are_shown(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    open_year(engine, 2025)
    open_year(engine, 2026)
    with session_scope(engine) as session:
        submit(session, settings, year=2025, ags=MAINZ, raw_answers=complete_answers(STADT), by="E", now=NOW,
               today=NOW.date())  # fmt: skip
    from kim_workflow.services.questionnaire_answers import save_draft

    with session_scope(engine) as session:
        save_draft(session, settings, year=2026, ags=MAINZ, by="E", now=NOW,
                   raw_answers={"gremien.netzwerkrunden": "8", "handlungsfelder.bearbeitet": ["wohnen"]})  # fmt: skip
    content = workbook(engine, settings, MAINZ, tmp_path)
    sheet = load_workbook(io.BytesIO(content))["Fragebogen"]
    cells = answer_cells(content)
    assert sheet[cells["gremien.netzwerkrunden"]].value == 8
    assert sheet[cells["handlungsfelder.bearbeitet=Wohnen"]].value == "Ja"
    assert sheet[cells["handlungsfelder.bearbeitet=Arbeitsmarkt"]].value is None
    previous = {sheet[f"B{n}"].value: sheet[f"I{n}"].value for n in range(9, sheet.max_row + 1)}
    assert previous["sachkosten.betrag"] == "4.250,50 €" and previous["konzept.status"].startswith("Ja, ein")


def problems_of(result: ImportResult) -> list[str]:
    assert not result.stored
    return [str(p) for p in result.problems]


def test_text_in_number_cells_and_a_missing_required_answer_are_all_listed_with_their_cells(
    year: Engine, settings: Settings, tmp_path: Path
) -> None:
    content = workbook(year, settings, MAINZ, tmp_path)
    cells = answer_cells(content)
    raw = {k: v for k, v in complete_answers(STADT).items() if k != "konzept.status"}
    raw.pop("konzept.beschlossen_jahr"), raw.pop("konzept.gremienbeschluss")
    filled = fill(content, load_questionnaire(2026), raw, extra={
        cells["gremien.netzwerkrunden"]: "zwölf", cells["stelle.vzae"]: "viel", cells["austausch.nutzen"]: 7,
        cells["handlungsfelder.bearbeitet=Wohnen"]: "vielleicht"})  # fmt: skip
    assert problems_of(run_import(year, settings, ("m.xlsx", filled))) == [
        f"m.xlsx: Fragebogen!{cells['gremien.netzwerkrunden']} (gremien.netzwerkrunden): Bitte geben Sie eine "
        "ganze Zahl zwischen 0 und 99 an.",
        f"m.xlsx: Fragebogen!{cells['handlungsfelder.bearbeitet=Wohnen']} (handlungsfelder.bearbeitet): Bitte "
        "wählen Sie „Ja“ (angekreuzt) oder lassen Sie die Zelle leer.",
        f"m.xlsx: Fragebogen!{cells['austausch.nutzen']} (austausch.nutzen): Bitte wählen Sie einen Wert von 1 bis 5.",
        f"m.xlsx: Fragebogen!{cells['stelle.vzae']} (stelle.vzae): Bitte geben Sie eine Zahl zwischen 0,01 und 5 an "
        "(höchstens 2 Nachkommastellen).",
        f"m.xlsx: Fragebogen!{cells['konzept.status']} (konzept.status): Bitte beantworten Sie diese Frage.",
    ]
    assert stored_count(year) == (0, 0, 0)


def test_edited_hidden_cells_another_kommunes_workbook_and_a_wrong_version_are_refused(
    year: Engine, settings: Settings, tmp_path: Path
) -> None:
    questionnaire = load_questionnaire(2026)
    content = workbook(year, settings, MAINZ, tmp_path)
    raw = complete_answers(STADT)
    good = fill(content, questionnaire, raw)
    hidden = fill(content, questionnaire, raw, hidden={"B3": MAYEN_KOBLENZ})
    other = fill(content, questionnaire, raw, extra={"B3": MAYEN_KOBLENZ, "B2": "Mayen-Koblenz"})
    moved = fill(content, questionnaire, raw, extra={"B12": "konzept.status"})
    not_a_workbook = ("kaputt.xlsx", b"PK\x03\x04 kein Excel")
    problems = problems_of(run_import(year, settings, ("gut.xlsx", good), ("versteckt.xlsx", hidden),
                                      ("andere.xlsx", other), not_a_workbook))  # fmt: skip
    assert len(problems) == 3
    assert problems[0].startswith("versteckt.xlsx: _kim: Die verborgenen Angaben der Arbeitsmappe wurden verändert")
    assert problems[1] == (
        "andere.xlsx: Fragebogen!B3: Die Arbeitsmappe gehört laut ihren verborgenen Angaben zu Mainz (07315000), im "
        "Blatt steht Mayen-Koblenz (07137000). Bitte verwenden Sie die Arbeitsmappe Ihrer Kommune."
    )
    assert problems[2] == "kaputt.xlsx: Datei: Die Datei ist keine lesbare Excel-Arbeitsmappe (.xlsx)."
    [problem] = problems_of(run_import(year, settings, ("zeile.xlsx", moved)))
    row_12 = next(key for key, cell in answer_cells(content).items() if cell == "J12").split("=")[0]
    assert (
        problem == f"zeile.xlsx: Fragebogen!J12 ({row_12}): Die Zeile 12 wurde verändert (erwartet die Frage {row_12})."
    )
    assert stored_count(year) == (0, 0, 0)  # the good file was not stored either
    folder = settings.questionnaire_dir
    folder.mkdir(parents=True)
    (folder / "2026.toml").write_text(shipped_default_text().replace('"2026-1"', '"2026-2"'), encoding="utf-8")
    [problem] = problems_of(run_import(year, settings, ("gut.xlsx", good)))
    assert problem == ("gut.xlsx: Fragebogen!B5: Die Arbeitsmappe wurde für Version 2026-1 des Fragebogens 2026 "
                       "erstellt; gültig ist Version 2026-2. Bitte fordern Sie eine neue Arbeitsmappe an.")  # fmt: skip
    assert stored_count(year) == (0, 0, 0)


def test_two_workbooks_of_one_kommune_in_one_import_are_refused(
    year: Engine, settings: Settings, tmp_path: Path
) -> None:
    questionnaire = load_questionnaire(2026)
    content = workbook(year, settings, MAINZ, tmp_path)
    first = fill(content, questionnaire, complete_answers(STADT))
    second = fill(content, questionnaire, {**complete_answers(STADT), "gremien.netzwerkrunden": "9"})
    [problem] = problems_of(run_import(year, settings, ("a.xlsx", first), ("b.xlsx", second)))
    assert problem == ("b.xlsx: Fragebogen!B3: Mainz kommt schon in a.xlsx vor; bitte nur eine Arbeitsmappe je "
                       "Kommune einlesen.")  # fmt: skip
    assert stored_count(year) == (0, 0, 0)


def xlsx_attachments(engine: Engine, ags: str) -> list[bytes]:
    with session_scope(engine) as session:
        reminders = select(OutboxMessage).where(col(OutboxMessage.kind) == "deliverable_reminder")
        rows = session.exec(reminders.where(col(OutboxMessage.recipient) == f"im{ags}@k.example"))
        return [Attachment.from_json(a).content for row in rows for a in row.attachments
                if a["content_type"] == XLSX_TYPE]  # fmt: skip


@pytest.mark.parametrize("attach", [True, False])
def test_reminders_carry_the_workbook_while_the_fragebogen_is_owed_if_the_policy_says_so(
    year: Engine, settings: Settings, attach: bool
) -> None:
    policy_file = write_all_active(settings.policy_dir)
    flag = f"attach_questionnaire_workbook = {str(attach).lower()}\n"
    policy_file.write_text(policy_file.read_text(encoding="utf-8") + flag, encoding="utf-8")
    with session_scope(year) as session:
        sweep_day(session, settings, today=date(2026, 11, 3), now=NOW)
    attached = xlsx_attachments(year, MAINZ)
    assert len(attached) == (1 if attach else 0)
    with session_scope(year) as session:
        text = session.exec(
            select(OutboxMessage.text_body).where(col(OutboxMessage.kind) == "deliverable_reminder")
        ).first()
    assert ("den Fragebogen als Excel-Arbeitsmappe" in (text or "")) is attach
    if not attach:
        return
    sheet = load_workbook(io.BytesIO(attached[0]))["Fragebogen"]
    assert (sheet["B2"].value, sheet["B3"].value) == ("Mainz", MAINZ)
    filled = fill(attached[0], load_questionnaire(2026), complete_answers(STADT))
    assert run_import(year, settings, ("aus-der-erinnerung.xlsx", filled)).stored
    with session_scope(year) as session:
        sweep_day(session, settings, today=date(2026, 12, 12), now=NOW)  # 3 days before: the report is still owed
    assert len(xlsx_attachments(year, MAINZ)) == 1  # the second reminder (annual report only) has no workbook
    assert len(xlsx_attachments(year, MAYEN_KOBLENZ)) == 2
