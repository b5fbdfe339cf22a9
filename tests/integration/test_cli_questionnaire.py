"""``kim questionnaire show`` and ``check`` as the ministry uses them: the year's own file replaces the default,
a broken file is refused with every error and its line (exit code 2), an id never changes its type across years."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kim_workflow.cli import app
from kim_workflow.core.domain import KommuneKind
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.services.questionnaire_answers import submit
from kim_workflow.services.questionnaires import load_questionnaire, shipped_default_text
from kim_workflow.settings import load_settings
from tests.support.obligations import write_all_active
from tests.support.questionnaire import MAINZ, NOW, complete_answers
from tests.support.workbooks import answer_cells, fill

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    (folder / "questionnaires").mkdir(parents=True)
    monkeypatch.setenv("KIM_DATA_DIR", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


def kim(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_show_renders_the_shipped_default_for_a_year_without_a_file(data_dir: Path) -> None:
    code, output = kim("questionnaire", "show", "--year", "2026")
    assert code == 0, output
    assert "Version 2026-1, Quelle: default.toml (mitgeliefert)" in output
    assert "5.1  In welchem Umfang sind die kreisangehörigen Gemeinden" in output
    assert "gemeinden.einbindung · Einfachauswahl" in output and "Nur Landkreise" in output
    assert "0,01 bis 100.000,00 €" in output


def test_a_years_file_replaces_the_default_for_that_year_only(data_dir: Path) -> None:
    text = shipped_default_text().replace('version = "2026-1"', 'version = "2027-1"')
    (data_dir / "questionnaires" / "2027.toml").write_text(text, encoding="utf-8")
    assert "Version 2027-1" in kim("questionnaire", "show", "--year", "2027")[1]
    assert "Version 2026-1" in kim("questionnaire", "show", "--year", "2026")[1]


def test_check_lists_every_error_with_its_line_and_exits_2(data_dir: Path) -> None:
    text = shipped_default_text()
    text = text.replace('id = "konzept.gremienbeschluss"', 'id = "konzept.status"')  # a duplicate id
    text = text.replace("max = 52", "max = -1", 1)  # min 0 above max
    text = text.replace('unit = "Treffen"', 'einheit = "Treffen"', 1)  # unknown key
    path = data_dir / "questionnaires" / "2027.toml"
    path.write_text(text, encoding="utf-8")
    code, output = kim("questionnaire", "check", str(path))
    assert code == 2
    lines = text.splitlines()
    assert f"Fragebogen {path}: 3 Fehler" in output
    duplicate = lines.index('id = "konzept.status"', lines.index('id = "konzept.status"') + 1)
    assert f"Zeile {duplicate}, Frage konzept.status: die ID kommt doppelt vor" in output
    assert f"Zeile {lines.index('max = -1') + 1}, Frage gremien.steuerungsgremium_sitzungen:" in output
    unit_line = lines.index('einheit = "Treffen"') + 1
    assert f"Zeile {unit_line}, Frage austausch.fachreferat_treffen: unbekannter Schlüssel „einheit“" in output
    assert "Traceback" not in output
    code, output = kim("questionnaire", "show", "--year", "2027")
    assert code == 2 and "3 Fehler" in output


def test_check_refuses_an_id_reused_with_another_type_than_in_an_earlier_year(data_dir: Path) -> None:
    folder = data_dir / "questionnaires"
    (folder / "2026.toml").write_text(shipped_default_text(), encoding="utf-8")
    changed = shipped_default_text().replace(
        'id = "gremien.netzwerkrunden"\ntype = "integer"', 'id = "gremien.netzwerkrunden"\ntype = "decimal"'
    )
    (folder / "2027.toml").write_text(changed, encoding="utf-8")
    code, output = kim("questionnaire", "check", str(folder / "2027.toml"))
    assert code == 2
    assert "Frage gremien.netzwerkrunden: die ID war 2026 eine Frage vom Typ „Ganze Zahl“" in output
    assert kim("questionnaire", "check", str(folder / "2026.toml"))[0] == 0


@pytest.mark.parametrize(("content", "message"), [(b"\xff\xfe", "nicht UTF-8"), (b"x = [", "kein gültiges TOML")])
def test_check_of_an_unreadable_file_is_bad_input(data_dir: Path, content: bytes, message: str) -> None:
    path = data_dir / "broken.toml"
    path.write_bytes(content)
    code, output = kim("questionnaire", "check", str(path))
    assert code == 2 and message in output
    code, output = kim("questionnaire", "check", str(data_dir / "missing.toml"))
    assert code == 2 and "existiert nicht" in output


def test_check_of_the_shipped_default_passes(data_dir: Path) -> None:
    default = Path(__file__).resolve().parents[2] / "kim_workflow" / "data" / "questionnaires" / "default.toml"
    code, output = kim("questionnaire", "check", str(default))
    assert code == 0 and "in Ordnung (Version 2026-1, 10 Abschnitte, 31 Fragen)" in output


@pytest.fixture
def year_db(data_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KIM_DATABASE_URL", database_url)
    write_all_active(data_dir / "policies")
    assert kim("seed")[0] == 0 and kim("cycle", "open", "--year", "2026")[0] == 0
    return data_dir


def test_answers_and_correct_on_the_command_line(year_db: Path, database_url: str) -> None:
    assert kim("questionnaire", "answers", "--year", "2026", "--ags", MAINZ) == (
        0, "Für 07315000 liegen für 2026 keine Antworten vor.\n"
    )  # fmt: skip
    engine = make_engine(database_url)
    settings = load_settings()
    with session_scope(engine) as session:
        raw = complete_answers(KommuneKind.KREISFREIE_STADT)
        submit(session, settings, year=2026, ags=MAINZ, raw_answers=raw, by="Erika Muster", now=NOW, today=NOW.date())
    engine.dispose()
    code, output = kim("questionnaire", "answers", "--year", "2026", "--ags", MAINZ)
    assert code == 0 and "Fragebogen 2026 von Mainz (07315000): eingereicht, Version 2026-1" in output
    assert "Stand 1: eingereicht am 02.12.2026 von Erika Muster (portal)" in output
    assert "4.250,50 €" in output and "Wohnen; Arbeitsmarkt" in output
    fix = ("questionnaire", "correct", "--year", "2026", "--ags", MAINZ, "--reason", "Nachmeldung", "--actor", "M R")
    code, output = kim(*fix, "--set", "gremien.netzwerkrunden=100", "--set", "stelle.vzae=2")
    assert code == 2
    assert "gremien.netzwerkrunden: Bitte geben Sie eine ganze Zahl zwischen 0 und 99 an." in output
    assert "Nichts gespeichert." in output
    code, output = kim(*fix, "--set", "gremien.netzwerkrunden=9")
    assert code == 0 and "Stand 2 gespeichert" in output
    output = kim("questionnaire", "answers", "--year", "2026", "--ags", MAINZ)[1]
    assert "Stand 2: korrigiert (Nachmeldung) am" in output and "von M R (cli)" in output
    code, output = kim("questionnaire", "correct", "--year", "2026", "--ags", MAINZ, "--set", "ohne-gleich",
                       "--reason", "x")  # fmt: skip
    assert code == 2 and "ID=WERT" in output


def test_workbook_and_import_on_the_command_line(year_db: Path, tmp_path: Path) -> None:
    code, output = kim("questionnaire", "workbook", "--year", "2026", "--ags", MAINZ, "--out", str(tmp_path / "out"))
    assert code == 0 and "1 Arbeitsmappen in" in output
    path = tmp_path / "out" / "Fragebogen-2026-07315000-Mainz.xlsx"
    questionnaire = load_questionnaire(2026)
    bad = tmp_path / "bad.xlsx"
    cell = answer_cells(path.read_bytes())["gremien.netzwerkrunden"]
    bad.write_bytes(fill(path.read_bytes(), questionnaire, {}, extra={cell: 200}))
    code, output = kim("questionnaire", "import", str(bad), "--actor", "Fachreferat")
    assert code == 2 and "(gremien.netzwerkrunden): Bitte geben Sie eine ganze Zahl zwischen 0 und 99 an." in output
    assert "Probleme; nichts gespeichert." in output and "Traceback" not in output
    assert "keine Antworten vor" in kim("questionnaire", "answers", "--year", "2026", "--ags", MAINZ)[1]
    good = tmp_path / "good.xlsx"
    good.write_bytes(fill(path.read_bytes(), questionnaire, complete_answers(KommuneKind.KREISFREIE_STADT)))
    code, output = kim("questionnaire", "import", str(good), "--actor", "Fachreferat")
    assert code == 0 and "Fragebogen von Mainz eingereicht." in output
    code, output = kim("questionnaire", "import", str(good))
    assert code == 0 and "bereits am" in output and "nichts geändert" in output
    assert "eingereicht, Version 2026-1" in kim("questionnaire", "answers", "--year", "2026", "--ags", MAINZ)[1]
    code, output = kim("questionnaire", "import", str(tmp_path))
    assert code == 2 and "ist ein Ordner" in output
