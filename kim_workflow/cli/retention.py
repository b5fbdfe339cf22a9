"""``kim retention apply``: delete or pseudonymise personal data whose retention period has ended."""

from __future__ import annotations

from typing import Annotated

import typer

from kim_workflow.cli.common import console, parse_day, ready_app, today_in, use_case, utc_now

retention_app = typer.Typer(help="Aufbewahrungsfristen (Datenschutz): abgelaufene personenbezogene Daten löschen.")


@retention_app.command("apply")
def apply(
    today: Annotated[str | None, typer.Option(help="Stichtag JJJJ-MM-TT (Standard: heute)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Nur zählen, was fällig ist; nichts ändern")] = False,
) -> None:
    """Kontakte pseudonymisieren, E-Mail-Inhalte und hochgeladene Dateien abgeschlossener Jahre löschen."""
    from kim_workflow.services.retention import apply_retention

    kim = ready_app()
    day = parse_day(today, "--today") if today is not None else today_in(kim)
    with use_case(kim) as session:
        run = apply_retention(session, kim.settings, today=day, now=utc_now(), dry_run=dry_run)
        if dry_run:
            session.rollback()
    counts = run.counts
    verb = "würden" if dry_run else "wurden"
    years = ", ".join(str(y) for y in counts.upload_years) or "keine"
    console.print(
        f"Stichtag {day:%d.%m.%Y}: {counts.contacts_pseudonymised} Kontakte {verb} pseudonymisiert, "
        f"{counts.emails_scrubbed} E-Mail-Inhalte {verb} gelöscht, {counts.upload_files_deleted} Dateien {verb} "
        f"gelöscht (Jahresordner: {years}).",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
