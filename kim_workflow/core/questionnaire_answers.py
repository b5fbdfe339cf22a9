"""Answers to a questionnaire: from form text to typed values, visibility, and the checks of a draft or a
final submission, each problem with its question id and a German message an official can act on (pure).

The portal, the workbook import and the CLI share this: :func:`convert_answers` (form strings → typed values,
German notation: ``1.234,56``, ``15.12.2026``, ``ja``), :func:`visible_questions`, :func:`validate_answers`
and the JSON form in which answers are stored (:func:`answers_to_json`, :func:`answers_from_json`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.money import decimal_places, german_decimal
from kim_workflow.core.questionnaire import AnswerValue, Question, Questionnaire, QuestionType

RawAnswer = str | Sequence[str]
"""What a form sends: text, or the chosen option codes of a multiple-choice question."""
RawAnswers = Mapping[str, RawAnswer]
Answers = Mapping[str, AnswerValue]
YES = frozenset({"ja", "j", "yes", "true", "1", "x"})
NO = frozenset({"nein", "n", "no", "false", "0"})
_INTEGER = re.compile(r"^[+-]?(?:[0-9]+|[1-9][0-9]{0,2}(?:\.[0-9]{3})+)$")
_GERMAN_NUMBER = re.compile(r"^[+-]?(?:[0-9]+|[1-9][0-9]{0,2}(?:\.[0-9]{3})+)(?:,[0-9]+)?$")
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9]+\.[0-9]+$")
_GERMAN_DATE = re.compile(r"^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})$")
_ISO_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
NUMBER_CHARS_MAX = 30


@dataclass(frozen=True, slots=True)
class AnswerProblem:
    question_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.question_id}: {self.message}"


@dataclass(frozen=True, slots=True)
class Converted:
    values: dict[str, AnswerValue]
    """The answers that could be read (empty fields are absent: not answered)."""
    problems: list[AnswerProblem]


class AnswerInvalid(ValueError):
    """A form value that is no answer to its question; the message is German and names what is expected."""


def expected(question: Question) -> str:
    """What an answer must look like, as a German request (also the workbook's input message)."""
    kind = question.type
    if kind is QuestionType.YES_NO:
        return "Bitte wählen Sie „Ja“ oder „Nein“."
    if kind is QuestionType.SINGLE_CHOICE:
        return "Bitte wählen Sie eine der angebotenen Möglichkeiten."
    if kind is QuestionType.MULTIPLE_CHOICE:
        return "Bitte wählen Sie nur angebotene Möglichkeiten."
    if kind is QuestionType.SCALE:
        low, high = question.scale_range
        return f"Bitte wählen Sie einen Wert von {low} bis {high}."
    if kind is QuestionType.DATE:
        return f"Bitte geben Sie ein Datum{_range(question)} an (TT.MM.JJJJ)."
    if kind.is_text:
        return f"Bitte geben Sie höchstens {question.text_limit} Zeichen ein."
    what = {QuestionType.INTEGER: "eine ganze Zahl", QuestionType.AMOUNT: "einen Betrag in Euro"}.get(kind, "eine Zahl")
    places = f" (höchstens {question.places} Nachkommastellen)" if kind is QuestionType.DECIMAL else ""
    return f"Bitte geben Sie {what}{_range(question)} an{places}."


def _range(question: Question) -> str:
    low, high = (_shown(question, question.min), _shown(question, question.max))
    if low and high:
        return f" zwischen {low} und {high}"
    if low:
        return f" von mindestens {low}"
    return f" von höchstens {high}" if high else ""


def _shown(question: Question, bound: object) -> str:
    if bound is None:
        return ""
    if isinstance(bound, date):
        return f"{bound:%d.%m.%Y}"
    if isinstance(bound, Decimal):
        return german_decimal(bound, 2 if question.type is QuestionType.AMOUNT else decimal_places(bound))
    return str(bound)


def convert(question: Question, raw: RawAnswer) -> AnswerValue | None:
    """The typed value of one form field (``None``: left empty); raises :class:`AnswerInvalid`."""
    if question.type is QuestionType.MULTIPLE_CHOICE:
        codes = [raw] if isinstance(raw, str) else list(raw)
        codes = [c.strip() for part in codes for c in part.split(",") if c.strip()]
        if any(code not in question.option_codes for code in codes):
            raise AnswerInvalid(expected(question))
        return tuple(code for code in question.option_codes if code in codes) or None
    if not isinstance(raw, str):
        raise AnswerInvalid(expected(question))
    text = raw.strip()
    if not text:
        return None
    value = _typed(question, text)
    check_value(question, value)
    return value


def _typed(question: Question, text: str) -> AnswerValue:
    kind = question.type
    if kind is QuestionType.YES_NO:
        if text.lower() in YES or text.lower() in NO:
            return text.lower() in YES
        raise AnswerInvalid(expected(question))
    if kind is QuestionType.SINGLE_CHOICE:
        by_label = {o.label.casefold(): o.code for o in question.options}
        code = text if text in question.option_codes else by_label.get(text.casefold())
        if code is None:
            raise AnswerInvalid(expected(question))
        return code
    if kind in (QuestionType.INTEGER, QuestionType.SCALE):
        if len(text) > NUMBER_CHARS_MAX or not _INTEGER.fullmatch(text):
            raise AnswerInvalid(expected(question))
        return int(text.replace(".", ""))
    if kind in (QuestionType.DECIMAL, QuestionType.AMOUNT):
        return _decimal(question, text)
    if kind is QuestionType.DATE:
        german, iso = _GERMAN_DATE.fullmatch(text), _ISO_DATE.fullmatch(text)
        parts = (german[3], german[2], german[1]) if german else (iso[1], iso[2], iso[3]) if iso else None
        try:
            if parts is None:
                raise ValueError(text)
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            raise AnswerInvalid(expected(question)) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decimal(question: Question, text: str) -> Decimal:
    cleaned = re.sub(r"\s*(€|eur|euro)$", "", text, flags=re.IGNORECASE).strip()
    if len(cleaned) > NUMBER_CHARS_MAX:
        raise AnswerInvalid(expected(question))
    if _GERMAN_NUMBER.fullmatch(cleaned):
        plain = cleaned.replace(".", "").replace(",", ".")
    elif _PLAIN_NUMBER.fullmatch(cleaned):
        plain = cleaned  # "1234.5" as a spreadsheet or a browser's number field sends it
    else:
        raise AnswerInvalid(expected(question))
    try:
        return Decimal(plain)
    except InvalidOperation:
        raise AnswerInvalid(expected(question)) from None


def check_value(question: Question, value: AnswerValue) -> None:
    """Raise :class:`AnswerInvalid` when a typed value breaks the question's type, bounds, length or choices."""
    kind = question.type
    if kind is QuestionType.YES_NO:
        ok = isinstance(value, bool)
    elif kind is QuestionType.SINGLE_CHOICE:
        ok = isinstance(value, str) and value in question.option_codes
    elif kind is QuestionType.MULTIPLE_CHOICE:
        ok = isinstance(value, tuple) and bool(value) and all(v in question.option_codes for v in value)
    elif kind is QuestionType.SCALE:
        low, high = question.scale_range
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    elif kind is QuestionType.INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool) and _within(question, value)
    elif kind in (QuestionType.DECIMAL, QuestionType.AMOUNT):
        ok = (isinstance(value, Decimal) and value.is_finite() and _within(question, value)
              and value == value.quantize(Decimal(1).scaleb(-question.places)))  # fmt: skip
    elif kind is QuestionType.DATE:
        ok = isinstance(value, date) and _within(question, value)
    else:
        if isinstance(value, str) and len(value) > question.text_limit:
            raise AnswerInvalid(
                f"Bitte fassen Sie sich kürzer: höchstens {question.text_limit} Zeichen (jetzt {len(value)})."
            )
        if isinstance(value, str) and kind is QuestionType.SHORT_TEXT and "\n" in value:
            raise AnswerInvalid("Bitte geben Sie hier nur eine Zeile ein.")
        if isinstance(value, str) and _CONTROL.search(value):
            raise AnswerInvalid("Der Text enthält unzulässige Steuerzeichen; bitte geben Sie ihn neu ein.")
        ok = isinstance(value, str)
    if not ok:
        raise AnswerInvalid(expected(question))


