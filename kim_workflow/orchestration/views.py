"""The Prefect artifacts operators read, built in one place and refreshed after every state change.

Whoever hands new domain events to Prefect (a flow's ``publish-events`` task, or the relay of ``kim up`` for
changes made by the CLI) calls :func:`refresh_after`, so a view is never older than the last change, wherever that
change came from. Each builder reads the database once and writes one artifact with a stable key.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from sqlalchemy.engine import Engine

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.db.engine import session_scope
from kim_workflow.email import outbox
from kim_workflow.services import applications as application_service
from kim_workflow.services import meetings as meeting_service
from kim_workflow.services import status as status_service
from kim_workflow.services.registry import kommunen_without_manager
from kim_workflow.services.sweep import open_years
from kim_workflow.settings import Settings

# kim up's relay and the CLI refresh views outside a flow run: Prefect 3.9 supports that but warns about it.
warnings.filterwarnings("ignore", message="Artifact creation outside of a flow", category=FutureWarning)

REGISTRY_GAPS_KEY = "kim-registry-gaps"
OUTBOX_PROBLEMS_KEY = "kim-outbox-failed"


@dataclass(frozen=True)
class Change:
    """What a published domain event says changed (action and funding year)."""

    action: str
    year: int | None


def refresh_after(engine: Engine, settings: Settings, changes: Iterable[Change], *, now: datetime) -> list[str]:
    """Rebuild every artifact the changes touch; return their keys (for logs and tests)."""
    changes = list(changes)
    actions = {c.action for c in changes}
    today = now.astimezone(settings.tz).date()
    keys: list[str] = []
    status_years = {c.year for c in changes if c.year is not None and c.action in _STATUS_ACTIONS}
    if actions & _REGISTRY_ACTIONS:  # contacts decide who is reachable: the registry and every open year's status
        keys.append(publish_registry_gaps(engine))
        keys += publish_status(engine, today=today, years=None, portal_url=settings.portal_base_url)
    elif status_years:
        keys += publish_status(engine, today=today, years=sorted(status_years), portal_url=settings.portal_base_url)
    application_years = {c.year for c in changes if c.year is not None and c.action.startswith("kim.application.")}
    if application_years:
        keys += publish_applications(engine, years=sorted(application_years))
    meeting_years = {c.year for c in changes if c.year is not None and c.action.startswith("kim.meeting.")}
    if meeting_years:
        keys += publish_meetings(engine, settings, years=sorted(meeting_years), now=now)
    evaluation_years = {c.year for c in changes if c.year is not None and c.action in EVALUATION_ACTIONS}
    if evaluation_years:
        keys += publish_evaluation(engine, settings, years=sorted(evaluation_years), now=now)
    if actions & {"kim.email.failed", "kim.outbox.resent", "kim.outbox.dismissed", "kim.email.unknown"}:
        keys.append(publish_outbox_problems(engine))
    return keys


EVALUATION_ACTIONS = frozenset({"kim.questionnaire.submitted", "kim.questionnaire.corrected"})
"""Answers that count in the evaluation changed: ``kim-evaluation-<year>`` is rebuilt."""
_REGISTRY_ACTIONS = {
    "kim.contacts.imported", "kim.contact.created", "kim.contact.changed", "kim.contact.activated",
    "kim.contact.deactivated", "kim.registry.seeded",
}  # fmt: skip
_STATUS_ACTIONS = {
    "kim.cycle.opened",
    "kim.submission.received",
    "kim.deadline.extended",
    "kim.email.failed",
    *(f"kim.obligations.{change}" for change in ("created", "waived", "restored")),  # a decision changed them
}


def registry_gaps(engine: Engine) -> list[dict[str, str]]:
    """Active Kommunen with no active integration manager (AGS and name only: no personal data)."""
    with session_scope(engine) as session:
        return [{"AGS": k.ags, "Kommune": k.name, "Art": k.kind} for k in kommunen_without_manager(session)]


def write_registry_gaps(gaps: list[dict[str, str]]) -> str:
    """Table ``kim-registry-gaps`` with a stable key, so the UI keeps its history."""
    description = (
        f"{len(gaps)} aktive Kommunen ohne aktive Ansprechperson im Integrationsmanagement"
        if gaps
        else "Alle aktiven Kommunen haben eine aktive Ansprechperson im Integrationsmanagement."
    )
    create_table_artifact(key=REGISTRY_GAPS_KEY, table=gaps, description=description)
    return REGISTRY_GAPS_KEY


def publish_registry_gaps(engine: Engine) -> str:
    return write_registry_gaps(registry_gaps(engine))


def portal_page(portal_url: str, year: int, ags: str) -> str:
    """The ministry's view of a Kommune's page in the portal."""
    return f"{portal_url}/ministerium/jahr/{year}/kommune/{ags}"


def publish_status(engine: Engine, *, today: date, years: list[int] | None, portal_url: str | None = None) -> list[str]:
    """Table ``kim-status-<year>`` and markdown ``kim-summary-<year>`` for ``years`` (default: every open year).

    With ``portal_url`` each row links to the Kommune's page in the portal (column "Portal", and in the summary).
    """
    with session_scope(engine) as session:
        wanted = years if years is not None else open_years(session)
        matrices = {year: status_service.status_matrix(session, year=year, today=today) for year in wanted}
        counts = outbox.counts_by_status(session)
    problems = counts.get(OutboxStatus.FAILED, 0) + counts.get(OutboxStatus.UNKNOWN, 0)
    keys = []
    for year, rows in matrices.items():
        table = status_service.as_table(rows)
        if portal_url:
            for row, status_row in zip(table, rows, strict=True):
                row["Portal"] = portal_page(portal_url, year, status_row.ags)
        create_table_artifact(
            key=f"kim-status-{year}",
            table=table,
            description=f"Förderjahr {year}: Jahresbericht und Fragebogen je Kommune, Stand {today:%d.%m.%Y}",
        )
        summary = status_service.summary_markdown(rows, year=year, today=today)
        if problems:
            summary += (
                f"\n**Zustellprobleme im Postausgang: {problems}** (fehlgeschlagen oder ungeklärt, "
                f"siehe `{OUTBOX_PROBLEMS_KEY}`).\n"
            )
        if portal_url:
            summary += (
                f"\n[Eingänge {year} im Portal]({portal_url}/ministerium/jahr/{year}) · "
                + " · ".join(f"[{r.ags}]({portal_page(portal_url, year, r.ags)})" for r in rows)
                + "\n"
            )
        create_markdown_artifact(key=f"kim-summary-{year}", markdown=summary, description=f"Überblick {year}")
        keys += [f"kim-status-{year}", f"kim-summary-{year}"]
    return keys


def publish_applications(engine: Engine, *, years: list[int]) -> list[str]:
    """Table ``kim-applications-<year>``: status, VZÄ, requested and granted amounts per Kommune."""
    with session_scope(engine) as session:
        overviews = {year: application_service.overview(session, year=year) for year in sorted(set(years))}
    for year, rows in overviews.items():
        create_table_artifact(
            key=f"kim-applications-{year}",
            table=application_service.as_table(rows),
            description=application_service.description(rows, year=year),
        )
    return [f"kim-applications-{year}" for year in overviews]


def publish_meetings(engine: Engine, settings: Settings, *, years: list[int], now: datetime) -> list[str]:
    """Markdown ``kim-meetings-<year>``: the year's meetings with place, status, invited and attending counts."""
    from kim_workflow.orchestration.meeting_markdown import meetings_markdown

    with session_scope(engine) as session:
        overviews = {year: meeting_service.overview(session, year) for year in sorted(set(years))}
    for year, rows in overviews.items():
        markdown = meetings_markdown(rows, year=year, tz=settings.timezone, now=now)
        create_markdown_artifact(key=f"kim-meetings-{year}", markdown=markdown, description=f"Termine {year}")
    return [f"kim-meetings-{year}" for year in overviews]


