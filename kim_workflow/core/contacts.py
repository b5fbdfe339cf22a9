"""Parsing and validating a contact list (CSV text with columns ``ags,name,email,role``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from dataclasses import dataclass

from kim_workflow.core.domain import ContactRole
from kim_workflow.core.validation import InvalidValueError, check_header_safe, normalise_email

REQUIRED_COLUMNS = ("ags", "name", "email", "role")
MAX_NAME_LENGTH = 200


@dataclass(frozen=True, slots=True)
class ContactRow:
    line: int
    ags: str | None
    name: str
    email: str
    role: ContactRole


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Zeile {self.line}: {self.message}"


class ContactFileError(ValueError):
    """The whole file is unusable (wrong header, not CSV, not UTF-8)."""


def parse_contacts(text: str, known_ags: Collection[str]) -> tuple[list[ContactRow], list[RowError]]:
    """Validate every row; return the good rows and an error per bad row (line numbers count the header)."""
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise ContactFileError(f"Datei ist kein gültiges CSV: {exc}") from None
    if header is None or [h.strip().lower() for h in header] != list(REQUIRED_COLUMNS):
        raise ContactFileError(f"Kopfzeile muss genau {','.join(REQUIRED_COLUMNS)} lauten, nicht {header!r}")
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
        problems.append(f"unbekannter AGS {ags!r}")
    if not name:
        problems.append("Name fehlt")
    elif len(name) > MAX_NAME_LENGTH:
        problems.append(f"Name länger als {MAX_NAME_LENGTH} Zeichen")
    try:
        normalise_email(values["email"])
    except InvalidValueError as exc:
        problems.append(str(exc))
    return problems


def _to_row(raw: dict[str | None, str | None], line: int) -> ContactRow:
    ags = (raw["ags"] or "").strip() or None
    return ContactRow(
        line=line,
        ags=ags,
        name=(raw["name"] or "").strip(),
        email=normalise_email(raw["email"] or ""),
        role=ContactRole((raw["role"] or "").strip()),
    )