def _within(question: Question, value: int | Decimal | date) -> bool:
    low, high = question.min, question.max
    return (low is None or value >= low) and (high is None or value <= high)  # type: ignore[operator]


def convert_answers(questionnaire: Questionnaire, raw: RawAnswers) -> Converted:
    """Every form field read into a typed value; unknown ids and unreadable values are problems."""
    values: dict[str, AnswerValue] = {}
    problems: list[AnswerProblem] = []
    for question_id, text in raw.items():
        question = questionnaire.question(question_id)
        if question is None:
            problems.append(AnswerProblem(question_id, "Diese Frage gibt es im Fragebogen nicht."))
            continue
        try:
            value = convert(question, text)
        except AnswerInvalid as exc:
            problems.append(AnswerProblem(question_id, str(exc)))
            continue
        if value is not None:
            values[question_id] = value
    return Converted(values, problems)


def visible_questions(questionnaire: Questionnaire, answers: Answers, kommune_kind: KommuneKind) -> list[Question]:
    """The questions this Kommune is asked, given its answers so far (a hidden question hides those that depend
    on it: conditions refer to earlier questions only)."""
    shown: dict[str, Question] = {}
    for question in questionnaire.questions:
        if question.kommune_kind is not None and question.kommune_kind is not kommune_kind:
            continue
        condition = question.condition
        if condition is not None and (condition.question not in shown or not condition.met_by(
            answers.get(condition.question)
        )):  # fmt: skip
            continue
        shown[question.id] = question
    return list(shown.values())


