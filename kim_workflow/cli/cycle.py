"""Commands of the 15-December cycle: open a year, record submissions, extend deadlines, show status."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from kim_workflow.cli.common import (
    Actor,
    Year,
    console,
    dispatch_now,
    parse_day,
    publish_events,
    ready_app,
    today_in,
    use_case,
    utc_now,
)
from kim_workflow.cli.errors import KimGroup
from kim_workflow.cli.lazy import lazy_module
from kim_workflow.core.domain import DeliverableKind

if TYPE_CHECKING:
    from kim_workflow.email import formatting
    from kim_workflow.services import cycles, deadline_notice, policies
    from kim_workflow.services import status as status_service
else:
    formatting = lazy_module("kim_workflow.email.formatting")
    cycles = lazy_module("kim_workflow.services.cycles")
    policies = lazy_module("kim_workflow.services.policies")
    status_service = lazy_module("kim_workflow.services.status")
    deadline_notice = lazy_module("kim_workflow.services.deadline_notice")

cycle_app = typer.Typer(cls=KimGroup, help="Förderjahre.", no_args_is_help=True)
submission_app = typer.Typer(cls=KimGroup, help="Eingänge von Jahresbericht und Fragebogen.", no_args_is_help=True)
deadline_app = typer.Typer(cls=KimGroup, help="Fristen.", no_args_is_help=True)


@cycle_app.command("open")
def cycle_open(year: Year, actor: Actor = "cli") -> None:
    """Open a funding year: Jahresbericht and Fragebogen for every Kommune that owes them (idempotent).

    Who owes them is the policy's ``[report] obligations``: Kommunen with an approved application (default) or
    every active Kommune; the second line says how many and why the others have none.
    """
    kim = ready_app()
    with use_case(kim) as session:
        policy = policies.load_policy(year, kim.settings.policy_dir)
        result = cycles.open_cycle(session, policy=policy, now=utc_now(), actor=actor)
    state = "eröffnet" if result.created_cycle else "war bereits eröffnet"
    duties = formatting.plural(result.created_deliverables, "Berichtspflicht", "Berichtspflichten")
    console.print(
        f"Förderjahr {year} {state}; {duties} "
        f"neu, Frist {formatting.format_date_short(date.fromisoformat(result.deadline))}."
    )
    console.print(result.obligations + ".")


@submission_app.command("record")
def submission_record(
    ags: Annotated[str, typer.Option(help="AGS der Kommune, z. B. 07315000")],
    year: Year,
    kind: Annotated[DeliverableKind, typer.Option(help="annual_report oder questionnaire")],
    received_on: Annotated[str, typer.Option("--received-on", help="Eingangsdatum JJJJ-MM-TT")],
    actor: Actor = "cli",
) -> None:
    """Record that a Kommune handed in its annual report or questionnaire (a second record is a no-op)."""
    from kim_workflow.services.notifications import record_submission_and_confirm

    kim = ready_app()
    day = parse_day(received_on, "--received-on")
    with use_case(kim) as session:
        outcome = record_submission_and_confirm(
            session, kim.settings, ags=ags, year=year, kind=kind, received_on=day, today=today_in(kim),
            now=utc_now(), actor=actor,
        )  # fmt: skip
    what = f"{kind.label_de} von {outcome.kommune.name}"
    if not outcome.newly_recorded:
        console.print(f"{what} war bereits am {outcome.deliverable.received_on:%d.%m.%Y} erfasst; nichts geändert.")
        return
    console.print(
        f"{what} erfasst ({'verspätet' if outcome.late else 'fristgerecht'}); Bestätigung liegt im Postausgang.",
        highlight=False,
    )
    if outcome.remark:
        console.print(f"Vermerk: {outcome.remark}", highlight=False)
    publish_events(kim)


@deadline_app.command("extend")
def deadline_extend(
    ags: Annotated[str, typer.Option(help="AGS der Kommune")],
    year: Year,
    until: Annotated[str, typer.Option(help="Neue Frist JJJJ-MM-TT")],
    reason: Annotated[str, typer.Option(help="Grund der Änderung (Pflicht, wird protokolliert)")],
    actor: Actor = "cli",
) -> None:
    """Move one Kommune's due date and notify the Kommune; the reminder ladder re-plans from the new date."""
    kim = ready_app()
    day = parse_day(until, "--until")
    with use_case(kim) as session:
        outcome = deadline_notice.extend_deadline_and_notify(
            session, kim.settings, ags=ags, year=year, until=day, reason=reason, now=utc_now(), actor=actor
        )
    if not outcome.extended:
        console.print(f"Frist für {outcome.kommune.name} war schon bis {day:%d.%m.%Y} gesetzt; nichts geändert.")
        return
    kinds = ", ".join(k.label_de for k in outcome.extended)
    change = "verkürzt" if outcome.shortened else "verlängert"
    notice = "liegt im Postausgang" if outcome.notice_queued else "nicht möglich (keine aktive Ansprechperson)"
    previous = f"Bisherige Frist {outcome.previous:%d.%m.%Y}; " if outcome.previous else ""
    console.print(f"{previous}Mitteilung an die Kommune mit neuem Kalendereintrag: {notice}.", highlight=False)
    console.print(f"Frist für {outcome.kommune.name} bis {day:%d.%m.%Y} {change}: {kinds}.", highlight=False)
    publish_events(kim)


