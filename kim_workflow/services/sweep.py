"""The daily sweep of the 15-December cycle: load state, plan with the pure ladder, render, key, enqueue."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from kim_workflow.core.domain import ContactRole, CycleStatus
from kim_workflow.core.ladder import parse_stages
from kim_workflow.core.policy import YearPolicy
from kim_workflow.core.reminders import (
    DeliverableState,
    KommuneDeliverables,
    ReminderPlan,
    SentStage,
    Stage,
    StageKind,
    kommune_ladder,
    plan_reminders,
)
from kim_workflow.db.models import Contact, Cycle, Deliverable, Kommune
from kim_workflow.db.reminder_log import ReminderScope
from kim_workflow.email.outbox import NewEmail
from kim_workflow.services.lookups import split_recipients
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.services.policies import load_policy
from kim_workflow.services.portal_links import LinkMinter
from kim_workflow.services.questionnaire_workbook import workbook_attachment
from kim_workflow.services.reminder_ladder import all_covered, log_and_queue, logged, sent_stages, stage_rows
from kim_workflow.services.sweep_emails import ReminderComposer
from kim_workflow.services.sweep_state import load_state, owed
from kim_workflow.settings import Settings

ESCALATION_REF = "ministry"
ESCALATION_STAGE = "escalation"


@dataclass
class YearSweep:
    """What one sweep planned (and, unless dry, queued) for one funding year."""

    year: int
    plan: ReminderPlan
    emails: list[NewEmail] = field(default_factory=list)
    log_rows: list[dict[str, Any]] = field(default_factory=list)
    kommune_names: dict[str, str] = field(default_factory=dict)
    queued: int = 0
    links: LinkMinter | None = None

    @property
    def without_contact(self) -> list[str]:
        return [f"{ags} {self.kommune_names.get(ags, '')}".strip() for ags in self.plan.without_contact]


def open_years(session: Session) -> list[int]:
    return list(session.exec(select(Cycle.year).where(col(Cycle.status) == CycleStatus.OPEN).order_by(col(Cycle.year))))


def plan_year(session: Session, settings: Settings, *, policy: YearPolicy, today: date, now: datetime) -> YearSweep:
    """Read the year's state (four queries), plan with the pure ladder and compose every email."""
    year = policy.year
    state = load_state(session, year)
    sent, escalated = _sent_stages(session, year)
    kommunen = [
        KommuneDeliverables(
            ags=ags,
            name=state.kommunen[ags].name,
            deliverables=tuple(DeliverableState(d.kind, d.due_date, d.received_on) for d in rows),
            sent=frozenset(sent.get(ags, ())),
            has_active_contact=bool(split_recipients(state.contacts.get(state.kommunen[ags].id, []))[0]),
        )
        for ags, rows in state.deliverables.items()
    ]
    plan = plan_reminders(today, policy.report, kommunen, escalation_sent_for=frozenset(escalated))
    links = LinkMinter(settings.portal_base_url, policy, settings.tz, now)
    sweep = YearSweep(year, plan, kommune_names={ags: k.name for ags, k in state.kommunen.items()}, links=links)
    workbook = None
    if policy.report.attach_questionnaire_workbook:
        workbook = partial(workbook_attachment, session, settings, year=year, now=now)
    composer = ReminderComposer(Mailer(settings), year, today, now, state, links=links, workbook=workbook)
    for reminder in plan.reminders:
        sweep.emails.append(composer.reminder(reminder))
        sweep.log_rows += stage_rows(
            scope=ReminderScope.DELIVERABLE, ref=reminder.ags, year=year, due=reminder.due_date,
            stages=[str(reminder.stage)], today=today, now=now,
        )  # fmt: skip
    if plan.escalation is not None:
        to = [Recipient.of(c) for c in _ministry_contacts(session)] or [Recipient(settings.ministry_escalation_address)]
        cc = [Recipient(address) for address in policy.report.escalation_cc]
        sweep.emails.append(composer.escalation(plan.escalation, to, cc))
        for due in plan.escalation.due_dates:
            sweep.log_rows += stage_rows(
                scope=ReminderScope.ESCALATION, ref=ESCALATION_REF, year=year, due=due, stages=[ESCALATION_STAGE],
                today=today, now=now,
            )  # fmt: skip
    return sweep


