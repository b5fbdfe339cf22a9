"""German form building blocks for the Prefect UI: flow parameters and run inputs an official can fill in.

Prefect titles every flow parameter with its Python name, so :func:`de` puts the German title and description
into ``json_schema_extra`` as well (that survives, on parameters as on model fields). The types below show plain
text fields or dropdowns of German labels in the form and validate to domain values: a Kommune label to its AGS,
"Jahresbericht" to ``DeliverableKind.ANNUAL_REPORT``, "45.000,00" to ``Decimal("45000.00")``, "15.12.2026" to a
date. Python callers may pass the domain values (a bare AGS, the enum, a Decimal, a date) instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

from prefect.input import RunInput
from pydantic import (
    BaseModel,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationError,
    create_model,
)
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, ErrorDetails, core_schema

from kim_workflow.core.alerts import Incident
from kim_workflow.core.domain import DecisionOutcome, DeliverableKind, MeetingType, Organiser
from kim_workflow.core.german_input import DATE_HINT, TIME_HINT, parse_amount, parse_date, parse_datetime
from kim_workflow.core.money import format_eur
from kim_workflow.core.registry import display_name
from kim_workflow.core.validation import AGS_PATTERN
from kim_workflow.core.years import YEAR_MAX, YEAR_MIN
from kim_workflow.email.formatting import MEETING_TYPE_LABELS, ORGANISER_LABELS
from kim_workflow.services.decisions import DecisionRequest
from kim_workflow.services.registry import reference_kommunen

E = TypeVar("E", bound=Enum)


def de(title: str, description: str, *, shown: Any = None, **field: Any) -> Any:
    """A pydantic ``Field`` with German title and description that also survive as a flow parameter.

    ``shown`` is the default the form shows where it differs from Python's (a label for an enum default); a
    Python default of None shows an empty text field.
    """
    extra: dict[str, Any] = {"title": title, "description": description}
    if shown is not None:
        extra["default"] = shown
    elif "default" in field and field["default"] is None:
        extra["default"] = ""
    return Field(title=title, description=description, json_schema_extra=extra, **field)


@dataclass(frozen=True)
class FormText:
    """Annotated marker: ``parse`` the form's value, show ``schema`` in the form, ``dump`` to JSON (optional)."""

    parse: Callable[[Any], Any]
    schema: Mapping[str, Any]
    dump: Callable[[Any], Any] | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        dump = self.dump  # None is dumped as "" (the form's empty text field, valid against its schema)
        serialization = (
            core_schema.plain_serializer_function_ser_schema(lambda v: "" if v is None else dump(v), when_used="json")
            if dump is not None
            else None
        )
        return core_schema.no_info_before_validator_function(self.parse, handler(source), serialization=serialization)

    def __get_pydantic_json_schema__(self, _schema: CoreSchema, _handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return dict(self.schema)


def text_parser(parse: Callable[[str], Any], kind: type, *, optional: bool) -> Callable[[Any], Any]:
    """Parse a form's text with ``parse``; values of ``kind`` pass (Decimals are checked as text too).

    An empty text is None where the field is optional, else a German "please fill in".
    """

    def parse_value(value: Any) -> Any:
        if isinstance(value, kind) and not isinstance(value, Decimal):
            return value
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise ValueError("Bitte einen Text eingeben.")
        text = format(value, "f") if isinstance(value, Decimal) else str(value).strip()
        if not text and optional:
            return None
        return parse(text) if text else _missing()

    return parse_value


def _missing() -> Any:
    raise ValueError("Pflichtangabe fehlt.")


# Kommunen -------------------------------------------------------------------------------------------------------

_KOMMUNEN = sorted(reference_kommunen(), key=lambda k: (k.name, k.kind))
KOMMUNE_LABELS: Mapping[str, str] = {k.ags: f"{display_name(k.name, k.kind)} ({k.ags})" for k in _KOMMUNEN}
_AGS_BY_LABEL = {label: ags for ags, label in KOMMUNE_LABELS.items()}


def ags_of(value: Any) -> str:
    """The AGS of a Kommune label ("Stadt Mainz (07315000)") or of a bare eight-digit AGS."""
    text = value.strip() if isinstance(value, str) else ""
    if text in _AGS_BY_LABEL:
        return _AGS_BY_LABEL[text]
    if AGS_PATTERN.fullmatch(text):
        return text
    raise ValueError(f"Bitte eine Kommune aus der Liste wählen (nicht {str(value)[:60]!r}).")


def kommune_label(ags: str) -> str:
    return KOMMUNE_LABELS.get(ags, ags)


Kommune = Annotated[str, FormText(ags_of, {"type": "string", "enum": list(KOMMUNE_LABELS.values())}, kommune_label)]

# Choices --------------------------------------------------------------------------------------------------------


class GermanChoice(Generic[E]):
    """A dropdown of German labels for a domain enum; the enum's own values are accepted too."""

    def __init__(self, labels: Mapping[E, str]) -> None:
        self.labels = labels
        self._by_label = {label: member for member, label in labels.items()}

    def parse(self, value: Any) -> E:
        if isinstance(value, str) and value.strip() in self._by_label:
            return self._by_label[value.strip()]
        for member in self.labels:
            if value == member or value == member.value:
                return member
        raise ValueError(f"Bitte wählen: {', '.join(self.labels.values())} (nicht {str(value)[:60]!r}).")

    def label(self, member: E) -> str:
        return self.labels[member]

    def marker(self) -> FormText:
        return FormText(self.parse, {"type": "string", "enum": list(self.labels.values())}, self.label)


DELIVERABLES = GermanChoice({kind: kind.label_de for kind in DeliverableKind})
DECISIONS = GermanChoice(
    {
        DecisionOutcome.APPROVED: "Bewilligen",
        DecisionOutcome.REJECTED: "Ablehnen",
        DecisionOutcome.CHANGES_REQUESTED: "Änderungen anfordern",
    }
)
MEETING_TYPES = GermanChoice(MEETING_TYPE_LABELS)
ORGANISERS = GermanChoice(ORGANISER_LABELS)

INCIDENTS = GermanChoice(
    {Incident.MISSED_SWEEP: "Tagesrunde ausgeblieben", Incident.RUN_FAILED: "Lauf fehlgeschlagen oder abgestürzt"}
)

DeliverableChoice = Annotated[DeliverableKind, DELIVERABLES.marker()]
IncidentChoice = Annotated[Incident, INCIDENTS.marker()]
DecisionChoice = Annotated[DecisionOutcome, DECISIONS.marker()]
MeetingTypeChoice = Annotated[MeetingType, MEETING_TYPES.marker()]
OrganiserChoice = Annotated[Organiser, ORGANISERS.marker()]

# Text fields: amounts, dates, free text -------------------------------------------------------------------------

_TEXT: dict[str, Any] = {"type": "string"}


def _amount_text(value: Decimal) -> str:
    """``45.000,00``: the German notation the form shows (and reads back)."""
    return format_eur(value).removesuffix(" €")


def _date_text(value: date) -> str:
    return value.strftime("%d.%m.%Y")


Amount = Annotated[Decimal, FormText(text_parser(parse_amount, Decimal, optional=False), _TEXT, _amount_text)]
OptionalAmount = Annotated[
    Decimal | None, FormText(text_parser(parse_amount, Decimal, optional=True), _TEXT, _amount_text)
]
GermanDate = Annotated[date, FormText(text_parser(parse_date, date, optional=False), _TEXT, _date_text)]
OptionalDate = Annotated[date | None, FormText(text_parser(parse_date, date, optional=True), _TEXT, _date_text)]
GermanDateTime = Annotated[datetime, FormText(text_parser(parse_datetime, datetime, optional=False), _TEXT)]
OptionalText = Annotated[str | None, FormText(lambda v: (v.strip() or None) if isinstance(v, str) else v, _TEXT, str)]
Year = Annotated[int, Field(ge=YEAR_MIN, le=YEAR_MAX)]
Today = Annotated[OptionalDate, de("Stichtag", "TT.MM.JJJJ; leer lassen für heute (Europe/Berlin)", shown="")]
DryRun = Annotated[bool, de("Probelauf", "Nur anzeigen, was anfiele; nichts speichern oder versenden")]
Actor = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[^\r\n\x00]+$"),
    de("Bearbeitet von", "Name oder Kürzel; wird im Ereignisprotokoll vermerkt"),
]

