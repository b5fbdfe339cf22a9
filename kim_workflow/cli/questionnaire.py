"""The Fragebogen: show and check the year's questionnaire, answers per Kommune, workbooks and their import."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.padding import Padding

from kim_workflow.cli.common import Year, console, settings
from kim_workflow.cli.errors import KimGroup
from kim_workflow.cli.lazy import lazy_module

if TYPE_CHECKING:
    from kim_workflow.core import questionnaire_text
    from kim_workflow.core.questionnaire import Questionnaire
    from kim_workflow.services import questionnaires
else:
    questionnaire_text = lazy_module("kim_workflow.core.questionnaire_text")
    questionnaires = lazy_module("kim_workflow.services.questionnaires")

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
