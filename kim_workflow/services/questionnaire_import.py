"""Importing filled questionnaire workbooks: every cell checked against the questionnaire version the file was
made for, every problem reported with its sheet and cell, nothing stored when any file has one.

All files of one call form one transaction: first every file is read and checked (nothing written), then — only
if none has a problem — each is submitted (the final check passed, ``AnswerSource.WORKBOOK``) and the questionnaire
recorded as received. A file imported before (same SHA-256) is skipped, so importing twice changes nothing.
Imported answers are always *submitted*: the workbook is the Kommune's submission; an incomplete workbook is
refused with every missing answer listed.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlmodel import Session, col, select

from kim_workflow.core.questionnaire import AnswerSource, AnswerValue, Questionnaire, QuestionType
from kim_workflow.core.questionnaire_answers import AnswerInvalid, drop_hidden, validate_answers
from kim_workflow.core.questionnaire_workbook import (
    FORMAT,
    CellProblem,
    CellValue,
    checksum,
    read_cell,
    read_option,
)
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Kommune, QuestionnaireImport
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.questionnaire_answers import (
    AnswerContext,
    answer_context,
    refuse_if_submitted,
    submit_values,
)
from kim_workflow.services.questionnaire_workbook import KEYS_START, META_CELLS, META_SHEET, SHEET
from kim_workflow.settings import Settings

META_KEYS = ("format", "kommune", "ags", "year", "version", "kind", "created_at")
NAME_MAX = 255
COLUMNS = "ABCDEFGHIJ"  # the question table's columns; the answers are in J


@dataclass(frozen=True)
class FileOutcome:
    name: str
    kommune: Kommune | None = None
    problems: list[CellProblem] = field(default_factory=list)
    already_imported: datetime | None = None
    """Set when the same file was imported before (then nothing happens)."""
    answered: int = 0


@dataclass(frozen=True)
class ImportResult:
    files: list[FileOutcome]
    stored: bool
    """True when every file passed and the new ones were submitted; False: nothing was stored."""

    @property
    def problems(self) -> list[CellProblem]:
        return [p for f in self.files for p in f.problems]


@dataclass
class _Checked:
    outcome: FileOutcome
    sha256: str
    ctx: AnswerContext | None = None
    values: dict[str, AnswerValue] = field(default_factory=dict)
    year: int = 0


def import_workbooks(
    session: Session, settings: Settings, *, files: Sequence[tuple[str, bytes]], by: str, now: datetime, today: date
) -> ImportResult:
    """Check every file, then submit the new ones (all or nothing); see the module's description."""
    checked = [_check(session, settings, name, content) for name, content in files]
    _refuse_duplicates(checked)
    if any(c.outcome.problems for c in checked):
        return ImportResult([c.outcome for c in checked], stored=False)
    for item in checked:
        if item.ctx is None:
            continue  # imported before
        name = item.outcome.name[-NAME_MAX:]
        result = submit_values(session, settings, ctx=item.ctx, year=item.year, values=item.values, problems=[],
                               by=by, now=now, today=today, source=AnswerSource.WORKBOOK)  # fmt: skip
        kommune = result.kommune
        assert kommune.id is not None
        session.add(QuestionnaireImport(sha256=item.sha256, file_name=name, kommune_id=kommune.id, year=result.year,
                                        revision=result.revision, imported_at=now, imported_by=by))  # fmt: skip
        payload = {"file": name, "sha256": item.sha256, "version": item.ctx.questionnaire.version}
        record_event(session, now=now, actor=by, action="kim.questionnaire.imported", subject_type="kommune",
                     subject_id=kommune.ags, year=result.year, payload=payload)  # fmt: skip
    return ImportResult([c.outcome for c in checked], stored=True)


