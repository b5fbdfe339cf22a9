"""Per-question summaries of a year's answers, for all Kommunen and split by kind (pure, exact arithmetic).

Of the Kommunen that submitted, each one falls for each question into exactly one of: **answered**; **missing**
(asked and required, but unanswered — only possible for a submission that bypassed the final check, e.g. an
older version); **skipped** (asked, optional, left open); **not applicable** (not asked: another kind of Kommune,
or a condition hid the question). Numbers (integer, decimal, amount, scale) are summarised as ``Decimal`` with the
``statistics`` module (mean and median exact to 28 digits; round only for display); choices, yes/no and scales
get a distribution (multiple choice: how many chose each option, shares of those who answered).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.evaluation import Respondent, YearAnswers, effective_answers
from kim_workflow.core.questionnaire import AnswerValue, Question, QuestionType
from kim_workflow.core.questionnaire_answers import visible_questions

GROUPS: tuple[KommuneKind | None, ...] = (None, KommuneKind.LANDKREIS, KommuneKind.KREISFREIE_STADT)
"""``None``: all Kommunen."""


@dataclass(frozen=True, slots=True)
class Numbers:
    n: int
    mean: Decimal
    median: Decimal
    minimum: Decimal
    maximum: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class Count:
    code: str
    """The option code; ``ja``/``nein`` for yes/no, the step for a scale."""
    label: str
    count: int
    share: Decimal
    """count / answered (0 when nobody answered)."""


@dataclass(frozen=True, slots=True)
class QuestionSummary:
    question_id: str
    group: KommuneKind | None
    submitted: int
    """Kommunen of the group that submitted answers (= answered + missing + skipped + not applicable)."""
    answered: int
    missing: int
    skipped: int
    not_applicable: int
    distribution: tuple[Count, ...] = ()
    numbers: Numbers | None = None
    earliest: date | None = None
    latest: date | None = None


@dataclass(frozen=True, slots=True)
class YearSummary:
    year: int
    kommunen: dict[KommuneKind | None, int]
    """Kommunen in the evaluation per group."""
    submitted: dict[KommuneKind | None, int]
    questions: dict[tuple[str, KommuneKind | None], QuestionSummary]

    def of(self, question_id: str, group: KommuneKind | None = None) -> QuestionSummary:
        return self.questions[(question_id, group)]


def summarise(data: YearAnswers) -> YearSummary:
    """Every question of the year's questionnaire, for all Kommunen and per kind."""
    prepared = [(r, effective_answers(data.questionnaire, r), _asked(data, r)) for r in data.submitted]
    questions: dict[tuple[str, KommuneKind | None], QuestionSummary] = {}
    for group in GROUPS:
        members = [(answers, asked) for r, answers, asked in prepared if group is None or r.kind is group]
        for question in data.questionnaire.questions:
            questions[(question.id, group)] = summarise_question(question, group, members)
    return YearSummary(
        year=data.year,
        kommunen={g: sum(1 for r in data.respondents if g is None or r.kind is g) for g in GROUPS},
        submitted={g: sum(1 for r, _, _ in prepared if g is None or r.kind is g) for g in GROUPS},
        questions=questions,
    )


def _asked(data: YearAnswers, respondent: Respondent) -> frozenset[str]:
    assert respondent.answers is not None
    return frozenset(q.id for q in visible_questions(data.questionnaire, respondent.answers, respondent.kind))


def summarise_question(
    question: Question, group: KommuneKind | None, members: Sequence[tuple[dict[str, AnswerValue], frozenset[str]]]
) -> QuestionSummary:
    """One question over the submissions of one group: (effective answers, ids of the questions asked)."""
    values = [answers[question.id] for answers, asked in members if question.id in answers]
    unanswered_asked = sum(1 for answers, asked in members if question.id in asked and question.id not in answers)
    not_applicable = sum(1 for _, asked in members if question.id not in asked)
    return QuestionSummary(
        question_id=question.id,
        group=group,
        submitted=len(members),
        answered=len(values),
        missing=unanswered_asked if question.required else 0,
        skipped=0 if question.required else unanswered_asked,
        not_applicable=not_applicable,
        distribution=distribution(question, values),
        numbers=numbers(values) if question.type.is_number else None,
        earliest=min((v for v in values if isinstance(v, date)), default=None),
        latest=max((v for v in values if isinstance(v, date)), default=None),
    )


def distribution(question: Question, values: Sequence[AnswerValue]) -> tuple[Count, ...]:
    """Counts per option (every option, also those nobody chose), yes/no, or scale step."""
    counted: Counter[str] = Counter()
    for value in values:
        if isinstance(value, tuple):
            counted.update(value)
        elif isinstance(value, bool):
            counted["ja" if value else "nein"] += 1
        else:
            counted[str(value)] += 1
    if question.type.is_choice:
        categories = [(o.code, o.label) for o in question.options]
    elif question.type is QuestionType.YES_NO:
        categories = [("ja", "Ja"), ("nein", "Nein")]
    elif question.type is QuestionType.SCALE:
        low, high = question.scale_range
        labels = dict(question.labels)
        categories = [(str(n), f"{n} ({labels[n]})" if n in labels else str(n)) for n in range(low, high + 1)]
    else:
        return ()
    return tuple(Count(code, label, counted[code], share(counted[code], len(values))) for code, label in categories)


def share(count: int, of: int) -> Decimal:
    return Decimal(count) / Decimal(of) if of else Decimal(0)


def numbers(values: Sequence[AnswerValue]) -> Numbers | None:
    """Mean, median, minimum, maximum and sum as ``Decimal`` (``None`` when nothing was answered)."""
    exact = [Decimal(v) for v in values if isinstance(v, int | Decimal) and not isinstance(v, bool)]
    if not exact:
        return None
    return Numbers(
        n=len(exact),
        mean=statistics.mean(exact),
        median=statistics.median(exact),
        minimum=min(exact),
        maximum=max(exact),
        total=sum(exact, Decimal(0)),
    )


def answered_values(data: YearAnswers, question: Question, group: KommuneKind | None) -> list[AnswerValue]:
    """The answers to ``question`` of one group's submissions (for charts of numbers)."""
    found = []
    for respondent in data.submitted:
        if group is None or respondent.kind is group:
            value = effective_answers(data.questionnaire, respondent).get(question.id)
            if value is not None:
                found.append(value)
    return found
