"""What every ``kim`` sub-command shares: consoles, settings, a migrated database, option types and checks.

Imports stay light (typer, rich, the pure core's small modules): the database, Prefect and the mail stack are
imported inside the functions that need them, so ``kim --help`` and ``kim status`` start quickly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from kim_workflow.cli.errors import EXIT_BAD_INPUT, EXIT_UNEXPECTED, BadInput
from kim_workflow.core.years import YEAR_MAX, YEAR_MIN

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from kim_workflow.app import App
    from kim_workflow.email.dispatcher.outcomes import DispatchReport
    from kim_workflow.settings import Settings

__all__ = ["EXIT_BAD_INPUT", "EXIT_UNEXPECTED", "Actor", "Id", "Ids", "Year", "console", "err"]

console = Console()
err = Console(stderr=True)

ACTOR_MAX = 200  # domain_event.actor, decision.decided_by, deliverable.recorded_by (tests check it stays so)
ID_MAX = 2**31 - 1  # INTEGER primary keys on both databases


def _actor(value: str) -> str:
    from kim_workflow.core.validation import InvalidValueError, check_header_safe

    value = value.strip()
    if not value:
        raise BadInput("darf nicht leer sein")
    if len(value) > ACTOR_MAX:
        raise BadInput(f"höchstens {ACTOR_MAX} Zeichen (nicht {len(value)})")
    try:
        return check_header_safe(value, field="Name")
    except InvalidValueError as exc:
        raise BadInput(str(exc)) from None


PLACEHOLDER_ACTORS = frozenset({"", "cli"})


def named_person(name: str, option: str) -> str:
    """Four eyes need a real person: refuse the default ``cli`` or an empty name (German error, exit code 2)."""
    if name.strip().casefold() in PLACEHOLDER_ACTORS:
        err.print(
            f"[bold red]Fehler:[/] Vier-Augen-Prinzip: bitte mit {option} NAME angeben, wer die Entscheidung "
            "erfasst oder bestätigt (nicht „cli“, nicht leer)."
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    return name


Actor = Annotated[
    str,
    typer.Option("--actor", callback=_actor, help="Wer die Änderung vornimmt (für das Ereignisprotokoll)."),
]
Year = Annotated[int, typer.Option("--year", min=YEAR_MIN, max=YEAR_MAX, help="Förderjahr")]
Id = Annotated[int, typer.Argument(min=1, max=ID_MAX, help="Nummer (siehe die jeweilige list-Ausgabe)")]
Ids = Annotated[list[int], typer.Argument(min=1, max=ID_MAX, help="IDs der Nachrichten (siehe kim outbox list)")]


def settings() -> Settings:
    """The settings; invalid ones end as a German message (see :mod:`kim_workflow.cli.errors`)."""
    from kim_workflow.settings import load_settings

    return load_settings()


def ready_app() -> App:
    """An app whose database is at the newest schema (refuses to work on an outdated one)."""
    from kim_workflow.app import bootstrap
    from kim_workflow.db.schema_check import is_at_head

    kim = bootstrap(settings())
    if not is_at_head(kim.engine):
        err.print("[bold red]Die Datenbank ist nicht auf dem neuesten Stand.[/] Bitte zuerst: kim db upgrade")
        raise typer.Exit(1)
    return kim


@contextmanager
def use_case(kim: App) -> Iterator[Session]:
    """A transaction for one use case: committed on success; on bad input rolled back, nothing stored (the error
    reaches the one handler of :mod:`kim_workflow.cli.errors`: German message, exit code 2)."""
    from kim_workflow.db.engine import session_scope

    with session_scope(kim.engine) as session:
        yield session


def utc_now() -> datetime:
    from kim_workflow.app import utc_now as now

    return now()


def session_scope(engine: Engine) -> AbstractContextManager[Session]:
    """:func:`kim_workflow.db.engine.session_scope`, imported when first used."""
    from kim_workflow.db.engine import session_scope as scope

    return scope(engine)


def today_in(kim: App) -> date:
    """Today in the programme's time zone (the CLI is the boundary where the clock is read)."""
    return utc_now().astimezone(kim.settings.tz).date()


def parse_day(value: str, option: str) -> date:
    """A date given exactly as ``YYYY-MM-DD`` within the programme's years (else bad input, exit code 2)."""
    from kim_workflow.core.years import parse_iso_day

    return parse_iso_day(value, field=option)


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


def dispatch_now(kim: App, *, limit: int | None = None) -> DispatchReport:
    """Send what is due, print the summary and every email that could not be delivered (the ministry is told)."""
    from kim_workflow.services.delivery_problems import dispatch_and_report

    delivery = dispatch_and_report(kim.engine, kim.settings, now=utc_now(), limit=limit)
    console.print(delivery.report.summary(), markup=False, highlight=False)  # the summary lists the errors too
    for line in delivery.problem_lines():
        err.print(f"Nicht zugestellt: {line}", markup=False, highlight=False)
    if delivery.problems:
        err.print("Das Ministerium erhält dazu eine Sammelmeldung (delivery_failed).", markup=False)
    return delivery.report
