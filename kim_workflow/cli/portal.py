"""``kim portal``: serve the Kommunen's portal; ``kim portal user …``: the ministry's accounts;
``kim submission show/download``: the files handed in through the portal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kim_workflow.cli.common import Actor, Year, console, err, ready_app, today_in, use_case, utc_now
from kim_workflow.cli.errors import EXIT_BAD_INPUT, KimGroup
from kim_workflow.cli.lazy import lazy_module

if TYPE_CHECKING:
    from kim_workflow.services import portal_accounts, portal_pages, portal_uploads
else:
    portal_accounts = lazy_module("kim_workflow.services.portal_accounts")
    portal_pages = lazy_module("kim_workflow.services.portal_pages")
    portal_uploads = lazy_module("kim_workflow.services.portal_uploads")

portal_app = typer.Typer(cls=KimGroup, help="Das Portal der Kommunen.", invoke_without_command=True)
user_app = typer.Typer(cls=KimGroup, help="Konten des Ministeriums für das Portal.", no_args_is_help=True)
portal_app.add_typer(user_app, name="user")

Username = Annotated[str, typer.Argument(help="Benutzername, z. B. vorname.nachname")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Passwort als erste Zeile der Standardeingabe (für Skripte)")
]


@portal_app.callback()
def portal(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Adresse (Standard: KIM_PORTAL_HOST)")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (Standard: KIM_PORTAL_PORT)")] = None,
) -> None:
    """Serve the portal until Ctrl-C (in production behind a reverse proxy with TLS)."""
    if ctx.invoked_subcommand is not None:
        return
    from kim_workflow.portal.server import PortalError, serve

    kim = ready_app()
    host, port = host or kim.settings.portal_host, port or kim.settings.portal_port
    console.print(
        f"[bold green]KIM-Portal:[/] http://{host}:{port}  (Links in E-Mails: {kim.settings.portal_base_url})"
    )
    try:
        serve(kim.settings, kim.engine, utc_now, host=host, port=port)
    except PortalError as exc:
        err.print(f"[bold red]Fehler:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Passwort", hide_input=True, confirmation_prompt="Passwort wiederholen"))


@user_app.command("add")
def user_add(
    username: Username,
    name: Annotated[str, typer.Option("--name", help="Anzeigename, z. B. „Anna Müller, Referat 724“")] = "",
    password_stdin: PasswordStdin = False,
    actor: Actor = "cli",
) -> None:
    """Add a ministry account; the password is asked for (never an argument) and stored only as an argon2 hash."""
    kim = ready_app()
    password = portal_accounts.check_password(_password(password_stdin))
    with use_case(kim) as session:
        account = portal_accounts.add_account(
            session, username=username, display_name=name, password=password, now=utc_now(), actor=actor
        )
    console.print(f"Konto {escape(account.username)} angelegt.")


@user_app.command("password")
def user_password(username: Username, password_stdin: PasswordStdin = False, actor: Actor = "cli") -> None:
    """Set a new password for a ministry account."""
    kim = ready_app()
    password = portal_accounts.check_password(_password(password_stdin))
    with use_case(kim) as session:
        portal_accounts.set_password(session, username=username, password=password, now=utc_now(), actor=actor)
    console.print("Passwort geändert.")


@user_app.command("deactivate")
def user_deactivate(username: Username, actor: Actor = "cli") -> None:
    """Lock a ministry account (its sessions end at once)."""
    kim = ready_app()
    with use_case(kim) as session:
        portal_accounts.set_active(session, username=username, active=False, now=utc_now(), actor=actor)
    console.print("Konto gesperrt.")


@user_app.command("list")
def user_list() -> None:
    """The ministry's portal accounts."""
    kim = ready_app()
    with use_case(kim) as session:
        rows = portal_accounts.list_accounts(session)
    table = Table(title="Konten des Portals")
    for column in ("Benutzername", "Name", "Aktiv"):
        table.add_column(column)
    for row in rows:
        table.add_row(escape(row.username), escape(row.display_name), "ja" if row.active else "nein")
    console.print(table)


Ags = Annotated[str, typer.Option(help="AGS der Kommune, z. B. 07315000")]


def submission_show(ags: Ags, year: Year) -> None:
    """What a Kommune handed in for a year: status of each deliverable and the report file (size, SHA-256)."""
    kim = ready_app()
    with use_case(kim) as session:
        view = portal_pages.kommune_year(session, ags=ags, year=year, today=today_in(kim))
    console.print(f"{escape(view.name)} (AGS {view.ags}), Berichtsjahr {year}", highlight=False)
    for item in view.items:
        state = "entfällt" if item.waived else (
            f"eingegangen am {item.received_on:%d.%m.%Y}" if item.received_on else "ausstehend")  # fmt: skip
        console.print(f"  {item.kind.label_de}: {state}, Frist {item.due_date:%d.%m.%Y}", highlight=False)
    upload = view.upload
    if upload is None:
        console.print("Keine Datei über das Portal hochgeladen.")
        return
    submitted = "eingereicht" if upload.submitted_at else "noch nicht eingereicht"
    console.print(f"Datei Nr. {upload.id}: {escape(upload.original_name)}, {upload.size} Bytes, {submitted}",
                  highlight=False)  # fmt: skip
    console.print(f"SHA-256: {upload.sha256}", highlight=False)


def submission_download(
    ags: Ags,
    year: Year,
    out: Annotated[Path, typer.Option("--out", help="Zielordner oder Zieldatei")],
    actor: Actor = "cli",
) -> None:
    """Copy a Kommune's report file out of the store (the download is recorded in the event log)."""
    import shutil

    kim = ready_app()
    with use_case(kim) as session:
        view = portal_pages.kommune_year(session, ags=ags, year=year, today=today_in(kim))
        if view.upload is None or view.upload.id is None:
            err.print(f"{view.name}: keine Datei über das Portal hochgeladen.", markup=False)
            raise typer.Exit(EXIT_BAD_INPUT)
        found = portal_uploads.download(
            session, upload_root=kim.settings.upload_dir, upload_id=view.upload.id, actor=actor, now=utc_now()
        )
        target = out / found.name if out.is_dir() else out
        shutil.copyfile(found.path, target)  # OSError: German message, exit 2; then nothing is recorded
    console.print(f"{target} ({found.size} Bytes, SHA-256 {found.sha256})", markup=False, highlight=False)
