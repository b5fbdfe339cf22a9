"""The ministry's side: argon2 accounts from the CLI (password never an argument), sign-in with a rate limit,
the year's submissions, the same bytes downloaded (an event each time), kim submission show/download."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from kim_workflow.cli import app as kim
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import DomainEvent, PortalAccount, PortalUpload
from kim_workflow.portal.app import create_app
from kim_workflow.services.portal_accounts import add_account
from kim_workflow.settings import Settings
from tests.support.portal import (
    FIRST_REMINDER,
    IM_MAINZ,
    MAINZ,
    Clock,
    links_of,
    path_of,
    pdf_bytes,
    portal_settings,
    run_sweep,
    seed_world,
)

PASSWORD = "korrekt-Pferd-Batterie-2026"
runner = CliRunner()


@pytest.fixture
def world(engine: Engine, settings: Settings) -> tuple[Engine, Settings, Clock, bytes]:
    clock = Clock()
    seed_world(engine, clock.now)
    settings = portal_settings(settings, portal_rate_limit_attempts=3)
    link = links_of(run_sweep(engine, settings, FIRST_REMINDER))[IM_MAINZ]
    clock.day(date(2026, 12, 2))
    with session_scope(engine) as session:
        add_account(session, username="Anna.Referat", display_name="Anna Referat", password=PASSWORD,
                    now=clock.now, actor="t")  # fmt: skip
    report = pdf_bytes(50_000)
    http = TestClient(create_app(settings, engine, clock), follow_redirects=False)
    http.get(path_of(link))
    http.get("/kommune")
    http.post("/kommune/jahresbericht", data={"csrf_token": http.cookies["kim_csrf"]},
              files={"datei": ("Bericht.pdf", report, "application/pdf")})  # fmt: skip
    http.post("/kommune/jahresbericht/einreichen", data={"csrf_token": http.cookies["kim_csrf"]})
    return engine, settings, clock, report


def ministry(world) -> TestClient:
    engine, settings, clock, _ = world
    return TestClient(create_app(settings, engine, clock), follow_redirects=False)


def login(http: TestClient, password: str, username: str = "anna.referat"):
    http.get("/ministerium/anmelden")
    form = {"username": username, "password": password, "csrf_token": http.cookies["kim_csrf"]}
    return http.post("/ministerium/anmelden", data=form)


def test_the_password_is_stored_only_as_an_argon2_hash(world) -> None:
    with session_scope(world[0]) as session:
        account = session.exec(select(PortalAccount)).one()
    assert account.password_hash.startswith("$argon2id$") and PASSWORD not in account.password_hash
    assert account.username == "anna.referat"


def test_signing_in_lists_the_years_submissions_and_downloads_the_same_bytes(world) -> None:
    engine, _, _, report = world
    http = ministry(world)
    assert http.get("/ministerium").headers["location"] == "/ministerium/anmelden"
    assert login(http, PASSWORD).headers["location"] == "/ministerium"
    assert http.get("/ministerium").headers["location"] == "/ministerium/jahr/2026"
    page = http.get("/ministerium/jahr/2026").text
    assert "Stadt Mainz" in page and "eingegangen am 2. Dezember 2026" in page
    with session_scope(engine) as session:
        upload = session.exec(select(PortalUpload)).one()
    assert f"/ministerium/dateien/{upload.id}" in page and upload.sha256 in page
    for _ in range(2):
        download = http.get(f"/ministerium/dateien/{upload.id}")
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(report).hexdigest() == upload.sha256
        assert download.headers["content-disposition"] == f'attachment; filename="jahresbericht-2026-{MAINZ}.pdf"'
    with session_scope(engine) as session:
        downloads = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.portal.file_downloaded"))
        account = session.exec(select(PortalAccount)).one()
        assert [(e.actor, e.payload["sha256"]) for e in downloads] == [
            (f"portal:account:{account.id}", upload.sha256)
        ] * 2
    kommune = http.get(f"/ministerium/jahr/2026/kommune/{MAINZ}")
    assert kommune.status_code == 200 and "eingereicht und kann nicht mehr geändert werden" in kommune.text
    assert 'type="file"' not in kommune.text


def test_a_kommune_session_does_not_open_the_ministry_pages(world) -> None:
    engine, settings, _, _ = world
    http = ministry(world)
    link = links_of(run_sweep(engine, settings, date(2026, 12, 12)))[IM_MAINZ]
    http.get(path_of(link))
    assert http.get("/ministerium/jahr/2026").headers["location"] == "/ministerium/anmelden"
    assert http.get("/ministerium/dateien/1").headers["location"] == "/ministerium/anmelden"


@pytest.mark.parametrize(("failures", "status"), [(2, 303), (3, 429), (4, 429)])
def test_failed_logins_are_limited_at_the_limit(world, failures: int, status: int) -> None:
    http = ministry(world)
    for _ in range(failures):
        assert login(http, "falsch-falsch-falsch").status_code in (401, 429)
    assert login(http, PASSWORD).status_code == status


def test_a_wrong_password_or_unknown_user_gets_the_same_answer(world) -> None:
    wrong, unknown = login(ministry(world), "falsch-falsch-falsch"), login(ministry(world), PASSWORD, "niemand")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        "Benutzername oder Passwort ist falsch" in wrong.text
        and "Benutzername oder Passwort ist falsch" in unknown.text
    )


def test_the_cli_adds_accounts_from_stdin_only_and_shows_and_downloads_submissions(
    world, database_url: str, tmp_path: Path
) -> None:
    _, settings, _, report = world
    env = {"KIM_DATABASE_URL": database_url, "KIM_DATA_DIR": str(settings.data_dir)}
    added = runner.invoke(kim, ["portal", "user", "add", "bernd", "--name", "Bernd", "--password-stdin"],
                          input="ein-langes-Passwort\n", env=env)  # fmt: skip
    assert added.exit_code == 0, added.output
    short = runner.invoke(kim, ["portal", "user", "add", "carl", "--password-stdin"], input="kurz\n", env=env)
    assert short.exit_code == 2 and "mindestens 12 Zeichen" in short.output
    as_argument = runner.invoke(kim, ["portal", "user", "add", "dora", "--password", "geheim"], env=env)
    assert as_argument.exit_code == 2
    twice = runner.invoke(kim, ["portal", "user", "add", "bernd", "--password-stdin"], input="x" * 20 + "\n", env=env)
    assert twice.exit_code == 2 and "gibt es schon" in twice.output
    listed = runner.invoke(kim, ["portal", "user", "list"], env=env)
    assert "bernd" in listed.output and "anna.referat" in listed.output
    assert runner.invoke(kim, ["portal", "user", "deactivate", "bernd"], env=env).exit_code == 0
    assert login(ministry(world), "ein-langes-Passwort", "bernd").status_code == 401
    shown = runner.invoke(kim, ["submission", "show", "--ags", MAINZ, "--year", "2026"], env=env)
    assert shown.exit_code == 0 and hashlib.sha256(report).hexdigest() in shown.output
    assert "Jahresbericht: eingegangen am 02.12.2026" in shown.output
    out = tmp_path / "out"
    out.mkdir()
    got = runner.invoke(kim, ["submission", "download", "--ags", MAINZ, "--year", "2026", "--out", str(out)], env=env)
    assert got.exit_code == 0, got.output
    assert (out / f"jahresbericht-2026-{MAINZ}.pdf").read_bytes() == report
    none = runner.invoke(kim, ["submission", "download", "--ags", "07111000", "--year", "2026", "--out", str(out)],
                         env=env)  # fmt: skip
    assert none.exit_code == 2 and "keine Datei" in none.output