def evaluation_key(year: int) -> str:
    return f"kim-evaluation-{year}"


def publish_evaluation(engine: Engine, settings: Settings, *, years: list[int], now: datetime) -> list[str]:
    """Markdown ``kim-evaluation-<year>``: response and one line per question of the year's evaluation."""
    from kim_workflow.core.evaluation_markdown import evaluation_markdown
    from kim_workflow.services.evaluation import evaluate_year

    today = now.astimezone(settings.tz).date()
    with session_scope(engine) as session:
        evaluations = [evaluate_year(session, year=y, questionnaire_dir=settings.questionnaire_dir) for y in years]
    for evaluation in evaluations:
        create_markdown_artifact(
            key=evaluation_key(evaluation.year),
            markdown=evaluation_markdown(evaluation, today=today),
            description=f"Auswertung Fragebogen {evaluation.year}",
        )
    return [evaluation_key(e.year) for e in evaluations]


def publish_outbox_problems(engine: Engine) -> str:
    """Table ``kim-outbox-failed``: every email that failed permanently or whose fate is unknown (may be empty)."""
    with session_scope(engine) as session:
        rows = [
            *outbox.list_messages(session, OutboxStatus.FAILED, limit=500),
            *outbox.list_messages(session, OutboxStatus.UNKNOWN, limit=500),
        ]
    table = [
        {
            "ID": m.id,
            "Art": m.kind,
            "Betreff": m.subject,
            "Status": _OUTBOX_LABELS.get(m.status, m.status.value),
            "Versuche": m.attempts,
            "Fehler": (m.last_error or "")[:200],
        }
        for m in rows
    ]
    description = (
        f"{len(table)} E-Mails brauchen eine Entscheidung (kim outbox resend / dismiss)"
        if table
        else "Keine fehlgeschlagenen oder ungeklärten E-Mails."
    )
    create_table_artifact(key=OUTBOX_PROBLEMS_KEY, table=table, description=description)
    return OUTBOX_PROBLEMS_KEY


_OUTBOX_LABELS = {OutboxStatus.FAILED: "fehlgeschlagen", OutboxStatus.UNKNOWN: "ungeklärt"}
