from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from kim_workflow.core.domain import ContactRole
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Contact, DomainEvent, Kommune
from kim_workflow.services import registry

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def count(engine: Engine, model: type[Kommune] | type[Contact]) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def seed(engine: Engine) -> int:
    with session_scope(engine) as session:
        return registry.seed_kommunen(session, now=NOW)


def contact_file(rows: list[str]) -> str:
    return "ags,name,email,role\n" + "".join(row + "\n" for row in rows)


def good_rows(n: int) -> list[str]:
    ags = [k.ags for k in registry.reference_kommunen()]
    return [f"{ags[i % 36]},Person {i},person{i}@kommune{i % 36}.de,integration_manager" for i in range(n)]


def test_seeding_twice_leaves_exactly_36_kommunen(engine: Engine) -> None:
    assert seed(engine) == 36
    assert seed(engine) == 0
    assert count(engine, Kommune) == 36
    with session_scope(engine) as session:
        kinds = [k.kind.value for k in session.exec(select(Kommune))]
    assert (kinds.count("Landkreis"), kinds.count("kreisfreie Stadt")) == (24, 12)


def test_import_with_three_bad_rows_among_40_reports_all_three_and_stores_nothing(engine: Engine) -> None:
    seed(engine)
    rows = good_rows(40)
    rows[4] = "12345678,Unbekannt,u@example.org,integration_manager"
    rows[19] = "07315000,Kaputt,kein-at-zeichen,deputy"
    rows[33] = "07111000,Rolle,rolle@example.org,chef"
    with session_scope(engine) as session:
        result = registry.import_contacts(session, contact_file(rows), now=NOW, actor="test")
        assert not result.ok
        session.rollback()
    assert [e.line for e in result.errors] == [6, 21, 35]
    assert count(engine, Contact) == 0


def test_valid_import_stores_every_row_and_reimport_changes_nothing(engine: Engine) -> None:
    seed(engine)
    text = contact_file(good_rows(40))
    with session_scope(engine) as session:
        first = registry.import_contacts(session, text, now=NOW, actor="test")
    with session_scope(engine) as session:
        second = registry.import_contacts(session, text, now=NOW, actor="test")
    assert (first.created, second.created, second.unchanged) == (40, 0, 40)
    assert count(engine, Contact) == 40
    with session_scope(engine) as session:
        events = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.contacts.imported")).all()
        assert len(events) == 2
        assert all("@" not in str(e.payload) for e in events)


def test_kommunen_without_manager_lists_gaps_and_deactivation_creates_one(engine: Engine) -> None:
    seed(engine)
    with session_scope(engine) as session:
        registry.import_contacts(session, contact_file(good_rows(36)), now=NOW, actor="test")
    with session_scope(engine) as session:
        assert registry.kommunen_without_manager(session) == []
        assert registry.set_contact_active(session, email="person0@kommune0.de", active=False, now=NOW, actor="t") == 1
    with session_scope(engine) as session:
        gaps = registry.kommunen_without_manager(session)
        assert [k.ags for k in gaps] == [registry.reference_kommunen()[0].ags]
        contact = session.exec(select(Contact).where(col(Contact.email) == "person0@kommune0.de")).one()
        assert contact.role is ContactRole.INTEGRATION_MANAGER and not contact.active
