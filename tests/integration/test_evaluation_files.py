"""The evaluation's files read back: CSV (BOM, ';', decimal comma) with the csv module, XLSX with openpyxl, the
HTML report's charts and its lack of external resources; ``kim evaluation`` on a database with submitted answers."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from kim_workflow.cli import app
from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.evaluation import Respondent, YearAnswers
from kim_workflow.core.evaluation_tables import Evaluation, all_tables, evaluate
from kim_workflow.db.engine import session_scope
from kim_workflow.services.evaluation import file_stem, write_evaluation
from kim_workflow.services.evaluation_files import csv_text
from kim_workflow.services.questionnaire_answers import submit
from kim_workflow.services.questionnaires import load_questionnaire
from kim_workflow.settings import Settings
from kim_workflow.simulation.answers import simulated_answers
from tests.support.questionnaire import MAINZ, MAYEN_KOBLENZ, NOW, complete_answers, open_year

LK, STADT = KommuneKind.LANDKREIS, KommuneKind.KREISFREIE_STADT
WHEN = datetime(2027, 1, 20, 9, tzinfo=UTC)


def simulated(year: int, count: int) -> YearAnswers:
    questionnaire = load_questionnaire(year)
    respondents = []
    for n in range(count):
        kind = LK if n % 3 else STADT
        answers = simulated_answers(questionnaire, kind, seed=f"files|{n}|{year}", year=year) if n % 7 else None
        respondents.append(Respondent(f"0710{n:04d}", f"Kommune {n}", kind, answers))
    respondents.append(Respondent("07999999", '=HYPERLINK("x")', STADT, {"unterstuetzung.bedarf": "-1+2"}))
    return YearAnswers(year, questionnaire, tuple(respondents))


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    return evaluate(simulated(2027, 30), [simulated(2026, 30)])


@pytest.fixture(scope="module")
def written(evaluation: Evaluation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("auswertung")
    write_evaluation(evaluation, out, now=WHEN)
    return out


def test_every_csv_reads_back_as_its_table(evaluation: Evaluation, written: Path) -> None:
    for table in all_tables(evaluation):
        raw = (written / f"{file_stem(2027)}-{table.name}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
        assert rows[0] == list(table.header)
        assert rows[1:] == [[csv_text(v) for v in row] for row in table.rows]
    data = (written / f"{file_stem(2027)}-daten.csv").read_text(encoding="utf-8-sig")
    assert "\"'=HYPERLINK" in data and "'-1+2" in data  # formulas are never run by the spreadsheet


@pytest.mark.parametrize(("value", "text"), [(Decimal("1234.50"), "1234,50"), (Decimal("-0.5"), "-0,5"),
                                             (date(2026, 3, 1), "01.03.2026"), (None, ""), (7, "7"),
                                             ("@x", "'@x"), ("a-b", "a-b")])  # fmt: skip
def test_csv_cells_are_as_german_excel_reads_them(value: object, text: str) -> None:
    assert csv_text(value) == text  # type: ignore[arg-type]


def test_the_xlsx_holds_every_table_as_a_sheet_with_a_frozen_header(evaluation: Evaluation, written: Path) -> None:
    workbook = openpyxl.load_workbook(written / f"{file_stem(2027)}.xlsx")
    tables = all_tables(evaluation)
    assert workbook.sheetnames == [t.title for t in tables]
    for table in tables:
        sheet = workbook[table.title]
        assert sheet.freeze_panes == "A2"
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0] == table.header
        assert [tuple(_plain(v) for v in row) for row in rows[1:]] == [tuple(_plain(v) for v in r) for r in table.rows]
        assert sheet.column_dimensions["A"].width >= 8
    data = workbook["Antworten je Kommune"]
    mischief = next(row for row in data.iter_rows() if row[0].value == "07999999")
    assert mischief[1].data_type == "s" and mischief[1].value == '=HYPERLINK("x")'


def _plain(value: object) -> object:
    """XLSX stores numbers as floats, dates as datetimes, no empty text: compare what a reader gets."""
    if value == "":
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.date()
    return value


def test_the_html_report_embeds_its_charts_and_loads_nothing_from_outside(written: Path) -> None:
    html = (written / f"{file_stem(2027)}.html").read_text(encoding="utf-8")
    images = re.findall(r'<img class="chart" alt="[^"]*" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)">', html)
    assert len(images) >= 15
    svg = base64.b64decode(images[0]).decode("utf-8")
    assert "<svg" in svg and "Anzahl Kommunen" in svg
    assert not re.search(r"https?://|src=\"//|<link|<script|@import", html)
    assert "@page { size: A4" in html and "@media print" in html
    assert "Förderjahr 2027" in html and "Vergleich mit 2026" in html


def test_the_same_data_writes_the_same_report(evaluation: Evaluation, written: Path, tmp_path: Path) -> None:
    write_evaluation(evaluation, tmp_path, now=WHEN)
    for name in (f"{file_stem(2027)}.html", f"{file_stem(2027)}-daten.csv"):
        assert (tmp_path / name).read_bytes() == (written / name).read_bytes()


def test_kim_evaluation_writes_the_files_of_submitted_answers(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_year(engine)
    with session_scope(engine) as session:
        for ags, kind in ((MAINZ, STADT), (MAYEN_KOBLENZ, LK)):
            result = submit(session, settings, year=2026, ags=ags, raw_answers=complete_answers(kind), by="Test",
                            now=NOW, today=NOW.date())  # fmt: skip
            assert result.saved, result.problems
    monkeypatch.setenv("KIM_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(settings.data_dir))
    out = tmp_path / "aus"
    result = CliRunner().invoke(app, ["evaluation", "--year", "2026", "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Förderjahr 2026: 2 von 36 Kommunen haben den Fragebogen eingereicht" in result.output
    rows = list(csv.DictReader(io.StringIO((out / "kim-auswertung-2026-daten.csv").read_text("utf-8-sig")),
                               delimiter=";"))  # fmt: skip
    answered = {r["ags"]: r for r in rows if r["eingereicht"] == "1"}
    assert set(answered) == {MAINZ, MAYEN_KOBLENZ}
    assert answered[MAINZ]["sachkosten.betrag"] == "4250,50" and answered[MAINZ]["gemeinden.einbindung"] == ""
    assert answered[MAYEN_KOBLENZ]["gemeinden.einbindung"] == "teilweise"
    assert answered[MAINZ]["gremien.austauschgremien:beirat"] == "1"
    assert answered[MAINZ]["gremien.austauschgremien:verwaltung"] == "0"
    refused = CliRunner().invoke(app, ["evaluation", "--year", "2026", "--compare", "2026", "--out", str(out)])
    assert refused.exit_code == 2 and "Vergleichsjahr 2026 ist das ausgewertete Jahr" in refused.output
    missing = CliRunner().invoke(app, ["evaluation", "--year", "2026"])
    assert missing.exit_code == 2 and "--out" in missing.output
