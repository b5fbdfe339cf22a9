"""Filling a generated questionnaire workbook the way a Kommune would (openpyxl, typed cells where Excel has them)."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from kim_workflow.core.questionnaire import Questionnaire, QuestionType
from kim_workflow.core.questionnaire_answers import convert
from kim_workflow.services.questionnaire_workbook import ANSWER_COLUMN, FIRST_ROW, SHEET

Cells = dict[str, object]


def answer_cells(content: bytes) -> dict[str, str]:
    """``question id`` or ``question id=option label`` → the answer cell (e.g. ``J12``)."""
    sheet = load_workbook(io.BytesIO(content))[SHEET]
    cells: dict[str, str] = {}
    for row in range(FIRST_ROW, sheet.max_row + 1):
        question_id, text = sheet[f"B{row}"].value, str(sheet[f"C{row}"].value or "")
        key = f"{question_id}={text.removeprefix('– ')}" if text.startswith("– ") else str(question_id)
        cells[key] = f"{ANSWER_COLUMN}{row}"
    return cells


def fill(content: bytes, questionnaire: Questionnaire, raw: dict[str, str | list[str]], extra: Cells | None = None,
         hidden: Cells | None = None) -> bytes:  # fmt: skip
    """The workbook with the answers ``raw`` (form text, typed as Excel would hold them) and cell overrides."""
    book = load_workbook(io.BytesIO(content))
    sheet = book[SHEET]
    cells = answer_cells(content)
    for question_id, text in raw.items():
        question = questionnaire.question(question_id)
        assert question is not None
        if question.type is QuestionType.MULTIPLE_CHOICE:
            for code in text:
                sheet[cells[f"{question_id}={question.option_label(code)}"]] = "Ja"
            continue
        value = convert(question, text)
        if question.type is QuestionType.SINGLE_CHOICE:
            sheet[cells[question_id]] = question.option_label(str(value))
        elif question.type is QuestionType.YES_NO:
            sheet[cells[question_id]] = "Ja" if value else "Nein"
        elif isinstance(value, Decimal):
            sheet[cells[question_id]] = float(value)
        else:
            sheet[cells[question_id]] = value  # type: ignore[assignment]
    for cell, value in (extra or {}).items():
        sheet[cell] = value  # type: ignore[assignment]
    for cell, value in (hidden or {}).items():
        book["_kim"][cell] = value  # type: ignore[assignment]
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
