"""Outbox commands for operators: list, dispatch, resend or dismiss, and email previews."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kim_workflow.cli.common import (
    EXIT_UNEXPECTED,
    Actor,
    Ids,
    console,
    dispatch_now,
    err,
    ready_app,
    settings,
    use_case,
    utc_now,
)
from kim_workflow.cli.errors import KimGroup
from kim_workflow.cli.lazy import lazy_module
from kim_workflow.core.domain import OutboxStatus

if TYPE_CHECKING:
    from kim_workflow.email import formatting, outbox
else:
    formatting = lazy_module("kim_workflow.email.formatting")
    outbox = lazy_module("kim_workflow.email.outbox")

outbox_app = typer.Typer(cls=KimGroup, help="Postausgang (alle E-Mails laufen hier durch).", no_args_is_help=True)
emails_app = typer.Typer(cls=KimGroup, help="E-Mail-Vorlagen.", no_args_is_help=True)


@outbox_app.command("list")
def outbox_list(
    status: Annotated[OutboxStatus | None, typer.Option(help="Nur Nachrichten mit diesem Status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    """List outbox messages (newest first) and the counts per status."""
    kim = ready_app()
    with use_case(kim) as session:
        messages = outbox.list_messages(session, status, limit=limit)
        counts = outbox.counts_by_status(session)
    table = Table(title="Postausgang")
    for column in ("ID", "Status", "Art", "An", "Betreff", "Versuche", "Fehler"):
        table.add_column(column)
    for m in messages:
        cells = (m.id, m.status.value, m.kind, m.recipient, m.subject, m.attempts, (m.last_error or "")[:80])
        table.add_row(*(escape(str(cell)) for cell in cells))
    console.print(table)
    console.print(", ".join(f"{s.value}: {n}" for s, n in sorted(counts.items())) or "Postausgang leer.")


@outbox_app.command("dispatch")
def outbox_dispatch(limit: Annotated[int | None, typer.Option(min=1, max=1_000_000)] = None) -> None:
    """Send every due message now; SMTP trouble is recorded per message."""
    kim = ready_app()
    report = dispatch_now(kim, limit=limit)
    if not report.sent and (report.claimed or report.errors):
        err.print("Fehler: keine fällige Nachricht konnte gesendet werden (siehe oben).", markup=False)
        raise typer.Exit(EXIT_UNEXPECTED)


@outbox_app.command("resend")
def outbox_resend(ids: Ids, actor: Actor = "cli") -> None:
    """Queue failed or unknown messages again (the operator decided they did not arrive)."""
    kim = ready_app()
    with use_case(kim) as session:
        count = outbox.resend(session, ids, now=utc_now(), actor=actor)
    console.print(f"{formatting.plural(count, 'Nachricht', 'Nachrichten')} erneut in den Versand gegeben.")


@outbox_app.command("dismiss")
def outbox_dismiss(ids: Ids, actor: Actor = "cli") -> None:
    """Close failed or unknown messages without sending them again."""
    kim = ready_app()
    with use_case(kim) as session:
        count = outbox.dismiss(session, ids, now=utc_now(), actor=actor)
    console.print(f"{formatting.plural(count, 'Nachricht', 'Nachrichten')} verworfen.")


@emails_app.command("preview")
def emails_preview(out: Annotated[Path, typer.Option("--out", help="Zielordner")] = Path("var/preview")) -> None:
    """Render every message kind with sample data to .html, .txt and .eml files."""
    from kim_workflow.email.preview import write_previews
    from kim_workflow.email.render import Renderer

    s = settings()
    paths = write_previews(
        out, Renderer(timezone=s.timezone), sender=s.mail_from, reply_to=s.mail_reply_to, now=utc_now()
    )
    console.print(f"{len(paths)} Dateien in {out} geschrieben; Übersicht: {out / 'index.html'}", markup=False)
