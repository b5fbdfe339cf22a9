"""The one ladder: stage days, the latest due stage, what covers it, quiet days, and the covering strings."""

from __future__ import annotations

from datetime import date

import pytest

from kim_workflow.core.ladder import Covers, Ladder, Stage, StageKind, after, before, parse_stages

MONDAY = date(2026, 6, 8)  # reminders 1, 2 and 3 days before all fall on Friday 5 June
FRIDAY = date(2026, 6, 5)
R1, R2, R3, R4 = before((1, 2, 3, 4))
O1, O7 = after(StageKind.OVERDUE, (1, 7))


def test_before_moves_back_and_after_moves_forward_to_a_working_day() -> None:
    assert [s.date_for(MONDAY) for s in (R1, R2, R3, R4)] == [FRIDAY, FRIDAY, FRIDAY, date(2026, 6, 3)]
    assert O1.date_for(FRIDAY) == MONDAY  # Saturday → Monday


def test_stages_are_kept_in_ladder_order_without_duplicates() -> None:
    assert Ladder.of([O7, R1, R4, O1, R1]).stages == (R4, R1, O1, O7)


def test_a_catch_up_sends_only_the_latest_due_stage() -> None:
    rungs = Ladder.of([R4, R1, O1, O7])
    assert rungs.due(FRIDAY, date(2026, 5, 29), ()) is None
    assert rungs.due(FRIDAY, date(2026, 6, 20), ()) == O7
    assert rungs.due(FRIDAY, date(2026, 6, 20), [O7]) is None
    assert rungs.due(FRIDAY, date(2026, 6, 9), [R4]) == O1


def test_by_stage_a_sent_stage_covers_only_itself_and_earlier_ones() -> None:
    rungs = Ladder.of([R3, R1])
    assert rungs.latest_due(MONDAY, FRIDAY) == R1
    assert rungs.due(MONDAY, FRIDAY, [R3]) == R1  # same Friday, but reminder-3 precedes reminder-1
    assert rungs.due(MONDAY, FRIDAY, [Stage(StageKind.OVERDUE, 2)]) is None  # a later stage of an older policy


def test_by_day_a_sent_stage_covers_every_stage_on_its_day() -> None:
    rungs = Ladder.of([R3, R1], Covers.LATER_DAY)
    assert rungs.due(MONDAY, FRIDAY, [R3]) is None
    assert rungs.due(MONDAY, FRIDAY, [R2]) is None  # an offset no longer in the policy, same day
    assert rungs.due(MONDAY, FRIDAY, [R4]) == R1


def test_stages_on_or_before_the_quiet_day_are_skipped() -> None:
    rungs = Ladder.of([R4, R1], Covers.LATER_DAY)
    assert rungs.due(MONDAY, date(2026, 6, 4), (), quiet_until=date(2026, 6, 3)) is None
    assert rungs.due(MONDAY, FRIDAY, (), quiet_until=date(2026, 6, 3)) == R1
    assert rungs.due(MONDAY, FRIDAY, (), quiet_until=FRIDAY) is None


@pytest.mark.parametrize(
    ("covers", "expected"),
    [(Covers.LATER_STAGE, ("reminder-1", "overdue-1")), (Covers.LATER_DAY, ("reminder-3", "reminder-1", "overdue-1"))],
)
def test_covering_lists_the_stored_strings_that_spare_a_recipient(covers: Covers, expected: tuple[str, ...]) -> None:
    rungs = Ladder.of([R4, R3, R1, O1], covers)
    assert rungs.covering(MONDAY, FRIDAY) == expected
    assert rungs.covering(MONDAY, date(2026, 6, 1)) is None
    for text in expected:  # whoever has one of them logged gets nothing
        assert rungs.due(MONDAY, FRIDAY, parse_stages([text])) is None
    assert rungs.due(MONDAY, FRIDAY, [R4]) is not None


def test_stored_strings_read_back_as_stages() -> None:
    assert parse_stages(["reminder-42", "overdue-7", "call", "escalation"]) == {Stage(StageKind.REMINDER, 42), O7}
    assert [str(s) for s in (R4, O7, Stage(StageKind.ESCALATION, 7))] == ["reminder-4", "overdue-7", "escalation-7"]
