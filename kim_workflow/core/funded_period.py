"""The funded period of a position within the funding year, its vacancies, and the grant pro rata (pure).

The rule is the one of a Zuwendungsbescheid for personnel (and of TVöD § 24 Abs. 3 for the pay it funds): a
grant is a yearly amount, each calendar month is one twelfth of it, and a month that is funded only in part
counts with its funded calendar days over that month's days. A vacancy (unbesetzte Stelle) is not funded.
Amounts are rounded half up to cents once, at the end.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction

from kim_workflow.core.money import CENT

_CTX = Context(prec=60, traps=[])
MAX_VACANCIES = 24


@dataclass(frozen=True, slots=True)
class Vacancy:
    """The position is vacant from ``start`` to ``end`` (both inclusive)."""

    start: date
    end: date


@dataclass(frozen=True, slots=True)
class FundedPeriod:
    """Start and end of the funded period (inclusive) and its vacancies; unvalidated, see ``period_problems``."""

    start: date
    end: date
    vacancies: tuple[Vacancy, ...] = ()

    @classmethod
    def whole_year(cls, year: int) -> FundedPeriod:
        return cls(date(year, 1, 1), date(year, 12, 31))

    @property
    def whole(self) -> bool:
        """Funded the whole calendar year without a vacancy."""
        return (self.start.month, self.start.day, self.end.month, self.end.day) == (1, 1, 12, 31) and not (
            self.vacancies
        )


def _d(value: date) -> str:
    return f"{value:%d.%m.%Y}"


def period_problems(period: FundedPeriod, year: int) -> list[str]:
    """Every reason why ``period`` is no funded period of ``year`` (German; empty if it is one)."""
    problems = []
    for label, day in (("Beginn", period.start), ("Ende", period.end)):
        if day.year != year:
            problems.append(f"{label} des Förderzeitraums ({_d(day)}) liegt nicht im Förderjahr {year}.")
    if period.start > period.end:
        problems.append(f"Der Förderzeitraum beginnt ({_d(period.start)}) nach seinem Ende ({_d(period.end)}).")
    if len(period.vacancies) > MAX_VACANCIES:
        problems.append(f"Höchstens {MAX_VACANCIES} Vakanzzeiträume angeben.")
    for number, vacancy in enumerate(period.vacancies, start=1):
        what = f"Vakanz {number} ({_d(vacancy.start)} bis {_d(vacancy.end)})"
        if vacancy.start > vacancy.end:
            problems.append(f"{what}: der Beginn liegt nach dem Ende.")
        elif vacancy.start < period.start or vacancy.end > period.end:
            problems.append(f"{what} liegt nicht im Förderzeitraum ({_d(period.start)} bis {_d(period.end)}).")
    ordered = sorted(enumerate(period.vacancies, start=1), key=lambda item: (item[1].start, item[1].end))
    for index, (second, b) in enumerate(ordered):
        for first, a in ordered[:index]:
            if b.start <= a.end and a.start <= b.end:
                problems.append(f"Vakanz {first} und Vakanz {second} überschneiden sich (ab {_d(b.start)}).")
    return problems


def _funded_days(period: FundedPeriod, until: date) -> set[date]:
    """The funded days up to and including ``until`` (few hundred at most; vacancies removed)."""
    last = min(period.end, until)
    days = {period.start + timedelta(days=n) for n in range(max(0, (last - period.start).days + 1))}
    for vacancy in period.vacancies:
        days -= {vacancy.start + timedelta(days=n) for n in range((vacancy.end - vacancy.start).days + 1)}
    return days


def funded_share(period: FundedPeriod, year: int, *, until: date | None = None) -> Fraction:
    """The funded part of the year (0..1): per month 1/12 × funded days / days of that month.

    ``until`` (inclusive) cuts the period short, e.g. the day before a revocation takes effect.
    """
    days = _funded_days(period, until or date(year, 12, 31))
    share = Fraction(0)
    for month in range(1, 13):
        funded = sum(1 for day in days if day.year == year and day.month == month)
        share += Fraction(funded, calendar.monthrange(year, month)[1])
    return share / 12


def pro_rata(amount: Decimal, share: Fraction) -> Decimal:
    """``amount`` × ``share``, rounded half up to cents."""
    exact = _CTX.divide(_CTX.multiply(amount, Decimal(share.numerator)), Decimal(share.denominator))
    return exact.quantize(CENT, rounding=ROUND_HALF_UP, context=_CTX)


def share_text(share: Fraction) -> str:
    """German, e.g. "9,5 von 12 Monaten" (rounded to two places)."""
    months = Decimal(share.numerator * 12) / Decimal(share.denominator)
    text = f"{months.quantize(CENT, rounding=ROUND_HALF_UP, context=_CTX):f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} von 12 Monaten"


def period_text(period: FundedPeriod) -> str:
    """German, e.g. "01.03.2026 bis 31.12.2026, unbesetzt 01.05.2026 bis 31.05.2026"."""
    text = f"{_d(period.start)} bis {_d(period.end)}"
    if period.vacancies:
        text += ", unbesetzt " + "; ".join(f"{_d(v.start)} bis {_d(v.end)}" for v in period.vacancies)
    return text


def sorted_vacancies(vacancies: Sequence[Vacancy]) -> tuple[Vacancy, ...]:
    return tuple(sorted(vacancies, key=lambda v: (v.start, v.end)))
