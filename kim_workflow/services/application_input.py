"""Strict parsing of an application (Antrag) from JSON or flow parameters into ``ApplicationData``.

Amounts and FTE values accept JSON numbers and numeric strings and become exact ``Decimal`` values (JSON numbers
are read as decimals, Python floats go through ``str``); booleans, NaN and infinities are refused. Unknown fields
are refused too. Problems come back as ``Violation`` values with German messages, like the rule checks.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
)
from pydantic_core import ErrorDetails

from kim_workflow.core.funded_period import FundedPeriod, Vacancy, sorted_vacancies
from kim_workflow.core.funding import ApplicationData, StaffShare, Violation
from kim_workflow.core.header_text import normalise_body_text
from kim_workflow.core.validation import check_header_safe, check_multiline_safe
from kim_workflow.core.years import YEAR_MAX, YEAR_MIN

INVALID_INPUT = "invalid_input"
MALFORMED_JSON = "malformed_json"
MAX_DOCUMENT_CHARS = 200_000
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?$")


def to_decimal(value: object) -> Decimal:
    """An exact Decimal from a number or a numeric string; ``ValueError`` (German) for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError('erwartet eine Zahl (z. B. 45000 oder "45000.00")')
    text = value.strip() if isinstance(value, str) else str(value)
    if isinstance(value, str) and not _NUMBER_TEXT.fullmatch(text):
        raise ValueError(f'keine Zahl: {value[:40]!r} (Dezimalpunkt verwenden, z. B. "45000.00")')
    try:
        number = value if isinstance(value, Decimal) else Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValueError("keine gültige Zahl") from None
    if not number.is_finite():
        raise ValueError("erwartet eine endliche Zahl (nicht NaN oder unendlich)")
    return number


Amount = Annotated[Decimal, BeforeValidator(to_decimal)]


def _one_line(value: str) -> str:
    return check_header_safe(value, field="Text")


def _free_text(value: str) -> str:
    return check_multiline_safe(value, field="Text")


Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"), AfterValidator(_one_line)]
Notes = Annotated[str, AfterValidator(_free_text)]


class StaffInput(BaseModel):
    """Eine geförderte Person mit ihrem Stellenanteil in VZÄ."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Text = Field(description="Name der Person")
    fte: Amount = Field(description="Stellenanteil in VZÄ, z. B. 0.5")


def to_date(value: object) -> date:
    """A date from ``date`` or an ISO string ``JJJJ-MM-TT``; ``ValueError`` (German) otherwise."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"das Datum {value.strip()!r} gibt es nicht") from None
    raise ValueError(f"erwartet ein Datum JJJJ-MM-TT, nicht {str(value)[:40]!r}")


Day = Annotated[date, BeforeValidator(to_date)]


class VacancyInput(BaseModel):
    """Ein Zeitraum, in dem die Stelle unbesetzt ist (von … bis …, beide einschließlich)."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    start: Day = Field(alias="from", description="unbesetzt von (JJJJ-MM-TT)")
    end: Day = Field(alias="to", description="unbesetzt bis (JJJJ-MM-TT)")


class FundedPeriodInput(BaseModel):
    """Der Förderzeitraum der Stelle im Förderjahr und ihre Vakanzen."""

    model_config = ConfigDict(extra="forbid", strict=True)

    start: Day = Field(description="Beginn (JJJJ-MM-TT)")
    end: Day = Field(description="Ende (JJJJ-MM-TT)")
    vacancies: list[VacancyInput] = Field(default_factory=list, max_length=24, description="Vakanzen")

    def to_period(self) -> FundedPeriod:
        return FundedPeriod(self.start, self.end, sorted_vacancies([Vacancy(v.start, v.end) for v in self.vacancies]))


class ApplicationInput(BaseModel):
    """Antrag einer Kommune auf KIM-Förderung für ein Förderjahr (Beträge in Euro)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    ags: str = Field(max_length=20, description="AGS der Kommune, z. B. 07315000")
    year: StrictInt = Field(ge=YEAR_MIN, le=YEAR_MAX, description="Förderjahr")
    staff: list[StaffInput] = Field(max_length=50, description="Gefördertes Personal mit Stellenanteilen")
    personnel_costs_eur: Amount = Field(description="Beantragte Personalkosten")
    material_costs_eur: Amount = Field(description="Beantragte Sachkosten")
    overhead_costs_eur: Amount = Field(description="Gemeinkosten (nicht förderfähig, also 0)")
    position_in_administration: StrictBool = Field(description="Stelle in der Kommunalverwaltung angesiedelt")
    notes: Notes | None = Field(default=None, max_length=4000, description="Anmerkungen (optional)")
    funded_period: FundedPeriodInput | None = Field(
        default=None, description="Förderzeitraum (optional; ohne Angabe das ganze Förderjahr)"
    )

    def to_data(self) -> ApplicationData:
        staff = tuple(StaffShare(person.name.strip(), person.fte) for person in self.staff)
        return ApplicationData(
            ags=self.ags.strip(),
            year=self.year,
            staff=staff,
            personnel_costs_eur=self.personnel_costs_eur,
            material_costs_eur=self.material_costs_eur,
            overhead_costs_eur=self.overhead_costs_eur,
            position_in_administration=self.position_in_administration,
            notes=normalise_body_text(self.notes or "").strip() or None,
            period=self.funded_period.to_period() if self.funded_period is not None else None,
        )


