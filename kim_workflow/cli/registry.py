"""Registry commands: database, seeding, contacts, Kommunen, and ``kim up``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kim_workflow.cli.common import (
    EXIT_BAD_INPUT,
    Actor,
    console,
    err,
    ready_app,
    session_scope,
    settings,
    utc_now,
)
from kim_workflow.cli.errors import KimGroup
from kim_workflow.cli.lazy import lazy_module
from kim_workflow.core.contact_sync import ChangeKind, ImportMode

if TYPE_CHECKING:
    from kim_workflow import app as kim_app
    from kim_workflow.db import migrate
    from kim_workflow.email import formatting
    from kim_workflow.services import contact_import, lookups, registry, undeliverable
    from kim_workflow.services.contact_import import ImportResult
else:
    kim_app = lazy_module("kim_workflow.app")
    formatting = lazy_module("kim_workflow.email.formatting")
    contact_import = lazy_module("kim_workflow.services.contact_import")
    migrate = lazy_module("kim_workflow.db.migrate")
    registry = lazy_module("kim_workflow.services.registry")
    lookups = lazy_module("kim_workflow.services.lookups")
    undeliverable = lazy_module("kim_workflow.services.undeliverable")

db_app = typer.Typer(cls=KimGroup, help="Datenbank-Schema (Alembic-Migrationen).", no_args_is_help=True)
contacts_app = typer.Typer(cls=KimGroup, help="Ansprechpersonen der Kommunen.", no_args_is_help=True)
kommunen_app = typer.Typer(cls=KimGroup, help="Die 36 Kommunen des Programms.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    kim = kim_app.bootstrap(settings())
    migrate.upgrade(kim.engine)
    console.print(f"Datenbank auf Revision {migrate.current_revision(kim.engine)}.")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision."""
    kim = kim_app.bootstrap(settings())
    console.print(f"aktuell: {migrate.current_revision(kim.engine)}, neueste: {migrate.head_revision()}")


def seed() -> None:
    """Migrate and load the 36 Kommunen (idempotent)."""
    kim = kim_app.bootstrap(settings())
    changed = kim_app.prepare_database(kim)
    with session_scope(kim.engine) as session:
        total = len(registry.kommunen_overview(session))
    console.print(f"{changed} Kommunen angelegt oder korrigiert; {total} Kommunen im Register.")


