"""``kim evaluation``: the year's questionnaire evaluation as files, and the year's evaluation pack (ZIP)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from kim_workflow.cli.common import Year, console, ready_app, use_case, utc_now
from kim_workflow.cli.errors import BadInput, KimGroup
from kim_workflow.cli.lazy import lazy_module
from kim_workflow.core.years import YEAR_MAX, YEAR_MIN

if TYPE_CHECKING:
    from kim_workflow.services import evaluation as evaluation_service
    from kim_workflow.services import evaluation_pack
else:
    evaluation_service = lazy_module("kim_workflow.services.evaluation")
    evaluation_pack = lazy_module("kim_workflow.services.evaluation_pack")

evaluation_app = typer.Typer(
    cls=KimGroup,
    help="Auswertung des Fragebogens (CSV, XLSX, HTML) und das Auswertungspaket des Jahres (ZIP).",
    invoke_without_command=True,
)
Out = Annotated[Path | None, typer.Option("--out", help="Zielordner (wird angelegt, wenn er fehlt)")]
Compare = Annotated[
    list[int] | None,
    typer.Option("--compare", min=YEAR_MIN, max=YEAR_MAX, help="Vergleichsjahr (mehrfach möglich), z. B. das Vorjahr"),
]
OptionalYear = Annotated[int | None, typer.Option("--year", min=YEAR_MIN, max=YEAR_MAX, help="Förderjahr")]


def _required(value: object, option: str) -> None:
    if value is None:
        raise BadInput(f"Bitte {option} angeben.", param_hint=option)


@evaluation_app.callback()
def evaluation(ctx: typer.Context, year: OptionalYear = None, compare: Compare = None, out: Out = None) -> None:
    """Evaluate the year's submitted questionnaires: data table, codebook, summaries (CSV and XLSX), HTML report."""
    if ctx.invoked_subcommand is not None:
        return
    _required(year, "--year")
    _required(out, "--out")
    assert year is not None and out is not None
    kim = ready_app()
    with use_case(kim) as session:
        files = evaluation_service.run_evaluation(
            session, year=year, compare=compare or [], out=out, now=utc_now(),
            questionnaire_dir=kim.settings.questionnaire_dir,
        )  # fmt: skip
    compared = f", verglichen mit {', '.join(map(str, files.compared))}" if files.compared else ""
    console.print(
        f"Förderjahr {year}: {files.submitted} von {files.kommunen} Kommunen haben den Fragebogen eingereicht"
        f"{compared}. {len(files.paths)} Dateien in {escape(str(out))}:",
        highlight=False,
    )
    for path in files.paths:
        console.print(f"  {escape(path.name)}", highlight=False)


@evaluation_app.command("pack")
def pack(year: Year, out: Annotated[Path, typer.Option("--out", help="Zielordner des ZIP-Archivs")]) -> None:
    """The year's evaluation pack for the ministry's records: one ZIP with a manifest of SHA-256 hashes."""
    kim = ready_app()
    with use_case(kim) as session:
        result = evaluation_pack.write_pack(session, kim.settings, year=year, out=out, now=utc_now())
    console.print(
        f"Auswertungspaket {year}: {escape(str(result.path))} ({len(result.members)} Dateien, SHA-256 "
        f"{result.sha256[:16]}…).",
        highlight=False,
    )
