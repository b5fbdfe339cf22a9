"""The Fragebogen as data: sections, questions, types, bounds, choices and conditions (pure, immutable).

A question's ``id`` (``konzept.status``) is stable across years: the evaluation compares answers by id. Changing
what a question means (its type, its scale, what its options stand for) needs a new id; an id is never reused with
another type (:func:`kim_workflow.core.questionnaire_file.check_history`). Parsed from TOML by
:mod:`kim_workflow.core.questionnaire_file`; answers are converted and checked by
:mod:`kim_workflow.core.questionnaire_answers`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from kim_workflow.core.domain import KommuneKind


class AnswerStatus(StrEnum):
    """A Kommune's answers for a year: a draft (editable), or submitted (read-only; corrected only by revision)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"


class AnswerSource(StrEnum):
    """Where a revision of the answers came from."""

    PORTAL = "portal"
    WORKBOOK = "workbook"
    CLI = "cli"


class QuestionType(StrEnum):
    YES_NO = "yes_no"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    INTEGER = "integer"
    DECIMAL = "decimal"
    AMOUNT = "amount"
    """A euro amount: a decimal with two places, shown as ``1.234,56 €``."""
    DATE = "date"
    SCALE = "scale"
    """An integer rating from ``min`` to ``max`` (default 1 to 5), the ends (or every step) labelled."""
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"

    @property
    def label_de(self) -> str:
        return TYPE_LABELS[self]

    @property
    def is_number(self) -> bool:
        return self in NUMBER_TYPES

    @property
    def is_choice(self) -> bool:
        return self in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE)

    @property
    def is_text(self) -> bool:
        return self in (QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT)


TYPE_LABELS = {
    QuestionType.YES_NO: "Ja/Nein",
    QuestionType.SINGLE_CHOICE: "Einfachauswahl",
    QuestionType.MULTIPLE_CHOICE: "Mehrfachauswahl",
    QuestionType.INTEGER: "Ganze Zahl",
    QuestionType.DECIMAL: "Dezimalzahl",
    QuestionType.AMOUNT: "Betrag (EUR)",
    QuestionType.DATE: "Datum",
    QuestionType.SCALE: "Skala",
    QuestionType.SHORT_TEXT: "Kurztext",
    QuestionType.LONG_TEXT: "Freitext",
}
NUMBER_TYPES = frozenset({QuestionType.INTEGER, QuestionType.DECIMAL, QuestionType.AMOUNT, QuestionType.SCALE})
SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 5000
SCALE_DEFAULT = (1, 5)

AnswerValue = bool | int | Decimal | date | str | tuple[str, ...]
"""A typed answer: yes/no → bool, integer and scale → int, decimal and amount → Decimal, date → date,
single choice → the option code, multiple choice → the chosen codes in the questionnaire's order, text → str."""
Bound = int | Decimal | date
ConditionValue = bool | int | str


@dataclass(frozen=True, slots=True)
class Option:
    code: str
    """Stable across years (``wohnen``); the evaluation counts codes, never labels."""
    label: str


@dataclass(frozen=True, slots=True)
class Condition:
    """Shown only when ``question`` (an earlier one) has one of ``values`` (for multiple choice: contains one)."""

    question: str
    values: tuple[ConditionValue, ...]

    def met_by(self, answer: AnswerValue | None) -> bool:
        if answer is None:
            return False
        if isinstance(answer, tuple):
            return any(value in answer for value in self.values)
        return any(type(value) is type(answer) and value == answer for value in self.values)


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    type: QuestionType
    text: str
    section: str
    help: str = ""
    required: bool = False
    since: int | None = None
    """The year the question was introduced (for the codebook and year-on-year comparisons)."""
    min: Bound | None = None
    max: Bound | None = None
    max_length: int | None = None
    """Text types only; defaults to :data:`SHORT_TEXT_MAX` or :data:`LONG_TEXT_MAX`."""
    places: int = 0
    """Decimal places allowed (decimal: at most this many; amount: 2; otherwise 0)."""
    options: tuple[Option, ...] = ()
    labels: tuple[tuple[int, str], ...] = ()
    """Scale only: labelled steps, e.g. ``((1, "gar nicht"), (5, "sehr stark"))``."""
    condition: Condition | None = None
    kommune_kind: KommuneKind | None = None
    """Asked only of this kind of Kommune (e.g. only Landkreise have kreisangehörige Gemeinden)."""
    unit: str = ""
    """Shown after the answer cell, e.g. ``VZÄ`` or ``Monate``."""
    line: int | None = None

    @property
    def text_limit(self) -> int:
        default = SHORT_TEXT_MAX if self.type is QuestionType.SHORT_TEXT else LONG_TEXT_MAX
        return self.max_length if self.max_length is not None else default

    @property
    def scale_range(self) -> tuple[int, int]:
        low = self.min if isinstance(self.min, int) else SCALE_DEFAULT[0]
        high = self.max if isinstance(self.max, int) else SCALE_DEFAULT[1]
        return low, high

    def option_label(self, code: str) -> str:
        return next((o.label for o in self.options if o.code == code), code)

    @property
    def option_codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    questions: tuple[Question, ...]
    help: str = ""
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Questionnaire:
    version: str
    """Stored with every set of answers and in every workbook (``2026-1``)."""
    title: str
    sections: tuple[Section, ...]
    intro: str = ""
    source: str = ""
    """The file it was read from, as shown to people."""
    _by_id: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({q.id: q for s in self.sections for q in s.questions})

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for s in self.sections for q in s.questions)

    def question(self, question_id: str) -> Question | None:
        return self._by_id.get(question_id)

    def __contains__(self, question_id: object) -> bool:
        return question_id in self._by_id
