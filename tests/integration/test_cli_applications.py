"""``kim application …`` as an admin uses it: files in, clear German errors out, exit code 2 and nothing stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import func, select
from typer.testing import CliRunner

from kim_workflow.app import simulated_time
from kim_workflow.cli.applications import application_app
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Application, ApplicationRevision, Decision, DomainEvent, OutboxMessage
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.policies import load_policy

NOW = datetime(2026, 2, 10, 9, tzinfo=UTC)
MAINZ = "07315000"
VALID: dict[str, Any] = {
    "ags": MAINZ,
    "year": 2026,
    "staff": [{"name": "Erika Muster", "fte": 1}],
    "personnel_costs_eur": 60000,
    "material_costs_eur": 12000.5,
    "overhead_costs_eur": 0,
    "position_in_administration": True,
    "notes": "Vollzeitstelle",
}
runner = CliRunner()


@pytest.fixture
def kim_env(engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("KIM_DATABASE_URL", database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    contacts = f"ags,name,email,role\n{MAINZ},IM Mainz,im@mainz.example,integration_manager\n"
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        registry.import_contacts(session, contacts, now=NOW, actor="t")
        open_cycle(session, policy=load_policy(2026), now=NOW, actor="t")
    with simulated_time(NOW):  # within the application window (deadline 31 March)
        yield engine


def kim(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and the whole output (stdout and stderr) with line wrapping undone."""
    result = runner.invoke(application_app, list(args))
    return result.exit_code, result.stdout, " ".join(result.output.split())


def write(name: str, document: Any) -> str:
    Path(name).write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return name


def stored(engine: Engine) -> dict[str, int]:
    tables = (Application, ApplicationRevision, Decision, OutboxMessage)
    with session_scope(engine) as session:
        counts = {t.__name__: session.exec(select(func.count()).select_from(t)).one() for t in tables}
        counts["events"] = session.exec(
            select(func.count()).select_from(DomainEvent).where(DomainEvent.action.like("kim.application.%"))  # type: ignore[attr-defined]
        ).one()
    return counts


NOTHING = {"Application": 0, "ApplicationRevision": 0, "Decision": 0, "OutboxMessage": 0, "events": 0}


def test_a_valid_file_is_stored_and_confirmed(kim_env: Engine) -> None:
    code, _, output = kim("submit", write("antrag.json", VALID))
    assert code == 0 and "Antrag Nr. 1 von Mainz für 2026 eingereicht (Revision 1)" in output
    assert "Eingangsbestätigung liegt im Postausgang" in output
    assert stored(kim_env) == {"Application": 1, "ApplicationRevision": 1, "Decision": 0, "OutboxMessage": 1,
                               "events": 1}  # fmt: skip


@pytest.mark.parametrize(
    ("document", "fragments"),
    [
        ('{"ags": "07315000", ', ["Kein gültiges JSON", "Zeile 1"]),
        ("[]", ["JSON-Objekt"]),
        (
            {**VALID, "year": "2026", "material_costs_eur": "12.000,50"},
            ["year: Erwartet eine ganze Zahl", "keine Zahl"],
        ),
        ({**VALID, "overhead": 0}, ["overhead: Unbekanntes Feld"]),
        ({k: v for k, v in VALID.items() if k != "staff"}, ["staff: Pflichtangabe fehlt."]),
        ({**VALID, "ags": "07999999"}, ["Unbekannter AGS 07999999"]),
        ({**VALID, "year": 2030}, ["kein Förderjahr eröffnet"]),
        (
            {**VALID, "staff": [{"name": "A", "fte": "0.4"}], "overhead_costs_eur": 100, "personnel_costs_eur": -5},
            ["Mindestanteil von 0,5 VZÄ", "Gemeinkosten (Overhead) sind nicht förderfähig", "nicht negativ"],
        ),
    ],
)
def test_invalid_files_exit_2_list_every_problem_and_store_nothing(
    kim_env: Engine, document: Any, fragments: list[str]
) -> None:
    code, _, output = kim("submit", write("antrag.json", document))
    assert code == 2 and "Antrag fehlerhaft, nichts gespeichert" in output and "Traceback" not in output
    for fragment in fragments:
        assert fragment in output
    assert stored(kim_env) == NOTHING


