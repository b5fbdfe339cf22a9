"""The questionnaire workbook without a spreadsheet library: its rows, its checksum, and reading a cell's value
into an answer (pure). ``services/questionnaire_workbook.py`` writes the XLSX, ``services/questionnaire_import.py``
reads it back.

Layout: one row per question the Kommune's kind is asked; a multiple-choice question has a heading row and one
row per option (answer ``Ja`` = chosen). The hidden sheet holds the metadata (Kommune, AGS, year, questionnaire
version) and which answer cell belongs to which question and option, with a SHA-256 checksum over all of it and
over the visible key cells: an edit outside the answer column is detected (a check against accidents and
mix-ups, not a cryptographic signature: whoever has the file can recompute it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.questionnaire import AnswerValue, Option, Question, Questionnaire, QuestionType
from kim_workflow.core.questionnaire_answers import AnswerInvalid, check_value, convert, expected

FORMAT = "kim-fragebogen/1"
CHOSEN = "Ja"
NOT_CHOSEN = "Nein"
CellValue = str | int | float | Decimal | bool | date | datetime | None
"""What a spreadsheet cell holds (as openpyxl reads it)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the question table: a question, or one option of a multiple-choice question."""

    question: Question
    option: Option | None = None
    heading: bool = False
    """The first row of a multiple-choice question: text only, its options follow (no answer cell)."""

    @property
    def key(self) -> str:
        """``question id`` or ``question id=option code``: what the hidden sheet stores for the row."""
        return f"{self.question.id}={self.option.code}" if self.option else self.question.id


@dataclass(frozen=True, slots=True)
class CellProblem:
    sheet: str
    cell: str
    question_id: str
    message: str

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.cell}" if self.cell else self.sheet
        return f"{where} ({self.question_id}): {self.message}" if self.question_id else f"{where}: {self.message}"


def workbook_rows(questionnaire: Questionnaire, kind: KommuneKind) -> list[Row]:
    rows: list[Row] = []
    for question in questionnaire.questions:
        if question.kommune_kind is not None and question.kommune_kind is not kind:
            continue
        if question.type is QuestionType.MULTIPLE_CHOICE:
            rows.append(Row(question, heading=True))
            rows.extend(Row(question, option) for option in question.options)
        else:
            rows.append(Row(question))
    return rows


def checksum(meta: Mapping[str, str], keys: Sequence[tuple[str, str]]) -> str:
    """SHA-256 over the metadata and the (answer cell, row key) pairs, in a canonical JSON form."""
    canonical = json.dumps([sorted(meta.items()), list(keys)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def cell_text(question: Question, value: AnswerValue | None) -> CellValue:
    """What the answer cell shows for a stored answer (a label for choices, ``Ja``/``Nein`` for yes/no)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return CHOSEN if value else NOT_CHOSEN
    if question.type is QuestionType.SINGLE_CHOICE and isinstance(value, str):
        return question.option_label(value)
    if isinstance(value, tuple):
        return "; ".join(value)
    return value


def read_cell(question: Question, value: CellValue) -> AnswerValue | None:
    """The typed answer in an answer cell (``None``: empty); raises ``AnswerInvalid`` (German)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        return convert(question, value)
    typed = _typed(question, value)
    check_value(question, typed)
    return typed


def _typed(question: Question, value: CellValue) -> AnswerValue:
    kind = question.type
    if isinstance(value, bool):
        if kind is QuestionType.YES_NO:
            return value
        raise AnswerInvalid(expected(question))
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        if kind is QuestionType.DATE:
            return value
        raise AnswerInvalid(expected(question))
    if isinstance(value, int | float | Decimal):
        if kind in (QuestionType.INTEGER, QuestionType.SCALE) and value == int(value):
            return int(value)
        if kind in (QuestionType.DECIMAL, QuestionType.AMOUNT):
            return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if kind.is_text:
            return str(value)
    raise AnswerInvalid(expected(question))


def read_option(question: Question, value: CellValue) -> bool:
    """Whether an option row of a multiple-choice question is ticked (``Ja``, ``x``; empty or ``Nein``: not)."""
    if value is None or value is False or (isinstance(value, str) and value.strip().lower() in ("", "nein", "n")):
        return False
    if value is True or (isinstance(value, str) and value.strip().lower() in ("ja", "j", "x")):
        return True
    raise AnswerInvalid(f"Bitte wählen Sie „{CHOSEN}“ (angekreuzt) oder lassen Sie die Zelle leer.")
