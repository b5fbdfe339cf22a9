"""The pure grant rules: current grant, funded period and pro rata, revocation dates, four eyes (#13)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from kim_workflow.core.domain import GrantActKind, GrantActState
from kim_workflow.core.funded_period import FundedPeriod, Vacancy, funded_share, period_problems, pro_rata
from kim_workflow.core.grants import (
    Grant,
    GrantAct,
    current_grant,
    four_eyes_problem,
    person_problems,
    revocation_problems,
)

K, S = GrantActKind, GrantActState
YEAR = 2026
WHOLE = FundedPeriod.whole_year(YEAR)


def test_the_current_grant_is_the_latest_confirmed_approval_or_amendment_ended_by_a_revocation() -> None:
    approval = GrantAct(K.APPROVAL, S.CONFIRMED, Decimal(45000), Decimal(12000))
    assert current_grant([]) is None
    assert current_grant([GrantAct(K.APPROVAL, S.PENDING, Decimal(1), Decimal(1))]) is None
    amended = GrantAct(K.AMENDMENT, S.CONFIRMED, Decimal(40000), Decimal(12000))
    rejected = GrantAct(K.AMENDMENT, S.REJECTED, Decimal(1), Decimal(1))
    assert current_grant([approval, amended, rejected]) == Grant(Decimal(40000), Decimal(12000))
    revoked = GrantAct(K.REVOCATION, S.CONFIRMED, effective_on=date(YEAR, 10, 15))
    assert current_grant([approval, revoked, amended]) == Grant(Decimal(45000), Decimal(12000), date(YEAR, 10, 15))


@pytest.mark.parametrize(
    ("period", "share"),
    [
        (WHOLE, Fraction(1)),
        (FundedPeriod(date(YEAR, 3, 1), date(YEAR, 12, 31)), Fraction(10, 12)),
        (FundedPeriod(date(YEAR, 1, 16), date(YEAR, 12, 31)), (Fraction(16, 31) + 11) / 12),
        (FundedPeriod(date(YEAR, 1, 1), date(YEAR, 12, 31), (Vacancy(date(YEAR, 2, 1), date(YEAR, 2, 28)),)),
         Fraction(11, 12)),
        (FundedPeriod(date(YEAR, 7, 1), date(YEAR, 7, 1)), Fraction(1, 31 * 12)),
    ],
    ids=["whole-year", "from-march", "from-16-january", "vacant-february", "one-day"],
)  # fmt: skip
def test_the_funded_share_counts_months_and_the_days_of_partial_months(period: FundedPeriod, share: Fraction) -> None:
    assert funded_share(period, YEAR) == share


def test_pro_rata_rounds_half_up_to_cents() -> None:
    assert pro_rata(Decimal("0.05"), Fraction(1, 2)) == Decimal("0.03")  # 0,025 → 0,03
    assert pro_rata(Decimal("60000"), Fraction(10, 12)) == Decimal("50000.00")
    assert funded_share(WHOLE, YEAR, until=date(YEAR, 12, 31)) == 1
    assert funded_share(WHOLE, YEAR, until=date(YEAR - 1, 12, 31)) == 0


def _vacancy(start: tuple[int, int], end: tuple[int, int]) -> Vacancy:
    return Vacancy(date(YEAR, *start), date(YEAR, *end))


@pytest.mark.parametrize(
    ("period", "problem"),
    [
        (WHOLE, None),
        (FundedPeriod(date(YEAR - 1, 12, 31), date(YEAR, 12, 31)), "Beginn des Förderzeitraums (31.12.2025)"),
        (FundedPeriod(date(YEAR, 1, 1), date(YEAR + 1, 1, 1)), "Ende des Förderzeitraums (01.01.2027) liegt nicht"),
        (FundedPeriod(date(YEAR, 6, 2), date(YEAR, 6, 1)), "beginnt (02.06.2026) nach seinem Ende"),
        (FundedPeriod(date(YEAR, 6, 1), date(YEAR, 6, 1)), None),
        (FundedPeriod(date(YEAR, 3, 1), date(YEAR, 12, 31), (_vacancy((2, 28), (3, 10)),)), "nicht im Förderzeitraum"),
        (FundedPeriod(date(YEAR, 3, 1), date(YEAR, 12, 31), (_vacancy((3, 1), (3, 10)),)), None),
        (WHOLE, None),
        (FundedPeriod(WHOLE.start, WHOLE.end, (_vacancy((5, 1), (5, 31)), _vacancy((5, 31), (6, 30)))),
         "Vakanz 1 und Vakanz 2 überschneiden sich (ab 31.05.2026)"),  # overlapping by one day
        (FundedPeriod(WHOLE.start, WHOLE.end, (_vacancy((5, 1), (5, 31)), _vacancy((6, 1), (6, 30)))), None),
        (FundedPeriod(WHOLE.start, WHOLE.end, (_vacancy((5, 10), (5, 9)),)), "der Beginn liegt nach dem Ende"),
    ],
)  # fmt: skip
def test_period_problems_at_below_and_above_each_limit(period: FundedPeriod, problem: str | None) -> None:
    problems = period_problems(period, YEAR)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("effective_on", "allowed"),
    [(date(YEAR, 3, 1), True), (date(YEAR, 2, 28), False), (date(YEAR, 12, 31), True), (date(YEAR + 1, 1, 1), False)],
    ids=["at-period-start", "one-day-before", "last-day", "next-year"],
)
def test_a_revocation_lies_in_the_year_and_not_before_the_period(effective_on: date, allowed: bool) -> None:
    period = FundedPeriod(date(YEAR, 3, 1), date(YEAR, 12, 31))
    assert (revocation_problems(effective_on, YEAR, period) == []) is allowed


@pytest.mark.parametrize(
    ("second", "refused"),
    [
        ("Anna Schulz", True),
        ("  anna  SCHULZ ", True),
        ("Anna Schulze", False),
        ("B", False),
        ("ＡＮＮＡ Ｓｃｈｕｌｚ", True),  # fullwidth letters: NFKC
        ("Anna Schul\u007a", True),
        ("Anna\u00a0Schulz", True),  # no-break space: NFKC makes it a space
        ("ANNA SCHULZ", True),
        ("Anna Schuls", False),
    ],
    ids=["same", "case-and-spaces", "other", "short", "fullwidth", "escape", "nbsp", "upper", "one-letter-off"],
)
def test_four_eyes_needs_a_different_person(second: str, refused: bool) -> None:
    assert (four_eyes_problem("Anna Schulz", second) is not None) is refused


def test_casefold_compares_sharp_s_like_ss() -> None:
    assert four_eyes_problem("Referentin Strauß", "REFERENTIN STRAUSS") is not None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Anna Schulz", None),
        ("Anna\u200bSchulz", "unsichtbare Steuerzeichen"),  # zero-width space (Cf)
        ("\u200eAnna Schulz", "unsichtbare Steuerzeichen"),  # left-to-right mark (Cf)
        ("Anna\u00adSchulz", "unsichtbare Steuerzeichen"),  # soft hyphen (Cf)
        ("Anna\nSchulz", "eine Zeile"),
        ("", "1 bis 200 Zeichen"),
        ("x" * 200, None),
        ("x" * 201, "1 bis 200 Zeichen"),
    ],
    ids=["plain", "zwsp", "lrm", "soft-hyphen", "newline", "empty", "at-limit", "above-limit"],
)
def test_a_name_with_invisible_characters_is_refused(name: str, problem: str | None) -> None:
    problems = person_problems(name, "wer bestätigt")
    assert (problems == []) if problem is None else (problem in problems[0])
