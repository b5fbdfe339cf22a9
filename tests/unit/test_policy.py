"""Parsing, defaults, validation and snapshot round-trip of the per-year programme policy."""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime, time
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kim_workflow.core.domain import MeetingType, Organiser
from kim_workflow.core.policy import (
    ApplicationWindowPolicy,
    MeetingPolicy,
    MeetingSeriesRule,
    PolicyError,
    ReportPolicy,
    YearPolicy,
    parse_policy,
    policy_to_dict,
)

YEARS = range(2024, 2041)
WEEKEND_DEADLINES_MOVED = {
    2024: date(2024, 12, 16),
    2029: date(2029, 12, 17),
    2030: date(2030, 12, 16),
    2035: date(2035, 12, 17),
    2040: date(2040, 12, 17),
}


def default_toml() -> dict[str, Any]:
    text = resources.files("kim_workflow.data").joinpath("policies/default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def round_trip(policy: YearPolicy) -> YearPolicy:
    return parse_policy(policy.year, json.loads(json.dumps(policy_to_dict(policy))))


@pytest.mark.parametrize("year", YEARS)
def test_default_toml_holds_exactly_the_built_in_defaults(year: int) -> None:
    from kim_workflow.core.funding import FundingRules, parse_funding_rules

    shipped = parse_policy(year, default_toml())
    built_in = parse_policy(year, {})
    assert shipped.report == built_in.report
    assert shipped.application_window == built_in.application_window
    assert shipped.meetings == built_in.meetings
    assert parse_funding_rules(shipped.funding) == FundingRules()


def test_defaults() -> None:
    policy = parse_policy(2026, {})
    assert policy.report == ReportPolicy(12, 15, False, (42, 14, 3), (1, 7), 7)
    assert policy.application_window == ApplicationWindowPolicy(date(2026, 1, 15), date(2026, 3, 31), (14, 3))
    assert policy.meetings.reminder_days_before == (7, 1)
    assert policy.funding == {}
    vernetzung, dbki = policy.meetings.series
    assert vernetzung == MeetingSeriesRule(
        MeetingType.VERNETZUNGSTREFFEN,
        "Vernetzungstreffen der Integrationsmanagerinnen und -manager",
        (3, 6, 9, 11),
        weekday=2,
        nth=2,
        start_time=time(10),
        end_time=time(15),
        organiser=Organiser.FACHREFERAT,
    )
    assert (dbki.type, dbki.months, dbki.weekday, dbki.nth) == (MeetingType.ARBEITSTREFFEN, (2, 5, 8, 10), 1, -1)
    assert (dbki.start_time, dbki.end_time, dbki.organiser) == (time(10), time(13), Organiser.DBKI)


@pytest.mark.parametrize("year", YEARS)
def test_deadline_stays_on_15_december_with_the_switch_off(year: int) -> None:
    assert parse_policy(year, {}).deadline() == date(year, 12, 15)


@pytest.mark.parametrize("year", YEARS)
def test_deadline_moves_to_the_next_working_day_with_the_switch_on(year: int) -> None:
    policy = parse_policy(year, {"report": {"move_deadline_if_weekend": True}})
    assert policy.deadline() == WEEKEND_DEADLINES_MOVED.get(year, date(year, 12, 15))


def test_deadline_on_a_holiday_moves_too() -> None:
    policy = parse_policy(
        2026, {"report": {"deadline_month": 12, "deadline_day": 25, "move_deadline_if_weekend": True}}
    )
    assert policy.deadline() == date(2026, 12, 28)


def test_year_relative_and_absolute_dates() -> None:
    window = {"call_date": "--02-01", "application_deadline": date(2027, 4, 30), "reminder_days_before": [3, 10]}
    policy = parse_policy(2027, {"application_window": window})
    assert policy.application_window == ApplicationWindowPolicy(date(2027, 2, 1), date(2027, 4, 30), (10, 3))
    assert parse_policy(2027, {"application_window": {"call_date": "2026-11-01"}}).application_window.call_date == date(
        2026, 11, 1
    )


def test_offsets_are_kept_in_ladder_order() -> None:
    report = parse_policy(2026, {"report": {"reminder_days_before": [3, 42, 14], "overdue_days_after": [7, 1, 3]}})
    assert report.report.reminder_days_before == (42, 14, 3)
    assert report.report.overdue_days_after == (1, 3, 7)


def test_empty_series_list_means_no_series_and_missing_means_defaults() -> None:
    assert parse_policy(2026, {"meetings": {"series": []}}).meetings.series == ()
    assert parse_policy(2026, {"meetings": {}}).meetings.series == MeetingPolicy().series


def test_year_specific_toml_with_native_dates_and_times() -> None:
    data = tomllib.loads(
        """
        year = 2027
        [report]
        move_deadline_if_weekend = true
        [application_window]
        call_date = 2027-01-20
        [[meetings.series]]
        type = "fachveranstaltung"
        title = "Fachtag Integration"
        months = [9]
        weekday = 3
        nth = 1
        start_time = 09:30:00
        end_time = 16:00:00
        location = "Mainz"
        [funding]
        max_fte = "1.0"
        starts = 2027-01-01
        """
    )
    policy = parse_policy(2027, data)
    (rule,) = policy.meetings.series
    assert (rule.start_time, rule.end_time, rule.location, rule.organiser) == (
        time(9, 30),
        time(16),
        "Mainz",
        Organiser.FACHREFERAT,
    )
    assert policy.application_window.call_date == date(2027, 1, 20)
    assert policy.funding == {"max_fte": "1.0", "starts": "2027-01-01"}
    assert round_trip(policy) == policy


@pytest.mark.parametrize("year", YEARS)
def test_snapshot_round_trip_of_the_default(year: int) -> None:
    policy = parse_policy(year, default_toml())
    snapshot = policy_to_dict(policy)
    assert snapshot["year"] == year
    assert snapshot["application_window"]["call_date"] == f"{year}-01-15"
    assert snapshot["meetings"]["series"][0]["start_time"] == "10:00"
    assert round_trip(policy) == policy


offsets = st.sets(st.integers(1, 120), max_size=4)


@given(
    year=st.integers(2024, 2040),
    before=offsets,
    after=offsets,
    escalation=st.integers(1, 60),
    move=st.booleans(),
    funding=st.dictionaries(st.text(min_size=1), st.one_of(st.integers(), st.text(), st.booleans(), st.none())),
    location=st.one_of(st.none(), st.text(min_size=1).filter(lambda s: s.strip() == s and s != "")),
)
def test_round_trip_property(
    year: int,
    before: set[int],
    after: set[int],
    escalation: int,
    move: bool,
    funding: dict[str, Any],
    location: str | None,
) -> None:
    series: dict[str, Any] = {"type": "other", "title": "T", "months": [1], "weekday": 0, "nth": 1}
    if location is not None:
        series["location"] = location
    data = {
        "report": {
            "move_deadline_if_weekend": move,
            "reminder_days_before": sorted(before),
            "overdue_days_after": sorted(after),
            "escalation_days_after": escalation,
        },
        "meetings": {"series": [series]},
        "funding": funding,
    }
    policy = parse_policy(year, data)
    assert round_trip(policy) == policy
    assert policy.meetings.series[0].location == location


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reports": {}}, "unbekannte Schlüssel 'reports'"),
        ({"year": 2027}, "passt nicht zum Förderjahr 2026"),
        ({"report": []}, "report: erwartet eine Tabelle"),
        ({"report": {"deadline": "12-15"}}, "report: unbekannte Schlüssel 'deadline'"),
        ({"report": {"reminder_days_before": [42, 0]}}, "report.reminder_days_before[1]: erwartet eine positive"),
        ({"report": {"reminder_days_before": [-3]}}, "erwartet eine positive ganze Zahl"),
        ({"report": {"reminder_days_before": [14, 14]}}, "report.reminder_days_before: doppelte Werte 14"),
        ({"report": {"reminder_days_before": 14}}, "erwartet eine Liste"),
        ({"report": {"overdue_days_after": [True]}}, "erwartet eine ganze Zahl, nicht True"),
        ({"report": {"overdue_days_after": ["7"]}}, "erwartet eine ganze Zahl, nicht '7'"),
        ({"report": {"overdue_days_after": [1.5]}}, "erwartet eine ganze Zahl"),
        ({"report": {"escalation_days_after": 0}}, "report.escalation_days_after: erwartet eine positive"),
        ({"report": {"move_deadline_if_weekend": "yes"}}, "erwartet true oder false"),
        ({"report": {"deadline_month": 13}}, "report.deadline_month: 13 ist nicht zulässig (erlaubt: 1 bis 12)"),
        ({"report": {"deadline_month": 11, "deadline_day": 31}}, "31.11.2026 ist kein Datum"),
        ({"application_window": {"call_date": "2026-02-30"}}, "application_window.call_date: erwartet ein Datum"),
        ({"application_window": {"call_date": "--02-30"}}, "erwartet ein Datum"),
        ({"application_window": {"call_date": datetime(2026, 1, 15, 10)}}, "erwartet ein Datum"),
        ({"application_window": {"call_date": "15.01.2026"}}, "erwartet ein Datum"),
        ({"application_window": {"call_date": "--04-01"}}, "call_date muss vor application_deadline liegen"),
        ({"meetings": {"series": {}}}, "meetings.series: erwartet eine Liste"),
        ({"meetings": {"series": [{"type": "other"}]}}, "meetings.series[0]: Pflichtangabe fehlt: title, months"),
        ({"meetings": {"series": [{"type": "party", "title": "x", "months": [1], "weekday": 0, "nth": 1}]}}, "'party'"),
        ({"meetings": {"series": [{"type": "other", "title": " ", "months": [1], "weekday": 0, "nth": 1}]}}, "Text"),
        ({"meetings": {"series": [{"type": "other", "title": "x", "months": [], "weekday": 0, "nth": 1}]}}, "Monat"),
        ({"meetings": {"series": [{"type": "other", "title": "x", "months": [3, 3], "weekday": 0, "nth": 1}]}}, "3"),
        ({"meetings": {"series": [{"type": "other", "title": "x", "months": [13], "weekday": 0, "nth": 1}]}}, "13"),
        ({"meetings": {"series": [{"type": "other", "title": "x", "months": [1], "weekday": 7, "nth": 1}]}}, "0 bis 6"),
        ({"meetings": {"series": [{"type": "other", "title": "x", "months": [1], "weekday": 0, "nth": 5}]}}, "nth"),
        ({"meetings": {"series": [{"type": "other", "title": "x", "months": [1], "weekday": 0, "nth": 0}]}}, "nth"),
        (
            {
                "meetings": {
                    "series": [
                        {"type": "other", "title": "x", "months": [1], "weekday": 0, "nth": 1, "start_time": "15:00"}
                    ]
                }
            },
            "start_time muss vor end_time liegen",
        ),
        (
            {"meetings": {"series": [{"type": "other", "title": "x", "months": [1], "weekday": 0, "nth": 1}] * 2}},
            "meetings.series (title): doppelte Werte 'x'",
        ),
        (
            {
                "meetings": {
                    "series": [{"type": "other", "title": "x", "months": [1], "weekday": 0, "nth": 1, "end": "16:00"}]
                }
            },
            "unbekannte Schlüssel 'end'",
        ),
        (
            {
                "meetings": {
                    "series": [
                        {"type": "other", "title": "x", "months": [1], "weekday": 0, "nth": 1, "end_time": "24:00"}
                    ]
                }
            },
            "erwartet eine Uhrzeit",
        ),
        (
            {
                "meetings": {
                    "series": [
                        {"type": "other", "title": "x", "months": [1], "weekday": 0, "nth": 1, "organiser": "ministry"}
                    ]
                }
            },
            "erlaubt: fachreferat, dbki",
        ),
        ({"meetings": {"reminder_days_before": [7, 7]}}, "doppelte Werte 7"),
        ({"funding": "none"}, "funding: erwartet eine Tabelle"),
        ({"funding": {"limits": {1, 2}}}, "funding.limits: nicht unterstützter Wert"),
        ({"funding": {"cap": float("nan")}}, "funding.cap: nicht unterstützter Wert"),
    ],
)
def test_invalid_policies_are_rejected_with_a_clear_message(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(2026, data)
    assert message in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize(
    ("message", "section", "key"),
    [
        ("report.deadline_day: 32 ist nicht zulässig", "report", "deadline_day"),
        ("meetings.series[0].title: doppelte Werte", "meetings", "series[0].title"),
        ("funding: unbekannte Schlüssel x", "funding", None),
        ("Richtlinie: unbekannte Schlüssel 'x'", None, None),
    ],
)
def test_a_policy_error_knows_section_and_key_and_names_the_file(message: str, section: str, key: str | None) -> None:
    error = PolicyError(message)
    assert (error.section, error.key) == (section, key)
    located = error.in_file("2027.toml")
    assert (located.file, located.section, located.key) == ("2027.toml", section, key)
    assert str(located).startswith("Richtlinie 2027.toml") and str(located).endswith(message.split(": ", 1)[1])
