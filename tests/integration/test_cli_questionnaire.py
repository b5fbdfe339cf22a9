"""``kim questionnaire show`` and ``check`` as the ministry uses them: the year's own file replaces the default,
a broken file is refused with every error and its line (exit code 2), an id never changes its type across years."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kim_workflow.cli import app
from kim_workflow.services.questionnaires import shipped_default_text

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