def test_json_output_parses_for_valid_and_invalid_files(kim_env: Engine) -> None:
    code, stdout, _ = kim("submit", write("bad.json", {**VALID, "material_costs_eur": 20000.01}), "--json")
    refused = json.loads(stdout)
    assert code == 2 and refused["ok"] is False
    assert [v["code"] for v in refused["violations"]] == ["material_costs_above_cap"]
    assert "20.000,01 €" in refused["violations"][0]["message"]
    code, stdout, _ = kim("submit", write("ok.json", VALID), "--json")
    accepted = json.loads(stdout)
    assert code == 0 and accepted["ok"] is True and (accepted["revision"], accepted["status"]) == (1, "submitted")
    code, stdout, _ = kim("submit", "ok.json", "--json")
    assert code == 2 and "bereits einen Antrag" in json.loads(stdout)["error"]


def test_unreadable_files_get_a_clear_error(kim_env: Engine) -> None:
    code, _, output = kim("submit", "fehlt.json")
    assert code == 2 and "kann nicht gelesen werden" in output
    Path("latin1.json").write_bytes('{"notes": "Größe"}'.encode("latin-1"))
    code, _, output = kim("submit", "latin1.json")
    assert code == 2 and "nicht UTF-8-kodiert" in output
    assert stored(kim_env) == NOTHING


def test_decide_approve_reject_and_refusals(kim_env: Engine) -> None:
    kim("submit", write("antrag.json", VALID))
    code, _, output = kim("decide", "--ags", MAINZ, "--year", "2026", "--approve", "--personnel", "60000.01",
                          "--material", "12000", "--actor", "Referentin")  # fmt: skip
    assert code == 2 and "Höchstbetrag von 60.000,00 €" in output
    code, _, output = kim("decide", "--ags", MAINZ, "--year", "2026", "--approve", "--reject", "--reason", "x")
    assert code == 2 and "genau eine von --approve, --reject, --request-changes" in output
    code, _, output = kim("decide", "--ags", MAINZ, "--year", "2026", "--approve", "--personnel", "viel")
    assert code == 2 and "--personnel erwartet einen Betrag" in output
    code, _, output = kim("decide", "--ags", MAINZ, "--year", "2026", "--reject")
    assert code == 2 and "Begründung" in output
    assert stored(kim_env)["Decision"] == 0
    code, _, output = kim("decide", "--ags", MAINZ, "--year", "2026", "--approve", "--personnel", "45000",
                          "--material", "12000", "--message", "Bescheid folgt.", "--actor", "Referentin")  # fmt: skip
    assert code == 0 and "erfasst als Nr. 1: wartet auf Bestätigung" in output and "Noch keine E-Mail" in output
    assert stored(kim_env)["Decision"] == 0  # four eyes: nothing took effect yet
    code, _, output = kim("confirm", "1", "--by", "Referatsleitung")
    assert code == 0 and "Bewilligung Nr. 1 (Mainz, 2026) bestätigt und wirksam. E-Mail liegt im Postausgang." in output
    code, _, output = kim("decide", "--ags", MAINZ, "--year", "2026", "--reject", "--reason", "doch nicht")
    assert code == 2 and "nicht zur Entscheidung vor (Status: bewilligt)" in output
    assert stored(kim_env)["Decision"] == 1


def test_request_changes_then_resubmit(kim_env: Engine) -> None:
    kim("submit", write("antrag.json", VALID))
    code, _, _ = kim("decide", "--ags", MAINZ, "--year", "2026", "--request-changes", "--message", "Bitte ergänzen.")
    assert code == 0
    code, _, output = kim("submit", write("antrag2.json", {**VALID, "material_costs_eur": 9000}))
    assert code == 0 and "erneut eingereicht (Revision 2)" in output


