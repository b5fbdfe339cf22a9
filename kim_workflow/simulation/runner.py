"""Drive a funding year day by day through the services with an injected clock (no sleeping, no Prefect).

Each simulated day: the scenario's events (applications, decisions, submissions, extension), the application
window, meeting notices, reminders and attendance, the reminder sweep, then one ``dispatch_sync``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from kim_workflow.core.domain import DecisionOutcome, DeliverableKind, DeliverableStatus, KommuneKind, MeetingStatus
from kim_workflow.core.questionnaire import AnswerSource
from kim_workflow.core.questionnaire_answers import validate_answers
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Deliverable, Kommune, Meeting, OutboxMessage
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.email.dispatcher.outcomes import DispatchReport
from kim_workflow.email.keys import stage_in_key
from kim_workflow.services import registry
from kim_workflow.services.application_input import parse_application
from kim_workflow.services.application_intake import submit_application
from kim_workflow.services.application_window import run_window
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.deadline_notice import extend_deadline_and_notify
from kim_workflow.services.decisions import DecisionRequest, decide_application
from kim_workflow.services.grant_review import confirm_grant_decision
from kim_workflow.services.meeting_notifications import notify_meeting, plan_meeting_reminders
from kim_workflow.services.meetings import generate_series, record_attendance
from kim_workflow.services.notifications import record_submission_and_confirm
from kim_workflow.services.policies import load_policy
from kim_workflow.services.questionnaire_answers import answer_context, submit_values
from kim_workflow.services.sweep import sweep_day
from kim_workflow.settings import Settings
from kim_workflow.simulation.answers import answer_seed, simulated_answers
from kim_workflow.simulation.scenario import Apply, Decide, Event, Extend, Scenario, Submit

ACTOR = "simulation"
REFERENCE_COUNT = 36
SYNTHETIC_PREFIX = "9"
MESSAGES = {
    DecisionOutcome.CHANGES_REQUESTED: "Bitte die Stellenanteile und die Personalkosten korrigieren.",
    DecisionOutcome.REJECTED: "Die Fördervoraussetzungen liegen nicht vor.",
}
MonthCallback = Callable[[int, "SimulationResult"], None]
DayHook = Callable[[date], None]


@dataclass
class SimulationResult:
    """Counts of one simulated period (emails from the outbox, delivery from the daily dispatches)."""

    year: int
    kommunen: int
    days: int = 0
    emails_by_kind: Counter[str] = field(default_factory=Counter)
    emails_by_stage: Counter[str] = field(default_factory=Counter)
    outbox_status: Counter[str] = field(default_factory=Counter)
    delivery: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    overdue: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def emails(self) -> int:
        return sum(self.emails_by_kind.values())

    @property
    def emails_per_second(self) -> float:
        return self.delivery["sent"] / self.wall_seconds if self.wall_seconds else 0.0


def at(day: date) -> datetime:
    """The simulated moment of a day's work: 06:00 UTC (07:00 or 08:00 in Berlin)."""
    return datetime(day.year, day.month, day.day, 6, tzinfo=UTC)


def synthetic_ags(count: int) -> list[str]:
    """AGS 9xxxxxxx for Kommunen beyond the 36 real ones (no real AGS starts with 9)."""
    return [f"{SYNTHETIC_PREFIX}{i:07d}" for i in range(1, count + 1)]


def populate(engine: Engine, kommunen: int, *, now: datetime) -> list[str]:
    """The real registry (the first ``kommunen`` of it) plus synthetic Kommunen and one contact set each."""
    reference = [k.ags for k in registry.reference_kommunen()]
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=now, actor=ACTOR)
        extra = synthetic_ags(max(0, kommunen - REFERENCE_COUNT))
        session.add_all(
            Kommune(ags=ags, name=f"Musterkreis {ags[-4:]}", kind=KommuneKind.LANDKREIS, active=True) for ags in extra
        )
        wanted = [*reference[:kommunen], *extra]
        for kommune in session.exec(select(Kommune).where(col(Kommune.ags).not_in(wanted))):
            kommune.active = False
        session.flush()
        result = registry.import_contacts(session, contacts_csv(wanted), now=now, actor=ACTOR)
        if not result.ok:
            raise RuntimeError(f"Synthetische Kontakte ungültig: {result.errors[:3]}")
    return wanted