class ApplicationInputError(ValueError):
    """The document is no well-formed application; ``violations`` says what is wrong, field by field."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("\n".join(f"{v.field}: {v.message}" if v.field else v.message for v in violations))


def parse_application_json(text: str) -> ApplicationInput:
    """Parse a JSON document strictly; raise ``ApplicationInputError`` for malformed JSON or wrong fields."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise _malformed(f"Die Datei ist zu groß (höchstens {MAX_DOCUMENT_CHARS} Zeichen).")
    try:
        document = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        raise _malformed("Kein gültiges JSON: zu tief verschachtelt.") from None
    except ValueError as exc:
        raise _malformed(f"Kein gültiges JSON: {_json_reason(exc)}") from None
    return parse_application(document)


def parse_application(document: Any) -> ApplicationInput:
    """Validate already decoded data (a dict, or flow parameters); raise ``ApplicationInputError``."""
    if isinstance(document, ApplicationInput):
        return document
    if not isinstance(document, dict):
        raise _malformed("Der Antrag muss ein JSON-Objekt sein ({ … }).")
    try:
        return ApplicationInput.model_validate(document)
    except ValidationError as exc:
        raise ApplicationInputError([_violation(error) for error in exc.errors()]) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} ist keine zulässige Zahl")


def _json_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (Zeile {exc.lineno}, Spalte {exc.colno})"
    return str(exc)[:200]


def _malformed(message: str) -> ApplicationInputError:
    return ApplicationInputError([Violation(MALFORMED_JSON, "", message)])


_MESSAGES = {
    "missing": "Pflichtangabe fehlt.",
    "extra_forbidden": "Unbekanntes Feld; zulässig sind nur die Felder des Antragsformulars.",
    "string_type": "Erwartet einen Text.",
    "int_type": "Erwartet eine ganze Zahl.",
    "bool_type": "Erwartet true oder false.",
    "list_type": "Erwartet eine Liste.",
    "model_type": "Erwartet ein Objekt mit den Feldern name und fte.",
    "dict_type": "Erwartet ein Objekt.",
    "string_too_short": "Darf nicht leer sein.",
    "string_pattern_mismatch": "Enthält unzulässige Steuerzeichen (z. B. Zeilenumbrüche).",
}


def _violation(error: ErrorDetails) -> Violation:
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        message = f"Ungültiger Wert: {ctx.get('error')}."
    elif kind in ("too_long", "string_too_long"):
        message = (
            f"Zu lang (höchstens {ctx.get('max_length')} {'Zeichen' if kind == 'string_too_long' else 'Einträge'})."
        )
    elif kind in ("greater_than_equal", "less_than_equal"):
        message = f"Kein zulässiges Förderjahr ({YEAR_MIN} bis {YEAR_MAX})."
    else:
        message = _MESSAGES.get(kind, f"Ungültiger Wert ({kind}).")
    return Violation(INVALID_INPUT, field, message)
