"""Writing the evaluation's tables as CSV and XLSX (openpyxl) for the ministry's spreadsheets.

CSV as German Excel opens it with a double click: UTF-8 with BOM, ``;`` between fields, decimal comma without
thousands separators (so the cells are numbers), dates as ``TT.MM.JJJJ``, shares as fractions (``0,25`` = 25 %),
line ends ``\\r\\n``. Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``) is
prefixed with ``'`` in CSV and stored as text in XLSX. XLSX: one sheet per table, header row bold and frozen,
column widths from the content, amounts ``#.##0,00``, shares as percent, dates ``TT.MM.JJJJ``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from kim_workflow.core.evaluation import Cell
from kim_workflow.core.evaluation_tables import PERCENT_COLUMNS, Table

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
WIDTH_MIN, WIDTH_MAX = 8, 60
WIDTH_SAMPLE = 200
"""Rows looked at for the column widths (the rest follow the same pattern)."""


def csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    return str(value)


def table_csv(table: Table) -> bytes:
    """The table as CSV bytes (BOM, ``;``, decimal comma)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.header)
    writer.writerows([csv_text(v) for v in row] for row in table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_csv(table: Table, path: Path) -> Path:
    path.write_bytes(table_csv(table))
    return path


def write_xlsx(tables: Sequence[Table], path: Path, *, now: datetime) -> Path:
    """One sheet per table (write-only mode: memory does not grow with the rows); ``now`` is the file's date."""
    workbook = Workbook(write_only=True)
    workbook.properties.creator = "kim-workflow"
    workbook.properties.created = workbook.properties.modified = now.replace(tzinfo=None, microsecond=0)
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(table.title))
        _fill(sheet, table)
    workbook.save(path)
    return path


def _sheet_title(title: str) -> str:
    return title.replace("/", "-")[:31]  # Excel: at most 31 characters, no slashes


def _fill(sheet: WriteOnlyWorksheet, table: Table) -> None:
    sheet.freeze_panes = "A2"
    for index, width in enumerate(_widths(table), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width  # type: ignore[attr-defined]
    bold = Font(bold=True)
    head = []
    for name in table.header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        head.append(cell)
    sheet.append(head)
    percent = [name in PERCENT_COLUMNS for name in table.header]
    for row in table.rows:
        sheet.append([_cell(sheet, value, is_percent) for value, is_percent in zip(row, percent, strict=True)])


def _cell(sheet: WriteOnlyWorksheet, value: Cell, is_percent: bool) -> object:
    if value is None or isinstance(value, int):
        return value
    cell = WriteOnlyCell(sheet, value=value)  # type: ignore[arg-type]  # openpyxl takes Decimal and date too
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    elif isinstance(value, Decimal):
        cell.number_format = "0.00%" if is_percent else "#,##0.00" if value.as_tuple().exponent == -2 else "General"
    elif isinstance(value, date):
        cell.number_format = "DD.MM.YYYY"
    return cell


def _widths(table: Table) -> list[float]:
    widths = [len(name) for name in table.header]
    for row in table.rows[:WIDTH_SAMPLE]:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(csv_text(value)))
    return [float(min(max(w + 2, WIDTH_MIN), WIDTH_MAX)) for w in widths]