# The decision form ------------------------------------------------------------------------------------------


class DecisionForm(RunInput):
    """Entscheidung des Ministeriums über einen eingereichten Antrag."""

    outcome: DecisionChoice = de("Entscheidung", "Bewilligen, Ablehnen oder Änderungen anfordern")
    granted_personnel_eur: OptionalAmount = de(
        "Bewilligte Personalkosten", "Nur bei Bewilligung: Betrag in Euro, z. B. 45.000,00", default=None
    )
    granted_material_eur: OptionalAmount = de(
        "Bewilligte Sachkosten", "Nur bei Bewilligung: Betrag in Euro, z. B. 12.000,00", default=None
    )
    message: OptionalText = de(
        "Begründung / Hinweis",
        "Bei Ablehnung die Begründung, bei Änderungen was nachzureichen ist; bei Bewilligung ein optionaler Hinweis",
        default=None,
        max_length=4000,
    )
    decided_by: str = de(
        "Entschieden von", "Name der entscheidenden Person (wird protokolliert)", min_length=1, max_length=200
    )
    budget_override_reason: OptionalText = de(
        "Begründung einer Budgetüberschreitung",
        "Nur wenn die Bewilligung das verbleibende Jahresbudget übersteigt (wird protokolliert)",
        default=None,
        max_length=1000,
    )

    def to_request(self) -> DecisionRequest:
        return DecisionRequest(
            outcome=self.outcome,
            decided_by=self.decided_by,
            granted_personnel_eur=self.granted_personnel_eur,
            granted_material_eur=self.granted_material_eur,
            message=self.message,
            budget_override_reason=self.budget_override_reason,
        )

    @classmethod
    def prefilled(cls, description: str, previous: DecisionForm | None = None) -> type[DecisionForm]:
        """The form with ``description`` above it and, if given, the previous answer as the fields' defaults.

        Unlike ``with_initial_data`` this keeps the German titles and text fields of every prefilled field.
        """
        shown = previous.model_dump(mode="json") if previous is not None else {}
        fields: dict[str, Any] = {}
        for name, text in shown.items():
            info = cls.model_fields[name]
            extra = {**(info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {})}
            extra["default"] = "" if text is None else text
            field = FieldInfo.merge_field_infos(info, default=getattr(previous, name), json_schema_extra=extra)
            fields[name] = (info.annotation, field)
        model: type[DecisionForm] = create_model(cls.__name__, __base__=cls, **fields)
        model._description = description  # Prefect reads the form text from the class
        return model


