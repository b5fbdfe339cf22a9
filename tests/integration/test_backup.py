"""``kim backup`` / ``kim restore`` as an admin uses them: into a fresh database, every row and file comes back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from kim_workflow.cli import app
from kim_workflow.db.backup import row_counts
from kim_workflow.db.engine import make_engine
from kim_workflow.db.migrate import upgrade
from tests.support.databases import is_postgres
from tests.support.obligations import write_all_active

runner = CliRunner()
CONTACTS = "ags,name,email,role\n07315000,Anna Beispiel,im@mainz.example,integration_manager\n"


def kim(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def use(monkeypatch: pytest.MonkeyPatch, url: str, data_dir: Path) -> None:
    monkeypatch.setenv("KIM_DATABASE_URL", url)
    monkeypatch.setenv("KIM_DATA_DIR", str(data_dir))


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        return row_counts(engine)
    finally:
        engine.dispose()


@pytest.fixture
def source(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database with Kommunen, a contact, an open year, a submission and its queued email; a data folder with
    a policy override and an uploaded file (and the transient folders a backup leaves out)."""
    data = tmp_path / "data"
    use(monkeypatch, database_url, data)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    write_all_active(data / "policies")  # a year without applications: every Kommune owes its reports
    for args in (
        ["seed"],
        ["contacts", "import", "contacts.csv", "--mode", "merge", "--apply"],
        ["cycle", "open", "--year", "2026"],
        ["submission", "record", "--ags", "07315000", "--year", "2026", "--kind", "annual_report",
         "--received-on", "2026-11-20"],
    ):  # fmt: skip
        code, output = kim(*args)
        assert code == 0, output
    (data / "policies").mkdir(parents=True, exist_ok=True)
    (data / "policies" / "2027.toml").write_text("[report]\nreminder_days_before = [30, 7]\n", encoding="utf-8")
    (data / "uploads" / "2026").mkdir(parents=True)
    (data / "uploads" / "2026" / "protokoll.pdf").write_bytes(b"%PDF-1.4 " + bytes(range(256)) * 40)
    (data / "logs").mkdir()
    (data / "logs" / "prefect-server.log").write_text("transient\n", encoding="utf-8")
    return data


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database that has never seen kim: a new SQLite file, or a new PostgreSQL database on the same server."""
    if not is_postgres(database_url):
        yield f"sqlite:///{tmp_path / 'restored' / 'kim.db'}"
        return
    name = f"kim_restore_{uuid.uuid4().hex[:10]}"
    server = sa.engine.make_url(database_url)
    admin = make_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def backup_folder(out: Path) -> Path:
    code, output = kim("backup", "--out", str(out))
    assert code == 0, output
    [folder] = out.iterdir()
    return folder


def test_a_backup_restores_into_a_fresh_database_with_every_row_and_file(
    source: Path, database_url: str, fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = counts(database_url)
    assert expected["kommune"] == 36 and expected["outbox_message"] >= 1 and expected["domain_event"] >= 3
    folder = backup_folder(tmp_path / "backups")
    assert not (folder / "files" / "logs").exists()
    target_data = tmp_path / "restored-data"
    use(monkeypatch, fresh_url, target_data)
    code, output = kim("restore", str(folder))
    assert code == 0, output
    assert "Zeilenzahlen geprüft" in output
    assert counts(fresh_url) == expected
    for relative in ("policies/2027.toml", "uploads/2026/protokoll.pdf"):
        assert (target_data / relative).read_bytes() == (source / relative).read_bytes()
    assert not (target_data / "logs").exists()
    code, output = kim("status", "--year", "2026")
    assert code == 0 and "Mainz" in output  # the restored database is at head and usable


def test_a_restore_refuses_a_database_that_holds_data_and_changes_nothing(
    source: Path, database_url: str, tmp_path: Path
) -> None:
    folder = backup_folder(tmp_path / "backups")
    before = counts(database_url)
    code, output = kim("restore", str(folder))
    assert code == 2
    assert "enthält schon" in output and "--replace" in output and "Traceback" not in output
    assert counts(database_url) == before


def test_replace_brings_back_the_saved_state(source: Path, database_url: str, tmp_path: Path) -> None:
    folder = backup_folder(tmp_path / "backups")
    saved = counts(database_url)
    code, _ = kim("submission", "record", "--ags", "07315000", "--year", "2026", "--kind", "questionnaire",
                  "--received-on", "2026-11-21")  # fmt: skip
    assert code == 0 and counts(database_url) != saved
    (source / "policies" / "2027.toml").write_text("[report]\nreminder_days_before = [3]\n", encoding="utf-8")
    code, output = kim("restore", str(folder), "--replace")
    assert code == 0, output
    assert counts(database_url) == saved
    assert "[30, 7]" in (source / "policies" / "2027.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("damage", ["file", "manifest", "database"])
def test_a_damaged_backup_is_refused_before_anything_changes(
    source: Path, fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    folder = backup_folder(tmp_path / "backups")
    if damage == "file":
        (folder / "files" / "uploads" / "2026" / "protokoll.pdf").write_bytes(b"changed")
    elif damage == "manifest":
        (folder / "manifest.json").write_text("{", encoding="utf-8")
    else:
        next(p for p in folder.iterdir() if p.name.startswith("database.")).unlink()
    use(monkeypatch, fresh_url, tmp_path / "restored-data")
    code, output = kim("restore", str(folder))
    assert code == 2 and "Traceback" not in output
    assert any(word in output for word in ("verändert", "beschädigt", "fehlt"))
    assert not (tmp_path / "restored-data").exists()
    engine = make_engine(fresh_url)
    assert row_counts(engine) == {}
    engine.dispose()


def test_a_restore_into_a_migrated_empty_database_replaces_its_empty_tables(
    source: Path, database_url: str, fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = counts(database_url)
    folder = backup_folder(tmp_path / "backups")
    engine = make_engine(fresh_url)
    if is_postgres(fresh_url):  # the operator created the schema kim's URL names
        schema = str(sa.engine.make_url(fresh_url).query["options"]).removeprefix("-csearch_path=")
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    upgrade(engine)  # what a first `kim up` on the new machine does
    engine.dispose()
    use(monkeypatch, fresh_url, tmp_path / "restored-data")
    code, output = kim("restore", str(folder))
    assert code == 0, output
    assert counts(fresh_url) == expected


def test_a_backup_into_a_folder_that_cannot_be_made_says_why(source: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    code, output = kim("backup", "--out", str(tmp_path / "a-file" / "backups"))
    assert code == 2 and "lässt sich nicht anlegen" in output and "Traceback" not in output
