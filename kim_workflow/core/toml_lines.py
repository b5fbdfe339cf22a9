"""Line numbers for a questionnaire TOML file (tomllib gives none): where each table and key starts (pure).

Reads the source text once, line by line, following the file's shape: ``[[section]]`` tables, each with
``[[section.question]]`` tables (and optional ``[section.question.<name>]`` sub-tables). Text inside multi-line
strings is skipped, so a help text that contains ``id = …`` does not confuse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\" -]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")
_TOML_ERROR_LINE = re.compile(r"\(at line (\d+), column \d+\)")


@dataclass(slots=True)
class Table:
    line: int
    end: int
    keys: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class TomlLines:
    """The line (1-based) of the top-level keys, of each section and each question, and of their keys."""

    lines: list[str]
    top: Table
    sections: list[Table] = field(default_factory=list)
    questions: list[list[Table]] = field(default_factory=list)

    def section(self, index: int) -> Table | None:
        return self.sections[index] if index < len(self.sections) else None

    def question(self, section: int, index: int) -> Table | None:
        tables = self.questions[section] if section < len(self.questions) else []
        return tables[index] if index < len(tables) else None

    def find(self, table: Table | None, needle: str, *, nth: int = 1) -> int | None:
        """The ``nth`` line of ``table`` (from its start to the next table) that contains ``needle``."""
        if table is None:
            return None
        found = 0
        for number in range(table.line, table.end + 1):
            found += needle in self.lines[number - 1]
            if found == nth:
                return number
        return None


def locate(text: str) -> TomlLines:
    lines = text.splitlines()
    result = TomlLines(lines=lines, top=Table(line=1, end=len(lines)))
    current = result.top
    prefix = ""
    quote: str | None = None
    for number, line in enumerate(lines, start=1):
        if quote is not None:  # inside a multi-line string
            if line.count(quote) % 2 == 1:
                quote = None
            continue
        header = _HEADER.match(line)
        if header is not None and not _KEY.match(line):
            current.end = number - 1
            current, prefix = _open(result, header[1], header[2].replace(" ", ""), number, current)
            continue
        key = _KEY.match(line)
        if key is not None:
            current.keys.setdefault(prefix + key[1].strip('"'), number)
        for mark in ('"""', "'''"):
            if line.count(mark) % 2 == 1:
                quote = mark
                break
    current.end = len(lines)
    return result


def _open(result: TomlLines, brackets: str, name: str, number: int, current: Table) -> tuple[Table, str]:
    if brackets == "[[" and name == "section":
        table = Table(line=number, end=number)
        result.sections.append(table)
        result.questions.append([])
        return table, ""
    if brackets == "[[" and name == "section.question" and result.questions:
        table = Table(line=number, end=number)
        result.questions[-1].append(table)
        return table, ""
    if name.startswith("section.question.") and result.questions and result.questions[-1]:
        table = result.questions[-1][-1]
        sub = name.removeprefix("section.question.")
        table.keys.setdefault(sub, number)
        return table, sub + "."
    current.keys.setdefault(name, number)
    return current, name + "."


def toml_error_line(message: str) -> int | None:
    """The line tomllib names in a decode error (``… (at line 3, column 7)``)."""
    match = _TOML_ERROR_LINE.search(message)
    return int(match[1]) if match else None