def _check(session: Session, settings: Settings, name: str, content: bytes) -> _Checked:
    sha = hashlib.sha256(content).hexdigest()
    known = session.exec(select(QuestionnaireImport).where(col(QuestionnaireImport.sha256) == sha)).first()
    if known is not None:
        kommune = session.get(Kommune, known.kommune_id)
        return _Checked(FileOutcome(name, kommune, already_imported=known.imported_at), sha)
    problems: list[CellProblem] = []

    def refuse(message: str, cell: str = "", question_id: str = "", sheet: str = SHEET) -> _Checked:
        problems.append(CellProblem(f"{name}: {sheet}", cell, question_id, message))
        return _Checked(FileOutcome(name, problems=problems), sha)

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        if SHEET not in book.sheetnames or META_SHEET not in book.sheetnames:
            return refuse("Keine von kim erzeugte Fragebogen-Arbeitsmappe (Blatt „Fragebogen“ oder „_kim“ fehlt).",
                          sheet="Datei")  # fmt: skip
        meta_sheet, sheet = _values(book[META_SHEET]), _values(book[SHEET])
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, TypeError):
        return refuse("Die Datei ist keine lesbare Excel-Arbeitsmappe (.xlsx).", sheet="Datei")
    meta = {_text(meta_sheet.get(f"A{n}")): _text(meta_sheet.get(f"B{n}")) for n in range(1, len(META_KEYS) + 1)}
    keys = _keys(meta_sheet)
    if meta.get("format") != FORMAT or set(meta) != set(META_KEYS):
        return refuse("Keine von kim erzeugte Fragebogen-Arbeitsmappe (unbekanntes Format).", sheet=META_SHEET)
    if _text(meta_sheet.get(f"B{KEYS_START - 2}")) != checksum(meta, keys):
        return refuse("Die verborgenen Angaben der Arbeitsmappe wurden verändert (Prüfsumme stimmt nicht). Bitte "
                      "verwenden Sie eine neu erzeugte Arbeitsmappe.", sheet=META_SHEET)  # fmt: skip
    shown = {key: _text(sheet.get(cell)) for key, cell in META_CELLS.items()}
    if shown["ags"] != meta["ags"] or shown["kommune"] != meta["kommune"]:
        return refuse(f"Die Arbeitsmappe gehört laut ihren verborgenen Angaben zu {meta['kommune']} ({meta['ags']}), "
                      f"im Blatt steht {shown['kommune']} ({shown['ags']}). Bitte verwenden Sie die Arbeitsmappe "
                      "Ihrer Kommune.", cell=META_CELLS["ags"])  # fmt: skip
    for key, label in (("year", "Förderjahr"), ("version", "Version")):
        if shown[key] != meta[key]:
            refuse(f"{label} wurde verändert ({shown[key]} statt {meta[key]}).", cell=META_CELLS[key])
    try:
        year = int(meta["year"])
        ctx = answer_context(session, settings, year=year, ags=meta["ags"])
        refuse_if_submitted(ctx)
    except (UseCaseError, ValueError) as exc:
        return refuse(str(exc))
    if ctx.questionnaire.version != meta["version"]:
        return refuse(f"Die Arbeitsmappe wurde für Version {meta['version']} des Fragebogens {year} erstellt; gültig "
                      f"ist Version {ctx.questionnaire.version}. Bitte fordern Sie eine neue Arbeitsmappe an.",
                      cell=META_CELLS["version"])  # fmt: skip
    if problems:
        return _Checked(FileOutcome(name, ctx.kommune, problems=problems), sha)
    values = _cells(ctx.questionnaire, sheet, keys, refuse)
    values = drop_hidden(ctx.questionnaire, values, ctx.kommune.kind)
    first_cell: dict[str, str] = {}
    for cell, key in keys:
        first_cell.setdefault(key.split("=")[0], cell)
    failed = {p.question_id for p in problems}
    for problem in validate_answers(ctx.questionnaire, values, ctx.kommune.kind, final=True):
        if problem.question_id not in failed:
            refuse(problem.message, first_cell.get(problem.question_id, ""), problem.question_id)
    return _Checked(FileOutcome(name, ctx.kommune, problems=problems, answered=len(values)), sha, ctx, values, year)


def _values(sheet: Any) -> dict[str, CellValue]:
    """Every non-empty cell of a read-only sheet by its reference (one pass: read-only access by cell is slow)."""
    values: dict[str, CellValue] = {}
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        for index, value in enumerate(row[: len(COLUMNS)]):
            if value is not None:
                values[f"{COLUMNS[index]}{number}"] = value
    return values


def _keys(meta_sheet: dict[str, CellValue]) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    row = KEYS_START
    while meta_sheet.get(f"A{row}"):
        keys.append((_text(meta_sheet.get(f"A{row}")), _text(meta_sheet.get(f"B{row}"))))
        row += 1
    return keys


def _cells(
    questionnaire: Questionnaire, sheet: dict[str, CellValue], keys: list[tuple[str, str]], refuse: Any
) -> dict[str, AnswerValue]:
    values: dict[str, AnswerValue] = {}
    chosen: dict[str, list[str]] = {}
    for cell, key in keys:
        question_id, _, option = key.partition("=")
        question = questionnaire.question(question_id)
        if question is None or _text(sheet.get(f"B{cell[1:]}")) != question_id:
            refuse(f"Die Zeile {cell[1:]} wurde verändert (erwartet die Frage {question_id}).", cell, question_id)
            continue
        try:
            if option:
                if read_option(question, sheet.get(cell)):
                    chosen.setdefault(question_id, []).append(option)
                continue
            value = read_cell(question, sheet.get(cell))
        except AnswerInvalid as exc:
            refuse(str(exc), cell, question_id)
            continue
        if value is not None:
            values[question_id] = value
    for question_id, codes in chosen.items():
        question = questionnaire.question(question_id)
        assert question is not None and question.type is QuestionType.MULTIPLE_CHOICE
        values[question_id] = tuple(code for code in question.option_codes if code in codes)
    return values


def _refuse_duplicates(checked: list[_Checked]) -> None:
    seen: dict[str, str] = {}
    for item in checked:
        kommune = item.outcome.kommune
        if kommune is None or item.ctx is None:
            continue
        if kommune.ags in seen:
            item.outcome.problems.append(CellProblem(f"{item.outcome.name}: {SHEET}", META_CELLS["ags"], "",
                                                     f"{kommune.name} kommt schon in {seen[kommune.ags]} vor; "
                                                     "bitte nur eine Arbeitsmappe je Kommune einlesen."))  # fmt: skip
        seen.setdefault(kommune.ags, item.outcome.name)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
