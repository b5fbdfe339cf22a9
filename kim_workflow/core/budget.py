"""The year's budget ceiling (``[funding] budget_total_eur``): what is left, and when an approval needs an override.

An approval whose total (personnel + material) exceeds what is left of the year's budget is refused unless the
decision names a reason for the override (kept in the event log). Without a ceiling in the policy nothing is checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kim_workflow.core.header_text import normalise_body_text
from kim_workflow.core.money import format_eur

OVERRIDE_REASON_MAX = 1000


@dataclass(frozen=True, slots=True)
class BudgetState:
    """The ceiling of a funding year (``None``: none set) and what the year's approvals granted so far."""

    ceiling: Decimal | None
    granted: Decimal

    @property
    def left(self) -> Decimal | None:
        return None if self.ceiling is None else self.ceiling - self.granted

    def line(self) -> str | None:
        """German, for the decision form and the overview; ``None`` without a ceiling."""
        if self.ceiling is None or self.left is None:
            return None
        return (
            f"Jahresbudget {format_eur(self.ceiling)}: bewilligt {format_eur(self.granted)}, "
            f"verbleibend {format_eur(self.left)}."
        )


def override_reason(text: str | None) -> str | None:
    """The reason as stored (line breaks normalised, stripped); ``None`` if there is none."""
    reason = normalise_body_text(text or "").strip()
    return reason or None


def budget_problems(state: BudgetState, grant_total: Decimal, reason: str | None) -> list[str]:
    """Why an approval of ``grant_total`` cannot be stored under ``state`` (German; empty if it can)."""
    problems = []
    if reason is not None and len(reason) > OVERRIDE_REASON_MAX:
        problems.append(f"Die Begründung der Budgetüberschreitung darf höchstens {OVERRIDE_REASON_MAX} Zeichen haben.")
    left = state.left
    if left is not None and grant_total > left and reason is None:
        problems.append(
            f"Die Bewilligung von {format_eur(grant_total)} übersteigt das verbleibende Jahresbudget von "
            f"{format_eur(left)} ({state.line()}); nur mit einer Begründung der Budgetüberschreitung zulässig."
        )
    return problems
