"""KIM funding rules: each limit at, just below and just above its value; random applications never crash."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kim_workflow.core.funding import (
    ApplicationData,
    FundingRules,
    StaffShare,
    Violation,
    ViolationCode,
    check_application,
    check_grant,
    funding_rules_to_dict,
    parse_funding_rules,
    personnel_cap,
    total_fte,
)
from kim_workflow.core.money import format_eur, format_fte
from kim_workflow.core.policy import PolicyError

D = Decimal
RULES = FundingRules()
NO_PRO_RATA = FundingRules(personnel_pro_rata=False)
FIELD_ORDER = ("ags", "position", "staff", "personnel", "material", "overhead")
FIELD = re.compile(r"^(ags|position_in_administration|staff|staff\[\d+\]\.fte|\w+_eur)$")


def app(
    *ftes: str, personnel: str = "30000", material: str = "20000.00", overhead: str = "0", **kw: Any
) -> ApplicationData:
    """A valid application for 0.5 VZÄ unless told otherwise."""
    staff = tuple(StaffShare(f"Person {i}", D(fte)) for i, fte in enumerate(ftes or ("0.5",)))
    base = ApplicationData("07111000", 2025, staff, D(personnel), D(material), D(overhead), True, None)
    return replace(base, **kw)


def codes(violations: list[Violation]) -> list[tuple[str, str]]:
    return [(v.code, v.field) for v in violations]


C = ViolationCode
RULE_CASES = [
    # (id, application, expected (code, field) list)
    ("share 0.5 ok", app("0.5"), []),
    ("share 0.49 too small", app("0.49", personnel="29400"), [(C.FTE_SHARE_BELOW_MINIMUM, "staff[0].fte")]),
    ("shares 0.5+0.5 ok", app("0.5", "0.5", personnel="60000"), []),
    (
        "shares 0.3+0.7: only 0.3 too small",
        app("0.3", "0.7", personnel="60000"),
        [(C.FTE_SHARE_BELOW_MINIMUM, "staff[0].fte")],
    ),
    (
        "shares 0.7+0.3: index follows",
        app("0.7", "0.3", personnel="60000"),
        [(C.FTE_SHARE_BELOW_MINIMUM, "staff[1].fte")],
    ),
    ("total 1.0 ok", app("1.0", personnel="60000"), []),
    ("total 1.01 too much", app("0.5", "0.51", personnel="60000"), [(C.FTE_TOTAL_ABOVE_MAXIMUM, "staff")]),
    ("single 1.01 too much", app("1.01", personnel="60000"), [(C.FTE_TOTAL_ABOVE_MAXIMUM, "staff")]),
    ("share 0 not positive", app("0", "1.0", personnel="60000"), [(C.FTE_SHARE_NOT_POSITIVE, "staff[0].fte")]),
    ("share -0.5 not positive", app("-0.5", "1.0", personnel="60000"), [(C.FTE_SHARE_NOT_POSITIVE, "staff[0].fte")]),
    ("share 0.555 sub-hundredth", app("0.555", personnel="33300"), [(C.TOO_MANY_DECIMALS, "staff[0].fte")]),
    ("share 0.50 trailing zero ok", app("0.500"), []),
    ("no staff", app(staff=()), [(C.NO_STAFF, "staff")]),
    ("personnel 60,000.00 at 1.0 ok", app("1.0", personnel="60000.00"), []),
    (
        "personnel 60,000.01 at 1.0",
        app("1.0", personnel="60000.01"),
        [(C.PERSONNEL_COSTS_ABOVE_CAP, "personnel_costs_eur")],
    ),
    ("personnel 59,999.99 at 1.0 ok", app("1.0", personnel="59999.99"), []),
    ("personnel 45,000 at 0.75 ok", app("0.75", personnel="45000"), []),
    (
        "personnel 45,000.01 at 0.75",
        app("0.75", personnel="45000.01"),
        [(C.PERSONNEL_COSTS_ABOVE_CAP, "personnel_costs_eur")],
    ),
    (
        "personnel cap at 1.2 VZÄ stays 60,000",
        app("0.6", "0.6", personnel="60000"),
        [(C.FTE_TOTAL_ABOVE_MAXIMUM, "staff")],
    ),
    ("material 20,000.00 ok", app(material="20000.00"), []),
    ("material 19,999.99 ok", app(material="19999.99"), []),
    ("material 20,000.01", app(material="20000.01"), [(C.MATERIAL_COSTS_ABOVE_CAP, "material_costs_eur")]),
    ("overhead 0.00 ok", app(overhead="0.00"), []),
    ("overhead 0.01", app(overhead="0.01"), [(C.OVERHEAD_NOT_FUNDABLE, "overhead_costs_eur")]),
    ("overhead -0.01 negative only", app(overhead="-0.01"), [(C.NEGATIVE_AMOUNT, "overhead_costs_eur")]),
    ("personnel negative", app(personnel="-0.01"), [(C.NEGATIVE_AMOUNT, "personnel_costs_eur")]),
    ("material negative", app(material="-1"), [(C.NEGATIVE_AMOUNT, "material_costs_eur")]),
    ("material sub-cent", app(material="100.001"), [(C.TOO_MANY_DECIMALS, "material_costs_eur")]),
    ("personnel 1.500 is cents", app(personnel="1.500"), []),
    (
        "negative sub-cent: both",
        app(material="-0.001"),
        [(C.NEGATIVE_AMOUNT, "material_costs_eur"), (C.TOO_MANY_DECIMALS, "material_costs_eur")],
    ),
    ("personnel NaN", app(personnel="NaN"), [(C.NOT_A_NUMBER, "personnel_costs_eur")]),
    ("material Infinity", app(material="Infinity"), [(C.NOT_A_NUMBER, "material_costs_eur")]),
    ("overhead sNaN", app(overhead="sNaN"), [(C.NOT_A_NUMBER, "overhead_costs_eur")]),
    ("share NaN skips the cap", app("NaN", personnel="99999"), [(C.NOT_A_NUMBER, "staff[0].fte")]),
    ("share -Infinity", app("-Infinity", "0.5"), [(C.NOT_A_NUMBER, "staff[0].fte")]),
    (
        "not in administration",
        app(position_in_administration=False),
        [(C.NOT_IN_ADMINISTRATION, "position_in_administration")],
    ),
    ("bad AGS", app(ags="0711100"), [(C.INVALID_AGS, "ags")]),
]


@pytest.mark.parametrize(("application", "expected"), [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES])
def test_each_rule_at_and_around_its_limit(application: ApplicationData, expected: list[tuple[str, str]]) -> None:
    assert codes(check_application(application, RULES)) == expected


def test_the_minimum_share_message_is_plain_german() -> None:
    [violation] = check_application(app("0.3", "0.7", personnel="60000"), RULES)
    assert violation.message == "Der Stellenanteil von 0,3 VZÄ liegt unter dem förderfähigen Mindestanteil von 0,5 VZÄ."


@pytest.mark.parametrize(
    ("application", "expected"),
    [
        (
            app("0.75", personnel="45000.01"),
            "Personalkosten von 45.000,01 € übersteigen den Höchstbetrag von 45.000,00 € für 0,75 VZÄ.",
        ),
        (app(material="20000.01"), "Sachkosten von 20.000,01 € übersteigen den Höchstbetrag von 20.000,00 €"),
        (app(overhead="1234.5"), "nicht förderfähig; bitte 0,00 € angeben (angegeben: 1.234,50 €)"),
        (app("0.5", "0.51", personnel="0"), "zusammen 1,01 VZÄ; gefördert werden höchstens 1,0 VZÄ."),
        (app(material="100.001"), "höchstens zwei Nachkommastellen haben (angegeben: 100,001 €)"),
        (app(material="-5"), "Die Sachkosten dürfen nicht negativ sein (angegeben: -5,00 €)."),
    ],
)
def test_messages_show_german_numbers(application: ApplicationData, expected: str) -> None:
    [violation] = check_application(application, RULES)
    assert expected in violation.message


def test_all_violations_are_reported_at_once_in_a_fixed_order() -> None:
    application = ApplicationData(
        ags="7111000",
        year=2025,
        staff=(
            StaffShare("A", D("0.3")),
            StaffShare("B", D("0.9")),
            StaffShare("C", D("NaN")),
            StaffShare("D", D("0")),
        ),
        personnel_costs_eur=D("-1"),
        material_costs_eur=D("25000.001"),
        overhead_costs_eur=D("10"),
        position_in_administration=False,
        notes="alles falsch",
    )
    assert codes(check_application(application, RULES)) == [
        (C.INVALID_AGS, "ags"),
        (C.NOT_IN_ADMINISTRATION, "position_in_administration"),
        (C.FTE_SHARE_BELOW_MINIMUM, "staff[0].fte"),
        (C.NOT_A_NUMBER, "staff[2].fte"),
        (C.FTE_SHARE_NOT_POSITIVE, "staff[3].fte"),
        (C.FTE_TOTAL_ABOVE_MAXIMUM, "staff"),
        (C.NEGATIVE_AMOUNT, "personnel_costs_eur"),
        (C.TOO_MANY_DECIMALS, "material_costs_eur"),
        (C.MATERIAL_COSTS_ABOVE_CAP, "material_costs_eur"),
        (C.OVERHEAD_NOT_FUNDABLE, "overhead_costs_eur"),
    ]


@pytest.mark.parametrize(
    ("ftes", "personnel", "ok"),
    [
        (("0.5",), "60000", True),
        (("0.5",), "60000.01", False),
        (("0.75",), "60000", True),
        (("1.0",), "60000.01", False),
    ],
)
def test_without_pro_rata_the_full_cap_applies(ftes: tuple[str, ...], personnel: str, ok: bool) -> None:
    violations = check_application(app(*ftes, personnel=personnel), NO_PRO_RATA)
    assert codes(violations) == ([] if ok else [(C.PERSONNEL_COSTS_ABOVE_CAP, "personnel_costs_eur")])
    assert all("VZÄ" not in v.message for v in violations)


def test_fundable_overhead_and_other_years_limits() -> None:
    generous = FundingRules(overhead_fundable=True, max_material_eur=D("25000"), min_share_fte=D("0.25"))
    assert check_application(app("0.25", "0.75", personnel="60000", material="25000", overhead="500"), generous) == []


@pytest.mark.parametrize(
    ("fte", "rules", "cap"),
    [
        ("1.0", RULES, "60000.00"),
        ("0.75", RULES, "45000.00"),
        ("0.5", RULES, "30000.00"),
        ("0.33", RULES, "19800.00"),
        ("0", RULES, "0.00"),
        ("-1", RULES, "0.00"),
        ("1.5", RULES, "60000.00"),
        ("Infinity", RULES, "60000.00"),
        ("0.5", NO_PRO_RATA, "60000"),
        ("0", NO_PRO_RATA, "60000"),
        ("0.333", FundingRules(max_personnel_eur=D("50000")), "16650.00"),
        ("0.5", FundingRules(max_personnel_eur=D("10000.01")), "5000.00"),  # 5000.005 rounds down
        ("0.5", FundingRules(max_fte=D("0.8"), min_share_fte=D("0.4")), "37500.00"),
    ],
)
def test_personnel_cap(fte: str, rules: FundingRules, cap: str) -> None:
    assert personnel_cap(D(fte), rules) == D(cap)


def test_personnel_cap_refuses_nan() -> None:
    with pytest.raises(ValueError):
        personnel_cap(D("NaN"), RULES)


GRANT_CASES = [
    ("at cap and request", app("0.75", personnel="45000"), "45000", "20000", []),
    ("below everything", app("0.75", personnel="45000"), "0", "0", []),
    (
        "personnel above pro-rata cap",
        app("0.75", personnel="50000"),
        "45000.01",
        "0",
        [(C.GRANT_ABOVE_CAP, "granted_personnel_eur")],
    ),
    (
        "personnel above request",
        app("1.0", personnel="40000"),
        "40000.01",
        "0",
        [(C.GRANT_ABOVE_REQUEST, "granted_personnel_eur")],
    ),
    ("material above request", app(material="1000"), "0", "1000.01", [(C.GRANT_ABOVE_REQUEST, "granted_material_eur")]),
    (
        "material above cap and request",
        app(material="30000"),
        "0",
        "30000",
        [(C.GRANT_ABOVE_CAP, "granted_material_eur")],
    ),
    (
        "both above",
        app(material="1"),
        "30000.01",
        "20000.01",
        [
            (C.GRANT_ABOVE_CAP, "granted_personnel_eur"),
            (C.GRANT_ABOVE_REQUEST, "granted_personnel_eur"),
            (C.GRANT_ABOVE_CAP, "granted_material_eur"),
            (C.GRANT_ABOVE_REQUEST, "granted_material_eur"),
        ],
    ),
    (
        "negative grant",
        app(),
        "-0.01",
        "-5",
        [(C.NEGATIVE_AMOUNT, "granted_personnel_eur"), (C.NEGATIVE_AMOUNT, "granted_material_eur")],
    ),
    ("sub-cent grant", app(), "1.001", "0", [(C.TOO_MANY_DECIMALS, "granted_personnel_eur")]),
    (
        "NaN grant",
        app(),
        "NaN",
        "sNaN",
        [(C.NOT_A_NUMBER, "granted_personnel_eur"), (C.NOT_A_NUMBER, "granted_material_eur")],
    ),
    ("NaN request: only the cap counts", app(material="NaN"), "0", "20000", []),
    (
        "invalid staff: no personnel grant",
        app("NaN", personnel="30000"),
        "0.01",
        "0",
        [(C.GRANT_ABOVE_CAP, "granted_personnel_eur")],
    ),
]


@pytest.mark.parametrize(
    ("application", "personnel", "material", "expected"), [c[1:] for c in GRANT_CASES], ids=[c[0] for c in GRANT_CASES]
)
def test_grants(application: ApplicationData, personnel: str, material: str, expected: list[tuple[str, str]]) -> None:
    assert codes(check_grant(application, RULES, D(personnel), D(material))) == expected


def test_grant_messages() -> None:
    [cap, request] = check_grant(app(material="1000"), RULES, D("0"), D("20000.01"))
    assert (
        cap.message
        == "Die bewilligten Sachkosten von 20.000,01 € übersteigen den förderfähigen Höchstbetrag von 20.000,00 €."
    )
    assert (
        request.message
        == "Die bewilligten Sachkosten von 20.000,01 € übersteigen die beantragten Sachkosten von 1.000,00 €."
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [("45000", "45.000,00 €"), ("0", "0,00 €"), ("1234567.891", "1.234.567,89 €"), ("-5", "-5,00 €"),
     ("0.005", "0,01 €"), ("-0.001", "0,00 €"), ("999.999", "1.000,00 €"), ("NaN", "NaN €"), ("1E+40", "1E+40 €")],
)  # fmt: skip
def test_format_eur(value: str, text: str) -> None:
    assert format_eur(D(value)) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [("0.3", "0,3"), ("0.75", "0,75"), ("1", "1,0"), ("0.50", "0,5"), ("1.01", "1,01"), ("0.333", "0,333")],
)
def test_format_fte(value: str, text: str) -> None:
    assert format_fte(D(value)) == text


def test_total_fte_counts_only_valid_positive_shares() -> None:
    assert total_fte(app("0.5", "NaN", "-1", "0.25").staff) == D("0.75")
    assert total_fte(()) == 0


# --- rules from TOML-like data ---------------------------------------------------------------------------------------


def test_rules_defaults_and_conversion_from_toml_values() -> None:
    assert parse_funding_rules({}) == RULES == FundingRules(D("1"), D("0.5"), D("60000"), True, D("20000"), False)
    rules = parse_funding_rules(
        {
            "max_fte": 1,
            "min_share_fte": 0.5,
            "max_personnel_eur": "62000.50",
            "max_material_eur": 21000,
            "personnel_pro_rata": False,
        }
    )
    assert rules == FundingRules(D("1"), D("0.5"), D("62000.50"), False, D("21000"), False)
    assert parse_funding_rules({"min_share_fte": 0.1}).min_share_fte == D("0.1")  # float via str, not binary noise


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"max_personal_eur": 1}, "unbekannte Schlüssel max_personal_eur"),
        ({"max_fte": True}, "max_fte"),
        ({"max_fte": "eins"}, "keine Zahl"),
        ({"max_fte": None}, "max_fte"),
        ({"max_fte": [1]}, "max_fte"),
        ({"max_fte": 0}, "größer als 0"),
        ({"max_fte": "NaN"}, "max_fte"),
        ({"max_material_eur": "Infinity"}, "max_material_eur"),
        ({"max_material_eur": -1}, "max_material_eur"),
        ({"max_material_eur": "0.001"}, "Nachkommastellen"),
        ({"max_personnel_eur": 1e20}, "unplausibel"),
        ({"min_share_fte": 1.5}, "nicht größer als max_fte"),
        ({"personnel_pro_rata": "yes"}, "true oder false"),
        ({"overhead_fundable": 0}, "true oder false"),
    ],
)
def test_bad_rules_are_refused(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(fragment)):
        parse_funding_rules(data)


def test_rules_round_trip_through_plain_values() -> None:
    rules = FundingRules(D("0.8"), D("0.4"), D("55000.55"), False, D("18000"), True)
    assert funding_rules_to_dict(rules) == {
        "max_fte": "0.8",
        "min_share_fte": "0.4",
        "max_personnel_eur": "55000.55",
        "personnel_pro_rata": False,
        "max_material_eur": "18000",
        "overhead_fundable": True,
    }
    assert parse_funding_rules(funding_rules_to_dict(rules)) == rules


# --- property tests --------------------------------------------------------------------------------------------------

SPECIAL = ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "-0", "0E-1000", "1E+999999", "-9.99E+999999", "1E-999999",
           "1.000", "0.1E-5", "123456789012345678901234567890.123456789"]  # fmt: skip
weird_decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-2, max_value=2, places=3),
    st.decimals(min_value=-100_000, max_value=100_000, places=2),
    st.sampled_from(SPECIAL).map(Decimal),
)
applications = st.builds(
    ApplicationData,
    ags=st.one_of(st.from_regex(r"07\d{6}", fullmatch=True), st.text(max_size=10)),
    year=st.integers(),
    staff=st.lists(st.builds(StaffShare, name=st.text(max_size=5), fte=weird_decimals), max_size=40).map(tuple),
    personnel_costs_eur=weird_decimals,
    material_costs_eur=weird_decimals,
    overhead_costs_eur=weird_decimals,
    position_in_administration=st.booleans(),
    notes=st.none() | st.text(max_size=20),
)


@st.composite
def funding_rules(draw: st.DrawFn) -> FundingRules:
    max_fte = draw(st.decimals(min_value="0.01", max_value="2", places=2))
    return FundingRules(
        max_fte=max_fte,
        min_share_fte=draw(st.decimals(min_value=0, max_value=max_fte, places=2)),
        max_personnel_eur=draw(st.decimals(min_value=0, max_value=1_000_000, places=2)),
        personnel_pro_rata=draw(st.booleans()),
        max_material_eur=draw(st.decimals(min_value=0, max_value=1_000_000, places=2)),
        overhead_fundable=draw(st.booleans()),
    )


rules_strategy = st.one_of(st.just(RULES), funding_rules())
PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def well_formed(violations: list[Violation], allowed: AbstractSet[str]) -> None:
    for violation in violations:
        assert violation.code in allowed
        assert FIELD.fullmatch(violation.field), violation.field
        assert violation.message and violation.message[0].isupper() and violation.message.endswith(".")


@PROPERTY
@given(application=applications, rules=rules_strategy)
def test_random_applications_never_crash_and_only_yield_known_codes(
    application: ApplicationData, rules: FundingRules
) -> None:
    violations = check_application(application, rules)
    well_formed(violations, set(ViolationCode) - {C.GRANT_ABOVE_CAP, C.GRANT_ABOVE_REQUEST})
    assert check_application(application, rules) == violations  # deterministic
    ranks = [next(i for i, prefix in enumerate(FIELD_ORDER) if v.field.startswith(prefix)) for v in violations]
    assert ranks == sorted(ranks)


@PROPERTY
@given(application=applications, rules=rules_strategy, personnel=weird_decimals, material=weird_decimals)
def test_random_grants_never_crash(
    application: ApplicationData, rules: FundingRules, personnel: Decimal, material: Decimal
) -> None:
    grant_codes = {C.GRANT_ABOVE_CAP, C.GRANT_ABOVE_REQUEST, C.NEGATIVE_AMOUNT, C.TOO_MANY_DECIMALS, C.NOT_A_NUMBER}
    well_formed(check_grant(application, rules, personnel, material), grant_codes)


@st.composite
def valid_applications(draw: st.DrawFn) -> ApplicationData:
    """Applications that keep every default rule; a generous grant of min(request, cap) is then fine too."""
    first = draw(st.decimals(min_value="0.5", max_value="1.0", places=2))
    second = draw(st.none() | st.decimals(min_value="0.5", max_value=max(D("0.5"), 1 - first), places=2))
    ftes = (first,) if second is None or first + second > 1 else (first, second)
    cap = personnel_cap(sum(ftes, D(0)), RULES)
    return ApplicationData(
        ags=draw(st.from_regex(r"07\d{6}", fullmatch=True)),
        year=draw(st.integers(2020, 2040)),
        staff=tuple(StaffShare(f"P{i}", fte) for i, fte in enumerate(ftes)),
        personnel_costs_eur=draw(st.decimals(min_value=0, max_value=cap, places=2)),
        material_costs_eur=draw(st.decimals(min_value=0, max_value=20000, places=2)),
        overhead_costs_eur=D("0.00"),
        position_in_administration=True,
        notes=None,
    )


@PROPERTY
@given(application=valid_applications())
def test_applications_within_every_limit_pass(application: ApplicationData) -> None:
    assert check_application(application, RULES) == []
    cap = personnel_cap(total_fte(application.staff), RULES)
    granted = min(application.personnel_costs_eur, cap)
    assert check_grant(application, RULES, granted, application.material_costs_eur) == []


@PROPERTY
@given(value=st.decimals(min_value=-(10**12), max_value=10**12, places=2))
def test_format_eur_reads_back(value: Decimal) -> None:
    text = format_eur(value)
    assert text.endswith(" €")
    assert D(text.removesuffix(" €").replace(".", "").replace(",", ".")) == value


@PROPERTY
@given(rules=funding_rules())
def test_random_rules_round_trip(rules: FundingRules) -> None:
    assert parse_funding_rules(funding_rules_to_dict(rules)) == rules
