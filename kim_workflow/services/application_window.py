"""The application window of each open funding year: call for applications and reminders before the deadline.

Idempotent twice over: every planned stage is recorded in ``reminder_log`` (scope ``application``) and every
email carries an outbox key per Kommune, year and stage, so a second run on the same day queues nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from kim_workflow.core.application_window import CALL, WindowEmail, WindowKommune, covering, plan_window
from kim_workflow.core.domain import ApplicationStatus
from kim_workflow.core.policy import YearPolicy
from kim_workflow.core.registry import display_name
from kim_workflow.db.models import Application, Contact, Kommune
from kim_workflow.db.reminder_log import ReminderScope
from kim_workflow.email.keys import application_ref, kommune_recipient, stage_occasion
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.outbox import NewEmail
from kim_workflow.services.lookups import active_contacts_by_kommune, split_recipients
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.services.policies import load_funding_rules, load_policy
from kim_workflow.services.portal_links import LinkMinter
from kim_workflow.services.reminder_ladder import all_covered, log_and_queue, sent_stages, stage_rows
from kim_workflow.services.sweep import open_years
from kim_workflow.settings import Settings

REQUIRED_DOCUMENTS = (
    "Antrag mit Angaben zu Personal (Stellenanteile in VZÄ), Personal- und Sachkosten",
    "Stellenbeschreibung der Integrationsmanagerin bzw. des Integrationsmanagers",
    "Bestätigung, dass die Stelle in der Kommunalverwaltung angesiedelt ist",
)


@dataclass
class WindowRun:
    """What one run planned and queued for one funding year."""

    year: int
    calls: int = 0
    reminders: int = 0
    queued: int = 0
    stages: list[str] = field(default_factory=list)
    without_contact: list[str] = field(default_factory=list)


def run_window(session: Session, settings: Settings, *, today: date, now: datetime) -> list[WindowRun]:
    """Plan and queue the day's calls and reminders of every open funding year (in the caller's transaction)."""
    return [
        window_year(session, settings, policy=load_policy(year, settings.policy_dir), today=today, now=now)
        for year in open_years(session)
    ]


def window_year(session: Session, settings: Settings, *, policy: YearPolicy, today: date, now: datetime) -> WindowRun:
    year, deadline = policy.year, policy.application_window.application_deadline
    if not policy.application_window.call_date <= today <= deadline:
        return WindowRun(year)  # outside the window nothing is ever sent: spare the queries
    if nothing_due(session, policy=policy, today=today):
        return WindowRun(year)
    kommunen = {k.ags: k for k in session.exec(select(Kommune).where(col(Kommune.active)).order_by(col(Kommune.ags)))}
    applied = set(
        session.exec(
            select(Application.kommune_id).where(
                col(Application.year) == year, col(Application.status) != ApplicationStatus.DRAFT
            )
        )
    )
    sent = sent_stages(session, scopes=[ReminderScope.APPLICATION], years=[year], due_dates=[deadline])
    states = [
        WindowKommune(ags, k.id in applied, frozenset(sent.get((ReminderScope.APPLICATION, ags, deadline), ())))
        for ags, k in kommunen.items()
    ]
    contacts = active_contacts_by_kommune(session)
    run, emails, log_rows = WindowRun(year), [], []
    links = LinkMinter(settings.portal_base_url, policy, settings.tz, now)
    composer = _Composer(Mailer(settings), policy, today, links)
    for planned in plan_window(today, policy.application_window, states):
        kommune = kommunen[planned.ags]
        to, cc = split_recipients(contacts.get(kommune.id or 0, []))
        if not to:
            run.without_contact.append(f"{kommune.ags} {kommune.name}")
            continue
        emails.append(composer.email(planned, kommune, to, cc))
        log_rows += stage_rows(
            scope=ReminderScope.APPLICATION,
            ref=planned.ags,
            year=year,
            due=deadline,
            stages=planned.log,
            today=today,
            now=now,
        )
        run.calls += planned.is_call
        run.reminders += not planned.is_call
        run.stages.append(planned.log[0])
    run.stages = sorted(set(run.stages))
    links.store(session)  # before the emails: a link of an email already queued is left out with it
    run.queued = log_and_queue(
        session, log_rows=log_rows, emails=emails, now=now, sender_domain=Mailer(settings).sender_domain
    )
    return run


def nothing_due(session: Session, *, policy: YearPolicy, today: date) -> bool:
    """One query that spares the full load on most days of the window: True when every active Kommune without an
    application has the call logged and a stage covering the latest due reminder, so ``plan_window`` finds nothing.
    """
    year, window = policy.year, policy.application_window
    applied = sa.exists().where(
        col(Application.kommune_id) == col(Kommune.id),
        col(Application.year) == year,
        col(Application.status) != ApplicationStatus.DRAFT,
    )
    waiting = sa.select(col(Kommune.ags)).where(col(Kommune.active), ~applied)
    reminder = covering(window, today)
    groups = [(CALL,), *([reminder] if reminder is not None else [])]
    return all_covered(
        session, waiting, scope=ReminderScope.APPLICATION, year=year,
        due=window.application_deadline, stage_groups=groups,
    )  # fmt: skip


@dataclass(frozen=True)
class _Composer:
    mailer: Mailer
    policy: YearPolicy
    today: date
    links: LinkMinter

    def email(self, planned: WindowEmail, kommune: Kommune, to: list[Contact], cc: list[Contact]) -> NewEmail:
        window, year = self.policy.application_window, self.policy.year
        context: dict[str, Any] = {
            "kommune_name": display_name(kommune.name, kommune.kind),
            "funding_year": year,
            "application_deadline": window.application_deadline,
            "submission_address": self.mailer.submission_address,
        }
        if planned.stage is None:
            rules = load_funding_rules(self.policy)
            kind = MessageKind.CALL_FOR_APPLICATIONS
            context |= {"max_personnel_amount": rules.max_personnel_eur, "max_material_amount": rules.max_material_eur,
                        "required_documents": list(REQUIRED_DOCUMENTS)}  # fmt: skip
        else:
            kind = MessageKind.APPLICATION_REMINDER
            context["days_remaining"] = (window.application_deadline - self.today).days
        keyed: dict[str, Any] = {
            "subject_ref": application_ref(kommune.ags, year),
            "occasion": stage_occasion(planned.log[0], window.application_deadline),
            "key_recipient": kommune_recipient(kommune.ags),
            "to": [Recipient.of(c) for c in to],
        }
        if planned.stage is None:  # the call carries the recipient's personal portal link
            context["portal_link"] = self.links.link_for(to[0], issued_for=self.mailer.key_for(kind, **keyed))
        return self.mailer.compose(kind, **keyed, cc=[Recipient.of(c) for c in cc], context=context)
