"""One ``[[section.question]]`` table read into a :class:`Question`, every problem collected with its line (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.questionnaire import (
    LONG_TEXT_MAX,
    SCALE_DEFAULT,
    Bound,
    Condition,
    ConditionValue,
    Option,
    Question,
    QuestionType,
)
from kim_workflow.core.toml_lines import Table, TomlLines
from kim_workflow.core.years import YEAR_MAX, YEAR_MIN

QUESTION_KEYS = frozenset(
    {"id", "type", "text", "help", "required", "since", "min", "max", "max_length", "places", "options", "labels",
     "when", "kommune_kind", "unit"}
)  # fmt: skip
QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
QUESTION_ID_MAX = 64
OPTION_CODE = re.compile(r"^[a-z0-9][a-z0-9_]{0,31}$")
CONDITION_TYPES = frozenset(
    {QuestionType.YES_NO, QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE, QuestionType.SCALE,
     QuestionType.INTEGER}
)  # fmt: skip
BOUNDED = frozenset({QuestionType.INTEGER, QuestionType.DECIMAL, QuestionType.AMOUNT, QuestionType.DATE,
                     QuestionType.SCALE})  # fmt: skip
KINDS = {"landkreis": KommuneKind.LANDKREIS, "kreisfreie_stadt": KommuneKind.KREISFREIE_STADT}
PLACES_MAX = 6
SCALE_STEPS_MAX = 11


@dataclass(frozen=True, slots=True)
class FileProblem:
    message: str
    line: int | None = None
    where: str = ""
    """``Abschnitt konzept`` or ``Frage konzept.status``; empty for the file as a whole."""

    def __str__(self) -> str:
        parts = [f"Zeile {self.line}" if self.line else "", self.where]
        prefix = ", ".join(p for p in parts if p)
        return f"{prefix}: {self.message}" if prefix else self.message


class QuestionReader:
    """Reads the questions of one file in order; :meth:`finish` checks ids and conditions across the file."""

    def __init__(self, lines: TomlLines, year: int | None, problems: list[FileProblem]) -> None:
        self.lines, self.year, self.problems = lines, year, problems
        self.order: list[Question] = []
        self.conditions: list[tuple[Question, Table | None, str, int]] = []

    def question(self, section: int, index: int, raw: Any, section_id: str) -> Question | None:
        table = self.lines.question(section, index)
        if not isinstance(raw, Mapping):
            self._add(
                f"Frage Nr. {index + 1} ist keine Tabelle", table.line if table else None, f"Abschnitt {section_id}"
            )
            return None
        question_id = raw.get("id")
        shown = question_id if isinstance(question_id, str) else f"Nr. {index + 1} in Abschnitt {section_id}"
        where = f"Frage {shown}"

        def problem(key: str | None, message: str, at: int | None = None) -> None:
            line = (table.keys.get(key, table.line) if key else table.line) if table else None
            self._add(message, at or line, where)

        for key in sorted(set(raw) - QUESTION_KEYS):
            problem(key, f"unbekannter Schlüssel „{key}“")
        if (
            not isinstance(question_id, str)
            or not QUESTION_ID.fullmatch(question_id)
            or len(question_id) > QUESTION_ID_MAX
        ):
            problem("id", f"„id“ fehlt oder ist ungültig (z. B. „konzept.status“, höchstens {QUESTION_ID_MAX} Zeichen)")
            question_id = None
        try:
            kind = QuestionType(str(raw.get("type")))
        except ValueError:
            allowed = ", ".join(t.value for t in QuestionType)
            problem("type", f"„type“ fehlt oder ist unbekannt (erlaubt: {allowed})")
            return None
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip():
            problem("text", "„text“ fehlt (der Fragetext)")
        fields = _Fields(raw, kind, problem, self.year)
        question = Question(
            id=question_id or f"?{section}.{index}", type=kind, text=str(text or "").strip(), section=section_id,
            help=fields.text("help"), required=fields.flag("required"), since=fields.since(), unit=fields.text("unit"),
            places=fields.places(), max_length=fields.max_length(), options=fields.options(table, self.lines),
            kommune_kind=fields.kommune_kind(), line=table.line if table else None,
        )  # fmt: skip
        low, high = fields.bounds(question.places)
        question = replace(question, min=low, max=high, labels=fields.labels(low, high))
        condition = fields.condition()
        if condition is not None:
            question = replace(question, condition=condition)
            self.conditions.append((question, table, where, len(self.order)))
        if question_id is not None:
            self.order.append(question)
        return question

    def finish(self) -> None:
        seen: dict[str, Question] = {}
        for question in self.order:
            if question.id in seen:
                self._add(f"die ID kommt doppelt vor (zuerst in Zeile {seen[question.id].line})", question.line,
                          f"Frage {question.id}")  # fmt: skip
            seen.setdefault(question.id, question)
        position = {q.id: n for n, q in reversed(list(enumerate(self.order)))}
        for question, table, where, own in self.conditions:
            assert question.condition is not None
            line = table.keys.get("when", question.line) if table else question.line
            self._check_condition(question.condition, seen, position, own, line, where)

    def _check_condition(
        self, condition: Condition, seen: Mapping[str, Question], position: Mapping[str, int], own: int,
        line: int | None, where: str,
    ) -> None:  # fmt: skip
        target = seen.get(condition.question)
        if target is None:
            self._add(f"„when“ verweist auf die unbekannte Frage „{condition.question}“", line, where)
            return
        if position[condition.question] >= own:
            self._add(f"„when“ verweist auf die Frage „{condition.question}“, die erst danach kommt", line, where)
            return
        if target.type not in CONDITION_TYPES:
            self._add(
                f"„when“: die Frage „{target.id}“ ({target.type.label_de}) taugt nicht als Bedingung", line, where
            )
            return
        for value in condition.values:
            if not _possible(target, value):
                self._add(f"„when“: {value!r} ist keine mögliche Antwort auf „{target.id}“", line, where)

    def _add(self, message: str, line: int | None, where: str) -> None:
        self.problems.append(FileProblem(message, line, where))


def _possible(target: Question, value: ConditionValue) -> bool:
    if target.type is QuestionType.YES_NO:
        return isinstance(value, bool)
    if target.type.is_choice:
        return isinstance(value, str) and value in target.option_codes
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    low, high = target.scale_range if target.type is QuestionType.SCALE else (target.min, target.max)
    return (low is None or value >= low) and (high is None or value <= high)  # type: ignore[operator]


class Problem(Protocol):
    def __call__(self, key: str | None, message: str, at: int | None = None, /) -> None: ...


class _Fields:
    """The optional keys of one question, each checked against its type."""

    def __init__(self, raw: Mapping[str, Any], kind: QuestionType, problem: Problem,
                 year: int | None) -> None:  # fmt: skip
        self.raw, self.kind, self.problem, self.year = raw, kind, problem, year

    def only_for(self, key: str, allowed: bool, what: str) -> bool:
        """False (and a problem) when ``key`` is given for a type it does not apply to."""
        if key in self.raw and not allowed:
            self.problem(key, f"„{key}“ gilt nur für {what}, nicht für „{self.kind.value}“")
            return False
        return key in self.raw

    def text(self, key: str) -> str:
        value = self.raw.get(key, "")
        if not isinstance(value, str):
            self.problem(key, f"„{key}“ muss ein Text sein")
            return ""
        return value.strip()

    def flag(self, key: str) -> bool:
        value = self.raw.get(key, False)
        if not isinstance(value, bool):
            self.problem(key, f"„{key}“ muss true oder false sein")
            return False
        return value

    def since(self) -> int | None:
        value: object = self.raw.get("since")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not YEAR_MIN <= value <= YEAR_MAX:
            self.problem("since", f"„since“ muss ein Jahr zwischen {YEAR_MIN} und {YEAR_MAX} sein")
            return None
        if self.year is not None and value > self.year:
            self.problem("since", f"„since“ = {value} liegt nach dem Förderjahr {self.year} dieser Datei")
        return value

    def places(self) -> int:
        if self.kind is QuestionType.AMOUNT:
            self.only_for("places", False, "Dezimalzahlen (Beträge haben immer 2 Nachkommastellen)")
            return 2
        if not self.only_for("places", self.kind is QuestionType.DECIMAL, "Dezimalzahlen"):
            return 2 if self.kind is QuestionType.DECIMAL else 0
        value: object = self.raw["places"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= PLACES_MAX:
            self.problem("places", f"„places“ muss eine ganze Zahl von 0 bis {PLACES_MAX} sein")
            return 2
        return value

    def max_length(self) -> int | None:
        if not self.only_for("max_length", self.kind.is_text, "Textfragen"):
            return None
        value: object = self.raw["max_length"]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= LONG_TEXT_MAX:
            self.problem("max_length", f"„max_length“ muss eine ganze Zahl von 1 bis {LONG_TEXT_MAX} sein")
            return None
        return value

    def kommune_kind(self) -> KommuneKind | None:
        value = self.raw.get("kommune_kind")
        if value is None:
            return None
        if value not in KINDS:
            self.problem("kommune_kind", "„kommune_kind“ muss „landkreis“ oder „kreisfreie_stadt“ sein")
            return None
        return KINDS[value]

    def options(self, table: Table | None, lines: TomlLines) -> tuple[Option, ...]:
        if not self.only_for("options", self.kind.is_choice, "Auswahlfragen"):
            if self.kind.is_choice:
                self.problem(None, "„options“ fehlt (die Auswahlmöglichkeiten)")
            return ()
        raw = self.raw["options"]
        minimum = 2 if self.kind is QuestionType.SINGLE_CHOICE else 1
        if not isinstance(raw, list) or len(raw) < minimum:
            self.problem("options", f"„options“ braucht mindestens {minimum} Einträge {{ code = …, label = … }}")
            return ()
        options: list[Option] = []
        for number, item in enumerate(raw, start=1):
            code = item.get("code") if isinstance(item, Mapping) else None
            label = item.get("label") if isinstance(item, Mapping) else None
            line = lines.find(table, "code", nth=number)
            extra = sorted(set(item) - {"code", "label"}) if isinstance(item, Mapping) else []
            bad_code = not isinstance(code, str) or not OPTION_CODE.fullmatch(code)
            if bad_code or not isinstance(label, str) or not label.strip() or extra:
                detail = f"unbekannter Schlüssel „{extra[0]}“" if extra else "braucht code (a–z, 0–9, _) und label"
                self._at(line, f"Auswahl Nr. {number}: {detail}")
                continue
            assert isinstance(code, str) and isinstance(label, str)
            if code in {o.code for o in options}:
                self._at(line, f"Auswahl-Code „{code}“ kommt doppelt vor")
            elif label.strip() in {o.label for o in options}:
                self._at(line, f"Auswahl-Text „{label.strip()}“ kommt doppelt vor")
            else:
                options.append(Option(code, label.strip()))
        return tuple(options)

    def _at(self, line: int | None, message: str) -> None:
        self.problem("options", message, line)

    def bounds(self, places: int) -> tuple[Bound | None, Bound | None]:
        allowed = self.kind in BOUNDED
        what = "Zahlen, Beträge, Daten und Skalen"
        low = self._bound("min", places) if self.only_for("min", allowed, what) else None
        high = self._bound("max", places) if self.only_for("max", allowed, what) else None
        if self.kind is QuestionType.SCALE:
            low = SCALE_DEFAULT[0] if low is None else low
            high = SCALE_DEFAULT[1] if high is None else high
            if isinstance(low, int) and isinstance(high, int) and not 2 <= high - low + 1 <= SCALE_STEPS_MAX:
                self.problem("max", f"eine Skala hat 2 bis {SCALE_STEPS_MAX} Stufen")
                return None, None
        if low is not None and high is not None and low > high:  # type: ignore[operator]
            self.problem("max", f"„min“ ({low}) liegt über „max“ ({high})")
            return None, None
        return low, high

    def _bound(self, key: str, places: int) -> Bound | None:
        value = self.raw[key]
        if self.kind is QuestionType.DATE:
            if isinstance(value, date):
                return value
            self.problem(key, f"„{key}“ muss ein Datum sein (z. B. {key} = 2026-01-01)")
            return None
        if self.kind in (QuestionType.INTEGER, QuestionType.SCALE):
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            self.problem(key, f"„{key}“ muss eine ganze Zahl sein")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.problem(key, f"„{key}“ muss eine Zahl sein")
            return None
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            number = Decimal("NaN")
        if not number.is_finite() or number != number.quantize(Decimal(1).scaleb(-places)):
            self.problem(key, f"„{key}“ muss eine Zahl mit höchstens {places} Nachkommastellen sein")
            return None
        return number

    def labels(self, low: Bound | None, high: Bound | None) -> tuple[tuple[int, str], ...]:
        if not self.only_for("labels", self.kind is QuestionType.SCALE, "Skalen"):
            return ()
        raw = self.raw["labels"]
        if not isinstance(raw, Mapping):
            self.problem("labels", '„labels“ muss eine Tabelle sein, z. B. { 1 = "gar nicht", 5 = "sehr" }')
            return ()
        labels: list[tuple[int, str]] = []
        for step, label in raw.items():
            inside = isinstance(low, int) and isinstance(high, int) and step.isdigit() and low <= int(step) <= high
            if not inside or not isinstance(label, str) or not label.strip():
                self.problem("labels", f"„labels“: Stufe „{step}“ liegt nicht auf der Skala oder hat keinen Text")
                continue
            labels.append((int(step), label.strip()))
        return tuple(sorted(labels))

    def condition(self) -> Condition | None:
        raw = self.raw.get("when")
        if raw is None:
            return None
        values = raw.get("is") if isinstance(raw, Mapping) else None
        values = values if isinstance(values, list) else [values] if values is not None else []
        ok = isinstance(raw, Mapping) and isinstance(raw.get("question"), str) and set(raw) <= {"question", "is"}
        if not ok or not values or not all(isinstance(v, bool | int | str) for v in values):
            self.problem("when", '„when“ braucht die Form { question = "<ID>", is = <Antwort oder Liste> }')
            return None
        return Condition(question=str(raw["question"]), values=tuple(values))
