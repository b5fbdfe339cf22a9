"""Business calendar of Rheinland-Pfalz: weekends, public holidays and shifting to working days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kim_workflow.core.calendar import (
    Direction,
    is_holiday,
    is_working_day,
    next_working_day,
    previous_working_day,
    public_holidays,
    shift_to_working_day,
)

YEARS = range(2024, 2041)
DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2040, 12, 31))


@pytest.mark.parametrize("year", YEARS)
def test_fixed_holidays_of_rheinland_pfalz(year: int) -> None:
    for month, day in [(1, 1), (5, 1), (10, 3), (11, 1), (12, 25), (12, 26)]:
        assert is_holiday(date(year, month, day))
        assert not is_working_day(date(year, month, day))


@pytest.mark.parametrize("year", YEARS)
def test_days_that_are_no_public_holiday_in_rheinland_pfalz(year: int) -> None:
    """Heiligabend, Silvester, Reformationstag and Epiphanias are ordinary days in RP."""
    for month, day in [(12, 24), (12, 31), (10, 31), (1, 6), (12, 15)]:
        d = date(year, month, day)
        assert not is_holiday(d)
        assert is_working_day(d) == (d.weekday() < 5)


@pytest.mark.parametrize("year", YEARS)
def test_every_year_has_the_eleven_holidays_of_rheinland_pfalz(year: int) -> None:
    names = set(public_holidays(year).values())
    assert len(public_holidays(year)) == 11
    assert {"Karfreitag", "Ostermontag", "Christi Himmelfahrt", "Pfingstmontag", "Fronleichnam"} <= names
    assert all(d.year == year for d in public_holidays(year))


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 4, 3), "Karfreitag"),
        (date(2026, 4, 6), "Ostermontag"),
        (date(2026, 5, 14), "Christi Himmelfahrt"),
        (date(2026, 5, 25), "Pfingstmontag"),
        (date(2026, 6, 4), "Fronleichnam"),
        (date(2026, 11, 1), "Allerheiligen"),
    ],
)
def test_movable_and_regional_holidays_2026(day: date, name: str) -> None:
    assert public_holidays(2026)[day] == name


@pytest.mark.parametrize(
    ("day", "previous", "following"),
    [
        (date(2026, 12, 15), date(2026, 12, 15), date(2026, 12, 15)),  # Tuesday: itself
        (date(2026, 12, 12), date(2026, 12, 11), date(2026, 12, 14)),  # Saturday
        (date(2026, 12, 13), date(2026, 12, 11), date(2026, 12, 14)),  # Sunday
        (date(2026, 12, 25), date(2026, 12, 24), date(2026, 12, 28)),  # Christmas Fri, then Sat 26 (holiday), Sun
        (date(2027, 1, 1), date(2026, 12, 31), date(2027, 1, 4)),  # Neujahr on a Friday
        (date(2030, 11, 1), date(2030, 10, 31), date(2030, 11, 4)),  # Allerheiligen on a Friday
        (date(2027, 12, 25), date(2027, 12, 24), date(2027, 12, 27)),  # Christmas on a Saturday
    ],
)
def test_shift_table(day: date, previous: date, following: date) -> None:
    assert previous_working_day(day) == previous == shift_to_working_day(day, Direction.BACKWARD)
    assert next_working_day(day) == following == shift_to_working_day(day, Direction.FORWARD)


@pytest.mark.parametrize(
    ("year", "weekday"),
    [(2024, "Sun"), (2029, "Sat"), (2030, "Sun"), (2035, "Sat"), (2040, "Sat")],
)
def test_years_where_15_december_is_a_weekend(year: int, weekday: str) -> None:
    d = date(year, 12, 15)
    assert d.strftime("%a") == weekday and not is_working_day(d)
    assert next_working_day(d).weekday() == 0


def test_15_december_is_a_working_day_in_the_other_years() -> None:
    weekend_years = {2024, 2029, 2030, 2035, 2040}
    assert {y for y in YEARS if not is_working_day(date(y, 12, 15))} == weekend_years


@given(DAYS)
def test_weekends_are_never_working_days(d: date) -> None:
    if d.weekday() >= 5:
        assert not is_working_day(d)


@given(DAYS)
def test_shifts_land_on_the_nearest_working_day(d: date) -> None:
    before, after = previous_working_day(d), next_working_day(d)
    assert is_working_day(before) and is_working_day(after)
    assert before <= d <= after
    assert (before == d) == (after == d) == is_working_day(d)
    gap_days = [before + timedelta(days=i) for i in range(1, (after - before).days)]
    assert not any(is_working_day(x) for x in gap_days)
    assert (after - before).days <= 5