def status(
    year: Year,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Als CSV in diese Datei exportieren")] = None,
) -> None:
    """The year's status matrix: one row per Kommune."""
    kim = ready_app()
    today = today_in(kim)
    with use_case(kim) as session:
        rows = status_service.status_matrix(session, year=year, today=today)
    if csv_file is not None:
        csv_file.write_text(status_service.to_csv(rows), encoding="utf-8")  # OSError: German message, exit 2
        console.print(f"{len(rows)} Zeilen nach {csv_file} exportiert.")
        return
    table = Table(title=f"Förderjahr {year}, Stand {today:%d.%m.%Y}")
    for column in status_service.COLUMNS_DE.values():
        table.add_column(column)
    for row in status_service.as_table(rows):
        table.add_row(*(escape(str(v)) for v in row.values()))
    console.print(table)
    console.print(status_service.summary_markdown(rows, year=year, today=today).split("\n", 2)[2])


def sweep(
    today: Annotated[str | None, typer.Option(help="Stichtag JJJJ-MM-TT (Standard: heute)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Nur anzeigen, wer was bekäme; nichts ändern")] = False,
) -> None:
    """The daily sweep for one day: plan, queue and send reminders (the same logic as the daily deployment)."""
    from kim_workflow.services.sweep import sweep_day

    kim = ready_app()
    day = parse_day(today, "--today") if today is not None else today_in(kim)
    with use_case(kim) as session:
        sweeps = sweep_day(session, kim.settings, today=day, now=utc_now(), dry_run=dry_run)
        if dry_run:
            session.rollback()
    for result in sweeps:
        _print_sweep(result, dry_run=dry_run)
    if not sweeps:
        console.print("Kein offenes Förderjahr.")
    if dry_run:
        return
    dispatch_now(kim)
    publish_events(kim)


def _print_sweep(result: Any, *, dry_run: bool) -> None:
    emails = formatting.plural(len(result.emails), "E-Mail", "E-Mails")
    title = f"Förderjahr {result.year}: {emails} " + ("würden geplant" if dry_run else "geplant")
    table = Table(title=title)
    for column in ("Art", "An", "Cc", "Betreff"):
        table.add_column(column)
    for email in result.emails:
        table.add_row(*(escape(cell) for cell in (email.kind, email.recipient, ", ".join(email.cc), email.subject)))
    console.print(table)
    if not dry_run:
        console.print(f"{result.queued} davon neu im Postausgang (der Rest war schon geplant).")
    for entry in result.without_contact:
        console.print(f"[yellow]Ohne aktive Ansprechperson, keine Erinnerung möglich:[/] {entry}")
