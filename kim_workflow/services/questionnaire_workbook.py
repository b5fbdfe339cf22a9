"""The questionnaire as a prefilled XLSX workbook per Kommune, for answering without the portal.

Sheet „Fragebogen“: Kommune, AGS, year and version on top, then one row per question (id, text, help, type,
allowed answers, condition, required, last year's answer, the answer cell). Only the answer cells are unlocked;
drop-downs and input rules guide the entry (the import checks everything again). The hidden sheet „_kim“ holds
the metadata and the answer cells' questions with a checksum (``core/questionnaire_workbook.py``); „Listen“ holds
the drop-down lists. Read back by ``services/questionnaire_import.py``.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session, col, select

from kim_workflow.core.domain import DeliverableKind, DeliverableStatus, KommuneKind
from kim_workflow.core.questionnaire import AnswerStatus, AnswerValue, Question, Questionnaire, QuestionType
from kim_workflow.core.questionnaire_answers import answers_from_json, display, expected
from kim_workflow.core.questionnaire_text import allowed_text, condition_text
from kim_workflow.core.questionnaire_workbook import (
    CHOSEN,
    FORMAT,
    NOT_CHOSEN,
    CellValue,
    Row,
    cell_text,
    checksum,
    workbook_rows,
)
from kim_workflow.db.models import Deliverable, Kommune, QuestionnaireAnswers
from kim_workflow.email.mime import Attachment
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.lookups import cycle_for, kommune_by_ags
from kim_workflow.services.questionnaires import load_questionnaire
from kim_workflow.settings import Settings

SHEET, META_SHEET, LISTS_SHEET = "Fragebogen", "_kim", "Listen"
FIRST_ROW = 9
HEADERS = ("Nr.", "ID", "Frage", "Hinweis", "Typ", "Zulässige Antworten", "Bedingung", "Pflicht", "Vorjahr", "Antwort")
WIDTHS = (6, 34, 60, 40, 16, 34, 34, 8, 28, 34)
ANSWER_COLUMN = "J"
META_CELLS = {"kommune": "B2", "ags": "B3", "year": "B4", "version": "B5"}
KEYS_START = 12  # first row of the (cell, key) pairs in the hidden sheet
ANSWER_FILL = PatternFill("solid", fgColor="FFF2CC")
HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
INSTRUCTIONS = (
    "Bitte tragen Sie Ihre Antworten nur in die gelb hinterlegte Spalte „Antwort“ ein; alle anderen Zellen sind "
    "geschützt. Fragen mit einer Bedingung beantworten Sie bitte nur, wenn die Bedingung zutrifft. Bei "
    "Mehrfachauswahl wählen Sie bei jeder zutreffenden Möglichkeit „Ja“. Senden Sie die Datei anschließend an das "
    "Fachreferat zurück; bitte benennen Sie keine Blätter um und fügen Sie keine Zeilen ein."
)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class KommuneLike(Protocol):
    """What a workbook needs of a Kommune (the table row or the sweep's ``KommuneRow``)."""

    @property
    def id(self) -> int | None: ...
    @property
    def ags(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> KommuneKind: ...


@dataclass(frozen=True)
class WrittenWorkbook:
    kommune: Kommune
    path: Path


def owing_kommunen(session: Session, *, year: int, ags: str | None = None) -> list[Kommune]:
    """Kommunen that owe the year's Fragebogen (not waived) and have not submitted their answers yet."""
    cycle_for(session, year)
    query = (
        select(Kommune)
        .join(Deliverable, col(Deliverable.kommune_id) == col(Kommune.id))
        .where(col(Deliverable.year) == year, col(Deliverable.kind) == DeliverableKind.QUESTIONNAIRE,
               col(Deliverable.status) != DeliverableStatus.WAIVED)
        .order_by(col(Kommune.ags))
    )  # fmt: skip
    if ags is not None:
        query = query.where(col(Kommune.id) == kommune_by_ags(session, ags).id)
    submitted = set(
        session.exec(
            select(QuestionnaireAnswers.kommune_id).where(
                col(QuestionnaireAnswers.year) == year, col(QuestionnaireAnswers.status) == AnswerStatus.SUBMITTED
            )
        )
    )
    owing = [k for k in session.exec(query) if k.id not in submitted]
    if ags is not None and not owing:
        raise UseCaseError(f"{ags} schuldet für {year} keinen Fragebogen (entfällt oder bereits eingereicht).")
    return owing


def write_workbooks(
    session: Session, settings: Settings, *, year: int, out_dir: Path, now: datetime, ags: str | None = None
) -> list[WrittenWorkbook]:
    """One prefilled workbook per owing Kommune (or the one given) in ``out_dir``."""
    questionnaire = load_questionnaire(year, settings.questionnaire_dir)
    kommunen = owing_kommunen(session, year=year, ags=ags)
    drafts = _answers(session, questionnaire, year, submitted_only=False)
    previous = _previous(session, settings, year)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kommune in kommunen:
        assert kommune.id is not None
        content = build_workbook(questionnaire, kommune, year=year, now=now, answers=drafts.get(kommune.id, {}),
                                 previous=previous.get(kommune.id, {}))  # fmt: skip
        path = out_dir / workbook_name(kommune, year)
        path.write_bytes(content)
        written.append(WrittenWorkbook(kommune, path))
    return written


def workbook_attachment(
    session: Session, settings: Settings, kommune: KommuneLike, *, year: int, now: datetime
) -> Attachment:
    """The Kommune's prefilled workbook as an email attachment (for reminders: ``attach_questionnaire_workbook``)."""
    questionnaire = load_questionnaire(year, settings.questionnaire_dir)
    assert kommune.id is not None
    drafts = _answers(session, questionnaire, year, submitted_only=False, kommune_id=kommune.id)
    previous = _previous(session, settings, year, kommune_id=kommune.id)
    content = build_workbook(questionnaire, kommune, year=year, now=now, answers=drafts.get(kommune.id, {}),
                             previous=previous.get(kommune.id, {}))  # fmt: skip
    return Attachment(workbook_name(kommune, year), XLSX_TYPE, content)


def workbook_name(kommune: KommuneLike, year: int) -> str:
    ascii_name = unicodedata.normalize("NFKD", kommune.name.replace("ß", "ss")).encode("ascii", "ignore").decode()
    return f"Fragebogen-{year}-{kommune.ags}-{re.sub(r'[^A-Za-z0-9]+', '-', ascii_name).strip('-')}.xlsx"


def _answers(
    session: Session, questionnaire: Questionnaire, year: int, *, submitted_only: bool, kommune_id: int | None = None
) -> dict[int, dict[str, AnswerValue]]:
    query = select(QuestionnaireAnswers).where(col(QuestionnaireAnswers.year) == year)
    if kommune_id is not None:
        query = query.where(col(QuestionnaireAnswers.kommune_id) == kommune_id)
    if submitted_only:
        query = query.where(col(QuestionnaireAnswers.status) == AnswerStatus.SUBMITTED)
    return {row.kommune_id: answers_from_json(questionnaire, row.answers) for row in session.exec(query)}


def _previous(
    session: Session, settings: Settings, year: int, *, kommune_id: int | None = None
) -> dict[int, dict[str, str]]:
    """Last year's submitted answers as text, per Kommune id (for reference; empty without a previous year)."""
    earlier = load_questionnaire(year - 1, settings.questionnaire_dir)
    shown: dict[int, dict[str, str]] = {}
    for owner, values in _answers(session, earlier, year - 1, submitted_only=True, kommune_id=kommune_id).items():
        texts: dict[str, str] = {}
        for question_id, value in values.items():
            question = earlier.question(question_id)
            if question is not None:
                texts[question_id] = display(question, value)
        shown[owner] = texts
    return shown


def build_workbook(
    questionnaire: Questionnaire, kommune: KommuneLike, *, year: int, now: datetime,
    answers: dict[str, AnswerValue], previous: dict[str, str],
) -> bytes:  # fmt: skip
    """The XLSX file's bytes."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET
    lists = book.create_sheet(LISTS_SHEET)
    meta_sheet = book.create_sheet(META_SHEET)
    _head(sheet, questionnaire, kommune, year)
    rows = workbook_rows(questionnaire, kommune.kind)
    validations = _Validations(sheet, lists)
    keys: list[tuple[str, str]] = []
    positions = {q.id: n for n, q in enumerate(questionnaire.questions, start=1)}
    for offset, row in enumerate(rows):
        number = FIRST_ROW + offset
        _question_row(sheet, number, positions[row.question.id], row, questionnaire, previous, answers)
        if not row.heading:
            cell = f"{ANSWER_COLUMN}{number}"
            validations.add(row, cell)
            keys.append((cell, row.key))
    meta = {"format": FORMAT, "kommune": kommune.name, "ags": kommune.ags, "year": str(year),
            "version": questionnaire.version, "kind": kommune.kind.value, "created_at": now.isoformat()}  # fmt: skip
    _meta(meta_sheet, meta, keys)
    for sheet_ in (lists, meta_sheet):
        sheet_.sheet_state = "veryHidden"
        sheet_.protection.sheet = True
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False  # widths may be changed for reading
    sheet.freeze_panes = f"A{FIRST_ROW}"
    book.security = WorkbookProtection(lockStructure=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _head(sheet: Worksheet, questionnaire: Questionnaire, kommune: KommuneLike, year: int) -> None:
    sheet["A1"] = questionnaire.title
    sheet["A1"].font = Font(bold=True, size=14)
    for label, (key, cell) in zip(
        ("Kommune", "AGS", "Förderjahr", "Version des Fragebogens"), META_CELLS.items(), strict=True
    ):
        sheet[f"A{cell[1:]}"] = label
        shown: dict[str, str | int] = {"kommune": kommune.name, "ags": kommune.ags, "year": year,
                                       "version": questionnaire.version}  # fmt: skip
        sheet[cell] = shown[key]
        sheet[cell].font = Font(bold=True)
    sheet["A6"] = INSTRUCTIONS
    sheet.merge_cells("A6:J6")
    sheet["A6"].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.row_dimensions[6].height = 48
    for index, (header, width) in enumerate(zip(HEADERS, WIDTHS, strict=True), start=1):
        head = sheet.cell(row=FIRST_ROW - 1, column=index, value=header)
        head.font, head.fill = Font(bold=True), HEAD_FILL
        sheet.column_dimensions[get_column_letter(index)].width = width


def _question_row(
    sheet: Worksheet, number: int, position: int, row: Row, questionnaire: Questionnaire,
    previous: dict[str, str], answers: dict[str, AnswerValue],
) -> None:  # fmt: skip
    question = row.question
    wrap = Alignment(wrap_text=True, vertical="top")
    if row.option is not None:
        chosen = answers.get(question.id)
        ticked = CHOSEN if isinstance(chosen, tuple) and row.option.code in chosen else None
        label = f"– {row.option.label}"
        values: list[CellValue] = ["", question.id, label, "", "", f"{CHOSEN} / leer", "", "", "", ticked]
    else:
        values = [
            position, question.id, question.text, question.help,
            question.type.label_de, allowed_text(question), condition_text(questionnaire, question),
            "ja" if question.required else "", previous.get(question.id, ""),
            None if row.heading else cell_text(question, answers.get(question.id)),
        ]  # fmt: skip
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=number, column=column, value=value)
        cell.alignment = wrap
    answer = sheet[f"{ANSWER_COLUMN}{number}"]
    if not row.heading:
        answer.protection = Protection(locked=False)
        answer.fill = ANSWER_FILL
        _number_format(answer, question)


def _number_format(cell: object, question: Question) -> None:
    formats = {QuestionType.AMOUNT: "#,##0.00 €", QuestionType.DATE: "DD.MM.YYYY", QuestionType.INTEGER: "0"}
    if question.type is QuestionType.DECIMAL:
        formats[QuestionType.DECIMAL] = "0." + "0" * question.places if question.places else "0"
    if question.type in formats:
        cell.number_format = formats[question.type]  # type: ignore[attr-defined]


def _meta(sheet: Worksheet, meta: dict[str, str], keys: list[tuple[str, str]]) -> None:
    for number, (key, value) in enumerate(meta.items(), start=1):
        sheet.cell(row=number, column=1, value=key)
        sheet.cell(row=number, column=2, value=value)
    sheet.cell(row=KEYS_START - 2, column=1, value="checksum")
    sheet.cell(row=KEYS_START - 2, column=2, value=checksum(meta, keys))
    for number, (cell, key) in enumerate(keys, start=KEYS_START):
        sheet.cell(row=number, column=1, value=cell)
        sheet.cell(row=number, column=2, value=key)


class _Validations:
    """Drop-downs (lists on the hidden „Listen“ sheet: labels may hold commas) and input rules per answer cell."""

    def __init__(self, sheet: Worksheet, lists: Worksheet) -> None:
        self.sheet, self.lists, self.columns = sheet, lists, 0
        self.yes_no = self._list([CHOSEN, NOT_CHOSEN])

    def _list(self, labels: list[str]) -> str:
        self.columns += 1
        letter = get_column_letter(self.columns)
        for number, label in enumerate(labels, start=1):
            self.lists.cell(row=number, column=self.columns, value=label)
        return f"'{LISTS_SHEET}'!${letter}$1:${letter}${len(labels)}"

    def add(self, row: Row, cell: str) -> None:
        question = row.question
        kind = question.type
        rule: DataValidation
        if row.option is not None or kind is QuestionType.YES_NO:
            rule = DataValidation(type="list", formula1=self.yes_no, allow_blank=True)
        elif kind is QuestionType.SINGLE_CHOICE:
            rule = DataValidation(
                type="list", formula1=self._list([o.label for o in question.options]), allow_blank=True
            )
        elif kind in (QuestionType.INTEGER, QuestionType.SCALE):
            low, high = question.scale_range if kind is QuestionType.SCALE else (question.min, question.max)
            rule = _between("whole", low, high)
        elif kind in (QuestionType.DECIMAL, QuestionType.AMOUNT):
            rule = _between("decimal", question.min, question.max)
        elif kind is QuestionType.DATE:
            rule = DataValidation(type="custom", formula1=f"ISNUMBER({cell})", allow_blank=True)
        else:
            rule = DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(question.text_limit),
                                  allow_blank=True)  # fmt: skip
        rule.error, rule.errorTitle = expected(question), "Ungültige Eingabe"
        rule.prompt, rule.promptTitle = expected(question)[:255], "Eingabe"
        rule.showErrorMessage = rule.showInputMessage = True
        self.sheet.add_data_validation(rule)
        rule.add(cell)


def _between(kind: Literal["whole", "decimal"], low: object, high: object) -> DataValidation:
    low_text = "-1E+15" if low is None else str(low)
    high_text = "1E+15" if high is None else str(high)
    return DataValidation(type=kind, operator="between", formula1=low_text, formula2=high_text, allow_blank=True)
