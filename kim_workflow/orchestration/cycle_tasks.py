"""Coarse Prefect tasks of the 15-December cycle: a handful per flow run, whatever the number of Kommunen."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from kim_workflow.app import utc_now
from kim_workflow.core.domain import DeliverableKind
from kim_workflow.db.engine import session_scope
from kim_workflow.orchestration import views
from kim_workflow.orchestration.context import current_app
from kim_workflow.orchestration.events import publish_and_refresh
from kim_workflow.orchestration.limits import dispatch_slot
from kim_workflow.orchestration.outcomes import retry_unless_bad_input
from kim_workflow.orchestration.results import DispatchSummary, SubmissionSummary, SweepSummary
from kim_workflow.services.cycles import OpenCycleResult, open_cycle
from kim_workflow.services.deadline_notice import extend_deadline_and_notify
from kim_workflow.services.delivery_problems import dispatch_and_report
from kim_workflow.services.notifications import record_submission_and_confirm
from kim_workflow.services.policies import load_policy
from kim_workflow.services.sweep import sweep_day


def local_today() -> date:
    """Today in the programme's time zone (for scheduled runs that get no date)."""
    return utc_now().astimezone(current_app().settings.tz).date()


@task(
    name="plan-and-enqueue-reminders", retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_unless_bad_input
)
def plan_and_enqueue(today: date, dry_run: bool = False) -> list[SweepSummary]:
    """One transaction: plan every open year's reminders for ``today`` and queue their emails."""
    kim = current_app()
    with session_scope(kim.engine) as session:
        sweeps = sweep_day(session, kim.settings, today=today, now=utc_now(), dry_run=dry_run)
        if dry_run:
            session.rollback()
    return [
        SweepSummary(
            year=s.year,
            planned=len(s.emails),
            queued=s.queued,
            stages=sorted({str(r.stage) for r in s.plan.reminders}),
            escalation=s.plan.escalation is not None,
            without_contact=list(s.without_contact),
        )
        for s in sweeps
    ]


@task(name="dispatch-outbox", retries=1, retry_delay_seconds=[10])
def dispatch_outbox() -> DispatchSummary:
    """Send what is due; SMTP trouble is recorded per message, not raised. New problems are logged by name,
    reported to the ministry (one digest) and listed in ``kim-outbox-failed``."""
    kim = current_app()
    with dispatch_slot(kim.settings):
        delivery = dispatch_and_report(kim.engine, kim.settings, now=utc_now())
    if delivery.problems:
        get_run_logger().warning(
            "Nicht zugestellt:\n%s", "\n".join(delivery.problem_lines()), extra={"send_to_api": True}
        )
    if delivery.problems or delivery.undelivered:
        views.publish_outbox_problems(kim.engine)
    report = delivery.report
    return DispatchSummary(
        claimed=report.claimed, sent=report.sent, retried=report.retried, released=report.released,
        failed=report.failed, unknown=report.unknown, recovered_stale=report.recovered_stale,
        released_stale=report.released_stale, disabled=report.disabled, errors=list(report.errors),
        undelivered=delivery.undelivered, problems=delivery.problem_lines(),
    )  # fmt: skip


@task(name="publish-status-artifacts")
def publish_status_artifacts(today: date, years: list[int] | None = None) -> int:
    """Table ``kim-status-<year>`` and markdown ``kim-summary-<year>`` for each (open) year."""
    app = current_app()
    portal_url = app.settings.portal_base_url
    return len(views.publish_status(app.engine, today=today, years=years, portal_url=portal_url)) // 2


@task(name="publish-sweep-report")
def publish_sweep_report(today: date, summaries: list[SweepSummary], dispatch: DispatchSummary | None) -> None:
    lines = [f"# Tageslauf {today:%d.%m.%Y}", ""]
    for s in summaries:
        lines.append(
            f"- **{s.year}**: {s.planned} E-Mails geplant, {s.queued} neu im Postausgang"
            + (f" (Stufen: {', '.join(s.stages)})" if s.stages else "")
            + (", Eskalation an das Ministerium" if s.escalation else "")
        )
        if s.without_contact:
            lines.append(
                f"  - **Ohne aktive Ansprechperson (keine Erinnerung möglich):** {', '.join(s.without_contact)}"
            )
    if dispatch is not None:
        lines.append(
            f"- Versand: {dispatch.sent} gesendet, {dispatch.retried} erneut geplant, "
            f"{dispatch.failed} endgültig fehlgeschlagen, {dispatch.unknown} ungeklärt"
        )
    create_markdown_artifact(key="kim-sweep", markdown="\n".join(lines) + "\n", description="Täglicher Lauf")


@task(name="publish-failed-emails")
def publish_failed_emails() -> None:
    """Table ``kim-outbox-failed``: every email that failed permanently or whose fate is unknown."""
    views.publish_outbox_problems(current_app().engine)


@task(name="publish-events", retries=2, retry_delay_seconds=[2, 10])
def publish_events() -> int:
    """Mirror new domain events into Prefect events (what triggers react to) and refresh the views they touch."""
    kim = current_app()
    return publish_and_refresh(kim.engine, kim.settings, now=utc_now())


@task(name="open-cycle")
def open_cycle_task(year: int, actor: str) -> OpenCycleResult:
    kim = current_app()
    with session_scope(kim.engine) as session:
        result = open_cycle(session, policy=load_policy(year, kim.settings.policy_dir), now=utc_now(), actor=actor)
    get_run_logger().info("Förderjahr %s: %s neue Berichtspflichten. %s.", year, result.created_deliverables,
                          result.obligations)  # fmt: skip
    return result


@task(name="record-submission")
def record_submission_task(
    ags: str, year: int, kind: DeliverableKind, received_on: date, today: date, actor: str
) -> SubmissionSummary:
    kim = current_app()
    with session_scope(kim.engine) as session:
        outcome = record_submission_and_confirm(
            session,
            kim.settings,
            ags=ags,
            year=year,
            kind=kind,
            received_on=received_on,
            today=today,
            now=utc_now(),
            actor=actor,
        )
        return SubmissionSummary(outcome.newly_recorded, outcome.late, outcome.kommune.name, outcome.remark)


@task(name="extend-deadline")
def extend_deadline_task(ags: str, year: int, until: date, reason: str, actor: str) -> list[str]:
    kim = current_app()
    with session_scope(kim.engine) as session:
        outcome = extend_deadline_and_notify(
            session, kim.settings, ags=ags, year=year, until=until, reason=reason, now=utc_now(), actor=actor
        )
    return [k.value for k in outcome.extended]
