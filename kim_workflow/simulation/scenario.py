"""A seeded, pure scenario of one funding year: who applies when, decisions, submissions, one extension.

Nothing here touches a database or the clock: the same seed and Kommunen give the same scenario.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from kim_workflow.core.domain import DecisionOutcome, DeliverableKind

APPLY_SHARE = 0.9
FLAWED_SHARE = 0.2
REJECTED_SHARE = 0.03
ATTENDANCE_SHARE = 0.85
ON_TIME, LATE = 0.6, 0.25  # the rest never submits


class Timing(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    NEVER = "never"


@dataclass(frozen=True)
class Apply:
    """A Kommune submits its application; ``revision`` 2 is the corrected resubmission."""

    ags: str
    revision: int = 1


@dataclass(frozen=True)
class Decide:
    ags: str
    outcome: DecisionOutcome


@dataclass(frozen=True)
class Submit:
    ags: str
    kind: DeliverableKind


@dataclass(frozen=True)
class Extend:
    ags: str
    until: date


Event = Apply | Decide | Submit | Extend


@dataclass(frozen=True)
class KommunePlan:
    """What one Kommune does in the year (for reports and test expectations)."""

    ags: str
    applies_on: date | None
    flawed: bool
    outcome: DecisionOutcome | None
    timing: Timing


@dataclass(frozen=True)
class Scenario:
    year: int
    seed: int
    plans: tuple[KommunePlan, ...]
    events: dict[date, tuple[Event, ...]] = field(default_factory=dict)
    extended: str | None = None

    def on(self, day: date) -> tuple[Event, ...]:
        return self.events.get(day, ())

    def attends(self, ags: str, meeting_key: str) -> bool:
        """Whether the Kommune attends a meeting (deterministic per seed, Kommune and meeting)."""
        return random.Random(f"{self.seed}|{ags}|{meeting_key}").random() < ATTENDANCE_SHARE


def build_scenario(ags_list: Sequence[str], *, year: int, seed: int) -> Scenario:
    """The year of ``ags_list`` drawn from ``random.Random(seed)``."""
    rng = random.Random(seed)
    events: dict[date, list[Event]] = defaultdict(list)
    plans = tuple(_plan_kommune(rng, ags, year, events) for ags in ags_list)
    extended = _extension(rng, plans, year, events)
    return Scenario(year, seed, plans, {day: tuple(items) for day, items in sorted(events.items())}, extended)


def _day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _plan_kommune(rng: random.Random, ags: str, year: int, events: dict[date, list[Event]]) -> KommunePlan:
    applies_on, flawed, outcome = None, False, None
    if rng.random() < APPLY_SHARE:
        applies_on = _day_between(rng, date(year, 1, 16), date(year, 3, 31))
        flawed = rng.random() < FLAWED_SHARE
        outcome = DecisionOutcome.REJECTED if rng.random() < REJECTED_SHARE else DecisionOutcome.APPROVED
        _application_events(rng, ags, applies_on, flawed, outcome, events)
    timing = _timing(rng.random())
    _submission_events(rng, ags, year, timing, events)
    return KommunePlan(ags, applies_on, flawed, outcome, timing)


def _application_events(
    rng: random.Random, ags: str, day: date, flawed: bool, outcome: DecisionOutcome, events: dict[date, list[Event]]
) -> None:
    events[day].append(Apply(ags))
    decided = day + timedelta(days=rng.randint(3, 20))
    if flawed:
        events[decided].append(Decide(ags, DecisionOutcome.CHANGES_REQUESTED))
        resubmitted = decided + timedelta(days=rng.randint(2, 10))
        events[resubmitted].append(Apply(ags, revision=2))
        decided = resubmitted + timedelta(days=rng.randint(2, 7))
    events[decided].append(Decide(ags, outcome))


def _timing(draw: float) -> Timing:
    if draw < ON_TIME:
        return Timing.ON_TIME
    return Timing.LATE if draw < ON_TIME + LATE else Timing.NEVER


def _submission_events(
    rng: random.Random, ags: str, year: int, timing: Timing, events: dict[date, list[Event]]
) -> None:
    if timing is Timing.NEVER:
        return
    first, last = (date(year, 10, 1), date(year, 12, 15)) if timing is Timing.ON_TIME else (
        date(year, 12, 16), date(year, 12, 31))  # fmt: skip
    for kind in DeliverableKind:
        events[_day_between(rng, first, last)].append(Submit(ags, kind))


def _extension(
    rng: random.Random, plans: tuple[KommunePlan, ...], year: int, events: dict[date, list[Event]]
) -> str | None:
    """One Kommune that would not make it gets an extension on 10 December until the end of January."""
    candidates = [p.ags for p in plans if p.timing is not Timing.ON_TIME]
    if not candidates:
        return None
    ags = rng.choice(candidates)
    events[date(year, 12, 10)].append(Extend(ags, date(year + 1, 1, 29)))
    return ags
