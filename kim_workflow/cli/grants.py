"""``kim application amend | revoke | confirm | pending``: amendments, revocations and the four-eyes confirmation."""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer

from kim_workflow.cli.common import (
    EXIT_BAD_INPUT,
    ID_MAX,
    Actor,
    Year,
    console,
    err,
    named_person,
    parse_day,
    publish_events,
    ready_app,
    use_case,
    utc_now,
)
from kim_workflow.cli.lazy import lazy_module
from kim_workflow.core.years import YEAR_MAX, YEAR_MIN

if TYPE_CHECKING:
    from kim_workflow.core import german_input
    from kim_workflow.services import grant_acts, grant_review
    from kim_workflow.services.grant_acts import GrantResult
else:
    german_input = lazy_module("kim_workflow.core.german_input")
    grant_acts = lazy_module("kim_workflow.services.grant_acts")
    grant_review = lazy_module("kim_workflow.services.grant_review")

Ags = Annotated[str, typer.Option("--ags", help="AGS der Kommune, z. B. 07211000")]
Reason = Annotated[str, typer.Option("--reason", help="Begründung (wird der Kommune mitgeteilt)")]


def amend(
    ags: Ags,
    year: Year,
    personnel: Annotated[str, typer.Option("--personnel", help="Neue Personalkosten in Euro (Jahresbetrag)")],
    material: Annotated[str, typer.Option("--material", help="Neue Sachkosten in Euro (Jahresbetrag)")],
    reason: Reason,
    budget_override: Annotated[
        str | None,
        typer.Option("--budget-override", help="Begründung, wenn die Änderung das Budget übersteigt"),
    ] = None,
    actor: Actor = "cli",
) -> None:
    """Amend an approved grant (Änderungsbescheid): new amounts with a reason; under four eyes it waits."""
    amounts = _amount(personnel, "--personnel"), _amount(material, "--material")
    kim = ready_app()
    if grant_acts.four_eyes(kim.settings, year):
        named_person(actor, "--actor")
    with use_case(kim) as session:
        result = grant_acts.amend_grant(
            session, kim.settings, ags=ags, year=year, personnel=amounts[0], material=amounts[1], reason=reason,
            by=actor, now=utc_now(), budget_override_reason=budget_override,
        )  # fmt: skip
    _report(result, "Änderungsbescheid")
    publish_events(kim)


def revoke(
    ags: Ags,
    year: Year,
    effective: Annotated[str, typer.Option("--effective", help="Widerruf wirksam zum, JJJJ-MM-TT")],
    reason: Reason,
    actor: Actor = "cli",
) -> None:
    """Revoke an approved grant from a date (Widerrufsbescheid); its outstanding reports are waived."""
    effective_on = parse_day(effective, "--effective")
    kim = ready_app()
    if grant_acts.four_eyes(kim.settings, year):
        named_person(actor, "--actor")
    with use_case(kim) as session:
        result = grant_acts.revoke_grant(
            session, kim.settings, ags=ags, year=year, effective_on=effective_on, reason=reason, by=actor,
            now=utc_now(),
        )  # fmt: skip
    _report(result, f"Widerruf zum {effective_on:%d.%m.%Y}")
    publish_events(kim)


def confirm(
    number: Annotated[int, typer.Argument(help="Nummer der Entscheidung (kim application pending)", min=1, max=ID_MAX)],
    by: Annotated[str, typer.Option("--by", help="Wer bestätigt (eine andere Person als die erfassende)")],
    reject: Annotated[bool, typer.Option("--reject", help="Verwerfen statt bestätigen (mit --reason)")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Begründung des Verwerfens")] = None,
) -> None:
    """Four eyes: confirm (or --reject) a decision that waits for a second person."""
    if reason is not None and not reject:
        err.print("[bold red]Fehler:[/] --reason nur zusammen mit --reject angeben.")
        raise typer.Exit(EXIT_BAD_INPUT)
    named_person(by, "--by")
    kim = ready_app()
    with use_case(kim) as session:
        if reject:
            result = grant_review.reject_grant_decision(
                session, kim.settings, act_id=number, by=by, reason=reason or "", now=utc_now()
            )
        else:
            result = grant_review.confirm_grant_decision(session, kim.settings, act_id=number, by=by, now=utc_now())
    what = grant_acts.KIND_LABELS[result.kind]
    if result.already:
        console.print(f"{what} Nr. {number} war bereits bestätigt; nichts geändert, nichts versandt.")
    elif reject:
        console.print(f"{what} Nr. {number} ({result.kommune}, {result.year}) verworfen; sie wird nicht wirksam.")
    else:
        email = "E-Mail liegt im Postausgang." if result.email_queued else "Keine aktive Ansprechperson!"
        console.print(f"{what} Nr. {number} ({result.kommune}, {result.year}) bestätigt und wirksam. {email}")
    publish_events(kim)


def pending(
    year: Annotated[
        int | None, typer.Option("--year", min=YEAR_MIN, max=YEAR_MAX, help="Nur dieses Förderjahr")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Ergebnis als JSON auf stdout")] = False,
) -> None:
    """Decisions waiting for confirmation by a second person (Vier-Augen-Prinzip)."""
    kim = ready_app()
    with use_case(kim) as session:
        rows = grant_review.pending_grants(session, year=year)
    if as_json:
        document = [{**asdict(row), "requested_at": row.requested_at.isoformat()} for row in rows]
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print("Keine Entscheidung wartet auf Bestätigung.")
        return
    for row in rows:
        console.print(
            f"Nr. {row.grant_decision_id}: {row.kommune} ({row.ags}), {row.year}: {row.summary}", highlight=False
        )
    console.print("Bestätigen: kim application confirm NR --by NAME (verwerfen: --reject --reason TEXT)")


def _amount(text: str, option: str) -> Decimal:
    try:
        return german_input.parse_amount(text)
    except ValueError as exc:
        err.print(f"Fehler: {option}: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _report(result: GrantResult, what: str) -> None:
    from kim_workflow.core.domain import GrantActState

    if result.state is GrantActState.PENDING:
        console.print(
            f"{what} für {result.kommune} ({result.year}) erfasst als Nr. {result.grant_decision_id}: wartet auf "
            "Bestätigung durch eine zweite Person (kim application confirm "
            f"{result.grant_decision_id} --by NAME).",
            highlight=False,
        )
        return
    email = "E-Mail liegt im Postausgang." if result.email_queued else "Keine aktive Ansprechperson!"
    console.print(f"{what} für {result.kommune} ({result.year}) wirksam. {email}", highlight=False)


def register(group: typer.Typer) -> None:
    group.command("amend")(amend)
    group.command("revoke")(revoke)
    group.command("confirm")(confirm)
    group.command("pending")(pending)
