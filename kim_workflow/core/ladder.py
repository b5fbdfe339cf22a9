"""The one reminder ladder (pure): stages days before or after an anchor date, and the rule which one is due.

A stage lies a number of days before (reminder) or after (overdue notice, escalation) its anchor — a due date,
the application deadline, a meeting day; a date that is no working day in Rheinland-Pfalz moves to the previous
(before) or next (after) working day. On a given day the *latest* stage whose date has come is due — a late run
catches up with that one only — unless it, or a stage that covers it, was sent already, or its date lies on or
before ``quiet_until`` (the day of an invitation or change: no reminder right after it).

Stored stage strings (``reminder_log.stage``) are ``str(Stage)``: ``"reminder-42"``, ``"overdue-7"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache, total_ordering

from kim_workflow.core.calendar import Direction, shift_to_working_day


class StageKind(StrEnum):
    REMINDER = "reminder"
    OVERDUE = "overdue"
    ESCALATION = "escalation"


_RANK = {StageKind.REMINDER: 0, StageKind.OVERDUE: 1, StageKind.ESCALATION: 2}


@total_ordering
@dataclass(frozen=True, slots=True)
class Stage:
    """One rung of a ladder, ``str()``-ed as ``"reminder-42"``, ``"overdue-7"``, ``"escalation-7"``.

    Stages order by their offset from the anchor; at equal offset an overdue notice precedes the escalation.
    """

    kind: StageKind
    days: int

    def __post_init__(self) -> None:
        if self.days <= 0:
            raise ValueError(f"stage offset must be a positive number of days, not {self.days}")

    def __str__(self) -> str:
        return f"{self.kind.value}-{self.days}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Stage):
            return NotImplemented
        return self._key < other._key

    @classmethod
    def parse(cls, text: str) -> Stage:
        """The inverse of ``str()``; raise ``ValueError`` for anything else."""
        kind, _, days = text.rpartition("-")
        if not days.isdigit():
            raise ValueError(f"not a reminder stage: {text!r}")
        return cls(StageKind(kind), int(days))

    @property
    def _key(self) -> tuple[int, int]:
        return (-self.days if self.kind is StageKind.REMINDER else self.days, _RANK[self.kind])

    def date_for(self, anchor: date) -> date:
        """The working day this stage falls on for ``anchor``."""
        return _stage_date(self.kind, self.days, anchor)


@lru_cache(maxsize=1024)
def _ladder_dates(ladder: Ladder, anchor: date) -> tuple[tuple[Stage, date], ...]:
    """A sweep asks this once per Kommune, and nearly all share one ladder and one anchor."""
    return tuple((stage, stage.date_for(anchor)) for stage in ladder.stages)


@lru_cache(maxsize=4096)
def _stage_date(kind: StageKind, days: int, anchor: date) -> date:
    """Cached: a sweep asks this for every Kommune, and nearly all share one anchor."""
    if kind is StageKind.REMINDER:
        return shift_to_working_day(anchor - timedelta(days=days), Direction.BACKWARD)
    return shift_to_working_day(anchor + timedelta(days=days), Direction.FORWARD)


def before(days: Iterable[int]) -> list[Stage]:
    return [Stage(StageKind.REMINDER, n) for n in days]


def after(kind: StageKind, days: Iterable[int]) -> list[Stage]:
    return [Stage(kind, n) for n in days]


def parse_stages(stored: Iterable[str]) -> frozenset[Stage]:
    """The ladder stages among stored stage strings (others, such as ``"call"``, are not stages)."""
    stages = set()
    for text in stored:
        try:
            stages.add(Stage.parse(text))
        except ValueError:
            continue
    return frozenset(stages)


class Covers(StrEnum):
    """When a stage already sent makes the latest due stage redundant."""

    LATER_STAGE = "later_stage"
    """The sent stage is the due one or later in ladder order (deliverables, application window)."""
    LATER_DAY = "later_day"
    """The sent stage falls on the due one's day or later (meetings: two offsets may share a working day)."""


@dataclass(frozen=True, slots=True)
class Ladder:
    """Stages in ladder order and how a sent stage covers a due one."""

    stages: tuple[Stage, ...]
    covers: Covers = Covers.LATER_STAGE

    @classmethod
    def of(cls, stages: Iterable[Stage], covers: Covers = Covers.LATER_STAGE) -> Ladder:
        return cls(tuple(sorted(set(stages))), covers)

    def dates(self, anchor: date) -> tuple[tuple[Stage, date], ...]:
        """Each stage with the working day it falls on for ``anchor``, in ladder order (cached per ladder)."""
        return _ladder_dates(self, anchor)

    def latest_due(self, anchor: date, today: date, quiet_until: date | None = None) -> Stage | None:
        """The latest stage whose day for ``anchor`` is ``today`` or earlier (and after ``quiet_until``)."""
        due = [s for s, day in self.dates(anchor) if day <= today and (quiet_until is None or day > quiet_until)]
        return max(due) if due else None

    def is_covered(self, latest: Stage, anchor: date, sent: Iterable[Stage]) -> bool:
        """Whether one of the ``sent`` stages (of any ladder, e.g. before a policy change) covers ``latest``."""
        if self.covers is Covers.LATER_STAGE:
            return any(stage >= latest for stage in sent)
        day = latest.date_for(anchor)
        return any(stage.date_for(anchor) >= day for stage in sent)

    def due(
        self, anchor: date, today: date, sent: Iterable[Stage] = (), quiet_until: date | None = None
    ) -> Stage | None:
        """The stage to send ``today`` for ``anchor``: the latest due one, unless a ``sent`` stage covers it."""
        latest = self.latest_due(anchor, today, quiet_until)
        if latest is None or self.is_covered(latest, anchor, sent):
            return None
        return latest

    def covering(self, anchor: date, today: date, quiet_until: date | None = None) -> tuple[str, ...] | None:
        """The stored strings of this ladder's stages that cover the latest due one; ``None`` if none is due.

        A recipient with one of them logged gets nothing ``today``: a count over the log with these strings is
        the "nothing due today" shortcut of every use (it ignores stages no longer in the policy, so it may only
        say "something may be due" too often, never too rarely).
        """
        latest = self.latest_due(anchor, today, quiet_until)
        if latest is None:
            return None
        return tuple(str(s) for s in self.stages if self.is_covered(latest, anchor, (s,)))
