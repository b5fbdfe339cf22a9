"""Strict parsing of application JSON: exact decimals, clear German errors, and no crash on any malformed input."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kim_workflow.core.application_window import CALL, WindowKommune, due_reminder, plan_window
from kim_workflow.core.funding import FundingRules, check_application
from kim_workflow.core.policy import ApplicationWindowPolicy
from kim_workflow.services.application_input import (
    INVALID_INPUT,
    MALFORMED_JSON,
    ApplicationInput,
    ApplicationInputError,
    parse_application,
    parse_application_json,
    to_decimal,
)

VALID: dict[str, Any] = {
    "ags": "07315000",
    "year": 2026,
    "staff": [{"name": "Erika Muster", "fte": 0.5}, {"name": "Max Beispiel", "fte": "0.50"}],
    "personnel_costs_eur": 60000,
    "material_costs_eur": 12000.10,
    "overhead_costs_eur": "0",
    "position_in_administration": True,
    "notes": "Zwei halbe Stellen",
}
NUMERIC_FIELDS = ("personnel_costs_eur", "material_costs_eur", "overhead_costs_eur")


def errors(document: Any) -> list[tuple[str, str, str]]:
    with pytest.raises(ApplicationInputError) as caught:
        parse_application_json(document if isinstance(document, str) else json.dumps(document))
    return [(v.code, v.field, v.message) for v in caught.value.violations]


def test_a_valid_document_gives_exact_decimals() -> None:
    text = json.dumps(VALID).replace("12000.1", "12000.10")
    data = parse_application_json(text).to_data()
    assert data.material_costs_eur == Decimal("12000.10") and str(data.material_costs_eur) == "12000.10"
    assert data.personnel_costs_eur == Decimal(60000) and data.overhead_costs_eur == Decimal(0)
    assert [s.fte for s in data.staff] == [Decimal("0.5"), Decimal("0.50")]
    assert check_application(data, FundingRules()) == []


def test_python_floats_go_through_str_and_keep_their_cents() -> None:
    parsed = parse_application({**VALID, "material_costs_eur": 0.1 + 0.2, "personnel_costs_eur": 45000.1})
    assert parsed.personnel_costs_eur == Decimal("45000.1")
    assert parsed.material_costs_eur == Decimal("0.30000000000000004")  # reported as too many decimals later
    assert parse_application(parsed) is parsed


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"personnel_costs_eur": True}, "personnel_costs_eur", "erwartet eine Zahl"),
        ({"material_costs_eur": "12.000,50"}, "material_costs_eur", "keine Zahl"),
        ({"material_costs_eur": "NaN"}, "material_costs_eur", "keine Zahl"),
        ({"overhead_costs_eur": None}, "overhead_costs_eur", "erwartet eine Zahl"),
        ({"overhead_costs_eur": [0]}, "overhead_costs_eur", "erwartet eine Zahl"),
        ({"year": "2026"}, "year", "ganze Zahl"),
        ({"year": True}, "year", "ganze Zahl"),
        ({"year": 1999}, "year", "Förderjahr"),
        ({"ags": 7315000}, "ags", "Text"),
        ({"staff": {"name": "x"}}, "staff", "Liste"),
        ({"staff": ["Erika"]}, "staff[0]", "Objekt"),
        ({"staff": [{"name": "", "fte": 1}]}, "staff[0].name", "leer"),
        ({"staff": [{"name": "A\nB", "fte": 1}]}, "staff[0].name", "Steuerzeichen"),
        ({"staff": [{"name": "A", "fte": 1, "email": "a@b.de"}]}, "staff[0].email", "Unbekanntes Feld"),
        ({"position_in_administration": "ja"}, "position_in_administration", "true oder false"),
        ({"notes": 5}, "notes", "Text"),
        ({"extra": 1}, "extra", "Unbekanntes Feld"),
    ],
)
def test_wrong_types_are_named_field_by_field_in_german(change: dict[str, Any], field: str, fragment: str) -> None:
    found = errors({**VALID, **change})
    assert [(code, f) for code, f, _ in found] == [(INVALID_INPUT, field)]
    assert fragment in found[0][2]


def test_every_missing_field_is_reported_at_once() -> None:
    found = errors({"ags": "07315000"})
    missing = {f for code, f, message in found if message == "Pflichtangabe fehlt."}
    assert missing == set(ApplicationInput.model_fields) - {"ags", "notes", "funded_period"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Kein gültiges JSON"),
        ("{", "Kein gültiges JSON"),
        ('{"ags": "07315000",}', "Zeile 1"),
        ("[1, 2]", "JSON-Objekt"),
        ('"text"', "JSON-Objekt"),
        ('{"personnel_costs_eur": NaN}', "NaN ist keine zulässige Zahl"),
        ('{"personnel_costs_eur": Infinity}', "Infinity ist keine zulässige Zahl"),
        ("[" * 100_001 + "]" * 100_001, "zu groß"),
        ("[" * 50_000 + "]" * 50_000, "verschachtelt"),
        ('{"year": ' + "9" * 5000 + "}", "Kein gültiges JSON"),
    ],
)
def test_malformed_json_is_one_clear_error(text: str, fragment: str) -> None:
    found = errors(text)
    assert len(found) == 1 and found[0][0] == MALFORMED_JSON
    assert fragment in found[0][2]


@pytest.mark.parametrize("value", [True, None, "1e", "", " ", "0x10", "1_000", "∞", float("nan"), float("inf"), [1]])
def test_to_decimal_refuses_non_numbers(value: Any) -> None:
    with pytest.raises(ValueError):
        to_decimal(value)


@pytest.mark.parametrize(
    ("value", "expected"), [(" 45000.5 ", "45000.5"), ("-1", "-1"), (".5", "0.5"), ("1E3", "1E+3")]
)
def test_to_decimal_accepts_plain_numbers(value: str, expected: str) -> None:
    assert to_decimal(value) == Decimal(expected)


# --- generated malformed input: only ApplicationInputError, never anything else -------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FIELDS = sorted(VALID)


@st.composite
def malformed_documents(draw: st.DrawFn) -> str:
    """A document that is certainly not a valid application (or not even JSON)."""
    how = draw(st.sampled_from(["drop", "extra", "wrong_type", "truncate", "garbage", "not_object"]))
    document = dict(VALID)
    if how == "drop":
        del document[draw(st.sampled_from([f for f in FIELDS if f != "notes"]))]
    elif how == "extra":
        document[draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in VALID))] = draw(json_values)
    elif how == "wrong_type":
        field = draw(st.sampled_from(FIELDS))
        document[field] = draw(json_values.filter(lambda v, f=field: _wrong_type(f, v)))
    elif how == "truncate":
        text = json.dumps(document)
        return text[: draw(st.integers(0, len(text) - 1))]
    elif how == "garbage":
        return draw(st.text(max_size=200).filter(lambda t: not _is_object(t)))
    else:
        return json.dumps(draw(json_values.filter(lambda v: not isinstance(v, dict))))
    return json.dumps(document)


def _wrong_type(field: str, value: Any) -> bool:
    if field in NUMERIC_FIELDS:
        return isinstance(value, bool | list | dict) or value is None
    if field == "notes":
        return not isinstance(value, str) and value is not None
    if field == "ags":
        return not isinstance(value, str)
    if field == "year":
        return isinstance(value, bool) or not isinstance(value, int)
    if field == "position_in_administration":
        return not isinstance(value, bool)
    return not isinstance(value, list) or any(not isinstance(item, dict) for item in value)


def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


@settings(max_examples=600, deadline=None)
@given(malformed_documents())
def test_generated_malformed_documents_always_give_input_errors(text: str) -> None:
    with pytest.raises(ApplicationInputError) as caught:
        parse_application_json(text)
    assert caught.value.violations and all(v.message for v in caught.value.violations)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS)))
def test_arbitrary_objects_parse_or_fail_cleanly_and_valid_ones_check_cleanly(document: dict[str, Any]) -> None:
    try:
        parsed = parse_application_json(json.dumps({**VALID, **document}))
    except ApplicationInputError as exc:
        assert exc.violations
        return
    for violation in check_application(parsed.to_data(), FundingRules()):  # the rules never crash either
        assert violation.message


# --- the application window's pure planner ----------------------------------------------------------------------

WINDOW = ApplicationWindowPolicy(date(2026, 1, 15), date(2026, 3, 31), (14, 3))


def test_window_call_once_then_latest_reminder_only() -> None:
    fresh = WindowKommune("07315000", has_application=False)
    assert plan_window(date(2026, 1, 14), WINDOW, [fresh]) == []
    [call] = plan_window(date(2026, 1, 15), WINDOW, [fresh])
    assert call.is_call and call.log == (CALL,)
    called = WindowKommune("07315000", False, frozenset({CALL}))
    assert plan_window(date(2026, 3, 16), WINDOW, [called]) == []
    assert [str(e.stage) for e in plan_window(date(2026, 3, 17), WINDOW, [called])] == ["reminder-14"]
    assert [str(e.stage) for e in plan_window(date(2026, 3, 30), WINDOW, [called])] == ["reminder-3"]  # catch-up
    assert plan_window(date(2026, 4, 1), WINDOW, [called]) == []
    assert plan_window(date(2026, 3, 30), WINDOW, [WindowKommune("07315000", True, frozenset({CALL}))]) == []


def test_window_reminder_moves_to_the_previous_working_day_and_a_late_call_covers_it() -> None:
    assert due_reminder(WINDOW, date(2026, 3, 27), frozenset({CALL, "reminder-14"})) is not None  # 28.3. is a Saturday
    [late_call] = plan_window(date(2026, 3, 18), WINDOW, [WindowKommune("07315000", False)])
    assert late_call.is_call and late_call.log == (CALL, "reminder-14")
