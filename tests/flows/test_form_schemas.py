"""The forms the Prefect UI renders: German titles everywhere, dropdowns of German labels, amounts as plain text.

The schemas are the ones Prefect generates for the deployments of prefect.yaml (no server needed).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from prefect._internal.pydantic.v2_schema import create_v2_schema
from pydantic import ValidationError

from kim_workflow.core.domain import DecisionOutcome, DeliverableKind, MeetingType, Organiser
from kim_workflow.orchestration.deployments import read_specs
from kim_workflow.orchestration.forms import (
    KOMMUNE_LABELS,
    DecisionForm,
    decision_form_description,
    validation_problems,
)
from kim_workflow.services.decisions import DecisionRequest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_VALUES = {m.value for enum in (DecisionOutcome, DeliverableKind, MeetingType, Organiser) for m in enum}


def flow_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    from prefect.flows import load_flow_from_entrypoint

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for spec in read_specs(ROOT / "prefect.yaml"):
        flow = load_flow_from_entrypoint(str(ROOT / spec.entrypoint))
        yield spec.name, flow.parameters.model_dump_for_openapi()


SCHEMAS = dict(flow_schemas())


def properties(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of the schema and of its definitions."""
    yield from schema.get("properties", {}).items()
    for definition in schema.get("definitions", {}).values():
        yield from definition.get("properties", {}).items()


def enums(node: Any) -> Iterator[list[Any]]:
    if isinstance(node, dict):
        if "enum" in node:
            yield node["enum"]
        for value in node.values():
            yield from enums(value)
    elif isinstance(node, list):
        for value in node:
            yield from enums(value)


def test_every_deployment_of_prefect_yaml_but_the_lead_owned_one_is_checked() -> None:
    assert {"open-cycle", "record-submission", "submit-application", "meeting-add", "daily-sweep"} <= set(SCHEMAS)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_field_has_a_german_title_and_description(name: str) -> None:
    for key, prop in properties(SCHEMAS[name]):
        title = prop.get("title", "")
        assert title and title not in (key, key.replace("_", " ").title()), f"{name}.{key}: {title!r}"
        assert title[0].isupper() and prop.get("description"), f"{name}.{key}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_no_type_toggles_and_choices_are_german_labels(name: str) -> None:
    text = json.dumps(SCHEMAS[name])
    assert "anyOf" not in text and "allOf" not in text and '"null"' not in text
    for values in enums(SCHEMAS[name]):
        assert values and not DOMAIN_VALUES & set(values), values


def test_amounts_dates_and_the_kommune_are_plain_text_or_a_dropdown() -> None:
    application = SCHEMAS["submit-application"]["definitions"]["ApplicationForm"]["properties"]
    assert application["personnel_costs_eur"] == {
        "description": "Betrag in Euro, z. B. 60.000,00", "title": "Beantragte Personalkosten", "type": "string"
    }  # fmt: skip
    assert application["ags"]["enum"] == list(KOMMUNE_LABELS.values()) and len(application["ags"]["enum"]) == 36
    assert "Stadt Mainz (07315000)" in application["ags"]["enum"]
    submission = SCHEMAS["record-submission"]["definitions"]["Submission"]["properties"]
    assert submission["kind"]["enum"] == ["Jahresbericht", "Fragebogen"]
    assert submission["received_on"]["type"] == "string" and "format" not in submission["received_on"]
    assert SCHEMAS["daily-sweep"]["properties"]["today"]["default"] == ""


def test_form_values_become_domain_values_and_python_callers_may_pass_domain_values() -> None:
    from flows.cycle_admin import Submission
    from flows.meetings import NewMeeting

    entered = Submission.model_validate(
        {"ags": "Stadt Mainz (07315000)", "year": 2026, "kind": "Fragebogen", "received_on": "20.11.2026"}
    )
    direct = Submission(ags="07315000", year=2026, kind=DeliverableKind.QUESTIONNAIRE, received_on=date(2026, 11, 20))
    assert entered == direct and entered.kind is DeliverableKind.QUESTIONNAIRE
    assert Submission.model_validate(entered.model_dump(mode="json")) == entered  # the form shows what it reads
    meeting = NewMeeting.model_validate(
        {"type": "Arbeitstreffen", "title": "AG Wohnen", "start": "10.06.2026 10:00", "end": "10.06.2026, 15:30 Uhr",
         "location": "", "kommunen": ["Landkreis Kusel (07336000)"]}
    )  # fmt: skip
    assert (meeting.type, meeting.organiser) == (MeetingType.ARBEITSTREFFEN, Organiser.FACHREFERAT)
    assert meeting.location is None
    assert (meeting.end, meeting.kommunen) == (datetime(2026, 6, 10, 15, 30), ["07336000"])


def test_bad_form_values_are_refused_with_german_reasons() -> None:
    from flows.cycle_admin import Extension

    with pytest.raises(ValidationError) as caught:
        Extension.model_validate({"ags": "Mainz", "year": 2026, "until": "31.02.2027", "reason": "Krankheit"})
    assert validation_problems(caught.value, Extension) == [
        "Kommune: Bitte eine Kommune aus der Liste wählen (nicht 'Mainz').",
        "Neue Frist: Das Datum '31.02.2027' gibt es nicht.",
    ]


