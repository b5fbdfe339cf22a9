"""The year's questionnaire as form fields: which questions are shown (conditions re-evaluated on every render,
no script needed), what each field holds, and the German message next to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.money import german_decimal
from kim_workflow.core.questionnaire import AnswerValue, Question, Questionnaire, QuestionType, Section
from kim_workflow.core.questionnaire_answers import AnswerProblem, RawAnswer, display, expected, visible_questions

WIDGETS = {
    QuestionType.YES_NO: "radio",
    QuestionType.SINGLE_CHOICE: "radio",
    QuestionType.SCALE: "radio",
    QuestionType.MULTIPLE_CHOICE: "checkbox",
    QuestionType.LONG_TEXT: "textarea",
}


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    checked: bool


@dataclass(frozen=True)
class FormField:
    question: Question
    widget: str
    text: str
    choices: list[Choice]
    error: str | None
    hint: str
    shown: str
    """The answer as a person reads it (the read-only view)."""

    @property
    def html_id(self) -> str:
        return "f-" + self.question.id.replace(".", "-")


@dataclass(frozen=True)
class FormSection:
    section: Section
    fields: list[FormField] = field(default_factory=list)


def form_text(question: Question, value: AnswerValue | None) -> str:
    """A stored answer as the text its input field shows (read back unchanged by the converter)."""
    if value is None or isinstance(value, tuple | bool):
        return ""
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    if isinstance(value, Decimal):
        return german_decimal(value, question.places)
    return str(value)


def _choices(question: Question, value: AnswerValue | None, raw: RawAnswer | None) -> list[Choice]:
    picked: set[str]
    if raw is not None:
        picked = {raw} if isinstance(raw, str) else set(raw)
    elif isinstance(value, bool):
        picked = {"ja" if value else "nein"}
    elif isinstance(value, tuple):
        picked = set(value)
    else:
        picked = {str(value)} if value is not None else set()
    if question.type is QuestionType.YES_NO:
        return [Choice("ja", "Ja", "ja" in picked), Choice("nein", "Nein", "nein" in picked)]
    if question.type is QuestionType.SCALE:
        low, high = int(question.min or 1), int(question.max or 5)  # type: ignore[arg-type]
        labels = dict(question.labels)
        return [Choice(str(n), f"{n} – {labels[n]}" if n in labels else str(n), str(n) in picked)
                for n in range(low, high + 1)]  # fmt: skip
    return [Choice(o.code, o.label, o.code in picked) for o in question.options]


def build_form(
    questionnaire: Questionnaire, kind: KommuneKind, values: Mapping[str, AnswerValue], *,
    raw: Mapping[str, RawAnswer] | None = None, problems: Sequence[AnswerProblem] = (),
) -> list[FormSection]:  # fmt: skip
    """The visible questions by section, filled from ``values`` (typed) or, after a refused post, ``raw``."""
    errors: dict[str, str] = {}
    for problem in problems:
        errors.setdefault(problem.question_id, problem.message)
    shown = {q.id for q in visible_questions(questionnaire, values, kind)}
    sections = []
    for section in questionnaire.sections:
        fields = []
        for question in section.questions:
            if question.id not in shown:
                continue
            value, entered = values.get(question.id), (raw or {}).get(question.id)
            text = entered if isinstance(entered, str) else form_text(question, value)
            widget = WIDGETS.get(question.type, "text")
            hint = " ".join(part for part in (question.help, expected(question)) if part)
            fields.append(FormField(question, widget, text, _choices(question, value, entered), errors.get(question.id),
                                    hint, display(question, value)))  # fmt: skip
        if fields:
            sections.append(FormSection(section, fields))
    return sections


def problem_summary(problems: list[AnswerProblem], questionnaire: Questionnaire) -> list[tuple[str, str, str]]:
    """(field id, question text, message) of each problem, for the list at the top of the page."""
    rows = []
    for problem in problems:
        question = questionnaire.question(problem.question_id)
        text = question.text if question else problem.question_id
        rows.append(("f-" + problem.question_id.replace(".", "-"), text, problem.message))
    return rows
