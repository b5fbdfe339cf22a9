"""Derived status of a deliverable on a given day (pure): what operators see in the status matrix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class DerivedStatus(StrEnum):
    OUTSTANDING = "outstanding"
    EXTENDED = "extended"
    OVERDUE = "overdue"
    RECEIVED_ON_TIME = "received_on_time"
    RECEIVED_LATE = "received_late"
    WAIVED = "waived"


LABELS_DE = {
    DerivedStatus.OUTSTANDING: "ausstehend",
    DerivedStatus.EXTENDED: "verlängert bis {due}",
    DerivedStatus.OVERDUE: "überfällig seit {overdue_since}",
    DerivedStatus.RECEIVED_ON_TIME: "fristgerecht eingegangen am {received}",
    DerivedStatus.RECEIVED_LATE: "verspätet eingegangen am {received}",
    DerivedStatus.WAIVED: "entfällt ({reason})",
}

SETTLED = frozenset({DerivedStatus.RECEIVED_ON_TIME, DerivedStatus.RECEIVED_LATE, DerivedStatus.WAIVED})
"""Nothing more is expected of the Kommune."""


@dataclass(frozen=True, slots=True)
class DeliverableView:
    due_date: date
    original_due_date: date
    received_on: date | None
    waived_reason: str | None = None
    waived: bool = False

    def status(self, today: date) -> DerivedStatus:
        if self.waived:
            return DerivedStatus.WAIVED
        if self.received_on is not None:
            return DerivedStatus.RECEIVED_ON_TIME if self.received_on <= self.due_date else DerivedStatus.RECEIVED_LATE
        if today > self.due_date:
            return DerivedStatus.OVERDUE
        return DerivedStatus.EXTENDED if self.due_date != self.original_due_date else DerivedStatus.OUTSTANDING

    def label(self, today: date) -> str:
        """German text such as "fristgerecht eingegangen am 10.12.2026" or "überfällig seit 16.12.2026"."""
        status = self.status(today)
        overdue_since = date.fromordinal(self.due_date.toordinal() + 1)
        return LABELS_DE[status].format(
            due=_short(self.due_date),
            overdue_since=_short(overdue_since),
            received=_short(self.received_on) if self.received_on else "",
            reason=self.waived_reason or "ohne Angabe",
        )


def is_late(received_on: date, due_date: date) -> bool:
    return received_on > due_date


def _short(day: date) -> str:
    return day.strftime("%d.%m.%Y")
