"""Coarse Prefect tasks of the 15-December cycle: a handful per flow run, whatever the number of Kommunen."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from kim_workflow.app import utc_now
from kim_workflow.core.domain import DeliverableKind, OutboxStatus
from kim_workflow.db.engine import session_scope
from kim_workflow.email import outbox
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.orchestration.context import current_app
from kim_workflow.orchestration.events import publish_pending_sync
from kim_workflow.services import status as status_service
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.notifications import record_submission_and_confirm
from kim_workflow.services.policies import load_policy
from kim_workflow.services.submissions import extend_deadline
from kim_workflow.services.sweep import open_years, sweep_day


def local_today() -> date:
    """Today in the programme's time zone (for scheduled runs that get no date)."""
    return utc_now().astimezone(current_app().settings.tz).date()


@task(name="plan-and-enqueue-reminders", retries=2, retry_delay_seconds=[5, 30])
def plan_and_enqueue(today: date, dry_run: bool = False) -> list[dict[str, Any]]:
    """One transaction: plan every open year's reminders for ``today`` and queue their emails."""
    kim = current_app()
    with session_scope(kim.engine) as session:
        sweeps = sweep_day(session, kim.settings, today=today, now=utc_now(), dry_run=dry_run)
        if dry_run:
            session.rollback()
    return [
        {
            "year": s.year,
            "planned": len(s.emails),
            "queued": s.queued,
            "stages": sorted({str(r.stage) for r in s.plan.reminders}),
            "escalation": s.plan.escalation is not None,
            "without_contact": s.without_contact,
        }
        for s in sweeps
    ]


@task(name="dispatch-outbox", retries=1, retry_delay_seconds=[10])
def dispatch_outbox() -> dict[str, Any]:
    """Send what is due; SMTP trouble is recorded per message, not raised."""
    kim = current_app()
    report = dispatch_sync(kim.engine, kim.settings, now=utc_now())
    return {k: v for k, v in asdict(report).items() if k != "worker_id"}


@task(name="publish-status-artifacts")
def publish_status_artifacts(today: date, years: list[int] | None = None) -> int:
    """Table ``kim-status-<year>`` and markdown ``kim-summary-<year>`` for each (open) year."""
    kim = current_app()
    with session_scope(kim.engine) as session:
        wanted = years if years is not None else open_years(session)
        matrices = {year: status_service.status_matrix(session, year=year, today=today) for year in wanted}
        failed = outbox.counts_by_status(session).get(OutboxStatus.FAILED, 0)
    for year, rows in matrices.items():
        create_table_artifact(
            key=f"kim-status-{year}",
            table=status_service.as_table(rows),
            description=f"Förderjahr {year}: Jahresbericht und Fragebogen je Kommune, Stand {today:%d.%m.%Y}",
        )
        summary = status_service.summary_markdown(rows, year=year, today=today)
        if failed:
            summary += f"\n**{failed} E-Mails endgültig fehlgeschlagen** (siehe `kim-outbox-failed`).\n"
        create_markdown_artifact(key=f"kim-summary-{year}", markdown=summary, description=f"Überblick {year}")
    return len(matrices)


@task(name="publish-sweep-report")
def publish_sweep_report(today: date, summaries: list[dict[str, Any]], dispatch: dict[str, Any] | None) -> None:
    lines = [f"# Tageslauf {today:%d.%m.%Y}", ""]
    for s in summaries:
        lines.append(
            f"- **{s['year']}**: {s['planned']} E-Mails geplant, {s['queued']} neu im Postausgang"
            + (f" (Stufen: {', '.join(s['stages'])})" if s["stages"] else "")
            + (", Eskalation an das Ministerium" if s["escalation"] else "")
        )
        if s["without_contact"]:
            lines.append(
                f"  - **Ohne aktive Ansprechperson (keine Erinnerung möglich):** {', '.join(s['without_contact'])}"
            )
    if dispatch is not None:
        lines.append(
            f"- Versand: {dispatch['sent']} gesendet, {dispatch['retried']} erneut geplant, "
            f"{dispatch['failed']} endgültig fehlgeschlagen, {dispatch['unknown']} ungeklärt"
        )
    create_markdown_artifact(key="kim-sweep", markdown="\n".join(lines) + "\n", description="Täglicher Lauf")


@task(name="publish-failed-emails")
def publish_failed_emails() -> int:
    """Table ``kim-outbox-failed``: every email that failed permanently or whose fate is unknown."""
    kim = current_app()
    with session_scope(kim.engine) as session:
        rows = [
            *outbox.list_messages(session, OutboxStatus.FAILED, limit=500),
            *outbox.list_messages(session, OutboxStatus.UNKNOWN, limit=500),
        ]
    table = [
        {
            "ID": m.id,
            "Art": m.kind,
            "Betreff": m.subject,
            "Status": m.status.value,
            "Versuche": m.attempts,
            "Fehler": (m.last_error or "")[:200],
        }
        for m in rows
    ]
    create_table_artifact(
        key="kim-outbox-failed", table=table, description=f"{len(table)} E-Mails brauchen Entscheidung"
    )
    return len(table)


@task(name="publish-events", retries=2, retry_delay_seconds=[2, 10])
def publish_events() -> int:
    """Mirror new domain events into Prefect events (what triggers react to)."""
    return publish_pending_sync(current_app().engine, now=utc_now())


@task(name="open-cycle")
def open_cycle_task(year: int, actor: str) -> dict[str, Any]:
    kim = current_app()
    with session_scope(kim.engine) as session:
        result = open_cycle(session, policy=load_policy(year, kim.settings.policy_dir), now=utc_now(), actor=actor)
    return asdict(result)


@task(name="record-submission")
def record_submission_task(
    ags: str, year: int, kind: DeliverableKind, received_on: date, today: date, actor: str
) -> dict[str, Any]:
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
    return {"newly_recorded": outcome.newly_recorded, "late": outcome.late, "kommune": outcome.kommune.name}


@task(name="extend-deadline")
def extend_deadline_task(ags: str, year: int, until: date, reason: str, actor: str) -> list[str]:
    kim = current_app()
    with session_scope(kim.engine) as session:
        outcome = extend_deadline(session, ags=ags, year=year, until=until, reason=reason, now=utc_now(), actor=actor)
    return [k.value for k in outcome.extended]
