"""``kim simulate``: a whole funding year in minutes, day by day, against a fresh database and an SMTP sink."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from kim_workflow.cli.common import EXIT_BAD_INPUT, console, err
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.migrate import upgrade
from kim_workflow.db.models import Kommune
from kim_workflow.email.sink import CountingSink
from kim_workflow.settings import load_settings
from kim_workflow.simulation.runner import SimulationResult, at, populate, simulate_year
from kim_workflow.simulation.scenario import build_scenario

MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember")  # fmt: skip


@contextmanager
def fresh_database() -> Iterator[str]:
    """``KIM_DATABASE_URL`` if set (it must hold no Kommunen yet), else a temporary SQLite file."""
    url = os.environ.get("KIM_DATABASE_URL")
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="kim-simulation-") as folder:
        yield f"sqlite:///{Path(folder) / 'kim.db'}"


def prepare(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        if session.exec(select(func.count()).select_from(Kommune)).one():
            err.print("[bold red]Fehler:[/] Die Datenbank (KIM_DATABASE_URL) ist nicht leer; bitte eine leere angeben.")
            raise typer.Exit(EXIT_BAD_INPUT)
    return engine


def run(url: str, host: str, port: int, *, year: int, kommunen: int, seed: int) -> SimulationResult:
    """The simulation itself, with a progress bar per simulated month."""
    settings = load_settings().model_copy(update={"database_url": url, "smtp_host": host, "smtp_port": port})
    engine = prepare(url)
    try:
        ags = populate(engine, kommunen, now=at(date(year - 1, 12, 31)))
        scenario = build_scenario(ags, year=year, seed=seed)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(f"Simuliere {year}", total=12)

            def month_done(month: int, result: SimulationResult) -> None:
                sent = result.delivery["sent"]
                progress.update(task, completed=month, description=f"{MONTHS[month - 1]} {year}: {sent} versendet")

            return simulate_year(engine, settings, scenario, kommunen=kommunen, on_month=month_done)
    finally:
        engine.dispose()


def summary_table(result: SimulationResult, accepted: int | None) -> Table:
    table = Table(title=f"Simulation {result.year}: {result.kommunen} Kommunen, {result.days} Tage")
    table.add_column("Kennzahl")
    table.add_column("Wert", justify="right")
    for kind, count in sorted(result.emails_by_kind.items()):
        table.add_row(f"E-Mails: {kind}", str(count))
    for stage, count in sorted(result.emails_by_stage.items()):
        if ":" in stage:
            table.add_row(f"Stufe: {stage}", str(count))
    table.add_row("E-Mails gesamt (Postausgang)", str(result.emails), end_section=True)
    for name in ("sent", "retried", "failed", "unknown"):
        table.add_row(f"Versand: {name}", str(result.delivery[name]))
    if accepted is not None:
        table.add_row("vom SMTP-Sink angenommen", str(accepted))
    table.add_row("überfällige Kommunen am Jahresende", str(len(result.overdue)))
    table.add_row("Laufzeit (Wanduhr)", f"{result.wall_seconds:.1f} s")
    table.add_row("E-Mails pro Sekunde", f"{result.emails_per_second:.0f}")
    return table


def simulate(
    year: Annotated[int, typer.Option(min=2000, max=2100, help="Förderjahr")] = 2026,
    kommunen: Annotated[int, typer.Option(min=1, max=100_000, help="Anzahl Kommunen (über 36: synthetische)")] = 36,
    seed: Annotated[int, typer.Option(help="Zufallsstartwert des Szenarios")] = 1,
    smtp_host: Annotated[str | None, typer.Option(help="SMTP-Server (sonst ein lokaler Zähl-Sink)")] = None,
    smtp_port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port des SMTP-Servers")] = None,
    prefect: Annotated[bool, typer.Option(help="Tagesablauf über die Prefect-Flows (nicht verfügbar)")] = False,
) -> None:
    """Ein ganzes Förderjahr Tag für Tag simulieren (frische Datenbank, simulierte Uhr) und auswerten."""
    if prefect:
        err.print("[bold red]--prefect ist noch nicht verfügbar;[/] bitte ohne --prefect simulieren.")
        raise typer.Exit(EXIT_BAD_INPUT)
    with fresh_database() as url:
        if smtp_host:
            result = run(url, smtp_host, smtp_port or 25, year=year, kommunen=kommunen, seed=seed)
            accepted = None
        else:
            with CountingSink() as sink:
                result = run(url, sink.host, sink.port, year=year, kommunen=kommunen, seed=seed)
                accepted = sink.accepted
    console.print(summary_table(result, accepted))
