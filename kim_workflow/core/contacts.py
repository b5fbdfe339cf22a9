"""Parsing and validating a contact list (CSV with columns ``ags,name,email,role`` and optional ``anrede,titel``).

Comma- and semicolon-separated files are both read (German Excel writes semicolons, often after a UTF-8 BOM):
the separator is taken from the header line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from kim_workflow.core.domain import ContactRole
from kim_workflow.core.validation import InvalidValueError, check_header_safe, normalise_email

REQUIRED_COLUMNS = ("ags", "name", "email", "role")
OPTIONAL_COLUMNS = ("anrede", "titel")
ANREDEN = ("Frau", "Herr")
MAX_NAME_LENGTH = 200
MAX_TITEL_LENGTH = 50
SEPARATORS = {",": "Komma (,)", ";": "Semikolon (;)"}
_OTHER_SEPARATORS = {"\t": "Tabulator", "|": "senkrechter Strich (|)"}


@dataclass(frozen=True, slots=True)
class ContactRow:
    line: int
    ags: str | None
    name: str
    email: str
    role: ContactRole
    anrede: str | None = None
    titel: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Zeile {self.line}: {self.message}"


class ContactFileError(ValueError):
    """The whole file is unusable (wrong header, unknown separator, not CSV)."""


def parse_contacts(text: str, known_ags: Collection[str]) -> tuple[list[ContactRow], list[RowError]]:
    """Validate every row; return the good rows and an error per bad row (line numbers count the header)."""
    text = text.removeprefix("\ufeff")
    separator = detect_separator(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise ContactFileError(f"Datei ist kein gültiges CSV: {exc}") from None
    reader.fieldnames = _check_header(header or [])
    rows: list[ContactRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    last_line = reader.line_num
    try:
        for raw in reader:
            line, last_line = last_line + 1, reader.line_num  # first physical line of this record
            problems = _row_problems(raw, known_ags)
            if problems:
                errors.append(RowError(line, "; ".join(problems)))
                continue
            row = _to_row(raw, line)
            key = f"{row.ags}|{row.email.lower()}"
            if key in seen:
                errors.append(RowError(line, f"E-Mail-Adresse {row.email} doppelt (schon in Zeile {seen[key]})"))
                continue
            seen[key] = line
            rows.append(row)
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, f"CSV-Fehler: {exc}"))
    return rows, errors


def file_columns(text: str) -> frozenset[str]:
    """The (lower-cased) columns of the file's header line, e.g. to tell whether it has ``anrede``/``titel``."""
    text = text.removeprefix("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    return frozenset(_check_header(next(csv.reader([first], delimiter=detect_separator(text)), [])))


def detect_separator(text: str) -> str:
    """``","`` or ``";"``: the one that splits the header line into the required columns, else a German error."""
    first = text.removeprefix("\ufeff").splitlines()[0] if text.strip() else ""
    for separator in SEPARATORS:
        try:
            names = {_column(name) for name in next(csv.reader([first], delimiter=separator))}
        except (csv.Error, StopIteration):
            continue
        if set(REQUIRED_COLUMNS) <= names:
            return separator
    counts = {sep: first.count(sep) for sep in (*SEPARATORS, *_OTHER_SEPARATORS)}
    found, hits = max(counts.items(), key=lambda item: item[1])
    seen = f"gefunden: {({**SEPARATORS, **_OTHER_SEPARATORS})[found]}" if hits else "kein Trennzeichen gefunden"
    raise ContactFileError(
        f"Kopfzeile nicht erkannt ({seen}): erwartet werden die Spalten {', '.join(REQUIRED_COLUMNS)} "
        f"(optional {', '.join(OPTIONAL_COLUMNS)}), getrennt durch {' oder '.join(SEPARATORS.values())}; "
        f"Kopfzeile war {first[:200]!r}"
    )


def _column(name: str | None) -> str:
    return (name or "").strip().lower()


def _check_header(header: Sequence[str]) -> list[str]:
    names = [_column(name) for name in header]
    unknown = [name for name in names if name not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
    doubled = sorted({name for name in names if names.count(name) > 1})
    if unknown or doubled:
        problem = f"unbekannte Spalten {unknown!r}" if unknown else f"doppelte Spalten {doubled!r}"
        raise ContactFileError(
            f"Kopfzeile: {problem}; erlaubt sind {', '.join(REQUIRED_COLUMNS)} "
            f"und optional {', '.join(OPTIONAL_COLUMNS)}"
        )
    return names


def _row_problems(raw: dict[str | None, str | None], known_ags: Collection[str]) -> list[str]:
    if None in raw or any(v is None for v in raw.values()):
        return ["falsche Spaltenzahl"]
    values = {k: v for k, v in raw.items() if k is not None and v is not None}
    problems: list[str] = []
    for field, value in values.items():
        try:
            check_header_safe(value, field=field)
        except InvalidValueError as exc:
            problems.append(str(exc))
    if problems:
        return problems
    role_text, ags, name = values["role"].strip(), values["ags"].strip(), values["name"].strip()
    try:
        role = ContactRole(role_text)
    except ValueError:
        problems.append(f"unbekannte Rolle {role_text!r} (erlaubt: {', '.join(r.value for r in ContactRole)})")
        role = None
    if role is not None and role.needs_kommune and not ags:
        problems.append(f"Rolle {role.value} braucht einen AGS")
    if ags and ags not in known_ags:
        hint = f" (führende Null verloren? gemeint ist wohl 0{ags})" if f"0{ags}" in known_ags else ""
        problems.append(f"unbekannter AGS {ags!r}{hint}")
    if not name:
        problems.append("Name fehlt")
    elif len(name) > MAX_NAME_LENGTH:
        problems.append(f"Name länger als {MAX_NAME_LENGTH} Zeichen")
    anrede = values.get("anrede", "").strip()
    if anrede and _anrede(anrede) is None:
        problems.append(f"Anrede {anrede!r} unzulässig (erlaubt: {' oder '.join(ANREDEN)} oder leer)")
    if len(values.get("titel", "").strip()) > MAX_TITEL_LENGTH:
        problems.append(f"Titel länger als {MAX_TITEL_LENGTH} Zeichen")
    try:
        normalise_email(values["email"])
    except InvalidValueError as exc:
        problems.append(str(exc))
    return problems


def _anrede(value: str) -> str | None:
    """``"Frau"`` or ``"Herr"`` whatever the case, else ``None``."""
    return next((a for a in ANREDEN if a.lower() == value.lower()), None)


def _to_row(raw: dict[str | None, str | None], line: int) -> ContactRow:
    ags = (raw["ags"] or "").strip() or None
    return ContactRow(
        line=line,
        ags=ags,
        name=(raw["name"] or "").strip(),
        email=normalise_email(raw["email"] or ""),
        role=ContactRole((raw["role"] or "").strip()),
        anrede=_anrede((raw.get("anrede") or "").strip()),
        titel=" ".join((raw.get("titel") or "").split()) or None,
    )