def validate_answers(
    questionnaire: Questionnaire, answers: Answers, kommune_kind: KommuneKind, *, final: bool
) -> list[AnswerProblem]:
    """Problems of typed answers in questionnaire order: unknown ids, bad values, answers to questions this
    Kommune is not asked, and (``final``) every visible required question left unanswered."""
    problems = [AnswerProblem(i, "Diese Frage gibt es im Fragebogen nicht.") for i in answers if i not in questionnaire]
    visible = {q.id for q in visible_questions(questionnaire, answers, kommune_kind)}
    for question in questionnaire.questions:
        if question.id not in answers:
            if final and question.required and question.id in visible:
                problems.append(AnswerProblem(question.id, "Bitte beantworten Sie diese Frage."))
            continue
        if question.id not in visible:
            problems.append(AnswerProblem(question.id, _hidden_reason(question)))
            continue
        try:
            check_value(question, answers[question.id])
        except AnswerInvalid as exc:
            problems.append(AnswerProblem(question.id, str(exc)))
    return problems


def _hidden_reason(question: Question) -> str:
    if question.kommune_kind is KommuneKind.LANDKREIS:
        return "Diese Frage richtet sich nur an Landkreise; bitte lassen Sie sie leer."
    if question.kommune_kind is KommuneKind.KREISFREIE_STADT:
        return "Diese Frage richtet sich nur an kreisfreie Städte; bitte lassen Sie sie leer."
    assert question.condition is not None
    return f"Diese Frage entfällt nach Ihrer Antwort auf „{question.condition.question}“; bitte lassen Sie sie leer."


def drop_hidden(questionnaire: Questionnaire, answers: Answers, kommune_kind: KommuneKind) -> dict[str, AnswerValue]:
    """Only the answers to questions this Kommune is asked (what a form keeps when a condition changes)."""
    visible = {q.id for q in visible_questions(questionnaire, answers, kommune_kind)}
    return {k: v for k, v in answers.items() if k in visible}


def answers_to_json(answers: Answers) -> dict[str, Any]:
    """JSON-safe form: decimals as text (``"1234.50"``), dates ISO, choices as lists."""
    return {key: _to_json(value) for key, value in answers.items()}


def _to_json(value: AnswerValue) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def answers_from_json(questionnaire: Questionnaire, data: Mapping[str, Any]) -> dict[str, AnswerValue]:
    """The typed answers of :func:`answers_to_json` (ids the questionnaire lacks are kept as stored text)."""
    values: dict[str, AnswerValue] = {}
    for key, raw in data.items():
        question = questionnaire.question(key)
        kind = question.type if question else None
        if kind in (QuestionType.DECIMAL, QuestionType.AMOUNT):
            values[key] = Decimal(str(raw))
        elif kind is QuestionType.DATE:
            values[key] = date.fromisoformat(str(raw))
        elif isinstance(raw, list):
            values[key] = tuple(str(v) for v in raw)
        else:
            values[key] = raw
    return values


def display(question: Question, value: AnswerValue | None) -> str:
    """An answer as a person reads it (German notation, option labels)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Ja" if value else "Nein"
    if isinstance(value, tuple):
        return "; ".join(question.option_label(code) for code in value)
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    if isinstance(value, Decimal):
        text = german_decimal(value, question.places)
        return f"{text} €" if question.type is QuestionType.AMOUNT else text
    if question.type is QuestionType.SINGLE_CHOICE and isinstance(value, str):
        return question.option_label(value)
    if question.type is QuestionType.SCALE and isinstance(value, int):
        label = dict(question.labels).get(value)
        return f"{value} ({label})" if label else str(value)
    return str(value)
