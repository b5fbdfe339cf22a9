"""Importing the contacts file as a synchronised registry: dry run, merge, replace, explicit reactivation, events."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.core.domain import DeliverableKind
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Contact, DomainEvent, OutboxMessage
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.services import registry
from kim_workflow.services.contact_import import ChangeKind, ImportMode, ImportResult
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.notifications import record_submission_and_confirm
from kim_workflow.settings import Settings
from tests.support.obligations import all_active_policy
from tests.support.smtp import SmtpServer

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HEADER = "ags,name,email,role,anrede,titel\n"
ANNA = "07315000,Anna Müller,a@mainz.de,integration_manager,Frau,Dr.\n"
BEN = "07315000,Ben Wolf,b@mainz.de,deputy,Herr,\n"
MINISTRY = ",Referat 72,r72@mffki.de,ministry,,\n"


def run(engine: Engine, text: str, mode: ImportMode = ImportMode.MERGE, **flags: bool) -> ImportResult:
    with session_scope(engine) as session:
        return registry.import_contacts(session, text, now=NOW, actor="test", mode=mode, **flags)


def contacts(engine: Engine) -> dict[str, tuple[str, str | None, str | None, bool]]:
    with session_scope(engine) as session:
        return {c.email: (c.name, c.anrede, c.titel, c.active) for c in session.exec(select(Contact))}


def events(engine: Engine) -> list[tuple[str, dict[str, object]]]:
    with session_scope(engine) as session:
        rows = session.exec(select(DomainEvent).order_by(col(DomainEvent.id))).all()
        return [(e.action, e.payload) for e in rows if e.action.startswith("kim.contact")]


def kinds(result: ImportResult) -> list[tuple[ChangeKind, str]]:
    return [(c.kind, c.email) for c in result.changes]


def seeded(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
    return engine


def test_a_dry_run_lists_what_it_would_do_and_changes_nothing(engine: Engine) -> None:
    seeded(engine)
    run(engine, HEADER + ANNA + BEN)
    before = (contacts(engine), events(engine))
    changed = HEADER + ANNA.replace("Dr.", "Prof. Dr.") + "07315000,Cem Kaya,c@mainz.de,deputy,,\n"
    result = run(engine, changed, ImportMode.REPLACE, apply=False)
    assert not result.applied
    assert kinds(result) == [
        (ChangeKind.CHANGED, "a@mainz.de"),
        (ChangeKind.CREATED, "c@mainz.de"),
        (ChangeKind.DEACTIVATED, "b@mainz.de"),
    ]
    assert result.changes[0].fields == ("titel",)
    assert (contacts(engine), events(engine)) == before


def test_merge_keeps_contacts_missing_from_the_file_and_replace_deactivates_them(engine: Engine) -> None:
    seeded(engine)
    run(engine, HEADER + ANNA + BEN + MINISTRY)
    assert kinds(run(engine, HEADER + ANNA)) == []
    assert all(active for *_, active in contacts(engine).values())
    result = run(engine, HEADER + ANNA, ImportMode.REPLACE)
    assert kinds(result) == [(ChangeKind.DEACTIVATED, "b@mainz.de"), (ChangeKind.DEACTIVATED, "r72@mffki.de")]
    assert {email: active for email, (*_, active) in contacts(engine).items()} == {
        "a@mainz.de": True,
        "b@mainz.de": False,
        "r72@mffki.de": False,
    }
    assert kinds(run(engine, HEADER + ANNA, ImportMode.REPLACE)) == []  # the same file again changes nothing


def test_a_deactivated_contact_is_reactivated_only_explicitly(engine: Engine) -> None:
    seeded(engine)
    run(engine, HEADER + ANNA + BEN)
    with session_scope(engine) as session:
        registry.set_contact_active(session, email="b@mainz.de", active=False, now=NOW, actor="t")
    for mode in ImportMode:
        result = run(engine, HEADER + ANNA + BEN.replace("Ben Wolf", "Benjamin Wolf"), mode)
        assert kinds(result) == [(ChangeKind.KEPT_INACTIVE, "b@mainz.de")]
        assert contacts(engine)["b@mainz.de"] == ("Ben Wolf", "Herr", None, False)
    result = run(engine, HEADER + ANNA + BEN.replace("Ben Wolf", "Benjamin Wolf"), reactivate=True)
    assert kinds(result) == [(ChangeKind.REACTIVATED, "b@mainz.de")] and result.changes[0].fields == ("name",)
    assert contacts(engine)["b@mainz.de"] == ("Benjamin Wolf", "Herr", None, True)


def test_every_change_is_an_event_without_addresses_or_names(engine: Engine) -> None:
    seeded(engine)
    run(engine, HEADER + ANNA + BEN)
    run(engine, HEADER + ANNA.replace("Frau,Dr.", "Frau,"), ImportMode.REPLACE)
    run(engine, HEADER + ANNA + BEN, reactivate=True)
    assert [action for action, _ in events(engine)] == [
        "kim.contact.created",
        "kim.contact.created",
        "kim.contacts.imported",
        "kim.contact.changed",
        "kim.contact.deactivated",
        "kim.contacts.imported",
        "kim.contact.changed",
        "kim.contact.activated",
        "kim.contacts.imported",
    ]
    payloads = [payload for _, payload in events(engine)]
    assert payloads[0] == {"role": "integration_manager", "ags": "07315000"}
    assert payloads[3] == {"source": "import", "fields": ["titel"]}
    assert payloads[5] == {
        "mode": "replace",
        "unchanged": 0,
        "created": 0,
        "changed": 1,
        "reactivated": 0,
        "deactivated": 1,
        "kept_inactive": 0,
    }
    assert not any("@" in str(p) or "Müller" in str(p) or "Wolf" in str(p) for p in payloads)


def test_a_file_without_anrede_and_titel_leaves_them_as_they_are(engine: Engine) -> None:
    seeded(engine)
    run(engine, HEADER + ANNA)
    assert kinds(run(engine, "ags,name,email,role\n07315000,Anna Müller,a@mainz.de,integration_manager\n")) == []
    assert contacts(engine)["a@mainz.de"] == ("Anna Müller", "Frau", "Dr.", True)


def test_idn_addresses_are_stored_in_ascii_and_match_their_unicode_spelling(engine: Engine) -> None:
    seeded(engine)
    run(engine, HEADER + "07315000,Anna Müller,im@münchen.de,integration_manager,Frau,\n")
    assert list(contacts(engine)) == ["im@xn--mnchen-3ya.de"]
    assert kinds(run(engine, HEADER + "07315000,Anna Müller,IM@XN--MNCHEN-3YA.DE,integration_manager,Frau,\n")) == [
        (ChangeKind.CHANGED, "IM@xn--mnchen-3ya.de")
    ]


def test_a_contact_stored_with_a_unicode_domain_is_matched_and_moved_to_ascii(engine: Engine) -> None:
    seeded(engine)
    run(engine, HEADER + ANNA)
    with session_scope(engine) as session:
        session.exec(select(Contact)).one().email = "a@mäinz.de"  # as stored before addresses were kept in ASCII
    result = run(engine, HEADER + ANNA.replace("a@mainz.de", "a@xn--minz-loa.de"), ImportMode.REPLACE)
    assert kinds(result) == [(ChangeKind.CHANGED, "a@xn--minz-loa.de")] and result.changes[0].fields == ("email",)
    assert list(contacts(engine)) == ["a@xn--minz-loa.de"]


def test_the_confirmation_greets_the_contact_with_anrede_titel_and_surname(engine: Engine, settings: Settings) -> None:
    seeded(engine)
    run(engine, HEADER + ANNA + "07111000,Jürgen Müller,jm@koblenz.de,integration_manager,,\n")
    with session_scope(engine) as session:
        open_cycle(session, policy=all_active_policy(2026), now=NOW, actor="t")
        for ags in ("07315000", "07111000"):
            record_submission_and_confirm(
                session,
                settings,
                ags=ags,
                year=2026,
                kind=DeliverableKind.ANNUAL_REPORT,
                received_on=date(2026, 11, 25),
                today=date(2026, 11, 25),
                now=NOW,
                actor="t",
            )
    with session_scope(engine) as session:
        texts = {m.recipient: m.text_body for m in session.exec(select(OutboxMessage))}
    assert texts["a@mainz.de"].startswith("Sehr geehrte Frau Dr. Müller,\n")
    assert texts["jm@koblenz.de"].startswith("Guten Tag Jürgen Müller,\n")
    assert "Mittwoch, 25. November 2026" in texts["a@mainz.de"] and "2026-11-25" not in texts["a@mainz.de"]


def test_deactivating_by_address_accepts_the_unicode_spelling_and_any_case(engine: Engine) -> None:
    seeded(engine)
    run(engine, HEADER + "07315000,Anna Müller,im@münchen.de,integration_manager,Frau,\n")
    with session_scope(engine) as session:
        assert registry.set_contact_active(session, email="IM@München.de", active=False, now=NOW, actor="t") == 1
        assert registry.set_contact_active(session, email="kein-at", active=False, now=NOW, actor="t") == 0
    assert contacts(engine)["im@xn--mnchen-3ya.de"][3] is False


def test_an_idn_contact_is_reached_through_a_server_without_smtputf8(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    seeded(engine)
    run(engine, HEADER + "07315000,Anna Müller,im@münchen.de,integration_manager,Frau,\n")
    with session_scope(engine) as session:
        open_cycle(session, policy=all_active_policy(2026), now=NOW, actor="t")
        record_submission_and_confirm(
            session,
            settings,
            ags="07315000",
            year=2026,
            kind=DeliverableKind.QUESTIONNAIRE,
            received_on=date(2026, 11, 25),
            today=date(2026, 11, 25),
            now=NOW,
            actor="t",
        )
    report = dispatch_sync(engine, settings, now=NOW)
    assert (report.sent, report.failed) == (1, 0)
    assert list(smtp_server.handler.by_recipient()) == ["im@xn--mnchen-3ya.de"]  # the test server has no SMTPUTF8
