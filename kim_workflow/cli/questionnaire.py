"""The Fragebogen: show and check the year's questionnaire, answers per Kommune, workbooks and their import."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from kim_workflow.cli.common import Actor, Year, console, err, publish_events, ready_app, settings, use_case, utc_now
from kim_workflow.cli.errors import KimGroup
from kim_workflow.cli.lazy import lazy_module

if TYPE_CHECKING:
    from kim_workflow.core import questionnaire_answers as answer_rules
    from kim_workflow.core import questionnaire_text
    from kim_workflow.core.questionnaire import Questionnaire
    from kim_workflow.services import (
        questionnaire_answers,
        questionnaire_import,
        questionnaire_workbook,
        questionnaires,
    )
else:
    questionnaire_import = lazy_module("kim_workflow.services.questionnaire_import")
    questionnaire_workbook = lazy_module("kim_workflow.services.questionnaire_workbook")
    answer_rules = lazy_module("kim_workflow.core.questionnaire_answers")
    questionnaire_text = lazy_module("kim_workflow.core.questionnaire_text")
    questionnaires = lazy_module("kim_workflow.services.questionnaires")
    questionnaire_answers = lazy_module("kim_workflow.services.questionnaire_answers")

Ags = Annotated[str, typer.Option("--ags", help="AGS der Kommune, z. B. 07315000")]

questionnaire_app = typer.Typer(
    cls=KimGroup, help="Fragebogen: Inhalt, Antworten, Arbeitsmappen.", no_args_is_help=True
)


@questionnaire_app.command("show")
def show(year: Year) -> None:
    """Show the year's questionnaire for review: every section and question with its id, type and conditions."""
    questionnaire = questionnaires.load_questionnaire(year, settings().questionnaire_dir)
    render(questionnaire, heading=f"Förderjahr {year}")


@questionnaire_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="Fragebogen-Datei (TOML), z. B. 2027.toml")],
) -> None:
    """Validate a questionnaire file: every error with its line, section and question; exit code 2 on errors."""
    questionnaire = questionnaires.check_file(file)
    count = len(questionnaire.questions)
    console.print(
        f"{escape(str(file))}: in Ordnung (Version {escape(questionnaire.version)}, "
        f"{len(questionnaire.sections)} Abschnitte, {count} Fragen).",
        highlight=False,
    )


@questionnaire_app.command("answers")
def answers(year: Year, ags: Ags) -> None:
    """Show a Kommune's answers for the year: status, revisions and every question with its answer."""
    kim = ready_app()
    with use_case(kim) as session:
        stored = questionnaire_answers.load_answers(session, kim.settings, year=year, ags=ags)
    if stored is None:
        console.print(f"Für {escape(ags)} liegen für {year} keine Antworten vor.", highlight=False)
        return
    questionnaire = questionnaires.load_questionnaire(year, kim.settings.questionnaire_dir)
    state = "eingereicht" if stored.status.value == "submitted" else "Entwurf"
    console.print(
        f"[bold]Fragebogen {year} von {escape(stored.kommune.name)} ({stored.kommune.ags})[/]: {state}, "
        f"Version {escape(stored.questionnaire_version)}, zuletzt am {stored.updated_at:%d.%m.%Y %H:%M} UTC "
        f"von {escape(stored.updated_by)}",
        highlight=False,
    )
    for revision in stored.revisions:
        how = "eingereicht" if revision.reason is None else f"korrigiert ({escape(revision.reason)})"
        console.print(
            f"  Stand {revision.revision}: {how} am {revision.created_at:%d.%m.%Y} von {escape(revision.created_by)} "
            f"({revision.source.value})",
            highlight=False,
        )
    table = Table(show_lines=False, expand=True)
    table.add_column("ID", no_wrap=True)
    table.add_column("Frage", ratio=2)
    table.add_column("Antwort", ratio=2)
    for question in questionnaire.questions:
        value = stored.values.get(question.id)
        if value is None:
            continue
        table.add_row(escape(question.id), escape(question.text), escape(answer_rules.display(question, value)))
    console.print(table)


