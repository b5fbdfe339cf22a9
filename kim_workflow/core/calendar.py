"""Business calendar of Rheinland-Pfalz: weekends and public holidays are not working days.

Only statutory public holidays count (via the ``holidays`` library); 24 and 31 December are working days.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

import holidays

_ONE_DAY = timedelta(days=1)


class Direction(StrEnum):
    """Which way a non-working day is moved."""

    BACKWARD = "backward"
    FORWARD = "forward"


@lru_cache(maxsize=64)
def public_holidays(year: int) -> Mapping[date, str]:
    """The public holidays of Rheinland-Pfalz in ``year`` with their German names (cached per year)."""
    calendar = holidays.country_holidays("DE", subdiv="RP", years=year, language="de")
    return MappingProxyType({day: str(name) for day, name in sorted(calendar.items()) if day.year == year})


def is_holiday(d: date) -> bool:
    """True if ``d`` is a public holiday in Rheinland-Pfalz."""
    return d in public_holidays(d.year)


def is_working_day(d: date) -> bool:
    """Monday to Friday and not a public holiday in Rheinland-Pfalz."""
    return d.weekday() < 5 and not is_holiday(d)


def shift_to_working_day(d: date, direction: Direction) -> date:
    """Return ``d`` if it is a working day, else the nearest working day in ``direction``."""
    step = _ONE_DAY if direction is Direction.FORWARD else -_ONE_DAY
    while not is_working_day(d):
        d += step
    return d


def previous_working_day(d: date) -> date:
    """``d`` itself if it is a working day, else the last working day before it."""
    return shift_to_working_day(d, Direction.BACKWARD)


def next_working_day(d: date) -> date:
    """``d`` itself if it is a working day, else the first working day after it."""
    return shift_to_working_day(d, Direction.FORWARD)
