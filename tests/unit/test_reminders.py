"""The reminder ladder: stage dates on RP working days, the daily planner, catch-up and escalation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kim_workflow.core.calendar import is_working_day, next_working_day, previous_working_day
from kim_workflow.core.domain import DeliverableKind
from kim_workflow.core.policy import ReportPolicy
from kim_workflow.core.reminders import (
    DeliverableState,
    EscalationEntry,
    KommuneDeliverables,
    PlannedReminder,
    ReminderPlan,
    SentStage,
    Stage,
    StageKind,
    due_stage,
    ladder,
    ladder_dates,
    plan_reminders,
)

AR, Q = DeliverableKind.ANNUAL_REPORT, DeliverableKind.QUESTIONNAIRE
BOTH = (AR, Q)
DEFAULT = ReportPolicy()
DUE = date(2026, 12, 15)
EXTENDED = date(2027, 1, 15)
R42, R14, R3 = (Stage(StageKind.REMINDER, n) for n in (42, 14, 3))
O1, O7 = Stage(StageKind.OVERDUE, 1), Stage(StageKind.OVERDUE, 7)
E7 = Stage(StageKind.ESCALATION, 7)
YEARS = range(2024, 2041)


def kommune(
    ags: str = "07111000",
    *,
    due: date = DUE,
    questionnaire_due: date | None = None,
    report_received: date | None = None,
    questionnaire_received: date | None = None,
    sent: Iterable[SentStage] = (),
    contact: bool = True,
) -> KommuneDeliverables:
    deliverables = (
        DeliverableState(AR, due, report_received),
        DeliverableState(Q, questionnaire_due or due, questionnaire_received),
    )
    return KommuneDeliverables(ags, f"Kommune {ags}", deliverables, frozenset(sent), contact)


def plan(today: date, *kommunen: KommuneDeliverables, escalated: Iterable[date] = ()) -> ReminderPlan:
    return plan_reminders(today, DEFAULT, kommunen, frozenset(escalated))


# --- stages and their dates ---


def test_stage_representation() -> None:
    assert ladder(DEFAULT) == (R42, R14, R3, O1, O7, E7)
    assert [str(s) for s in ladder(DEFAULT)] == [
        "reminder-42",
        "reminder-14",
        "reminder-3",
        "overdue-1",
        "overdue-7",
        "escalation-7",
    ]
    assert all(Stage.parse(str(s)) == s for s in ladder(DEFAULT))
    assert R42 < R3 < O1 < O7 < E7 and sorted([E7, O1, R3, R42]) == [R42, R3, O1, E7]


@pytest.mark.parametrize("text", ["reminder", "reminder-0", "reminder-x", "late-3", "", "overdue--1", "Overdue-1"])
def test_stage_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        Stage.parse(text)


def test_ladder_follows_any_policy_offsets() -> None:
    policy = ReportPolicy(reminder_days_before=(30, 10), overdue_days_after=(2, 5, 21), escalation_days_after=10)
    assert [str(s) for s in ladder(policy)] == [
        "reminder-30",
        "reminder-10",
        "overdue-2",
        "overdue-5",
        "escalation-10",
        "overdue-21",
    ]


def test_ladder_2026() -> None:
    assert ladder_dates(DUE, DEFAULT) == [
        (R42, date(2026, 11, 3)),  # Tuesday, stays
        (R14, date(2026, 12, 1)),  # Tuesday
        (R3, date(2026, 12, 11)),  # nominal Saturday 12 Dec -> Friday
        (O1, date(2026, 12, 16)),
        (O7, date(2026, 12, 22)),
        (E7, date(2026, 12, 22)),
    ]


@pytest.mark.parametrize(
    ("year", "move", "expected"),
    [
        # 15 Dec 2029 is a Saturday
        (2029, False, ["2029-11-02", "2029-11-30", "2029-12-12", "2029-12-17", "2029-12-24"]),
        (2029, True, ["2029-11-05", "2029-12-03", "2029-12-14", "2029-12-18", "2029-12-24"]),
        # 15 Dec 2030 is a Sunday; 3 Nov 2030 a Sunday and 1 Nov (Allerheiligen) a Friday -> Thursday 31 Oct
        (2030, False, ["2030-10-31", "2030-11-29", "2030-12-12", "2030-12-16", "2030-12-23"]),
        (2030, True, ["2030-11-04", "2030-12-02", "2030-12-13", "2030-12-17", "2030-12-23"]),
        # 15 Dec 2035 is a Saturday
        (2035, False, ["2035-11-02", "2035-11-30", "2035-12-12", "2035-12-17", "2035-12-24"]),
        (2035, True, ["2035-11-05", "2035-12-03", "2035-12-14", "2035-12-18", "2035-12-24"]),
    ],
)
def test_ladder_in_weekend_deadline_years(year: int, move: bool, expected: list[str]) -> None:
    policy = ReportPolicy(move_deadline_if_weekend=move)
    dates = [d.isoformat() for _, d in ladder_dates(policy.deadline(year), policy)]
    assert dates == [*expected, expected[-1]]


@pytest.mark.parametrize(
    ("due", "stage", "expected"),
    [
        (date(2026, 12, 18), O7, date(2026, 12, 28)),  # nominal 25 Dec, then 26 Dec and a Sunday
        (date(2027, 12, 13), R42, date(2027, 10, 29)),  # nominal Allerheiligen (Mon), then the weekend
        (EXTENDED, R14, date(2026, 12, 31)),  # nominal Neujahr 2027
        (EXTENDED, O1, date(2027, 1, 18)),  # nominal Saturday
    ],
)
def test_stage_dates_skip_holidays(due: date, stage: Stage, expected: date) -> None:
    assert stage.date_for(due) == expected


@pytest.mark.parametrize("move", [False, True])
@pytest.mark.parametrize("year", YEARS)
def test_stage_dates_are_working_days_in_every_year(year: int, move: bool) -> None:
    policy = ReportPolicy(move_deadline_if_weekend=move)
    due = policy.deadline(year)
    dates = dict(ladder_dates(due, policy))
    assert all(is_working_day(d) for d in dates.values())
    assert list(dates.values()) == sorted(dates.values())
    for stage, day in dates.items():
        if stage.kind is StageKind.REMINDER:
            assert day == previous_working_day(due - timedelta(days=stage.days)) < due
        else:
            assert day == next_working_day(due + timedelta(days=stage.days)) > due
    assert dates[O7] == dates[E7]


# --- the planner ---


def test_nothing_before_the_first_stage() -> None:
    assert plan(date(2026, 11, 2), kommune()) == ReminderPlan((), None, ())


def test_one_reminder_per_kommune_listing_all_outstanding_deliverables() -> None:
    result = plan(
        date(2026, 11, 3),
        kommune("07111000"),
        kommune("07131000", report_received=date(2026, 10, 20)),
        kommune("07211000", report_received=date(2026, 10, 1), questionnaire_received=date(2026, 11, 2)),
    )
    assert result.reminders == (
        PlannedReminder("07111000", R42, DUE, BOTH, date(2026, 11, 3)),
        PlannedReminder("07131000", R42, DUE, (Q,), date(2026, 11, 3)),
    )
    assert result.escalation is None and result.without_contact == ()


@pytest.mark.parametrize(
    ("today", "sent", "expected"),
    [
        (date(2026, 12, 14), (), R3),  # sweep missed everything: only the latest due stage
        (date(2026, 12, 14), [(R42, DUE)], R3),
        (date(2026, 12, 14), [(R14, DUE)], R3),
        (date(2026, 12, 14), [(R3, DUE)], None),  # already sent
        (date(2026, 12, 14), [(O1, DUE)], None),  # a later stage was sent: never go back
        (date(2026, 12, 10), [(R42, DUE)], R14),
        (date(2026, 12, 11), [(R42, DUE), (R14, DUE)], R3),
        (date(2026, 12, 15), [(R3, DUE)], None),  # the deadline day itself is no stage
        (date(2026, 12, 20), [(R3, DUE)], O1),
        (date(2027, 2, 1), [(R3, DUE)], O7),
        (date(2027, 2, 1), [(O7, DUE)], None),
        (date(2026, 12, 14), [(R3, EXTENDED)], R3),  # sent for another due date: does not count
    ],
)
def test_catch_up_sends_only_the_latest_due_stage(today: date, sent: list[SentStage], expected: Stage | None) -> None:
    assert due_stage(DUE, DEFAULT, today, frozenset(sent)) == expected
    result = plan(today, kommune(sent=sent))
    assert [r.stage for r in result.reminders] == ([] if expected is None else [expected])


def test_catch_up_reminder_keeps_its_nominal_planned_for_date() -> None:
    (reminder,) = plan(date(2026, 12, 14), kommune()).reminders
    assert (reminder.stage, reminder.planned_for) == (R3, date(2026, 12, 11))


def test_individual_extension_restarts_the_ladder_from_the_new_due_date() -> None:
    extended = kommune(due=EXTENDED, sent=[(R3, DUE)])
    (reminder,) = plan(date(2026, 12, 16), extended).reminders
    assert reminder == PlannedReminder("07111000", R42, EXTENDED, BOTH, date(2026, 12, 4))
    assert plan(date(2026, 12, 16), replace(extended, sent=frozenset({(R42, EXTENDED)}))).reminders == ()


def test_the_latest_due_date_among_outstanding_deliverables_drives_the_ladder() -> None:
    today = date(2026, 12, 16)
    mixed = kommune(questionnaire_due=EXTENDED, sent=[(R42, EXTENDED)])
    assert plan(today, mixed).reminders == ()  # both outstanding, ladder of 15 Jan: nothing new yet
    only_report = replace(
        mixed, deliverables=(mixed.deliverables[0], replace(mixed.deliverables[1], received_on=today))
    )
    assert plan(today, only_report).reminders == (PlannedReminder("07111000", O1, DUE, (AR,), today),)


def test_received_late_counts_as_received() -> None:
    late = kommune(report_received=date(2026, 12, 17), questionnaire_received=date(2026, 12, 18))
    assert plan(date(2026, 12, 22), late) == ReminderPlan((), None, ())
    assert [r.outstanding for r in plan(date(2026, 12, 16), late).reminders] == [BOTH]  # not yet received then
    assert [(r.stage, r.outstanding) for r in plan(date(2026, 12, 17), late).reminders] == [(O1, (Q,))]


def test_kommunen_without_active_contact_are_reported_not_skipped() -> None:
    result = plan(date(2026, 12, 1), kommune("07111000", contact=False), kommune("07131000"))
    assert [r.ags for r in result.reminders] == ["07131000"]
    assert result.without_contact == ("07111000",)
    assert plan(date(2026, 11, 2), kommune(contact=False)).without_contact == ()  # nothing due: nothing to report


def test_escalation_digest_and_second_overdue_notice_on_the_same_day() -> None:
    kommunen = (
        kommune("07111000"),
        kommune("07131000", report_received=date(2026, 12, 14), questionnaire_received=date(2026, 12, 15)),
        kommune("07211000", report_received=date(2026, 12, 10), contact=False),
        kommune("07315000", due=EXTENDED, sent=[(R42, EXTENDED)]),
    )
    escalation_day = date(2026, 12, 22)
    assert plan(escalation_day - timedelta(days=1), *kommunen).escalation is None
    result = plan(escalation_day, *kommunen)
    assert [(r.ags, r.stage, r.planned_for) for r in result.reminders] == [("07111000", O7, escalation_day)]
    assert result.without_contact == ("07211000",)
    assert result.escalation is not None
    assert result.escalation.due_dates == (DUE,) and result.escalation.planned_for == escalation_day
    assert result.escalation.entries == (
        EscalationEntry("07111000", "Kommune 07111000", BOTH, DUE, True),
        EscalationEntry("07211000", "Kommune 07211000", (Q,), DUE, False),
    )
    assert plan(date(2026, 12, 28), *kommunen, escalated=[DUE]).escalation is None
    later = plan(date(2027, 1, 22), *kommunen, escalated=[DUE]).escalation  # the extended Kommune's turn
    assert later is not None and later.due_dates == (EXTENDED,)
    assert [(e.ags, e.due_date) for e in later.entries] == [
        ("07111000", DUE),
        ("07211000", DUE),
        ("07315000", EXTENDED),
    ]


def test_no_digest_when_everybody_delivered() -> None:
    done = kommune(report_received=DUE, questionnaire_received=DUE)
    assert plan(date(2026, 12, 22), done).escalation is None


@pytest.mark.parametrize("move", [False, True])
@pytest.mark.parametrize("year", YEARS)
def test_overdue_7_and_digest_go_out_together_every_year(year: int, move: bool) -> None:
    policy = ReportPolicy(move_deadline_if_weekend=move)
    due = policy.deadline(year)
    day = O7.date_for(due)
    k = kommune(due=due, sent=[(O1, due)])
    result = plan_reminders(day, policy, [k])
    assert [r.stage for r in result.reminders] == [O7]
    assert result.escalation is not None and result.escalation.planned_for == day
    before = plan_reminders(previous_working_day(day - timedelta(days=1)), policy, [k])
    assert before.reminders == () and before.escalation is None


# --- properties: replay the daily sweep ---

SEASON = [date(2026, 10, 1) + timedelta(days=i) for i in range((date(2027, 1, 31) - date(2026, 10, 1)).days + 1)]
season_day = st.sampled_from(SEASON)
receipt = st.one_of(st.none(), season_day)
offsets = st.sets(st.integers(1, 60), max_size=3).map(lambda s: tuple(sorted(s)))
policies = st.one_of(
    st.just(DEFAULT),
    st.builds(
        ReportPolicy,
        reminder_days_before=offsets.map(lambda t: t[::-1]),
        overdue_days_after=offsets,
        escalation_days_after=st.integers(1, 30),
    ),
)


@st.composite
def kommunen_lists(draw: st.DrawFn) -> list[KommuneDeliverables]:
    """1-5 Kommunen, some with an extension, receipts anywhere in the season or never."""
    result = []
    for i in range(draw(st.integers(1, 5))):
        due = DUE + timedelta(days=draw(st.sampled_from([0, 0, 0, 3, 31])))
        q_due = due + timedelta(days=draw(st.sampled_from([0, 0, 10])))
        result.append(
            kommune(
                f"0700{i:04d}",
                due=due,
                questionnaire_due=q_due,
                report_received=draw(receipt),
                questionnaire_received=draw(receipt),
                contact=draw(st.sampled_from([True, True, True, False])),
            )
        )
    return result


def replay(
    policy: ReportPolicy, kommunen: list[KommuneDeliverables], days: Iterable[date]
) -> Iterator[tuple[date, ReminderPlan]]:
    """Run the sweep on ``days``, feeding back what was sent, as the adapter would."""
    sent: dict[str, set[SentStage]] = {k.ags: set() for k in kommunen}
    escalated: set[date] = set()
    for today in days:
        current = [replace(k, sent=frozenset(sent[k.ags])) for k in kommunen]
        result = plan_reminders(today, policy, current, frozenset(escalated))
        for r in result.reminders:
            sent[r.ags].add((r.stage, r.due_date))
        if result.escalation is not None:
            escalated.update(result.escalation.due_dates)
        yield today, result


@settings(max_examples=40, deadline=None)
@given(policies, kommunen_lists())
def test_replaying_every_day_never_plans_a_stage_twice(
    policy: ReportPolicy, kommunen: list[KommuneDeliverables]
) -> None:
    planned: Counter[tuple[str, Stage, date]] = Counter()
    digests: Counter[date] = Counter()
    for today, result in replay(policy, kommunen, SEASON):
        assert len({r.ags for r in result.reminders}) == len(result.reminders)
        assert all(r.planned_for <= today and is_working_day(r.planned_for) for r in result.reminders)
        planned.update((r.ags, r.stage, r.due_date) for r in result.reminders)
        if result.escalation is not None:
            digests.update(result.escalation.due_dates)
    assert all(n == 1 for n in planned.values())
    assert all(n == 1 for n in digests.values())
    for k in kommunen:  # not vacuous: a silent Kommune with a contact climbs to the last stage
        due = max(d.due_date for d in k.deliverables)
        stages = [(s, d) for s, d in ladder_dates(due, policy) if s.kind is not StageKind.ESCALATION]
        silent = all(d.received_on is None for d in k.deliverables)
        if silent and k.has_active_contact and stages and stages[-1][1] <= SEASON[-1]:
            assert (k.ags, stages[-1][0], due) in planned


@settings(max_examples=40, deadline=None)
@given(policies, kommunen_lists(), season_day, st.integers(1, 60))
def test_catch_up_after_a_gap_sends_at_most_one_email_per_kommune(
    policy: ReportPolicy, kommunen: list[KommuneDeliverables], gap_start: date, gap: int
) -> None:
    days = [d for d in SEASON if not gap_start <= d < gap_start + timedelta(days=gap)]
    by_ags = {k.ags: k for k in kommunen}
    for today, result in replay(policy, kommunen, days):
        assert len({r.ags for r in result.reminders}) == len(result.reminders)
        for r in result.reminders:  # the latest stage due, never an earlier one
            later = [
                s for s, d in ladder_dates(r.due_date, policy) if s > r.stage and s.kind is not StageKind.ESCALATION
            ]
            assert all(s.date_for(r.due_date) > today for s in later)
            assert by_ags[r.ags].has_active_contact


@settings(max_examples=60, deadline=None)
@given(policies, kommunen_lists(), season_day)
def test_a_kommune_that_delivered_everything_never_gets_a_reminder(
    policy: ReportPolicy, kommunen: list[KommuneDeliverables], today: date
) -> None:
    done = [
        replace(
            k, deliverables=tuple(replace(d, received_on=min(d.received_on or today, today)) for d in k.deliverables)
        )
        for k in kommunen
    ]
    result = plan_reminders(today, policy, done)
    assert result == ReminderPlan((), None, ())


@settings(max_examples=60, deadline=None)
@given(policies, kommunen_lists(), season_day, st.data())
def test_planning_twice_on_the_same_day_with_updated_state_plans_nothing(
    policy: ReportPolicy, kommunen: list[KommuneDeliverables], today: date, data: st.DataObject
) -> None:
    stages = st.sets(st.sampled_from([s for s in ladder(policy) if s.kind is not StageKind.ESCALATION] or [R3]))
    prior = [
        replace(k, sent=frozenset((s, max(d.due_date for d in k.deliverables)) for s in data.draw(stages, label=k.ags)))
        for k in kommunen
    ]
    first = plan_reminders(today, policy, prior)
    sent = {k.ags: set(k.sent) for k in prior}
    for r in first.reminders:
        sent[r.ags].add((r.stage, r.due_date))
    escalated = frozenset(first.escalation.due_dates if first.escalation else ())
    second = plan_reminders(today, policy, [replace(k, sent=frozenset(sent[k.ags])) for k in prior], escalated)
    assert second.reminders == () and second.escalation is None
    assert second.without_contact == first.without_contact
