"""``kim application …``: submit an application from a JSON file, decide on it, list a year's applications."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from kim_workflow.cli import grants
from kim_workflow.cli.common import (
    EXIT_BAD_INPUT,
    Actor,
    Year,
    console,
    err,
    named_person,
    publish_events,
    ready_app,
    session_scope,
    use_case,
    utc_now,
)
from kim_workflow.cli.errors import KimGroup, known_bad_input, os_reason
from kim_workflow.cli.lazy import lazy_module
from kim_workflow.core.domain import DecisionOutcome

if TYPE_CHECKING:
    from kim_workflow.core.funding import Violation
    from kim_workflow.services import application_input, application_intake, decisions, grant_acts, withdrawals
    from kim_workflow.services import applications as overview_service
    from kim_workflow.services.application_intake import SubmitResult
    from kim_workflow.services.decisions import DecisionRequest, DecisionResult
else:
    application_input = lazy_module("kim_workflow.services.application_input")
    grant_acts = lazy_module("kim_workflow.services.grant_acts")
    application_intake = lazy_module("kim_workflow.services.application_intake")
    decisions = lazy_module("kim_workflow.services.decisions")
    withdrawals = lazy_module("kim_workflow.services.withdrawals")
    overview_service = lazy_module("kim_workflow.services.applications")

application_app = typer.Typer(cls=KimGroup, help="Förderanträge der Kommunen.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Ergebnis als JSON auf stdout")]


@application_app.command("submit")
def submit(
    file: Annotated[Path, typer.Argument(help="Antrag als JSON-Datei", dir_okay=False)],
    as_json: JsonFlag = False,
    actor: Actor = "cli",
) -> None:
    """Check an application (every problem is listed) and store it with a receipt to the Kommune."""
    try:
        application = application_input.parse_application_json(_read(file))
    except application_input.ApplicationInputError as exc:
        _refuse(exc.violations, as_json)
    kim = ready_app()
    try:
        with session_scope(kim.engine) as session:
            result = application_intake.submit_application(
                session, kim.settings, application=application, now=utc_now(), actor=actor
            )
    except application_intake.ApplicationRejected as exc:
        _refuse(exc.violations, as_json)
    except Exception as exc:  # state machine, policy file: bad input as JSON too; anything else to the handler
        if not as_json or known_bad_input(exc) is None:
            raise
        _fail(exc, as_json)
    _report_submission(result, as_json)
    publish_events(kim)


def _read(file: Path) -> str:
    try:
        return file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        message = f"Die Datei {file} kann nicht gelesen werden ({os_reason(exc)})."
    except UnicodeDecodeError:
        message = f"Die Datei {file} ist nicht UTF-8-kodiert."
    from kim_workflow.core.funding import Violation

    raise application_input.ApplicationInputError([Violation("unreadable_file", "", message)])


def _refuse(violations: list[Violation], as_json: bool) -> NoReturn:
    if as_json:
        document = {
            "ok": False,
            "violations": [{"code": v.code, "field": v.field, "message": v.message} for v in violations],
        }
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        err.print(f"[bold red]Antrag fehlerhaft, nichts gespeichert ({len(violations)} Fehler):[/]")
        for v in violations:
            err.print(f"  - {v.field + ': ' if v.field else ''}{v.message}", markup=False, highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def _fail(exc: Exception, as_json: bool) -> NoReturn:
    typer.echo(json.dumps({"ok": False, "error": known_bad_input(exc)}, ensure_ascii=False, indent=2))
    raise typer.Exit(EXIT_BAD_INPUT)


def _report_submission(result: SubmitResult, as_json: bool) -> None:
    if as_json:
        document = {"ok": True, **asdict(result), "status": result.status.value}
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    what = "erneut eingereicht" if result.resubmitted else "eingereicht"
    receipt = "Eingangsbestätigung liegt im Postausgang." if result.receipt_queued else "Keine aktive Ansprechperson!"
    late = " Verspätet: nach Ablauf der Antragsfrist eingegangen und so vermerkt." if result.late else ""
    console.print(
        f"Antrag Nr. {result.application_id} von {result.kommune} für {result.year} {what} "
        f"(Revision {result.revision}).{late} {receipt}",
        highlight=False,
    )


def _amount(value: str | None, option: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        err.print(f"Fehler: {option} erwartet einen Betrag wie 45000 oder 45000.50, nicht {value!r}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    return amount


def _outcome(approve: bool, reject: bool, request_changes: bool) -> DecisionOutcome:
    chosen = [o for o, flag in zip(DecisionOutcome, (approve, reject, request_changes), strict=True) if flag]
    if len(chosen) != 1:
        err.print("[bold red]Fehler:[/] Bitte genau eine von --approve, --reject, --request-changes angeben.")
        raise typer.Exit(EXIT_BAD_INPUT)
    return chosen[0]


@application_app.command("decide")
def decide(
    ags: Annotated[str, typer.Option(help="AGS der Kommune")],
    year: Year,
    approve: Annotated[bool, typer.Option("--approve", help="Bewilligen (mit --personnel und --material)")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Ablehnen (mit --reason)")] = False,
    request_changes: Annotated[bool, typer.Option("--request-changes", help="Nachfordern (mit --message)")] = False,
    personnel: Annotated[str | None, typer.Option(help="Bewilligte Personalkosten in Euro")] = None,
    material: Annotated[str | None, typer.Option(help="Bewilligte Sachkosten in Euro")] = None,
    message: Annotated[str | None, typer.Option(help="Hinweis an die Kommune bzw. was nachzureichen ist")] = None,
    reason: Annotated[str | None, typer.Option(help="Begründung der Ablehnung")] = None,
    budget_override: Annotated[
        str | None,
        typer.Option("--budget-override", help="Begründung, wenn die Bewilligung das Budget übersteigt"),
    ] = None,
    actor: Actor = "cli",
) -> None:
    """Record the ministry's decision on a submitted application and notify the Kommune."""
    outcome = _outcome(approve, reject, request_changes)
    if reason is not None and message is not None:
        err.print("[bold red]Fehler:[/] --reason und --message nicht zusammen angeben.")
        raise typer.Exit(EXIT_BAD_INPUT)
    request = decisions.DecisionRequest(
        outcome=outcome, decided_by=actor, granted_personnel_eur=_amount(personnel, "--personnel"),
        granted_material_eur=_amount(material, "--material"), message=reason if reason is not None else message,
        budget_override_reason=budget_override,
    )  # fmt: skip
    kim = ready_app()
    if outcome is DecisionOutcome.APPROVED and grant_acts.four_eyes(kim.settings, year):
        named_person(actor, "--actor")  # an approval is recorded for a second person: a real name
    with use_case(kim) as session:
        run_id = _waiting_run(session, ags, year)  # the decision clears it: the waiting run then ends by itself
        result = decisions.decide_application(session, kim.settings, request=request, now=utc_now(), ags=ags, year=year)
    _report_decision(result, request)
    publish_events(kim)
    _release(run_id, request)


