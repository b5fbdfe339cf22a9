"""``kim simulate``: a whole funding year in minutes, day by day, against a fresh database and an SMTP sink."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from kim_workflow.cli.common import EXIT_BAD_INPUT, Year, console, err

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from kim_workflow.simulation.runner import SimulationResult

FLOW_ENV = {
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",  # run logs still reach the UI; the terminal shows progress
    "PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL": "WARNING",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_TASK_RUNS_LEVEL": "WARNING",
}
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
    from sqlmodel import func, select

    from kim_workflow.db.engine import make_engine, session_scope
    from kim_workflow.db.migrate import upgrade
    from kim_workflow.db.models import Kommune

    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        if session.exec(select(func.count()).select_from(Kommune)).one():
            err.print("[bold red]Fehler:[/] Die Datenbank (KIM_DATABASE_URL) ist nicht leer; bitte eine leere angeben.")
            raise typer.Exit(EXIT_BAD_INPUT)
    return engine


def run(
    url: str,
    host: str,
    port: int,
    *,
    year: int,
    kommunen: int,
    seed: int,
    prefect_ui: str | None = None,
    local_sink: bool = True,
) -> SimulationResult:
    """The simulation itself, with a progress bar per simulated month; through the flows if ``prefect_ui``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from kim_workflow.settings import SmtpTls, load_settings
    from kim_workflow.simulation.runner import at, populate, simulate_year
    from kim_workflow.simulation.scenario import build_scenario

    update: dict[str, object] = {"database_url": url, "smtp_host": host, "smtp_port": port}
    if local_sink:
        update["smtp_tls"] = SmtpTls.NONE
    settings = load_settings().model_copy(update=update)
    engine = prepare(url)
    try:
        ags = populate(engine, kommunen, now=at(date(year - 1, 12, 31)))
        scenario = build_scenario(ags, year=year, seed=seed)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(f"Simuliere {year}", total=12)

            def month_done(month: int, result: SimulationResult) -> None:
                done = (
                    f"{result.delivery['sent']} versendet" if prefect_ui is None else f"{result.days} Tage über Flows"
                )
                progress.update(task, completed=month, description=f"{MONTHS[month - 1]} {year}: {done}")

            if prefect_ui is None:
                return simulate_year(engine, settings, scenario, kommunen=kommunen, on_month=month_done)
            from kim_workflow.orchestration.up import PROJECT_ROOT
            from kim_workflow.simulation.flow_mode import load_flows, simulate_year_with_flows

            flows = load_flows(PROJECT_ROOT)
            progress.console.print(
                f"[bold green]Prefect-Oberfläche:[/] {prefect_ui}  (Läufe und Artefakte der Simulation)"
            )
            return simulate_year_with_flows(
                engine, settings, scenario, kommunen=kommunen, flows=flows, on_month=month_done
            )
    finally:
        engine.dispose()


@contextmanager
def prefect_backend(url: str, host: str, port: int, *, local_sink: bool) -> Iterator[str]:
    """A Prefect server of the simulation's own (temporary home, loopback), and the environment the flows read.

    Its own server, not the one of ``kim up``: the rehearsal's runs, artifacts and events must not mix with a real
    year's, nor trigger its deployments. Yields the UI address.
    """
    from kim_workflow.email.sink import free_port
    from kim_workflow.orchestration.environment import QUIET, SERVER_TUNING
    from kim_workflow.orchestration.server import PrefectServer
    from kim_workflow.settings import SmtpTls

    with tempfile.TemporaryDirectory(prefix="kim-simulation-prefect-") as home, ExitStack() as stack:
        os.environ.update({**QUIET, **SERVER_TUNING, "PREFECT_HOME": home})
        os.environ.update(FLOW_ENV | {"KIM_DATABASE_URL": url, "KIM_SMTP_HOST": host, "KIM_SMTP_PORT": str(port)})
        if local_sink:  # plain SMTP on loopback; a given server keeps the configured KIM_SMTP_TLS
            os.environ["KIM_SMTP_TLS"] = SmtpTls.NONE.value
        server = PrefectServer("127.0.0.1", free_port(), log_file=Path(home) / "prefect-server.log")
        with console.status("Starte Prefect-Server für die Simulation …"):
            stack.enter_context(server)
        os.environ["PREFECT_API_URL"] = server.api_url
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):  # else +1 s per flow run
            try:
                yield server.ui_url
            finally:  # the last runs' logs and events reach the server before it stops
                from prefect.events.worker import EventsWorker
                from prefect.logging.handlers import APILogWorker

                APILogWorker.drain_all(timeout=30)
                EventsWorker.drain_all(timeout=30)


