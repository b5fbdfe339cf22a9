"""Reading a questionnaire TOML file: every error at once, each with its line, section and question (pure).

:func:`parse_questionnaire` takes the file's text (the adapter reads it) and returns a
:class:`~kim_workflow.core.questionnaire.Questionnaire` or raises :class:`QuestionnaireError` listing every
problem. :func:`check_history` compares it with earlier years' files: a question id keeps its type for good.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from kim_workflow.core.questionnaire import Questionnaire, Section
from kim_workflow.core.questionnaire_fields import FileProblem as FileProblem  # the problem type, raised here
from kim_workflow.core.questionnaire_fields import QuestionReader
from kim_workflow.core.toml_lines import TomlLines, locate, toml_error_line
from kim_workflow.core.validation import InvalidValueError

TOP_KEYS = frozenset({"version", "title", "intro", "section"})
SECTION_KEYS = frozenset({"id", "title", "help", "question"})
VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
SECTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class QuestionnaireError(InvalidValueError):
    """A questionnaire file with problems; ``problems`` holds every one, in file order."""

    def __init__(self, source: str, problems: list[FileProblem]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda p: p.line or 0)
        count = "ein Fehler" if len(problems) == 1 else f"{len(problems)} Fehler"
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"Fragebogen {source}: {count}\n{lines}")


def parse_questionnaire(text: str, *, source: str, year: int | None = None) -> Questionnaire:
    """The questionnaire in ``text``; ``year`` (for a year's own file) refuses questions introduced later."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError(
            source, [FileProblem(f"kein gültiges TOML ({exc})", toml_error_line(str(exc)))]
        ) from None
    return _Parser(locate(text), year).questionnaire(document, source)


class _Parser:
    def __init__(self, lines: TomlLines, year: int | None) -> None:
        self.lines = lines
        self.year = year
        self.problems: list[FileProblem] = []

    def questionnaire(self, document: Mapping[str, Any], source: str) -> Questionnaire:
        top = self.lines.top
        for key in sorted(set(document) - TOP_KEYS):
            self.problems.append(FileProblem(f"unbekannter Schlüssel „{key}“", top.keys.get(key)))
        version = document.get("version")
        if not isinstance(version, str) or not VERSION.fullmatch(version):
            self._top("version", "„version“ fehlt oder ist ungültig (Text wie „2026-1“, höchstens 32 Zeichen)")
        title = document.get("title")
        if not isinstance(title, str) or not title.strip():
            self._top("title", "„title“ fehlt (der Titel des Fragebogens)")
        intro = document.get("intro", "")
        if not isinstance(intro, str):
            self._top("intro", "„intro“ muss ein Text sein")
        raw_sections = document.get("section")
        if not isinstance(raw_sections, list) or not raw_sections:
            self._top("section", "keine Abschnitte ([[section]] fehlt)")
            raw_sections = []
        reader = QuestionReader(self.lines, self.year, self.problems)
        sections = [self.section(index, raw, reader) for index, raw in enumerate(raw_sections)]
        reader.finish()
        self._duplicates([s for s in sections if s is not None])
        if self.problems:
            raise QuestionnaireError(source, self.problems)
        return Questionnaire(
            version=str(version), title=str(title).strip(), intro=str(intro).strip(),
            sections=tuple(s for s in sections if s is not None), source=source,
        )  # fmt: skip

    def _top(self, key: str, message: str) -> None:
        self.problems.append(FileProblem(message, self.lines.top.keys.get(key)))

    def section(self, index: int, raw: Any, reader: QuestionReader) -> Section | None:
        table = self.lines.section(index)
        line = table.line if table else None
        if not isinstance(raw, Mapping):
            self.problems.append(FileProblem(f"Abschnitt Nr. {index + 1} ist keine Tabelle", line))
            return None
        section_id = raw.get("id")
        where = f"Abschnitt {section_id}" if isinstance(section_id, str) else f"Abschnitt Nr. {index + 1}"

        def problem(key: str | None, message: str) -> None:
            key_line = table.keys.get(key, line) if table and key else line
            self.problems.append(FileProblem(message, key_line, where))

        for key in sorted(set(raw) - SECTION_KEYS):
            problem(key, f"unbekannter Schlüssel „{key}“")
        if not isinstance(section_id, str) or not SECTION_ID.fullmatch(section_id):
            problem("id", "„id“ fehlt oder ist ungültig (Kleinbuchstaben, Ziffern, _; z. B. „konzept“)")
        title = raw.get("title")
        if not isinstance(title, str) or not title.strip():
            problem("title", "„title“ fehlt")
        help_text = raw.get("help", "")
        if not isinstance(help_text, str):
            problem("help", "„help“ muss ein Text sein")
        raw_questions = raw.get("question")
        if not isinstance(raw_questions, list) or not raw_questions:
            problem("question", "keine Fragen ([[section.question]] fehlt)")
            raw_questions = []
        questions = [reader.question(index, number, item, str(section_id)) for number, item in enumerate(raw_questions)]
        return Section(
            id=str(section_id), title=str(title or "").strip(), help=str(help_text).strip(),
            questions=tuple(q for q in questions if q is not None), line=line,
        )  # fmt: skip

    def _duplicates(self, sections: list[Section]) -> None:
        seen_sections: set[str] = set()
        for section in sections:
            if section.id in seen_sections:
                self.problems.append(FileProblem(f"Abschnitt-ID „{section.id}“ kommt doppelt vor", section.line))
            seen_sections.add(section.id)


def check_history(current: Questionnaire, earlier: Mapping[int, Questionnaire]) -> list[FileProblem]:
    """Question ids of earlier years' files that ``current`` reuses with another type (a new meaning: new id)."""
    problems: list[FileProblem] = []
    for question in current.questions:
        for year in sorted(earlier):
            before = earlier[year].question(question.id)
            if before is not None and before.type is not question.type:
                problems.append(
                    FileProblem(
                        f"die ID war {year} eine Frage vom Typ „{before.type.label_de}“, hier „"
                        f"{question.type.label_de}“; eine Frage mit neuer Bedeutung braucht eine neue ID",
                        question.line,
                        f"Frage {question.id}",
                    )
                )
                break
    return problems
