"""The change of a question's answers against an earlier year (pure).

Questions are matched by id (an id keeps its meaning across years, see :mod:`kim_workflow.core.questionnaire`).
The comparison uses the same Kommune panel: only the Kommunen (by AGS) that answered the question in both years.
Numbers: mean and median of each year over the panel and their difference; choices and yes/no: each option's
share of the panel in each year and the difference (as a fraction; ×100 for percentage points). A question the
earlier year did not ask (missing from its questionnaire, or ``since`` after that year) has no earlier value:
``earlier_asked`` is false and nothing else is set.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.evaluation import YearAnswers, effective_answers
from kim_workflow.core.evaluation_summary import GROUPS, distribution
from kim_workflow.core.questionnaire import AnswerValue, Question


@dataclass(frozen=True, slots=True)
class ShareChange:
    code: str
    label: str
    before: Decimal
    now: Decimal

    @property
    def change(self) -> Decimal:
        return self.now - self.before


@dataclass(frozen=True, slots=True)
class QuestionChange:
    question_id: str
    year: int
    earlier_year: int
    group: KommuneKind | None
    earlier_asked: bool
    panel: int = 0
    """Kommunen that answered the question in both years."""
    mean_before: Decimal | None = None
    mean_now: Decimal | None = None
    median_before: Decimal | None = None
    median_now: Decimal | None = None
    shares: tuple[ShareChange, ...] = ()

    @property
    def mean_change(self) -> Decimal | None:
        return None if self.mean_now is None or self.mean_before is None else self.mean_now - self.mean_before

    @property
    def median_change(self) -> Decimal | None:
        return None if self.median_now is None or self.median_before is None else self.median_now - self.median_before


def compare(now: YearAnswers, earlier: YearAnswers) -> list[QuestionChange]:
    """Every question of ``now``'s questionnaire against ``earlier``, for all Kommunen and per kind."""
    kinds = {r.ags: r.kind for r in now.submitted}
    answers_now = {r.ags: effective_answers(now.questionnaire, r) for r in now.submitted}
    answers_before = {r.ags: effective_answers(earlier.questionnaire, r) for r in earlier.submitted}
    changes = []
    for question in now.questionnaire.questions:
        before_question = earlier.questionnaire.question(question.id)
        for group in GROUPS:
            if not _asked_earlier(question, before_question, earlier.year):
                changes.append(QuestionChange(question.id, now.year, earlier.year, group, earlier_asked=False))
                continue
            panel = sorted(
                ags
                for ags, answers in answers_now.items()
                if question.id in answers
                and question.id in answers_before.get(ags, {})
                and (group is None or kinds[ags] is group)
            )
            pairs = [(answers_before[ags][question.id], answers_now[ags][question.id]) for ags in panel]
            changes.append(_change(question, now.year, earlier.year, group, pairs))
    return changes


def _asked_earlier(question: Question, before: Question | None, earlier_year: int) -> bool:
    """Whether the earlier year asked the same question (same id and type, not introduced after that year)."""
    introduced_later = question.since is not None and question.since > earlier_year
    return before is not None and before.type is question.type and not introduced_later


def _change(
    question: Question,
    year: int,
    earlier_year: int,
    group: KommuneKind | None,
    pairs: Sequence[tuple[AnswerValue, AnswerValue]],
) -> QuestionChange:
    before = [b for b, _ in pairs]
    now = [n for _, n in pairs]
    means: dict[str, Decimal | None] = dict.fromkeys(("mean_before", "mean_now", "median_before", "median_now"))
    if question.type.is_number and pairs:
        before_numbers, now_numbers = _decimals(before), _decimals(now)
        means = {
            "mean_before": statistics.mean(before_numbers),
            "mean_now": statistics.mean(now_numbers),
            "median_before": statistics.median(before_numbers),
            "median_now": statistics.median(now_numbers),
        }
    shares = tuple(
        ShareChange(b.code, b.label, b.share, n.share)
        for b, n in zip(distribution(question, before), distribution(question, now), strict=True)
    )
    return QuestionChange(
        question.id, year, earlier_year, group, earlier_asked=True, panel=len(pairs), shares=shares, **means
    )


def _decimals(values: Sequence[AnswerValue]) -> list[Decimal]:
    return [Decimal(v) for v in values if isinstance(v, int | Decimal) and not isinstance(v, bool)]
