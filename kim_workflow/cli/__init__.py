"""The ``kim`` command line: admins' entry to every use case (Typer, output with rich).

Every error of every command ends in :mod:`kim_workflow.cli.errors` (German message, exit code 2 or 1).
"""

from __future__ import annotations

import typer

from kim_workflow.cli import (
    applications,
    backup,
    cycle,
    evaluation,
    meetings,
    outbox,
    portal,
    production,
    questionnaire,
    registry,
    retention,
    simulate,
)
from kim_workflow.cli.errors import KimGroup

app = typer.Typer(
    cls=KimGroup,
    help="kim-workflow: Berichtszyklus des Kommunalen Integrationsmanagements Rheinland-Pfalz.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(registry.db_app, name="db")
app.add_typer(registry.contacts_app, name="contacts")
app.add_typer(registry.kommunen_app, name="kommunen")
app.add_typer(cycle.cycle_app, name="cycle")
app.add_typer(cycle.submission_app, name="submission")
app.add_typer(cycle.deadline_app, name="deadline")
app.add_typer(applications.application_app, name="application")
app.add_typer(meetings.meeting_app, name="meeting")
app.add_typer(outbox.outbox_app, name="outbox")
app.add_typer(outbox.emails_app, name="emails")
app.add_typer(portal.portal_app, name="portal")
cycle.submission_app.command("show")(portal.submission_show)
cycle.submission_app.command("download")(portal.submission_download)
app.add_typer(questionnaire.questionnaire_app, name="questionnaire")
app.add_typer(evaluation.evaluation_app, name="evaluation")
app.add_typer(retention.retention_app, name="retention")
app.command()(registry.seed)
app.command()(registry.up)
app.command()(cycle.status)
app.command()(cycle.sweep)
app.command()(simulate.simulate)
app.command()(backup.backup)
app.command()(backup.restore)
app.command()(production.deploy)
app.command()(production.worker)
app.command()(production.relay)


def main() -> None:
    app(prog_name="kim")