def write_evaluation_of(url: str, year: int, out: Path) -> None:
    """``kim evaluation`` of the simulated year, before its temporary database is gone."""
    from kim_workflow.app import utc_now
    from kim_workflow.db.engine import make_engine, session_scope
    from kim_workflow.services.evaluation import run_evaluation

    engine = make_engine(url)
    with session_scope(engine) as session:
        files = run_evaluation(session, year=year, compare=[], out=out, now=utc_now())
    engine.dispose()
    console.print(f"Auswertung des Fragebogens {year}: {len(files.paths)} Dateien in {out}", highlight=False)


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
    table.add_row("Fragebögen mit Antworten eingereicht", str(result.events["questionnaire_answers"]))
    table.add_row("überfällige Kommunen am Jahresende", str(len(result.overdue)))
    table.add_row("Laufzeit (Wanduhr)", f"{result.wall_seconds:.1f} s")
    table.add_row("E-Mails pro Sekunde", f"{result.emails_per_second:.0f}")
    return table


def simulate(
    year: Year = 2026,
    kommunen: Annotated[int, typer.Option(min=1, max=100_000, help="Anzahl Kommunen (über 36: synthetische)")] = 36,
    seed: Annotated[int, typer.Option(help="Zufallsstartwert des Szenarios")] = 1,
    smtp_host: Annotated[str | None, typer.Option(help="SMTP-Server (sonst ein lokaler Zähl-Sink)")] = None,
    smtp_port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port des SMTP-Servers")] = None,
    prefect: Annotated[bool, typer.Option(help="Tagesablauf über die Prefect-Flows (Läufe in der Prefect-UI)")] = False,
    keep_open: Annotated[
        bool, typer.Option(help="Mit --prefect: Prefect-UI nach dem Ende offen halten (bis Strg+C)")
    ] = False,
    evaluation_out: Annotated[
        Path | None,
        typer.Option(help="Die Auswertung des simulierten Fragebogens (wie kim evaluation) in diesen Ordner"),
    ] = None,
) -> None:
    """Ein ganzes Förderjahr Tag für Tag simulieren (frische Datenbank, simulierte Uhr) und auswerten."""
    if keep_open and not prefect:
        err.print("[bold red]Fehler:[/] --keep-open gilt nur zusammen mit --prefect.")
        raise typer.Exit(EXIT_BAD_INPUT)
    from kim_workflow.email.sink import CountingSink

    with fresh_database() as url, ExitStack() as stack:
        if smtp_host:
            host, port, sink = smtp_host, smtp_port or 25, None
        else:
            sink = stack.enter_context(CountingSink())
            host, port = sink.host, sink.port
        ui = stack.enter_context(prefect_backend(url, host, port, local_sink=sink is not None)) if prefect else None
        result = run(
            url, host, port, year=year, kommunen=kommunen, seed=seed, prefect_ui=ui, local_sink=sink is not None
        )
        console.print(summary_table(result, sink.accepted if sink else None))
        if evaluation_out is not None:
            write_evaluation_of(url, year, evaluation_out)
        if ui and keep_open:
            console.print(f"Prefect-Oberfläche: {ui} — Ende mit Strg+C")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