@contacts_app.command("import")
def contacts_import(
    file: Annotated[
        Path, typer.Argument(help="CSV-Datei (Komma oder Semikolon) mit ags,name,email,role[,anrede,titel]")
    ],
    mode: Annotated[
        ImportMode | None,
        typer.Option(help="merge: ergänzen und aktualisieren; replace: zusätzlich alle fehlenden deaktivieren"),
    ] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Änderungen speichern (sonst nur Probelauf)")] = False,
    reactivate: Annotated[
        bool, typer.Option("--reactivate", help="deaktivierte Ansprechpersonen aus der Datei wieder aktivieren")
    ] = False,
    actor: Actor = "cli",
) -> None:
    """Import contacts: shows what would change (dry run) and stores it only with --apply; all rows or none."""
    if mode is None:
        err.print("[bold red]Fehler:[/] Bitte --mode merge oder --mode replace angeben.", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    text = _read_contacts_file(file)
    kim = ready_app()
    try:
        with session_scope(kim.engine) as session:
            result = registry.import_contacts(
                session, text, now=utc_now(), actor=actor, mode=mode, apply=apply, reactivate=reactivate
            )
            if not (result.ok and apply):
                session.rollback()
    except registry.ContactFileError as exc:
        err.print(f"[bold red]Fehler:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if not result.ok:
        err.print(f"[bold red]{len(result.errors)} fehlerhafte Zeilen, nichts gespeichert:[/]")
        for error in result.errors:
            err.print(f"  {error}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    _print_import(result)


def _read_contacts_file(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        err.print(
            "[bold red]Datei nicht lesbar:[/] nicht UTF-8-kodiert. In Excel bitte als "
            "„CSV UTF-8 (durch Trennzeichen getrennt)“ speichern.",
            highlight=False,
        )
    except OSError as exc:
        err.print(f"[bold red]Datei nicht lesbar:[/] {exc.strerror or exc}", highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def _print_import(result: ImportResult) -> None:
    for kind in ChangeKind:
        changes = [c for c in result.changes if c.kind is kind]
        if changes:
            console.print(f"{kind.value} ({len(changes)}):", markup=False)
            for change in changes:
                console.print(f"  {change}", markup=False, highlight=False, soft_wrap=True)
    counts = ", ".join(f"{result.count(kind)} {kind.value.split(' (')[0]}" for kind in ChangeKind)
    state = "gespeichert" if result.applied else "Probelauf, nichts gespeichert (mit --apply ausführen)"
    console.print(
        f"Modus {result.mode.value}, {state}: {counts}, {result.unchanged} unverändert.", markup=False, soft_wrap=True
    )


@contacts_app.command("deactivate")
def contacts_deactivate(email: str, actor: Actor = "cli") -> None:
    """Deactivate every contact with this address (they get no further email)."""
    _set_active(email, active=False, actor=actor)


@contacts_app.command("activate")
def contacts_activate(email: str, actor: Actor = "cli") -> None:
    """Activate every contact with this address again (and take off a mark "nicht zustellbar")."""
    _set_active(email, active=True, actor=actor)


def _set_active(email: str, *, active: bool, actor: str) -> None:
    kim = ready_app()
    with session_scope(kim.engine) as session:
        now = utc_now()
        count = registry.set_contact_active(session, email=email, active=active, now=now, actor=actor)
        cleared = undeliverable.clear_undeliverable(session, email=email, now=now, actor=actor) if active else 0
    if not count:
        err.print(f"Keine Ansprechperson mit der Adresse {email!r}.", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    console.print(f"{formatting.plural(count, 'Eintrag', 'Einträge')} {'aktiviert' if active else 'deaktiviert'}.")
    if cleared:
        console.print("Markierung „nicht zustellbar“ entfernt: die Adresse wird wieder angeschrieben.")


@contacts_app.command("list")
def contacts_list() -> None:
    """Table of all contacts: Kommune, role, address and whether it can be reached."""
    kim = ready_app()
    table = Table(title="Ansprechpersonen")
    for column in ("AGS", "Name", "E-Mail", "Rolle", "Status"):
        table.add_column(column)
    undeliverable_count = 0
    with session_scope(kim.engine) as session:
        contacts = lookups.all_contacts(session)
        for contact, ags in contacts:
            state = "aktiv" if contact.active else "inaktiv"
            if contact.undeliverable_at is not None:
                undeliverable_count += 1
                day = contact.undeliverable_at.astimezone(kim.settings.tz)
                state = f"nicht zustellbar seit {day:%d.%m.%Y}: {contact.undeliverable_reason or '—'}"
            style = "red" if contact.undeliverable_at is not None else None
            table.add_row(escape(ags or "—"), escape(contact.name), escape(contact.email), contact.role.value,
                          escape(state), style=style)  # fmt: skip
    console.print(table)
    console.print(
        f"{formatting.plural(len(contacts), 'Ansprechperson', 'Ansprechpersonen')}, davon "
        f"{undeliverable_count} nicht zustellbar."
    )


@kommunen_app.command("list")
def kommunen_list() -> None:
    """Table of the Kommunen with their contacts."""
    kim = ready_app()
    with session_scope(kim.engine) as session:
        overview = registry.kommunen_overview(session)
    table = Table(title="Kommunen im KIM-Programm")
    for column in ("AGS", "Kommune", "Art", "Ansprechpersonen"):
        table.add_column(column)
    for k in overview:
        people = "\n".join(
            f"{name} <{email}> ({role.value}{'' if active else ', inaktiv'})"
            for name, email, role, active in k.contacts
        )
        style = None if k.has_active_manager else "yellow"
        table.add_row(escape(k.ags), escape(k.name), k.kind, escape(people or "—"), style=style)
    console.print(table)
    missing = sum(1 for k in overview if k.active and not k.has_active_manager)
    console.print(f"{len(overview)} Kommunen, davon {missing} ohne aktive Integrationsmanagerin/aktiven -manager.")


def up(
    host: Annotated[str, typer.Option(help="Adresse des Prefect-Servers")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port des Prefect-Servers")] = 4200,
) -> None:
    """Main job: migrate and seed, start Prefect and a mail sink, serve all deployments until Ctrl-C."""
    from kim_workflow.orchestration.up import run_up

    run_up(settings(), host=host, port=port, console=console)
