"""The registry commands of ``kim`` as an admin uses them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kim_workflow.cli import app

runner = CliRunner()


@pytest.fixture
def kim_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KIM_DATABASE_URL", database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def kim(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_seed_twice_reports_36_kommunen(kim_env: Path) -> None:
    assert kim("seed") == (0, "36 Kommunen angelegt oder korrigiert; 36 Kommunen im Register.\n")
    assert kim("seed")[1].startswith("0 Kommunen angelegt")


def test_contacts_import_reports_every_bad_row_and_exits_2(kim_env: Path) -> None:
    kim("seed")
    lines = ["ags,name,email,role"] + [f"07315000,Person {i},p{i}@mainz.de,deputy" for i in range(40)]
    lines[5] = "0731500,Kurz,kurz@mainz.de,deputy"
    lines[17] = "07315000,Doppelt,p1@mainz.de,deputy"
    lines[40] = "07315000,Ohne Rolle,ohne@mainz.de,"
    (kim_env / "contacts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, output = kim("contacts", "import", "contacts.csv", "--mode", "merge", "--apply")
    assert code == 2
    assert "3 fehlerhafte Zeilen, nichts gespeichert" in output
    for line in (6, 18, 41):
        assert f"Zeile {line}:" in output
    assert "—" in kim("kommunen", "list")[1]  # still no contacts
    assert "p2@mainz.de" not in kim("kommunen", "list")[1]


def test_contacts_import_and_list(kim_env: Path) -> None:
    kim("seed")
    (kim_env / "c.csv").write_text(
        "ags,name,email,role\n07315000,Frau Beispiel,im@mainz.de,integration_manager\n", encoding="utf-8"
    )
    code, output = kim("contacts", "import", "c.csv", "--mode", "merge")
    assert code == 0 and "Probelauf, nichts gespeichert" in output and "1 neu" in output
    assert "im@mainz.de" not in kim("kommunen", "list")[1]
    code, output = kim("contacts", "import", "c.csv", "--mode", "merge", "--apply")
    assert code == 0 and output.endswith("gespeichert: 1 neu, 0 geändert, 0 reaktiviert, 0 deaktiviert, "
                                          "0 bleibt deaktiviert, 0 unverändert.\n")  # fmt: skip
    code, output = kim("kommunen", "list")
    assert code == 0 and "im@mainz.de" in output and "35 ohne aktive" in output


def test_unreadable_file_and_unmigrated_database_get_clear_errors(
    kim_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = kim("contacts", "import", "missing.csv", "--mode", "merge")
    assert code == 2 and "Datei nicht lesbar" in output
    monkeypatch.setenv("KIM_DATABASE_URL", f"sqlite:///{kim_env / 'empty.db'}")
    (kim_env / "c.csv").write_text("ags,name,email,role\n", encoding="utf-8")
    code, output = kim("contacts", "import", "c.csv", "--mode", "merge")
    assert code == 1 and "kim db upgrade" in output


def test_invalid_settings_are_reported_without_traceback(kim_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIM_TIMEZONE", "Mars/Olympus")
    code, output = kim("seed")
    assert code == 2 and "KIM_TIMEZONE: unbekannte Zeitzone" in output and "Traceback" not in output


def test_contacts_import_needs_an_explicit_mode_and_stores_nothing_without_it(kim_env: Path) -> None:
    kim("seed")
    (kim_env / "c.csv").write_text("ags,name,email,role\n07315000,A,a@mainz.de,deputy\n", encoding="utf-8")
    code, output = kim("contacts", "import", "c.csv", "--apply")
    assert code == 2 and "Bitte --mode merge oder --mode replace angeben" in output
    assert "a@mainz.de" not in kim("kommunen", "list")[1]


def test_replace_lists_the_missing_as_deactivated_and_reactivation_needs_its_flag(kim_env: Path) -> None:
    kim("seed")
    both = "ags;name;email;role\n07315000;Anna Müller;a@mainz.de;integration_manager\n07315000;B;b@mainz.de;deputy\n"
    (kim_env / "both.csv").write_bytes(b"\xef\xbb\xbf" + both.encode())
    (kim_env / "one.csv").write_text("ags,name,email,role\n07315000,B,b@mainz.de,deputy\n", encoding="utf-8")
    assert kim("contacts", "import", "both.csv", "--mode", "merge", "--apply")[0] == 0
    code, output = kim("contacts", "import", "one.csv", "--mode", "replace", "--apply")
    assert code == 0 and "deaktiviert (fehlt in der Datei) (1):\n  Anna Müller <a@mainz.de>" in output
    assert "davon 36 ohne aktive" in kim("kommunen", "list")[1]
    code, output = kim("contacts", "import", "both.csv", "--mode", "merge", "--apply")
    assert code == 0 and "bleibt deaktiviert (mit --reactivate wieder aktivieren) (1):" in output
    assert "davon 36 ohne aktive" in kim("kommunen", "list")[1]
    code, output = kim("contacts", "import", "both.csv", "--mode", "merge", "--apply", "--reactivate")
    assert code == 0 and "reaktiviert (1):\n  Zeile 2: Anna Müller <a@mainz.de>" in output
    assert "davon 35 ohne aktive" in kim("kommunen", "list")[1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ags\tname\temail\trole\n", "gefunden: Tabulator"),
        (b"ags;name;email;role\n07315000;M\xfcller;a@b.de;deputy\n", "nicht UTF-8-kodiert"),
        (b"ags,name,email,role,anrede\n07315000,A,a@b.de,deputy,Dr.\n", "Zeile 2: Anrede 'Dr.' unzulässig"),
    ],
)
def test_unreadable_contact_files_are_refused_in_german(kim_env: Path, content: bytes, message: str) -> None:
    kim("seed")
    (kim_env / "c.csv").write_bytes(content)
    code, output = kim("contacts", "import", "c.csv", "--mode", "merge", "--apply")
    assert code == 2 and message in output and "Traceback" not in output
