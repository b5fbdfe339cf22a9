"""The evaluation's input and its wide table and codebook (pure, over plain data).

Input: a year's :class:`Questionnaire` and one :class:`Respondent` per Kommune (AGS, name, kind and its submitted,
typed answers — ``None`` when it submitted none). The wide table has one row per Kommune and one column per
question id; a multiple-choice question becomes one column per option, named ``<question id>:<option code>``,
holding 1 (chosen) or 0 (not chosen) when the question was answered. A cell is empty when the Kommune submitted
nothing, left the question open, or was not asked it (another kind of Kommune, or a condition hid it); the
summaries (:mod:`kim_workflow.core.evaluation_summary`) tell these apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.questionnaire import AnswerValue, Question, Questionnaire, QuestionType
from kim_workflow.core.questionnaire_answers import visible_questions
from kim_workflow.core.questionnaire_text import allowed_text, condition_text

Cell = str | int | Decimal | date | None
"""A wide-table cell: yes/no as 1/0, choices as option codes, numbers as int or Decimal, dates, text."""
OPTION_SEPARATOR = ":"
FIXED_COLUMNS = ("ags", "kommune", "art", "eingereicht")


@dataclass(frozen=True, slots=True)
class Respondent:
    ags: str
    name: str
    kind: KommuneKind
    answers: Mapping[str, AnswerValue] | None
    """The submitted answers; ``None``: nothing submitted for the year."""


@dataclass(frozen=True, slots=True)
class YearAnswers:
    """One funding year's questionnaire and every Kommune's answers (the plain input of the evaluation)."""

    year: int
    questionnaire: Questionnaire
    respondents: tuple[Respondent, ...]

    @property
    def submitted(self) -> tuple[Respondent, ...]:
        return tuple(r for r in self.respondents if r.answers is not None)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    question: Question
    option: str | None = None
    """Multiple choice: the option this 0/1 column stands for."""


@dataclass(frozen=True, slots=True)
class CodebookEntry:
    column: str
    question_id: str
    section: str
    text: str
    type: str
    allowed: str
    unit: str
    since: int | None
    required: bool
    asked: str
    """Whom the question is asked: everybody, one kind of Kommune, or under a condition."""


def columns(questionnaire: Questionnaire) -> list[Column]:
    """The question columns of the wide table, in questionnaire order."""
    found: list[Column] = []
    for question in questionnaire.questions:
        if question.type is QuestionType.MULTIPLE_CHOICE:
            found += [Column(f"{question.id}{OPTION_SEPARATOR}{o.code}", question, o.code) for o in question.options]
        else:
            found.append(Column(question.id, question))
    return found


def header(questionnaire: Questionnaire) -> list[str]:
    return [*FIXED_COLUMNS, *(c.name for c in columns(questionnaire))]


def wide_rows(data: YearAnswers) -> list[list[Cell]]:
    """One row per Kommune (in the order given): AGS, name, kind, submitted (1/0), then one cell per column."""
    cols = columns(data.questionnaire)
    rows: list[list[Cell]] = []
    for respondent in data.respondents:
        answers = effective_answers(data.questionnaire, respondent)
        fixed: list[Cell] = [respondent.ags, respondent.name, str(respondent.kind), int(respondent.answers is not None)]
        rows.append([*fixed, *(cell(c, answers.get(c.question.id)) for c in cols)])
    return rows


def effective_answers(questionnaire: Questionnaire, respondent: Respondent) -> dict[str, AnswerValue]:
    """The answers to questions this Kommune was asked (a stray answer to a hidden question does not count)."""
    if respondent.answers is None:
        return {}
    shown = {q.id for q in visible_questions(questionnaire, respondent.answers, respondent.kind)}
    return {k: v for k, v in respondent.answers.items() if k in shown}


def cell(column: Column, value: AnswerValue | None) -> Cell:
    if value is None:
        return None
    if column.option is not None:
        return int(isinstance(value, tuple) and column.option in value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, tuple):
        return ",".join(value)
    return value


def codebook(questionnaire: Questionnaire) -> list[CodebookEntry]:
    """One entry per column of the wide table (German texts, as the ministry reads them)."""
    entries = []
    for column in columns(questionnaire):
        question = column.question
        if column.option is not None:
            allowed = f"1 = „{question.option_label(column.option)}“ gewählt, 0 = nicht gewählt"
        elif question.type is QuestionType.YES_NO:
            allowed = "1 = Ja, 0 = Nein"
        elif question.type is QuestionType.SINGLE_CHOICE:
            allowed = "; ".join(f"{o.code} = {o.label}" for o in question.options)
        else:
            allowed = allowed_text(question)
        entries.append(
            CodebookEntry(
                column=column.name,
                question_id=question.id,
                section=question.section,
                text=question.text,
                type=question.type.label_de,
                allowed=allowed,
                unit=question.unit or ("EUR" if question.type is QuestionType.AMOUNT else ""),
                since=question.since,
                required=question.required,
                asked=condition_text(questionnaire, question) or "alle",
            )
        )
    return entries