def _report_decision(result: DecisionResult, request: DecisionRequest) -> None:
    from kim_workflow.core.money import format_eur

    if result.awaiting_confirmation is not None:
        console.print(
            f"Bewilligung für {result.kommune} ({result.year}) erfasst als Nr. {result.awaiting_confirmation}: wartet "
            f"auf Bestätigung durch eine zweite Person (kim application confirm {result.awaiting_confirmation} "
            "--by NAME). Noch keine E-Mail.",
            highlight=False,
        )
        return
    label = overview_service.STATUS_LABELS[result.status]
    amounts = ""
    if result.outcome is DecisionOutcome.APPROVED:
        assert request.granted_personnel_eur is not None and request.granted_material_eur is not None
        total = request.granted_personnel_eur + request.granted_material_eur
        amounts = f" Bewilligt: {format_eur(total)}."
    email = "E-Mail liegt im Postausgang." if result.email_queued else "Keine aktive Ansprechperson!"
    console.print(f"Antrag von {result.kommune} für {result.year}: {label}.{amounts} {email}", highlight=False)


def _waiting_run(session: Any, ags: str, year: int) -> str | None:
    from kim_workflow.services.applications import find_application

    application, _ = find_application(session, ags=ags, year=year)
    return application.decision_run_id


def _release(run_id: str | None, request: DecisionRequest) -> None:
    """Best effort: let a decision flow that still waits see the decision and end (kim up serves it)."""
    if run_id is None or not os.environ.get("PREFECT_API_URL"):
        return
    from kim_workflow.orchestration.application_tasks import release_waiting_run

    answer: dict[str, Any] = {"outcome": request.outcome, "decided_by": request.decided_by}
    try:
        if release_waiting_run(run_id, answer):
            console.print("Der wartende Entscheidungslauf in Prefect wurde beendet.")
    except Exception as exc:
        console.print(f"[yellow]Wartender Prefect-Lauf {run_id} nicht erreicht ({type(exc).__name__}).[/]")


@application_app.command("withdraw")
def withdraw(
    ags: Annotated[str, typer.Argument(help="AGS der Kommune, z. B. 07211000")],
    year: Year,
    reason: Annotated[str, typer.Option(help="Grund der Rücknahme (wird im Ereignisprotokoll vermerkt)")],
    actor: Actor = "cli",
) -> None:
    """Withdraw a Kommune's application that is not yet decided: its reports for the year are waived."""
    kim = ready_app()
    with use_case(kim) as session:
        result = withdrawals.withdraw_application(
            session, kim.settings, ags=ags, year=year, reason=reason, now=utc_now(), actor=actor
        )
    waived = f" Jahresbericht und Fragebogen entfallen ({result.waived} Berichtspflichten)." if result.waived else ""
    if result.rejected_grant_decision is not None:
        waived += f" Die wartende Bewilligung Nr. {result.rejected_grant_decision} ist verworfen."
    console.print(f"Antrag von {result.kommune} für {result.year} zurückgezogen.{waived}", highlight=False)
    publish_events(kim)


@application_app.command("list")
def list_applications(year: Year, as_json: JsonFlag = False) -> None:
    """Every Kommune's application of a year: status, VZÄ, requested and granted amounts."""
    kim = ready_app()
    with use_case(kim) as session:
        rows = overview_service.overview(session, year=year)
        rules = decisions.rules_for(kim.settings, year)
        budget = overview_service.budget_state(session, year=year, rules=rules).line()
    table_rows = overview_service.as_table(rows)
    summary = overview_service.description(rows, year=year) + (f"; {budget}" if budget else "")
    if as_json:
        typer.echo(json.dumps({"year": year, "rows": table_rows, "summary": summary}, ensure_ascii=False, indent=2))
        return
    _print_table(table_rows, year)
    console.print(summary, highlight=False)


def _print_table(rows: list[dict[str, Any]], year: int) -> None:
    table = Table(title=f"Anträge Förderjahr {year}")
    for column in overview_service.COLUMNS_DE:
        table.add_column(column, justify="right" if "kosten" in column or column == "VZÄ" else "left")
    for row in rows:
        table.add_row(*(escape(str(v)) for v in row.values()))
    console.print(table)


grants.register(application_app)  # amend, revoke, confirm, pending (cli/grants.py)