def decision_form_description(summary: str, refusal: str | None) -> str:
    """Markdown above the decision form: the reason a previous answer was refused first, then the summary."""
    if not refusal or not refusal.strip():
        return summary
    items = [line.strip().removeprefix("- ").removeprefix("* ") for line in refusal.strip().splitlines()]
    problems = "\n".join(f"> - {item}" for item in items if item)
    return (
        "> **⚠ Die letzte Eingabe wurde nicht gespeichert.** Bitte korrigieren und erneut absenden:\n>\n"
        f"{problems}\n\n---\n\n{summary}"
    )


def validation_problems(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """German lines "Feldtitel: Grund" for a form's ``ValidationError`` (e.g. to show with the reopened form)."""
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        info = model.model_fields.get(name)
        title = (info.title if info is not None else None) or name
        problems.append(f"{title}: {_reason(error)}" if title else _reason(error))
    return problems


def _reason(error: ErrorDetails) -> str:
    ctx = error.get("ctx") or {}
    if error["type"] == "value_error":
        return str(ctx.get("error", error["msg"]))
    if error["type"] == "missing":
        return "Pflichtangabe fehlt."
    if error["type"] == "string_too_short":
        return "Darf nicht leer sein."
    if error["type"] == "string_too_long":
        return f"Zu lang (höchstens {ctx.get('max_length')} Zeichen)."
    if error["type"] == "extra_forbidden":
        return "Unbekanntes Feld."
    return f"Ungültige Eingabe ({error['type']})."


__all__ = [
    "DATE_HINT",
    "TIME_HINT",
    "Actor",
    "Amount",
    "DecisionChoice",
    "DecisionForm",
    "DeliverableChoice",
    "DryRun",
    "FormText",
    "GermanChoice",
    "GermanDate",
    "GermanDateTime",
    "IncidentChoice",
    "Kommune",
    "MeetingTypeChoice",
    "OptionalAmount",
    "OptionalDate",
    "OptionalText",
    "OrganiserChoice",
    "Today",
    "Year",
    "ags_of",
    "de",
    "decision_form_description",
    "kommune_label",
    "text_parser",
    "validation_problems",
]
