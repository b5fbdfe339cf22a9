"""``kim up``: the long-running main job (database, Prefect server, mail sink, served deployments)."""

from __future__ import annotations

import ipaddress
import os
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from sqlalchemy.engine import Engine

from kim_workflow.app import bootstrap, prepare_database, utc_now
from kim_workflow.email.sink import MaildirSink, SinkError
from kim_workflow.email.smtp_auth import plaintext_auth_problem
from kim_workflow.orchestration.environment import apply_prefect_environment
from kim_workflow.orchestration.server import PrefectServer, ServerError, wait_for_health
from kim_workflow.services.policies import check_policy_files
from kim_workflow.services.questionnaires import check_questionnaire_files
from kim_workflow.settings import Settings, load_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def security_warnings(host: str, environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """Warnings for a Prefect server reachable beyond this machine without auth or encryption key."""
    if is_loopback(host):
        return []
    return [
        f"Der Prefect-Server lauscht auf {host} (nicht nur lokal), aber {name} ist nicht gesetzt."
        for name in ("PREFECT_SERVER_API_AUTH_STRING", "PREFECT_SERVER_ENCRYPTION_KEY")
        if not environ.get(name)
    ]


def run_up(settings: Settings, *, host: str, port: int, console: Console, project_root: Path = PROJECT_ROOT) -> None:
    """Prepare the database, start (or use) the Prefect server and a mail sink, serve all deployments.

    Returns after Ctrl-C or SIGTERM, with the server and sink stopped and no deployment paused.
    """
    app = bootstrap(settings)
    added = prepare_database(app)
    check_policy_files(settings.policy_dir, utc_now().year)  # a broken policy file: German error, exit 2
    check_questionnaire_files(settings.questionnaire_dir, utc_now().year)  # the same for a questionnaire file
    console.print(f"Datenbank bereit ({'36 Kommunen angelegt' if added else 'Kommunen aktuell'}).")
    for warning in security_warnings(host, os.environ):
        console.print(f"[bold yellow]Warnung:[/] {warning}")
    if problem := plaintext_auth_problem(settings):  # nothing is sent until it is fixed; the outbox keeps all
        console.print(f"[bold red]E-Mail-Versand gesperrt:[/] {problem}", highlight=False)
    # The runner looks for triggered and resumed runs every 2 s (default 10 s).
    poll = os.environ.get("PREFECT_RUNNER_POLL_FREQUENCY", "2")
    apply_prefect_environment(settings, {"KIM_PROJECT_DIR": str(project_root), "PREFECT_RUNNER_POLL_FREQUENCY": poll})
    with ExitStack() as stack:
        external_api = os.environ.get("PREFECT_API_URL")
        if external_api:
            wait_for_health(external_api, timeout=60)
            ui = external_api.removesuffix("/api")
        else:
            server = PrefectServer(host, port, log_file=settings.data_dir / "logs" / "prefect-server.log")
            console.print("Starte Prefect-Server …")
            try:
                stack.enter_context(server)
            except ServerError as exc:
                console.print(f"[bold red]Fehler:[/] {exc}", highlight=False)
                raise SystemExit(1) from None
            os.environ["PREFECT_API_URL"] = server.api_url
            ui = server.ui_url
        if not settings.smtp_host:
            try:
                sink = stack.enter_context(MaildirSink(settings.maildir))
            except SinkError as exc:
                console.print(f"[bold red]Fehler:[/] {exc}", highlight=False)
                raise SystemExit(1) from None
            os.environ.update({"KIM_SMTP_HOST": sink.host, "KIM_SMTP_PORT": str(sink.port), "KIM_SMTP_TLS": "none"})
            console.print(f"Kein SMTP-Server konfiguriert: E-Mails landen im Maildir {settings.maildir}")
        os.environ.setdefault("KIM_DATABASE_URL", settings.database_url)
        portal = _start_portal(stack, app.engine, console)
        try:
            _serve(app.engine, project_root, ui, console, portal)
        except KeyboardInterrupt:  # a second Ctrl-C during shutdown: still stop the server and sink cleanly
            console.print("Abbruch angefordert.")
    console.print("kim up beendet.")


def _start_portal(stack: ExitStack, engine: Engine, console: Console) -> str:
    """The Kommunen's portal in a thread of this process (stopped with it); its address."""
    from kim_workflow.portal.server import PortalError, PortalThread

    settings = load_settings()  # with the sink's SMTP address: confirmations and new links are sent at once
    try:
        thread = stack.enter_context(
            PortalThread(settings, engine, utc_now, host=settings.portal_host, port=settings.portal_port)
        )
    except PortalError as exc:
        console.print(f"[bold red]Fehler:[/] {exc}", highlight=False)
        raise SystemExit(1) from None
    return thread.url


def _serve(engine: Engine, project_root: Path, ui: str, console: Console, portal: str) -> None:
    from prefect import serve  # imported late: Prefect reads its settings from os.environ on import

    from kim_workflow.orchestration.deployments import load_deployments
    from kim_workflow.orchestration.relay import start_relays

    settings = load_settings()  # now with the sink's SMTP address
    deployments = load_deployments(project_root)
    relays = start_relays(engine, settings, clock=utc_now)
    console.print(f"[bold green]KIM-Portal:[/] {portal}  (Links in E-Mails: {settings.portal_base_url})")
    console.print(f"[bold green]Prefect-Oberfläche:[/] {ui}  ({len(deployments)} Deployments, Ende mit Strg+C)")
    try:
        serve(*deployments, pause_on_shutdown=False, print_starting_message=False)
    finally:
        for relay in relays:
            relay.stop()