def test_the_application_form_reads_german_text_and_hands_the_intake_its_input() -> None:
    from kim_workflow.orchestration.application_form import ApplicationForm

    form = ApplicationForm.model_validate(
        {"ags": "Stadt Mainz (07315000)", "year": 2026, "staff": [{"name": "Erika Muster", "fte": "0,5"}],
         "personnel_costs_eur": "30.000", "material_costs_eur": "12.000,50", "position_in_administration": True}
    )  # fmt: skip
    application = form.to_input()
    assert (application.ags, application.staff[0].fte, application.personnel_costs_eur) == (
        "07315000", Decimal("0.5"), Decimal("30000.00")
    )  # fmt: skip
    assert (application.material_costs_eur, application.overhead_costs_eur) == (Decimal("12000.50"), Decimal(0))
    assert ApplicationForm.model_validate(application).to_input() == application


def test_the_decision_form_has_german_fields_and_yields_the_same_request() -> None:
    schema = create_v2_schema("DecisionForm", model_base=DecisionForm)
    titles = {key: prop["title"] for key, prop in schema["properties"].items()}
    assert titles == {
        "outcome": "Entscheidung", "granted_personnel_eur": "Bewilligte Personalkosten",
        "granted_material_eur": "Bewilligte Sachkosten", "message": "Begründung / Hinweis",
        "decided_by": "Entschieden von", "budget_override_reason": "Begründung einer Budgetüberschreitung",
    }  # fmt: skip
    assert schema["properties"]["outcome"]["enum"] == ["Bewilligen", "Ablehnen", "Änderungen anfordern"]
    assert schema["properties"]["granted_personnel_eur"] == {
        "default": "", "description": "Nur bei Bewilligung: Betrag in Euro, z. B. 45.000,00",
        "title": "Bewilligte Personalkosten", "type": "string",
    }  # fmt: skip
    form = DecisionForm.model_validate(
        {"outcome": "Bewilligen", "granted_personnel_eur": "45.000", "granted_material_eur": "12.000,50",
         "message": "", "decided_by": "Referentin"}
    )  # fmt: skip
    assert form.to_request() == DecisionRequest(
        outcome=DecisionOutcome.APPROVED, decided_by="Referentin",
        granted_personnel_eur=Decimal("45000.00"), granted_material_eur=Decimal("12000.50"), message=None,
    )  # fmt: skip
    assert form.model_dump(mode="json")["outcome"] == "Bewilligen"


def test_a_prefilled_decision_form_keeps_its_german_fields_and_the_previous_answer() -> None:
    previous = DecisionForm(outcome=DecisionOutcome.APPROVED, granted_personnel_eur=Decimal("60000.01"), decided_by="R")
    form = DecisionForm.prefilled("Antrag der Stadt Mainz", previous)
    schema = create_v2_schema(form.__name__, model_base=form)
    assert form.__name__ == "DecisionForm" and form._description == "Antrag der Stadt Mainz"
    personnel = schema["properties"]["granted_personnel_eur"]
    assert (personnel["title"], personnel["type"], personnel["default"]) == (
        "Bewilligte Personalkosten", "string", "60.000,01"
    )  # fmt: skip
    assert schema["properties"]["granted_material_eur"]["default"] == ""
    assert schema["properties"]["outcome"]["default"] == "Bewilligen"
    assert form().to_request() == previous.to_request()


def test_a_refusal_stands_above_the_summary_as_a_list() -> None:
    text = decision_form_description("**Antrag** der Stadt Mainz", "Personalkosten zu hoch.\n- Sachkosten fehlen.")
    refusal, summary = text.split("\n\n---\n\n")
    assert refusal.startswith("> **⚠ Die letzte Eingabe wurde nicht gespeichert.**")
    assert refusal.endswith("> - Personalkosten zu hoch.\n> - Sachkosten fehlen.")
    assert summary == "**Antrag** der Stadt Mainz"
    assert decision_form_description("Zusammenfassung", None) == "Zusammenfassung"


def test_every_german_choice_label_is_unique_and_maps_back() -> None:
    from kim_workflow.orchestration.forms import DECISIONS, DELIVERABLES, MEETING_TYPES, ORGANISERS

    for choice in (DECISIONS, DELIVERABLES, MEETING_TYPES, ORGANISERS):
        members: list[Enum] = list(choice.labels)
        assert [choice.parse(choice.label(m)) for m in members] == members
        assert len(set(choice.labels.values())) == len(members)


def test_a_decision_given_in_domain_values_dumps_to_what_the_server_accepts() -> None:
    """``resume_flow_run`` is checked by the server against the form's schema: labels and text, never null."""
    from prefect.utilities.schema_tools.validation import validate

    schema = create_v2_schema("DecisionForm", model_base=DecisionForm)
    raw = {"outcome": "rejected", "decided_by": "cli"}
    assert [error.message for error in validate(raw, schema, raise_on_error=False)] == [
        "'rejected' is not one of ['Bewilligen', 'Ablehnen', 'Änderungen anfordern']"
    ]
    dumped = DecisionForm.model_validate(raw).model_dump(mode="json")
    assert dumped["outcome"] == "Ablehnen" and dumped["granted_personnel_eur"] == ""
    assert validate(dumped, schema, raise_on_error=False) == []
    assert DecisionForm.model_validate(dumped).to_request() == DecisionForm.model_validate(raw).to_request()
