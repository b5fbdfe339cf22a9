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
    from kim_workflow.services import questionnaire_answers, questionnaires
else:
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
