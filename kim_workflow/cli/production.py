"""``kim deploy`` and ``kim worker``: the deployments of prefect.yaml on a Prefect server with a work pool."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from kim_workflow.cli.common import console, settings


def deploy() -> None:
    """Alle Deployments aus prefect.yaml beim Prefect-Server (PREFECT_API_URL) registrieren; wiederholbar."""
    from kim_workflow.orchestration.production import deploy_all

    deployed = deploy_all(settings())
    for pool in deployed.pools_created:
        console.print(f"Work-Pool {pool} angelegt (Typ process).", markup=False, highlight=False)
    console.print(
        f"{len(deployed.deployments)} Deployments registriert (Zeitpläne und Auslöser aus prefect.yaml), "
        f"{len(deployed.automations)} Automationen (Absturzerkennung, Neustart, Warnungen), "
        f"Parallelitätsgrenze {deployed.dispatch_limit}. Worker starten mit: kim worker",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def worker(
    pool: Annotated[str, typer.Option(help="Work-Pool aus prefect.yaml")] = "kim-process",
    name: Annotated[str | None, typer.Option(help="Name des Workers (Standard: von Prefect vergeben)")] = None,
    limit: Annotated[int | None, typer.Option(min=1, max=1000, help="Höchstens so viele Läufe gleichzeitig")] = None,
) -> None:
    """Einen Worker für den Work-Pool starten (migriert vorher die Datenbank, einmal für alle Worker)."""
    from kim_workflow.db.engine import make_engine
    from kim_workflow.db.migrate import upgrade
    from kim_workflow.orchestration.production import worker_command, worker_environment

    config = settings()
    environment = worker_environment(config)
    engine = make_engine(config.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    command = worker_command(pool, name=name, limit=limit)
    console.print(f"Worker für {pool} startet …", markup=False, highlight=False)
    os.execve(command[0], command, environment)


def relay() -> None:
    """Sofort-Reaktionen wie in kim up für den Produktivbetrieb: Versand, Ereignisse, Entscheidungsformulare."""
    import signal
    import threading

    from kim_workflow.orchestration.production import run_relay

    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    console.print("Relais läuft (Postausgang, Ereignisse, Entscheidungen); Ende mit Strg+C.", markup=False)
    run_relay(settings(), stop=stop)
    console.print("Relais beendet.", markup=False)
