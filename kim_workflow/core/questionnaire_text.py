"""German descriptions of questions for people: allowed answers and conditions (for the CLI, workbook, codebook)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.money import decimal_places, german_decimal
from kim_workflow.core.questionnaire import Bound, ConditionValue, Question, Questionnaire, QuestionType


def bound_text(question: Question, bound: Bound | None) -> str:
    if bound is None:
        return ""
    if isinstance(bound, date):
        return f"{bound:%d.%m.%Y}"
    if isinstance(bound, Decimal):
        return german_decimal(bound, 2 if question.type is QuestionType.AMOUNT else decimal_places(bound))
    return str(bound)


def allowed_text(question: Question) -> str:
    """What may be answered, e.g. ``0 bis 99 Sitzungen``, ``Ja / Nein``, ``höchstens 200 Zeichen``."""
    kind = question.type
    if kind is QuestionType.YES_NO:
        return "Ja / Nein"
    if kind.is_choice:
        prefix = "eine von: " if kind is QuestionType.SINGLE_CHOICE else "eine oder mehrere von: "
        return prefix + "; ".join(o.label for o in question.options)
    if kind is QuestionType.SCALE:
        first, last = question.scale_range
        labels = dict(question.labels)
        steps = [f"{n} ({labels[n]})" if n in labels else str(n) for n in (first, last)]
        return f"{steps[0]} bis {steps[1]}"
    if kind.is_text:
        return f"höchstens {question.text_limit} Zeichen"
    low, high = bound_text(question, question.min), bound_text(question, question.max)
    unit = " €" if kind is QuestionType.AMOUNT else f" {question.unit}" if question.unit else ""
    if low and high:
        span = f"{low} bis {high}{unit}"
    elif low:
        span = f"mindestens {low}{unit}"
    elif high:
        span = f"höchstens {high}{unit}"
    else:
        span = unit.strip()
    if kind is QuestionType.DECIMAL:
        span = f"{span}, höchstens {question.places} Nachkommastellen".lstrip(", ")
    if kind is QuestionType.DATE:
        span = f"TT.MM.JJJJ, {span}" if span else "TT.MM.JJJJ"
    return span


def condition_text(questionnaire: Questionnaire, question: Question) -> str:
    """When the question is asked, e.g. ``nur Landkreise; nur wenn „konzept.status“: Vorhanden oder …``."""
    parts: list[str] = []
    if question.kommune_kind is KommuneKind.LANDKREIS:
        parts.append("nur Landkreise")
    elif question.kommune_kind is KommuneKind.KREISFREIE_STADT:
        parts.append("nur kreisfreie Städte")
    condition = question.condition
    if condition is not None:
        target = questionnaire.question(condition.question)
        values = " oder ".join(_value_text(target, v) for v in condition.values)
        parts.append(f"nur wenn „{condition.question}“: {values}")
    return "; ".join(parts)


def _value_text(target: Question | None, value: ConditionValue) -> str:
    if isinstance(value, bool):
        return "Ja" if value else "Nein"
    if target is not None and isinstance(value, str):
        return f"„{target.option_label(value)}“"
    return str(value)