def apply_year(session: Session, sweep: YearSweep, *, now: datetime, sender_domain: str) -> int:
    """Record the planned stages and queue their emails in the caller's transaction; return how many are new.

    The portal links go in first, ignoring those of emails already queued (see ``services/portal_links.py``).
    """
    if sweep.links is not None:
        sweep.links.store(session)
    sweep.queued = log_and_queue(
        session, log_rows=sweep.log_rows, emails=sweep.emails, now=now, sender_domain=sender_domain
    )
    return sweep.queued


def sweep_day(
    session: Session, settings: Settings, *, today: date, now: datetime, dry_run: bool = False
) -> list[YearSweep]:
    """Plan (and unless ``dry_run`` queue) the day's reminders of every open funding year."""
    results = []
    for year in open_years(session):
        policy = load_policy(year, settings.policy_dir)
        if nothing_due(session, policy=policy, today=today):
            results.append(YearSweep(year, ReminderPlan((), None, ())))
            continue
        sweep = plan_year(session, settings, policy=policy, today=today, now=now)
        if not dry_run:
            apply_year(session, sweep, now=now, sender_domain=Mailer(settings).sender_domain)
        results.append(sweep)
    return results


def nothing_due(session: Session, *, policy: YearPolicy, today: date) -> bool:
    """A cheap check (a few ``EXISTS`` queries) that spares the full load on the many days with nothing to send.

    True when, for every outstanding due date, no stage is due yet, or every Kommune with that due date has a
    stage covering the latest due one logged (``Ladder.covering``) and the escalation, if due, was logged too.
    """
    year, rungs = policy.year, kommune_ladder(policy.report)
    escalation = Stage(StageKind.ESCALATION, policy.report.escalation_days_after)
    outstanding = sa.select(col(Deliverable.due_date)).where(
        col(Deliverable.year) == year, col(Deliverable.received_on).is_(None), owed()
    )
    for due in session.connection().execute(outstanding.distinct()).scalars():
        covering = rungs.covering(due, today)
        if covering is None:
            continue
        kommunen = (
            sa.select(col(Kommune.ags))
            .join(Deliverable, col(Deliverable.kommune_id) == col(Kommune.id))
            .where(
                col(Deliverable.year) == year,
                col(Deliverable.received_on).is_(None),
                col(Deliverable.due_date) == due,
                owed(),
            )
        )
        scope = ReminderScope.DELIVERABLE
        if not all_covered(session, kommunen, scope=scope, year=year, due=due, stage_groups=[covering]):
            return False
        if escalation.date_for(due) <= today and not _escalated(session, year, due):
            return False
    return True


def _escalated(session: Session, year: int, due: date) -> bool:
    """Whether the digest for ``due`` was logged (under ``ESCALATION_STAGE``; any stage counts)."""
    query = sa.select(logged(scope=ReminderScope.ESCALATION, year=year, due=due, ref=ESCALATION_REF))
    return bool(session.connection().execute(query).scalar_one())


def _ministry_contacts(session: Session) -> list[Contact]:
    """The registry's active contacts with role ``ministry``, in the order they were added."""
    query = select(Contact).where(col(Contact.active), col(Contact.role) == ContactRole.MINISTRY)
    return list(session.exec(query.order_by(col(Contact.id))))


def _sent_stages(session: Session, year: int) -> tuple[dict[str, set[SentStage]], set[date]]:
    sent: dict[str, set[SentStage]] = defaultdict(set)
    escalated: set[date] = set()
    scopes = (ReminderScope.DELIVERABLE, ReminderScope.ESCALATION)
    for (scope, ref, due), stages in sent_stages(session, scopes=scopes, years=[year]).items():
        if scope is ReminderScope.ESCALATION:
            escalated.add(due)
        else:
            sent[ref] |= {(stage, due) for stage in parse_stages(stages)}
    return sent, escalated
