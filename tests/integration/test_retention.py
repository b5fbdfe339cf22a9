"""Retention: what is due is pseudonymised or deleted exactly from its day on, once, with counts in the event log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from kim_workflow.cli import app
from kim_workflow.core.domain import (
    ContactRole,
    CycleStatus,
    DeliverableKind,
    DeliverableStatus,
    KommuneKind,
    OutboxStatus,
)
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Contact, Cycle, Deliverable, DomainEvent, Kommune, OutboxMessage
from kim_workflow.services.retention import RetentionRun, apply_retention
from kim_workflow.settings import Settings

NOW = datetime(2031, 3, 1, 8, 0, tzinfo=UTC)
QUEUED_2026 = datetime(2026, 11, 3, 7, 0, tzinfo=UTC)
ADDRESS = "anna.muster@kreis-test.de"


def seed(engine: Engine, *, last_deadline: date = date(2026, 12, 15)) -> None:
    """A Kommune with contacts and emails of 2026 (year closed on the day after ``last_deadline`` or 31.12.)."""
    with session_scope(engine) as session:
        kommune = Kommune(ags="07111000", name="Testkreis", kind=KommuneKind.LANDKREIS)
        session.add(kommune)
        session.add(Cycle(year=2026, status=CycleStatus.OPEN, policy={}, opened_at=QUEUED_2026))
        session.flush()
        assert kommune.id is not None
        session.add(
            Deliverable(
                kommune_id=kommune.id, year=2026, kind=DeliverableKind.ANNUAL_REPORT,
                original_due_date=date(2026, 12, 15), due_date=last_deadline, status=DeliverableStatus.OUTSTANDING,
            )
        )  # fmt: skip
        for i, (active, changed) in enumerate([(False, QUEUED_2026), (True, QUEUED_2026), (False, NOW)]):
            session.add(
                Contact(
                    kommune_id=kommune.id, name=f"Anna Muster {i}", email=f"{i}.{ADDRESS}", anrede="Frau",
                    titel="Dr.", role=ContactRole.INTEGRATION_MANAGER, active=active, created_at=QUEUED_2026,
                    updated_at=changed,
                )
            )  # fmt: skip
        for i, status in enumerate([OutboxStatus.SENT, OutboxStatus.DISMISSED, OutboxStatus.FAILED]):
            session.add(
                OutboxMessage(
                    idempotency_key=f"deliverable_reminder|kommune:07111000|{i}", kind="deliverable_reminder",
                    subject_ref="kommune:07111000", recipient=ADDRESS, cc=["cc@kreis-test.de"],
                    subject="Erinnerung: Jahresbericht 2026", text_body="Guten Tag Frau Dr. Muster",
                    html_body="<p>Guten Tag Frau Dr. Muster</p>", message_id=f"<{i}@kim>", status=status,
                    next_attempt_at=QUEUED_2026, created_at=QUEUED_2026, last_error=f"550 <{ADDRESS}>",
                )
            )  # fmt: skip


def uploads(settings: Settings, year: int, files: int) -> Path:
    folder = settings.data_dir / "uploads" / str(year) / "07111000"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (folder / f"bericht-{i}.pdf").write_bytes(b"%PDF-1.4 " + bytes(i))
    return folder


def apply(engine: Engine, settings: Settings, today: date, *, dry_run: bool = False) -> RetentionRun:
    with session_scope(engine) as session:
        run = apply_retention(session, settings, today=today, now=NOW, dry_run=dry_run)
        if dry_run:
            session.rollback()
        return run


def counts(run: RetentionRun) -> tuple[int, int, int]:
    return run.counts.contacts_pseudonymised, run.counts.emails_scrubbed, run.counts.upload_files_deleted


def override(settings: Settings, toml: str) -> None:
    settings.policy_dir.mkdir(parents=True, exist_ok=True)
    (settings.policy_dir / "2026.toml").write_text(toml, encoding="utf-8")


@pytest.mark.parametrize(
    ("last_deadline", "toml", "today", "expected"),
    [
        # defaults: 12 months for contacts and emails, 60 for files, from 1 January 2027
        (date(2026, 12, 15), "", date(2027, 12, 31), (0, 0, 0)),
        (date(2026, 12, 15), "", date(2028, 1, 1), (1, 2, 0)),
        (date(2026, 12, 15), "", date(2028, 1, 2), (1, 2, 0)),
        (date(2026, 12, 15), "", date(2031, 12, 31), (1, 2, 0)),
        (date(2026, 12, 15), "", date(2032, 1, 1), (1, 2, 3)),
        # an extension to 31 January 2027 closes the year on 1 February; one month: due 1 March 2027
        (date(2027, 1, 31), "[retention]\ncontacts_months = 1\n", date(2027, 2, 28), (0, 0, 0)),
        (date(2027, 1, 31), "[retention]\ncontacts_months = 1\n", date(2027, 3, 1), (1, 0, 0)),
        # each period on its own: emails only after 2 months, files at once
        (date(2026, 12, 15), "[retention]\nemail_bodies_months = 2\nuploads_months = 0\n", date(2027, 2, 28),
         (0, 0, 3)),
        (date(2026, 12, 15), "[retention]\nemail_bodies_months = 2\nuploads_months = 0\n", date(2027, 3, 1),
         (0, 2, 3)),
    ],
)  # fmt: skip
def test_due_from_the_month_boundary_on(
    engine: Engine, settings: Settings, last_deadline: date, toml: str, today: date, expected: tuple[int, int, int]
) -> None:
    seed(engine, last_deadline=last_deadline)
    uploads(settings, 2026, 3)
    uploads(settings, 2029, 1)  # a later year: never due here
    for odd in ("9999", "0001", "2026-alt"):  # outside the programme's years, or no year: never touched
        (settings.data_dir / "uploads" / odd).mkdir(parents=True)
    override(settings, toml)
    assert counts(apply(engine, settings, today, dry_run=True)) == expected
    assert counts(apply(engine, settings, today)) == expected
    assert counts(apply(engine, settings, today)) == (0, 0, 0)  # idempotent
    assert (settings.data_dir / "uploads" / "2026").exists() is (expected[2] == 0)
    assert (settings.data_dir / "uploads" / "2029" / "07111000" / "bericht-0.pdf").is_file()
    assert all((settings.data_dir / "uploads" / odd).is_dir() for odd in ("9999", "0001", "2026-alt"))


def test_what_stays_and_what_goes(engine: Engine, settings: Settings) -> None:
    seed(engine)
    uploads(settings, 2026, 2)
    run = apply(engine, settings, date(2032, 1, 1))
    assert counts(run) == (1, 2, 2) and run.counts.upload_years == (2026,)
    with Session(engine) as session:
        contacts = {c.name: c for c in session.exec(select(Contact))}
        gone = contacts["(gelöscht)"]
        assert (gone.email, gone.anrede, gone.titel, gone.active) == (f"geloescht-{gone.id}@kim.invalid", None, None,
                                                                     False)  # fmt: skip
        assert {"Anna Muster 1", "Anna Muster 2"} <= set(contacts)  # active, or inactive since a year still open
        messages = {m.status: m for m in session.exec(select(OutboxMessage))}
        for status in (OutboxStatus.SENT, OutboxStatus.DISMISSED):
            row = messages[status]
            assert (row.recipient, row.cc, row.text_body, row.html_body, row.last_error) == ("", [], "", "", None)
            assert row.idempotency_key.startswith("deliverable_reminder|") and row.subject  # the key holds
        assert messages[OutboxStatus.FAILED].recipient == ADDRESS  # waits for an operator
        events = list(session.exec(select(DomainEvent).where(DomainEvent.action == "kim.retention.applied")))
    assert len(events) == 1
    assert events[0].payload == {
        "contacts_pseudonymised": 1, "emails_scrubbed": 2, "upload_files_deleted": 2, "upload_years": [2026],
    }  # fmt: skip
    assert "muster" not in repr(events[0].payload).lower() and events[0].subject_id == "2032-01-01"


def test_dry_run_changes_nothing_and_nothing_due_records_nothing(engine: Engine, settings: Settings) -> None:
    seed(engine)
    folder = uploads(settings, 2026, 1)
    assert counts(apply(engine, settings, date(2032, 1, 1), dry_run=True)) == (1, 2, 1)
    assert counts(apply(engine, settings, date(2027, 6, 1))) == (0, 0, 0)
    with Session(engine) as session:
        assert not list(session.exec(select(DomainEvent)))
        assert all(not c.email.endswith("kim.invalid") for c in session.exec(select(Contact)))
        assert all(m.recipient == ADDRESS for m in session.exec(select(OutboxMessage)))
    assert (folder / "bericht-0.pdf").is_file()


@pytest.fixture
def kim_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KIM_DATABASE_URL", database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_cli_dry_run_then_apply_print_the_same_counts(engine: Engine, kim_env: Path) -> None:
    seed(engine)
    runner = CliRunner()
    dry = runner.invoke(app, ["retention", "apply", "--dry-run", "--today", "2028-01-01"])
    done = runner.invoke(app, ["retention", "apply", "--today", "2028-01-01"])
    assert (dry.exit_code, done.exit_code) == (0, 0)
    assert dry.output == (
        "Stichtag 01.01.2028: 1 Kontakte würden pseudonymisiert, 2 E-Mail-Inhalte würden gelöscht, 0 Dateien "
        "würden gelöscht (Jahresordner: keine).\n"
    )
    assert done.output == dry.output.replace("würden", "wurden")
    bad = runner.invoke(app, ["retention", "apply", "--today", "2028-02-30"])
    assert bad.exit_code == 2 and "--today" in bad.output
