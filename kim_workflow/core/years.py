"""The funding years and dates the programme can hold: one place for the bounds every entry point checks.

Every date the system stores or computes with lies in ``FIRST_DAY``..``LAST_DAY`` (the last funding year plus one
year, room for an extended deadline), so calendar code never meets a date it cannot handle (year 10000).
"""

from __future__ import annotations

import re
from datetime import date

from kim_workflow.core.validation import InvalidValueError

YEAR_MIN = 2000
YEAR_MAX = 2100
FIRST_DAY = date(YEAR_MIN, 1, 1)
LAST_DAY = date(YEAR_MAX + 1, 12, 31)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_year(year: int, *, field: str = "Förderjahr") -> int:
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InvalidValueError(f"{field}: {year} liegt nicht zwischen {YEAR_MIN} und {YEAR_MAX}.")
    return year


def check_day(day: date, *, field: str = "Datum") -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidValueError(
            f"{field}: {day:%d.%m.%Y} liegt außerhalb von {FIRST_DAY:%d.%m.%Y} bis {LAST_DAY:%d.%m.%Y}."
        )
    return day


def parse_iso_day(value: str, *, field: str = "Datum") -> date:
    """A date written exactly as ``YYYY-MM-DD`` within the programme's range (not ``20261215``, not empty)."""
    text = value.strip()
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidValueError(f"{field}: erwartet ein Datum JJJJ-MM-TT, nicht {value!r}.") from None
    return check_day(day, field=field)
