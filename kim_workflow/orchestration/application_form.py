"""The application (Antrag) as a German form for the ``submit-application`` deployment.

The form reads German text (Kommune picker, "60.000,00", "0,5") and hands an :class:`ApplicationInput` to the
same intake as the CLI's JSON file; an ``ApplicationInput`` (or its dict) is accepted as the flow's value too.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, model_validator

from kim_workflow.core.german_input import parse_number
from kim_workflow.orchestration.forms import (
    Amount,
    FormText,
    GermanDate,
    Kommune,
    OptionalDate,
    OptionalText,
    Year,
    de,
    text_parser,
)
from kim_workflow.services.application_input import ApplicationInput, parse_application


def parse_fte(text: str) -> Decimal:
    return parse_number(text, places=None, what="Stellenanteil", example="0,5 oder 1", grouping=False)


Fte = Annotated[Decimal, FormText(text_parser(parse_fte, Decimal, optional=False), {"type": "string"})]


class StaffForm(BaseModel):
    """Eine geförderte Person."""

    name: str = de("Name der Person", "Vor- und Nachname", min_length=1, max_length=200)
    fte: Fte = de("Stellenanteil (VZÄ)", "z. B. 0,5 oder 1")


class VacancyForm(BaseModel):
    """Ein Zeitraum, in dem die Stelle unbesetzt ist."""

    start: GermanDate = de("Unbesetzt von", "TT.MM.JJJJ")
    end: GermanDate = de("Unbesetzt bis", "TT.MM.JJJJ (einschließlich)")


class ApplicationForm(BaseModel):
    """Antrag einer Kommune auf KIM-Förderung für ein Förderjahr."""

    ags: Kommune = de("Kommune", "Die antragstellende Kommune")
    year: Year = de("Förderjahr", "z. B. 2026")
    staff: list[StaffForm] = de("Gefördertes Personal", "Je Person Name und Stellenanteil", max_length=50)
    personnel_costs_eur: Amount = de("Beantragte Personalkosten", "Betrag in Euro, z. B. 60.000,00")
    material_costs_eur: Amount = de("Beantragte Sachkosten", "Betrag in Euro, z. B. 20.000,00")
    overhead_costs_eur: Amount = de(
        "Gemeinkosten", "Nicht förderfähig, daher in der Regel 0", default=Decimal("0.00"), shown="0,00"
    )
    position_in_administration: bool = de(
        "Stelle in der Kommunalverwaltung", "Die Stelle ist in der Kommunalverwaltung angesiedelt"
    )
    notes: OptionalText = de("Anmerkungen", "Optional", default=None, max_length=4000)
    period_start: OptionalDate = de("Förderzeitraum von", "TT.MM.JJJJ; leer: ab 1. Januar", default=None, shown="")
    period_end: OptionalDate = de("Förderzeitraum bis", "TT.MM.JJJJ; leer: bis 31. Dezember", default=None, shown="")
    vacancies: list[VacancyForm] = de(
        "Vakanzen", "Zeiträume, in denen die Stelle unbesetzt ist (optional)", default=[], max_length=24
    )

    @model_validator(mode="before")
    @classmethod
    def _from_application_input(cls, data: Any) -> Any:
        if not isinstance(data, ApplicationInput):
            return data
        document = data.model_dump(exclude={"funded_period"})
        if data.funded_period is not None:
            period = data.funded_period
            document |= {"period_start": period.start, "period_end": period.end,
                         "vacancies": [{"start": v.start, "end": v.end} for v in period.vacancies]}  # fmt: skip
        return document

    def to_input(self) -> ApplicationInput:
        """The intake's input; raise ``ApplicationInputError`` (German) where it does not fit."""
        document = self.model_dump(mode="python", exclude={"period_start", "period_end", "vacancies"})
        if self.period_start or self.period_end or self.vacancies:
            document["funded_period"] = {
                "start": self.period_start or date(self.year, 1, 1),
                "end": self.period_end or date(self.year, 12, 31),
                "vacancies": [{"from": v.start, "to": v.end} for v in self.vacancies],
            }
        return parse_application(document)