@questionnaire_app.command("correct")
def correct(
    year: Year,
    ags: Ags,
    values: Annotated[
        list[str],
        typer.Option("--set", help="ID=WERT, z. B. gremien.netzwerkrunden=7 (leerer Wert löscht die Antwort)"),
    ],
    reason: Annotated[str, typer.Option(help="Grund der Korrektur (Pflicht, wird protokolliert)")],
    actor: Actor = "cli",
) -> None:
    """Correct submitted answers: a new revision with the reason and the person (the event log keeps both)."""
    raw: dict[str, str] = {}
    for item in values:
        question_id, separator, value = item.partition("=")
        if not separator or not question_id.strip():
            raise typer.BadParameter(f"erwartet ID=WERT, nicht {item!r}", param_hint="--set")
        raw[question_id.strip()] = value
    kim = ready_app()
    with use_case(kim) as session:
        result = questionnaire_answers.correct(
            session, kim.settings, year=year, ags=ags, raw_answers=raw, reason=reason, by=actor, now=utc_now()
        )
    if not result.saved:
        for problem in result.problems:
            err.print(f"{escape(problem.question_id)}: {escape(problem.message)}", highlight=False)
        err.print("Nichts gespeichert.")
        raise typer.Exit(2)
    console.print(f"Fragebogen {year} von {escape(result.kommune.name)}: Stand {result.revision} gespeichert.")
    publish_events(kim)


@questionnaire_app.command("workbook")
def workbook(
    year: Year,
    out: Annotated[Path, typer.Option("--out", help="Ordner für die Arbeitsmappen (wird angelegt)")],
    ags: Annotated[str | None, typer.Option("--ags", help="Nur für diese Kommune (AGS)")] = None,
) -> None:
    """Write one prefilled XLSX workbook per Kommune that still owes the year's Fragebogen (or the one given)."""
    kim = ready_app()
    with use_case(kim) as session:
        written = questionnaire_workbook.write_workbooks(
            session, kim.settings, year=year, out_dir=out, now=utc_now(), ags=ags
        )
    for item in written:
        console.print(f"{escape(item.kommune.name)}: {escape(str(item.path))}", highlight=False)
    console.print(f"{len(written)} Arbeitsmappen in {escape(str(out))} geschrieben.", highlight=False)


@questionnaire_app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="Ausgefüllte Arbeitsmappen (.xlsx)")],
    actor: Actor = "cli",
) -> None:
    """Import filled workbooks: every cell is checked; on any problem nothing is stored (all files or none)."""
    from kim_workflow.cli.common import today_in

    contents = [(str(path), path.read_bytes()) for path in files]
    kim = ready_app()
    with use_case(kim) as session:
        result = questionnaire_import.import_workbooks(
            session, kim.settings, files=contents, by=actor, now=utc_now(), today=today_in(kim)
        )
        if not result.stored:
            session.rollback()
    if not result.stored:
        for problem in result.problems:
            err.print(escape(str(problem)), highlight=False)
        count = len(result.problems)
        err.print(f"{count} {'Problem' if count == 1 else 'Probleme'}; nichts gespeichert.", highlight=False)
        raise typer.Exit(2)
    for outcome in result.files:
        name = outcome.kommune.name if outcome.kommune else "?"
        if outcome.already_imported is not None:
            when = f"{outcome.already_imported:%d.%m.%Y}"
            console.print(f"{escape(outcome.name)}: bereits am {when} eingelesen ({escape(name)}); nichts geändert.")
        else:
            console.print(f"{escape(outcome.name)}: Fragebogen von {escape(name)} eingereicht.", highlight=False)
    publish_events(kim)


def render(questionnaire: Questionnaire, *, heading: str) -> None:
    """The questionnaire as numbered questions with id, type, allowed answers, help and condition (any width)."""
    title, version = escape(questionnaire.title), escape(questionnaire.version)
    console.print(f"[bold]{title}[/]\n{escape(heading)}, Version {version}, Quelle: {escape(questionnaire.source)}")
    if questionnaire.intro:
        console.print(escape(re.sub(r"(?<!\n)\n(?!\n)", " ", questionnaire.intro)), highlight=False)
    for number, section in enumerate(questionnaire.sections, start=1):
        console.print(f"\n[bold]{number}. {escape(section.title)}[/]", highlight=False)
        if section.help:
            _indented(f"[dim]{escape(section.help)}[/]", 3)
        for position, question in enumerate(section.questions, start=1):
            required = " [bold](Pflicht)[/]" if question.required else ""
            console.print()
            _indented(f"{number}.{position}  {escape(question.text)}{required}", 3)
            details = [
                f"[cyan]{escape(question.id)}[/]",
                question.type.label_de,
                escape(questionnaire_text.allowed_text(question)),
            ]
            if question.since:
                details.append(f"seit {question.since}")
            _indented(" · ".join(d for d in details if d), 9)
            if question.help:
                _indented(f"[dim]Hinweis: {escape(question.help)}[/]", 9)
            when = questionnaire_text.condition_text(questionnaire, question)
            if when:
                _indented(f"[italic]{escape(when[0].upper() + when[1:])}[/]", 9)


def _indented(markup: str, left: int) -> None:
    console.print(Padding(markup, (0, 0, 0, left)), highlight=False)