def test_list_prints_the_overview_and_json(kim_env: Engine) -> None:
    kim("submit", write("antrag.json", VALID))
    kim("decide", "--ags", MAINZ, "--year", "2026", "--approve", "--personnel", "45000", "--material", "12000.5",
        "--actor", "Referentin")  # fmt: skip
    code, _, output = kim("list", "--year", "2026")
    assert code == 0 and "0 bewilligt; bewilligt insgesamt 0,00 €" in output
    rows = json.loads(kim("list", "--year", "2026", "--json")[1])["rows"]
    assert next(row for row in rows if row["AGS"] == MAINZ)["Vier Augen"] == "wartet auf Bestätigung (Nr. 1)"
    kim("confirm", "1", "--by", "Referatsleitung")
    code, _, output = kim("list", "--year", "2026")
    assert code == 0 and "Anträge von 1 der 36 Kommunen, 1 bewilligt; bewilligt insgesamt 57.000,50 €" in output
    code, stdout, _ = kim("list", "--year", "2026", "--json")
    document = json.loads(stdout)
    mainz = next(row for row in document["rows"] if row["AGS"] == MAINZ)
    assert (mainz["Status"], mainz["Sachkosten bewilligt"], len(document["rows"])) == ("bewilligt", "12.000,50 €", 36)
    assert kim("list", "--year", "2031")[0] == 2


def test_a_late_application_is_refused_or_listed_as_verspaetet(kim_env: Engine, tmp_path: Path) -> None:
    with simulated_time(datetime(2026, 4, 1, 8, tzinfo=UTC)):
        code, _, output = kim("submit", write("antrag.json", VALID))
        assert code == 2 and "Die Antragsfrist für das Förderjahr 2026 endete am 31.03.2026" in output, output
        assert stored(kim_env) == NOTHING
        policies = tmp_path / "data" / "policies"
        policies.mkdir(parents=True, exist_ok=True)
        (policies / "2026.toml").write_text('[application_window]\nlate_applications = "accept_marked"\n')
        code, _, output = kim("submit", write("antrag.json", VALID))
        assert code == 0 and "Verspätet: nach Ablauf der Antragsfrist eingegangen" in output, output
        code, stdout, _ = kim("list", "--year", "2026", "--json")
    rows = {row["AGS"]: row for row in json.loads(stdout)["rows"]}
    assert rows[MAINZ]["Status"] == "eingereicht, verspätet"


