"""The known causes of tracebacks, each as a real ``kim`` process: a German message and exit code 2, or for the
unexpected exit code 1 with one line and a log file that holds the traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.models import Deliverable
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from tests.support.databases import copy_sqlite, is_postgres, truncate_all
from tests.support.obligations import all_active_policy

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
MAINZ = "07315000"
KIM = str(Path(sys.executable).with_name("kim"))
APPLICATION = {"ags": MAINZ, "year": 2026, "staff": [{"name": "Erika Muster", "fte": 1}], "personnel_costs_eur": 60000,
               "material_costs_eur": 12000, "overhead_costs_eur": 0, "position_in_administration": True}  # fmt: skip


@pytest.fixture(scope="module")
def env(_database_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    folder = tmp_path_factory.mktemp("cli-errors")
    if is_postgres(_database_template):
        url = _database_template
        engine = make_engine(url)
        truncate_all(engine)
    else:
        url = copy_sqlite(Path(_database_template), folder / "kim.db")
        engine = make_engine(url)
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        registry.import_contacts(session, f"ags,name,email,role\n{MAINZ},IM,im@mainz.example,integration_manager\n",
                                 now=NOW, actor="t")  # fmt: skip
        open_cycle(session, policy=all_active_policy(2026), now=NOW, actor="t")
    engine.dispose()
    yield {**os.environ, "KIM_DATABASE_URL": url, "KIM_DATA_DIR": str(folder / "data"), "KIM_SEND_ENABLED": "false"}


def kim(env: dict[str, str], *args: str, **changes: str) -> tuple[int, str]:
    done = subprocess.run([KIM, *args], capture_output=True, text=True, env={**env, **changes}, timeout=120,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    return done.returncode, " ".join(output.split())


EXTEND = ["deadline", "extend", "--ags", MAINZ, "--year", "2026", "--reason", "Krankheit", "--until"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["outbox", "resend", str(2**31)], "höchstens 2147483647"),
        (["outbox", "dismiss", str(2**63)], "höchstens 2147483647"),
        (["meeting", "cancel", str(2**63), "--reason", "x"], "höchstens 2147483647"),
        (["status", "--year", "2026", "--csv", "/missing/x.csv"], "/missing/x.csv: Datei oder Ordner existiert nicht"),
        (["emails", "preview", "--out", "/etc/hostname/sub"], "ein Teil des Pfads ist kein Ordner"),
        (["meeting", "add", "--type", "other", "--title", "T", "--start", "9999-12-31 10:00", "--end",
          "9999-12-31 11:00"], "--start: 31.12.9999 liegt außerhalb"),
        (["sweep", "--today", "9999-12-31"], "--today: 31.12.9999 liegt außerhalb"),
        (["sweep", "--today", ""], "erwartet ein Datum JJJJ-MM-TT"),
        (["sweep", "--today", "20261215"], "erwartet ein Datum JJJJ-MM-TT, nicht '20261215'"),
        (["submission", "record", "--ags", MAINZ, "--year", "2026", "--kind", "annual_report", "--received-on",
          "2025-12-31"], "liegt vor dem Förderjahr 2026"),
        (["meeting", "add", "--type", "other", "--title", "T", "--start", "2026-12-01 10:00", "--end",
          "2026-12-01 11:00", "--kommunen", ""], "--kommunen braucht mindestens einen AGS"),
        (["meeting", "add", "--type", "other", "--title", "A\u202eB", "--start", "2026-12-01 10:00", "--end",
          "2026-12-01 11:00", "--location", "Mainz"], "unsichtbar"),
        (["cycle", "open", "--year", "2026", "--actor", "a" * 201], "--actor: höchstens 200 Zeichen"),
        ([*EXTEND, "2099-12-31"], "mehr als 120 Tage nach der ursprünglichen"),
        ([*EXTEND[:-2], "x" * 1001, "--until", "2027-01-31"], "höchstens 1000 Zeichen"),
        (["status", "--year", "abc"], "Ungültiger Wert für --year: erwartet eine ganze Zahl"),
        (["status", "--yeer", "2026"], "Unbekannte Option --yeer"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_german_message_and_exit_code_2(env: dict[str, str], args: list[str], message: str) -> None:
    code, output = kim(env, *args)
    assert (code, message in output) == (2, True), output


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("KIM_DATABASE_URL", "mysql://x/y", "KIM_DATABASE_URL: erwartet sqlite:///PFAD"),
        ("KIM_DATABASE_URL", "postgresql+psycopg://u:geheim@127.0.0.1:port/db", "ungültiger Port"),
        (
            "KIM_MAIL_FROM",
            "kim@mffki.example, evil@evil.example",
            "KIM_MAIL_FROM: Adresse: erwartet genau eine",
        ),
        ("KIM_MAIL_REPLY_TO", "A <a@x.example>, B <evil@evil.example>", "KIM_MAIL_REPLY_TO"),
        ("KIM_MINISTRY_ESCALATION_ADDRESS", "a@x.example, b@y.example", "KIM_MINISTRY_ESCALATION_ADDRESS"),
    ],
)
def test_bad_settings_are_refused_at_start_up(env: dict[str, str], variable: str, value: str, message: str) -> None:
    code, output = kim(env, "status", "--year", "2026", **{variable: value})
    assert (code, message in output, "geheim" in output) == (2, True, False), output


def test_a_typo_in_the_funding_policy_is_bad_input_for_application_submit(env: dict[str, str], tmp_path: Path) -> None:
    policies = Path(env["KIM_DATA_DIR"]) / "policies"
    policies.mkdir(parents=True, exist_ok=True)
    (policies / "2026.toml").write_text('[funding]\nmax_ftee = "1.0"\n', encoding="utf-8")
    try:
        (tmp_path / "antrag.json").write_text(json.dumps(APPLICATION), encoding="utf-8")
        code, output = kim(env, "application", "submit", str(tmp_path / "antrag.json"))
    finally:
        (policies / "2026.toml").unlink()
    assert code == 2 and "Fehler:" in output and "max_ftee" in output, output


def test_a_bad_funding_value_is_refused_when_the_policy_loads(env: dict[str, str]) -> None:
    policies = Path(env["KIM_DATA_DIR"]) / "policies"
    policies.mkdir(parents=True, exist_ok=True)
    override = policies / "2030.toml"
    override.write_text('[funding]\nmax_material_eur = "viel"\n', encoding="utf-8")
    try:
        code, output = kim(env, "cycle", "open", "--year", "2030")
    finally:
        override.unlink()
    assert code == 2 and "Traceback" not in output, output
    assert f"Fehler: Richtlinie {override}, Abschnitt [funding], Schlüssel max_material_eur: keine Zahl" in output


def test_an_unexpected_error_prints_one_line_and_logs_the_traceback(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.db"
    folder.mkdir()  # SQLite cannot open a folder: the database is "unreachable"
    code, output = kim(env, "status", "--year", "2026", KIM_DATABASE_URL=f"sqlite:///{folder}")
    log = Path(env["KIM_DATA_DIR"]) / "logs" / "kim-errors.log"
    assert code == 1 and f"Einzelheiten in {log}" in output, output
    assert "Traceback (most recent call last)" in log.read_text(encoding="utf-8")


def test_shortening_an_extension_says_verkuerzt(env: dict[str, str]) -> None:
    assert kim(env, *EXTEND, "2027-02-15")[1].endswith("verlängert: Jahresbericht, Fragebogen.")
    code, output = kim(env, *EXTEND, "2027-01-15")
    assert code == 0 and "bis 15.01.2027 verkürzt" in output, output
    engine = make_engine(env["KIM_DATABASE_URL"])
    with session_scope(engine) as session:
        reasons = {d.extension_reason for d in session.exec(select(Deliverable)) if d.extension_reason}
    engine.dispose()
    assert reasons == {"Krankheit"}


def test_dispatch_exits_non_zero_when_nothing_could_be_sent(env: dict[str, str]) -> None:
    extended = kim(env, "submission", "record", "--ags", MAINZ, "--year", "2026", "--kind", "questionnaire",
                   "--received-on", "2026-11-01")  # fmt: skip
    assert extended[0] == 0, extended
    code, output = kim(env, "outbox", "dispatch", KIM_SEND_ENABLED="true", KIM_SMTP_HOST="127.0.0.1",
                       KIM_SMTP_PORT="9", KIM_SMTP_TIMEOUT_SECONDS="2")  # fmt: skip
    assert code == 1 and "keine fällige Nachricht" in output and "[yellow]" not in output, output
