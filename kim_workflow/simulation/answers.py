"""Plausible, seeded answers to any questionnaire (for ``kim simulate``, tests and the benchmark).

Questions are answered in questionnaire order, each only if this Kommune is asked it given the answers so far
(so Landkreise answer the kreisangehörige questions, a hidden follow-up stays empty); required questions always,
optional ones with :data:`OPTIONAL_SHARE`. Numbers fall within the question's bounds, skewed to the low end as
counts of meetings or vacancy months are; amounts have cents. The same seed gives the same answers; the result
passes :func:`kim_workflow.core.questionnaire_answers.validate_answers` with ``final=True``.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.questionnaire import AnswerValue, Question, Questionnaire, QuestionType

OPTIONAL_SHARE = 0.7
YES_SHARE = 0.75
NUMBER_SPAN = 40
"""Unbounded numbers are drawn from 0 to this (or from ``min`` up)."""
TEXTS = (
    "Ausbau der Zusammenarbeit mit dem Jobcenter und den Sprachkursträgern.",
    "Wohnraumvermittlung für Geflüchtete gemeinsam mit der Wohnungswirtschaft.",
    "Aufbau eines Netzwerks der ehrenamtlichen Initiativen im Kreisgebiet.",
    "Interkulturelle Schulungen für die Beschäftigten der Verwaltung.",
    "Mehr Planungssicherheit bei der Förderung über das Jahr hinaus.",
)


SHORT_TEXTS = ("Seniorenbeirat", "Kreisjugendring", "Arbeitskreis Sport und Integration", "Kirchengemeinden")
YEAR_LIKE = 1900
"""An integer question whose minimum is at least this asks for a year: answered with one of the last ten."""


def answer_seed(seed: int, ags: str, year: int) -> str:
    """The answers' own seed: independent of the scenario's draws, so they leave its other decisions unchanged."""
    return f"{seed}|{ags}|{year}|fragebogen"


def simulated_answers(
    questionnaire: Questionnaire, kind: KommuneKind, *, seed: str, year: int
) -> dict[str, AnswerValue]:
    """The answers of one Kommune (``seed`` decides them, e.g. ``"<seed>|<AGS>|<year>"``)."""
    rng = random.Random(seed)
    answers: dict[str, AnswerValue] = {}
    shown: set[str] = set()
    for question in questionnaire.questions:
        if not _asked(question, kind, shown, answers):
            continue
        shown.add(question.id)
        if question.required or rng.random() < OPTIONAL_SHARE:
            answers[question.id] = answer(rng, question, year)
    return answers


def _asked(question: Question, kind: KommuneKind, shown: set[str], answers: dict[str, AnswerValue]) -> bool:
    """The rule of ``visible_questions``, one question at a time (conditions refer to earlier questions)."""
    if question.kommune_kind is not None and question.kommune_kind is not kind:
        return False
    condition = question.condition
    return condition is None or (condition.question in shown and condition.met_by(answers.get(condition.question)))


def answer(rng: random.Random, question: Question, year: int) -> AnswerValue:
    """One value of the question's type within its bounds."""
    kind = question.type
    if kind is QuestionType.YES_NO:
        return rng.random() < YES_SHARE
    if kind is QuestionType.SINGLE_CHOICE:
        weights = [len(question.options) - i for i in range(len(question.options))]  # the first options likelier
        return rng.choices(question.option_codes, weights=weights)[0]
    if kind is QuestionType.MULTIPLE_CHOICE:
        chosen = [code for code in question.option_codes if rng.random() < 0.5] or [rng.choice(question.option_codes)]
        return tuple(chosen)
    if kind is QuestionType.SCALE:
        low, high = question.scale_range
        return rng.randint(low, high)
    if kind is QuestionType.INTEGER:
        low, high = _int_bounds(question)
        if low >= YEAR_LIKE:
            low, high = max(low, min(high, year) - 10), min(high, year)
        return low + int(rng.triangular(0, 1, 0.2) * (high - low) + 0.5)
    if kind in (QuestionType.DECIMAL, QuestionType.AMOUNT):
        return _decimal(rng, question)
    if kind is QuestionType.DATE:
        return _date(rng, question, year)
    text = rng.choice(SHORT_TEXTS if kind is QuestionType.SHORT_TEXT else TEXTS)
    return text[: question.text_limit]


def _int_bounds(question: Question) -> tuple[int, int]:
    low = question.min if isinstance(question.min, int) else 0
    high = question.max if isinstance(question.max, int) else low + NUMBER_SPAN
    return low, high


def _decimal(rng: random.Random, question: Question) -> Decimal:
    places = 2 if question.type is QuestionType.AMOUNT else question.places
    step = Decimal(1).scaleb(-places)
    low = Decimal(question.min) if isinstance(question.min, int | Decimal) else Decimal(0)
    high = Decimal(question.max) if isinstance(question.max, int | Decimal) else low + NUMBER_SPAN
    steps = int((high - low) / step)
    drawn = low + step * int(rng.triangular(0, 1, 0.3) * steps)
    return min(max(drawn, low), high).quantize(step)


def _date(rng: random.Random, question: Question, year: int) -> date:
    low = question.min if isinstance(question.min, date) else date(year - 3, 1, 1)
    high = question.max if isinstance(question.max, date) else date(year, 12, 31)
    high = min(high, date(year, 12, 31))
    low = min(low, high)
    return low + timedelta(days=rng.randint(0, (high - low).days))