def test_amend_revoke_confirm_and_pending_with_german_refusals(kim_env: Engine) -> None:
    kim("submit", write("antrag.json", VALID))
    kim("decide", "--ags", MAINZ, "--year", "2026", "--approve", "--personnel", "45000", "--material", "12000",
        "--actor", "Referentin")  # fmt: skip
    code, _, output = kim("confirm", "1", "--by", " referentin ")
    assert code == 2 and "Vier-Augen-Prinzip" in output
    assert kim("confirm", "1", "--by", "Referatsleitung")[0] == 0
    code, _, output = kim("confirm", "1", "--by", "Referatsleitung")
    assert code == 0 and "bereits bestätigt; nichts geändert, nichts versandt" in output
    before = stored(kim_env)
    for args, message in [
        (("amend", "--ags", MAINZ, "--year", "2026", "--personnel", "viel", "--material", "1", "--reason", "x"),
         "--personnel: Kein gültiger Betrag"),
        (("amend", "--ags", MAINZ, "--year", "2026", "--personnel", "45000", "--material", "1", "--reason", " "),
         "Bitte die Begründung der Änderung angeben"),
        (("revoke", "--ags", MAINZ, "--year", "2026", "--effective", "2025-12-31", "--reason", "weg"),
         "Der Widerruf zum 31.12.2025 liegt nicht im Förderjahr 2026"),
        (("revoke", "--ags", MAINZ, "--year", "2026", "--effective", "15.10.2026", "--reason", "weg"), "--effective"),
        (("confirm", "99", "--by", "X"), "Eine Entscheidung Nr. 99 gibt es nicht"),
        (("confirm", "1", "--by", "X", "--reason", "r"), "--reason nur zusammen mit --reject"),
    ]:  # fmt: skip
        code, _, output = kim(*args, *(("--actor", "Referentin") if args[0] in ("amend", "revoke") else ()))
        assert code == 2 and message in output, (args, output)
    assert stored(kim_env) == before  # nothing changed
    code, _, output = kim("revoke", "--ags", MAINZ, "--year", "2026", "--effective", "2026-10-15", "--reason",
                          "Stelle unbesetzt", "--actor", "Referentin")  # fmt: skip
    assert code == 0 and "Widerruf zum 15.10.2026 für Mainz (2026) erfasst als Nr. 2: wartet auf Bestätigung" in output
    code, stdout, _ = kim("pending", "--json")
    assert [(p["grant_decision_id"], p["kind"], p["requested_by"]) for p in json.loads(stdout)] == [
        (2, "revocation", "Referentin")
    ]
    code, _, output = kim("confirm", "2", "--by", "Referatsleitung", "--reject", "--reason", "Datum prüfen")
    assert code == 0 and "Widerruf Nr. 2 (Mainz, 2026) verworfen" in output
    assert "Keine Entscheidung wartet auf Bestätigung." in kim("pending")[2]


@pytest.mark.parametrize(
    "args",
    [
        ("decide", "--ags", MAINZ, "--year", "2026", "--approve", "--personnel", "45000", "--material", "12000"),
        ("decide", "--ags", MAINZ, "--year", "2026", "--approve", "--personnel", "45000", "--material", "12000",
         "--actor", " CLI "),
        ("amend", "--ags", MAINZ, "--year", "2026", "--personnel", "45000", "--material", "1", "--reason", "x"),
        ("revoke", "--ags", MAINZ, "--year", "2026", "--effective", "2026-10-15", "--reason", "weg"),
        ("confirm", "1", "--by", "cli"),
        ("confirm", "1", "--by", "  "),
    ],
    ids=["decide-default", "decide-cli", "amend-default", "revoke-default", "confirm-cli", "confirm-empty"],
)  # fmt: skip
def test_four_eyes_needs_a_named_person_on_the_command_line(kim_env: Engine, args: tuple[str, ...]) -> None:
    kim("submit", write("antrag.json", VALID))
    before = stored(kim_env)
    code, _, output = kim(*args)
    assert code == 2 and "Vier-Augen-Prinzip: bitte mit --" in output and "nicht „cli“" in output, output
    assert stored(kim_env) == before


def test_the_grant_events_record_the_os_login_beside_the_typed_names(
    kim_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    kim("submit", write("antrag.json", VALID))
    monkeypatch.setenv("SUDO_USER", "schulz")
    kim("decide", "--ags", MAINZ, "--year", "2026", "--approve", "--personnel", "45000", "--material", "12000",
        "--actor", "Referentin")  # fmt: skip
    monkeypatch.delenv("SUDO_USER")
    monkeypatch.setenv("USER", "wagner")
    monkeypatch.setenv("LOGNAME", "wagner")
    assert kim("confirm", "1", "--by", "Referatsleitung")[0] == 0
    with session_scope(kim_env) as session:
        events = {e.action: e.payload for e in session.exec(select(DomainEvent))}
    assert (events["kim.grant.requested"]["requested_by"], events["kim.grant.requested"]["os_login"]) == (
        "Referentin",
        "schulz",
    )
    assert (events["kim.grant.confirmed"]["confirmed_by"], events["kim.grant.confirmed"]["os_login"]) == (
        "Referatsleitung",
        "wagner",
    )