def contacts_csv(ags_list: list[str]) -> str:
    """An integration manager per Kommune, a deputy for every third one, plus DBKI and ministry."""
    lines = ["ags,name,email,role"]
    for index, ags in enumerate(ags_list):
        lines.append(f"{ags},IM {ags},im{ags}@kommune.example,integration_manager")
        if index % 3 == 0:
            lines.append(f"{ags},Vertretung {ags},vertretung{ags}@kommune.example,deputy")
    lines += [",DBKI Koordination,koordination@dbki.example,dbki", ",MFFKI Referat,referat@mffki.example,ministry"]
    return "\n".join(lines) + "\n"


def application_document(ags: str, year: int, revision: int) -> dict[str, object]:
    """A valid application; the corrected resubmission asks for less personnel funding."""
    personnel = 60000 if revision == 1 else 55000
    return {
        "ags": ags, "year": year, "staff": [{"name": f"IM {ags}", "fte": "1.0"}],
        "personnel_costs_eur": personnel, "material_costs_eur": 12000, "overhead_costs_eur": 0,
        "position_in_administration": True,
    }  # fmt: skip


class Simulation:
    """One simulated period over a populated, migrated database."""

    def __init__(self, engine: Engine, settings: Settings, scenario: Scenario, *, kommunen: int) -> None:
        self.engine, self.settings, self.scenario = engine, settings, scenario
        self.result = SimulationResult(scenario.year, kommunen)
        self.meeting_days: dict[date, list[Meeting]] = {}
        self.on_day: DayHook | None = None
        self.on_month: MonthCallback | None = None
        self.dispatch = True

    def open_year(self, day: date) -> None:
        """Open the cycle, generate the meeting series and invite to every meeting (all on ``day``)."""
        with session_scope(self.engine) as session:
            open_cycle(session, policy=load_policy(self.scenario.year, self.settings.policy_dir), now=at(day),
                       actor=ACTOR)  # fmt: skip
            generate_series(session, self.settings, year=self.scenario.year, now=at(day), actor=ACTOR)
        self._notify_meetings(day)
        self._index_meetings()

    def year(self, start: date | None = None, end: date | None = None) -> SimulationResult:
        """Open the year on ``start`` (default 1 January) and simulate until ``end`` (default 31 December)."""
        first = start or date(self.scenario.year, 1, 1)
        self.open_year(first)
        return self.run(first, end or date(self.scenario.year, 12, 31))

    def run(self, start: date, end: date) -> SimulationResult:
        """Simulate ``start`` to ``end`` (inclusive), then collect the counts."""
        began = time.perf_counter()
        day = start
        while day <= end:
            self.run_day(day)
            if self.on_month is not None and (day + timedelta(days=1)).month != day.month:
                self.result.wall_seconds = time.perf_counter() - began
                self.on_month(day.month, self.result)
            day += timedelta(days=1)
        self.collect(end)
        self.result.wall_seconds = time.perf_counter() - began
        return self.result

    def run_day(self, day: date) -> None:
        if self.on_day is not None:
            self.on_day(day)
        for event in self.scenario.on(day):
            self._apply_event(event, day)
        with session_scope(self.engine) as session:
            self._daily_services(session, day)
        if self.dispatch:
            self._record(dispatch_sync(self.engine, self.settings, now=at(day) + timedelta(minutes=1)))
        self.result.days += 1

    def _daily_services(self, session: Session, day: date) -> None:
        now = at(day)
        run_window(session, self.settings, today=day, now=now)
        for meeting in self.meeting_days.get(day - timedelta(days=1), []):
            self._attendance(session, meeting, now)
        plan_meeting_reminders(session, self.settings, today=day, now=now)
        sweep_day(session, self.settings, today=day, now=now)

    def _notify_meetings(self, day: date) -> None:
        with session_scope(self.engine) as session:
            for meeting_id in session.exec(select(Meeting.id).where(col(Meeting.year) == self.scenario.year)).all():
                notify_meeting(session, self.settings, meeting_id=meeting_id or 0, now=at(day))

    def _index_meetings(self) -> None:
        """The year's meetings by local day (attendance is recorded the day after)."""
        with session_scope(self.engine) as session:
            meetings = session.exec(select(Meeting).where(col(Meeting.year) == self.scenario.year)).all()
            for meeting in meetings:
                day = meeting.starts_at.astimezone(self.settings.tz).date()
                self.meeting_days.setdefault(day, []).append(meeting)

    def _attendance(self, session: Session, meeting: Meeting, now: datetime) -> None:
        if meeting.status is MeetingStatus.CANCELLED:
            return
        present, absent = self.attendance_of(meeting)
        record_attendance(session, meeting_id=meeting.id or 0, present=present, absent=absent, now=now, actor=ACTOR)
        self.result.events["attendance"] += 1

    def attendance_of(self, meeting: Meeting) -> tuple[list[str], list[str]]:
        """AGS present and absent at ``meeting``, as the scenario decides."""
        key = meeting.series_key or str(meeting.id)
        ags = [p.ags for p in self.scenario.plans]
        present = [a for a in ags if self.scenario.attends(a, key)]
        chosen = set(present)
        return present, [a for a in ags if a not in chosen]

    def owes(self, event: Event) -> bool:
        """False for a submission or extension of a Kommune that owes no reports (no approved application)."""
        if not isinstance(event, (Submit, Extend)):
            return True
        with session_scope(self.engine) as session:
            owed = session.exec(
                select(func.count())
                .select_from(Deliverable)
                .join(Kommune, col(Kommune.id) == col(Deliverable.kommune_id))
                .where(col(Kommune.ags) == event.ags, col(Deliverable.year) == self.scenario.year)
                .where(col(Deliverable.status) != DeliverableStatus.WAIVED)
            ).one()
        if not owed:
            self.result.events["not_owed"] += 1
        return bool(owed)

    def _apply_event(self, event: Event, day: date) -> None:
        """One event in its own transaction (a refused one rolls back alone)."""
        if not self.owes(event):
            return
        with session_scope(self.engine) as session:
            if isinstance(event, Apply):
                document = application_document(event.ags, self.scenario.year, event.revision)
                submit_application(session, self.settings, application=parse_application(document), now=at(day),
                                   actor=ACTOR)  # fmt: skip
            elif isinstance(event, Decide):
                self._decide(session, event, day)
            elif isinstance(event, Submit) and event.kind is DeliverableKind.QUESTIONNAIRE:
                self._submit_answers(session, event, day)
            elif isinstance(event, Submit):
                record_submission_and_confirm(
                    session, self.settings, ags=event.ags, year=self.scenario.year, kind=event.kind,
                    received_on=day, today=day, now=at(day), actor=ACTOR,
                )  # fmt: skip
            else:
                extend_deadline_and_notify(session, self.settings, ags=event.ags, year=self.scenario.year,
                                           until=event.until, reason="Elternzeit der Integrationsmanagerin",
                                           now=at(day), actor=ACTOR)  # fmt: skip
        self.result.events[type(event).__name__.lower()] += 1

    def _submit_answers(self, session: Session, event: Submit, day: date) -> None:
        """The Kommune's seeded answers, submitted through the answers service (which records the receipt)."""
        year = self.scenario.year
        ctx = answer_context(session, self.settings, year=year, ags=event.ags)
        values = simulated_answers(ctx.questionnaire, ctx.kommune.kind, seed=answer_seed(self.scenario.seed, event.ags,
                                   year), year=year)  # fmt: skip
        problems = validate_answers(ctx.questionnaire, values, ctx.kommune.kind, final=True)
        submit_values(session, self.settings, ctx=ctx, year=year, values=values, problems=problems, by=ACTOR,
                      now=at(day), today=day, source=AnswerSource.CLI)  # fmt: skip
        self.result.events["questionnaire_answers" if not problems else "questionnaire_refused"] += 1

    def _decide(self, session: Session, event: Decide, day: date) -> None:
        result = decide_application(session, self.settings, request=decision_request(event), now=at(day),
                                    ags=event.ags, year=self.scenario.year)  # fmt: skip
        if result.awaiting_confirmation is not None:  # four eyes: the head of unit confirms the same day
            confirm_grant_decision(session, self.settings, act_id=result.awaiting_confirmation, by=CONFIRMED_BY,
                                   now=at(day))  # fmt: skip

    def _record(self, report: DispatchReport) -> None:
        for name in ("sent", "retried", "released", "failed", "unknown", "recovered_stale", "released_stale"):
            self.result.delivery[name] += getattr(report, name)
        self.result.delivery["errors"] += len(report.errors)

    def collect(self, end: date) -> None:
        """Emails per kind and stage and per status from the outbox; Kommunen overdue at ``end``."""
        result = self.result
        result.emails_by_kind, result.emails_by_stage, result.outbox_status = Counter(), Counter(), Counter()
        with session_scope(self.engine) as session:
            for kind, key, status in session.exec(
                select(OutboxMessage.kind, OutboxMessage.idempotency_key, OutboxMessage.status)
            ):
                result.emails_by_kind[kind] += 1
                result.emails_by_stage[stage_of(kind, key)] += 1
                result.outbox_status[str(status)] += 1
            result.overdue = overdue_kommunen(session, self.scenario.year, end)


