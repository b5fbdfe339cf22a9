"""The year's evaluation pack: every member listed in the manifest with its SHA-256, the same bytes for the same
data (fixed ZIP timestamps), attendance per Kommune, and an event log without a single email address."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from kim_workflow.cli import app
from kim_workflow.core.domain import KommuneKind, MeetingType
from kim_workflow.core.meetings import MeetingDraft
from kim_workflow.core.redaction import REMOVED
from kim_workflow.db.engine import session_scope
from kim_workflow.db.events import record_event
from kim_workflow.services.evaluation_pack import CHECKSUMS, MANIFEST, ZIP_TIME, pack_name, write_pack
from kim_workflow.services.meetings import add_meeting, record_attendance
from kim_workflow.services.questionnaire_answers import submit
from kim_workflow.settings import Settings
from tests.support.questionnaire import MAINZ, MAYEN_KOBLENZ, NOW, complete_answers, open_year

LATER = NOW + timedelta(days=30)
NESTED = {"to": "anna.meier@kreis-mayen.example", "contacts": [{"id": 3, "note": "bounce from x.y@stadt.example!"}],
          "deep": {"list": [["leiter@mffki.example"]], "count": 2}}  # fmt: skip


@pytest.fixture
def year_with_data(engine: Engine, settings: Settings) -> None:
    open_year(engine)
    with session_scope(engine) as session:
        raw = complete_answers(KommuneKind.KREISFREIE_STADT)
        result = submit(session, settings, year=2026, ags=MAINZ, raw_answers=raw, by="Frau Test", now=NOW,
                        today=NOW.date())  # fmt: skip
        assert result.saved, result.problems
        start = NOW + timedelta(days=2)
        draft = MeetingDraft(MeetingType.VERNETZUNGSTREFFEN, "Vernetzungstreffen Dezember", start,
                             start + timedelta(hours=2), location="Mainz")  # fmt: skip
        meeting = add_meeting(session, settings, draft=draft, now=NOW, actor="test")
        session.flush()
        record_attendance(session, meeting_id=meeting.id or 0, present=[MAINZ], absent=[MAYEN_KOBLENZ],
                          now=start + timedelta(hours=3), actor="test")  # fmt: skip
        record_event(session, now=NOW, actor="sachbearbeiter@mffki.example", action="kim.test.nested",
                     subject_type="contact", subject_id="a@b.example", year=2026, payload=NESTED)  # fmt: skip


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_the_manifest_lists_every_member_with_its_hash(year_with_data: None, engine: Engine, settings: Settings,
                                                       tmp_path: Path) -> None:  # fmt: skip
    with session_scope(engine) as session:
        result = write_pack(session, settings, year=2026, out=tmp_path, now=LATER)
    assert result.path == tmp_path / pack_name(2026)
    content = members(result.path)
    manifest = json.loads(content[MANIFEST])
    listed = {e["name"]: e for e in manifest["dateien"]}
    assert set(listed) == set(content) - {MANIFEST, CHECKSUMS}
    expected = {"status-2026.csv", "zuwendungen-2026.csv", "budget-2026.csv", "teilnahme-2026.csv",
                "fragebogen-2026-daten.csv", "fragebogen-2026-codebuch.csv", "ereignisse-2026.jsonl"}  # fmt: skip
    assert expected <= set(listed)
    for name, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(content[name]).hexdigest()
        assert entry["bytes"] == len(content[name])
    sums = dict(reversed(line.split("  ")) for line in content[CHECKSUMS].decode().splitlines())
    assert sums == {n: e["sha256"] for n, e in listed.items()}
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()


def test_the_same_data_gives_the_same_bytes(year_with_data: None, engine: Engine, settings: Settings,
                                            tmp_path: Path) -> None:  # fmt: skip
    with session_scope(engine) as session:
        first = write_pack(session, settings, year=2026, out=tmp_path / "a", now=LATER).path.read_bytes()
        again = write_pack(session, settings, year=2026, out=tmp_path / "b", now=LATER + timedelta(hours=1))
    assert again.path.read_bytes() == first
    with zipfile.ZipFile(again.path) as archive:
        assert {info.date_time for info in archive.infolist()} == {ZIP_TIME}


def test_the_event_log_holds_no_email_address_at_any_depth(year_with_data: None, engine: Engine, settings: Settings,
                                                           tmp_path: Path) -> None:  # fmt: skip
    with session_scope(engine) as session:
        content = members(write_pack(session, settings, year=2026, out=tmp_path, now=LATER).path)
    log = content["ereignisse-2026.jsonl"].decode("utf-8")
    assert "@" not in log
    nested = next(json.loads(line) for line in log.splitlines() if '"kim.test.nested"' in line)
    assert nested["actor"] == REMOVED and nested["subject_id"] == REMOVED
    assert nested["payload"] == {"to": REMOVED, "contacts": [{"id": 3, "note": f"bounce from {REMOVED}!"}],
                                 "deep": {"list": [[REMOVED]], "count": 2}}  # fmt: skip
    assert any('"kim.questionnaire.submitted"' in line for line in log.splitlines())


def test_attendance_and_answers_are_per_kommune(year_with_data: None, engine: Engine, settings: Settings,
                                                tmp_path: Path) -> None:  # fmt: skip
    with session_scope(engine) as session:
        content = members(write_pack(session, settings, year=2026, out=tmp_path, now=LATER).path)

    def rows(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(content[name].decode("utf-8-sig")), delimiter=";"))

    attendance = {r["AGS"]: r for r in rows("teilnahme-2026.csv")}
    assert (attendance[MAINZ]["Teilnahmen"], attendance[MAYEN_KOBLENZ]["Teilnahmen"]) == ("1", "0")
    column = next(c for c in attendance[MAINZ] if c.endswith("Vernetzungstreffen Dezember"))
    assert (attendance[MAINZ][column], attendance[MAYEN_KOBLENZ][column], attendance["07111000"][column]) == (
        "ja", "nein", "")  # fmt: skip
    answers = {r["ags"]: r for r in rows("fragebogen-2026-daten.csv")}
    assert answers[MAINZ]["eingereicht"] == "1" and answers[MAYEN_KOBLENZ]["eingereicht"] == "0"
    assert "Fragebogen" in rows("status-2026.csv")[0]
    budget = {r["Posten"]: r for r in rows("budget-2026.csv")}
    assert set(budget) == {"Jahresbudget", "bewilligt", "verbleibend"}


def test_kim_evaluation_pack_writes_the_archive(year_with_data: None, settings: Settings, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("KIM_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(app, ["evaluation", "pack", "--year", "2026", "--out", str(tmp_path / "p")],
                                env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Auswertungspaket 2026" in result.output and (tmp_path / "p" / pack_name(2026)).is_file()
    unknown = CliRunner().invoke(app, ["evaluation", "pack", "--year", "2031", "--out", str(tmp_path / "q")])
    assert unknown.exit_code == 2 and "Für 2031 ist kein Förderjahr eröffnet" in unknown.output
    assert not (tmp_path / "q").exists()
