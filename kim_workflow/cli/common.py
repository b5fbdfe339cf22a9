"""What every ``kim`` sub-command shares: consoles, settings, a migrated database, error handling."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlmodel import Session

from kim_workflow.app import App, bootstrap, utc_now
from kim_workflow.core.policy import PolicyError
from kim_workflow.core.validation import InvalidValueError
from kim_workflow.db.engine import session_scope
from kim_workflow.db.migrate import current_revision, head_revision
from kim_workflow.services.errors import UseCaseError
from kim_workflow.settings import Settings, load_settings

EXIT_BAD_INPUT = 2

console = Console()
err = Console(stderr=True)

Actor = Annotated[str, typer.Option("--actor", help="Wer die Änderung vornimmt (für das Ereignisprotokoll).")]
Year = Annotated[int, typer.Option("--year", min=2000, max=2100, help="Förderjahr")]


def settings() -> Settings:
    try:
        return load_settings()
    except ValidationError as exc:
        err.print("[bold red]Ungültige Einstellungen (KIM_*):[/]")
        for error in exc.errors():
            err.print(f"  {'.'.join(str(p) for p in error['loc'])}: {error['msg']}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def ready_app() -> App:
    """An app whose database is at the newest schema (refuses to work on an outdated one)."""
    kim = bootstrap(settings())
    if current_revision(kim.engine) != head_revision():
        err.print("[bold red]Die Datenbank ist nicht auf dem neuesten Stand.[/] Bitte zuerst: kim db upgrade")
        raise typer.Exit(1)
    return kim


@contextmanager
def use_case(kim: App) -> Iterator[Session]:
    """A transaction for one use case; bad input is printed as a clear error, exit code 2, nothing stored."""
    try:
        with session_scope(kim.engine) as session:
            yield session
    except (UseCaseError, InvalidValueError, PolicyError) as exc:
        err.print(f"[bold red]Fehler:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def today_in(kim: App) -> date:
    """Today in the programme's time zone (the CLI is the boundary where the clock is read)."""
    return utc_now().astimezone(kim.settings.tz).date()


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"[bold red]Fehler:[/] {option} erwartet ein Datum JJJJ-MM-TT, nicht {value!r}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def publish_events(kim: App) -> None:
    """Best effort: hand new domain events to Prefect now if a server is configured (kim up relays them anyway)."""
    if not os.environ.get("PREFECT_API_URL"):
        return
    from kim_workflow.orchestration.events import publish_and_refresh

    try:
        publish_and_refresh(kim.engine, kim.settings, now=utc_now())
    except Exception as exc:  # the relay of kim up publishes them later
        console.print(
            f"[yellow]Ereignis noch nicht an Prefect übergeben ({type(exc).__name__}); kim up holt das nach.[/]"
        )