CONFIRMED_BY = "Simulation (Referatsleitung)"  # the second person of four eyes


def decision_request(event: Decide) -> DecisionRequest:
    """The Fachreferat's decision of a scenario event (approvals grant 50,000 + 10,000 EUR)."""
    approved = event.outcome is DecisionOutcome.APPROVED
    return DecisionRequest(
        outcome=event.outcome, decided_by="Simulation (Fachreferat)",
        granted_personnel_eur=Decimal(50000) if approved else None,
        granted_material_eur=Decimal(10000) if approved else None, message=MESSAGES.get(event.outcome),
    )  # fmt: skip


def stage_of(kind: str, key: str) -> str:
    """``kind:stage`` for reminders and notices (the ``stage:`` part of the outbox key), else the kind."""
    stage = stage_in_key(key)
    return f"{kind}:{stage}" if stage else kind


def overdue_kommunen(session: Session, year: int, day: date) -> list[str]:
    """AGS of active Kommunen with a deliverable of ``year`` due before ``day`` and not received."""
    rows = session.exec(
        select(Kommune.ags)
        .join(Deliverable, col(Deliverable.kommune_id) == col(Kommune.id))
        .where(col(Deliverable.year) == year, col(Deliverable.received_on).is_(None), col(Deliverable.due_date) < day)
        .where(col(Deliverable.status) != DeliverableStatus.WAIVED)
        .group_by(col(Kommune.ags))
        .having(func.count() > 0)
        .order_by(col(Kommune.ags))
    )
    return list(rows)


def simulate_year(
    engine: Engine,
    settings: Settings,
    scenario: Scenario,
    *,
    kommunen: int,
    start: date | None = None,
    end: date | None = None,
    on_month: MonthCallback | None = None,
) -> SimulationResult:
    """Open the year on ``start`` (default 1 January) and simulate until ``end`` (default 31 December)."""
    simulation = Simulation(engine, settings, scenario, kommunen=kommunen)
    simulation.on_month = on_month
    return simulation.year(start, end)
