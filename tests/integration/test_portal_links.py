"""Personal links: minted with the reminder in its transaction, idempotent, opening a session, revoked with the
contact, rate-limited; "Neuen Link anfordern" always answers the same."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.core.contact_sync import ImportMode
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import OutboxMessage, PortalToken
from kim_workflow.portal.app import create_app
from kim_workflow.services import registry
from kim_workflow.settings import Settings
from tests.support.portal import (
    CONTACTS,
    DEPUTY_MAINZ,
    FIRST_REMINDER,
    IM_MAINZ,
    SECOND_REMINDER,
    Clock,
    link_in,
    links_of,
    path_of,
    portal_settings,
    run_sweep,
    seed_world,
)


@pytest.fixture
def world(engine: Engine, settings: Settings) -> tuple[Engine, Settings, Clock]:
    clock = Clock()
    seed_world(engine, clock.now)
    return engine, portal_settings(settings, portal_rate_limit_attempts=3), clock


def client(world: tuple[Engine, Settings, Clock]) -> TestClient:
    engine, settings, clock = world
    return TestClient(create_app(settings, engine, clock), base_url="http://testserver", follow_redirects=False)


def tokens(engine: Engine) -> list[PortalToken]:
    with session_scope(engine) as session:
        return list(session.exec(select(PortalToken).order_by(col(PortalToken.id))))


def test_the_reminder_carries_a_link_stored_only_as_its_hash_and_a_rerun_mints_nothing(world) -> None:
    engine, settings, _ = world
    emails = run_sweep(engine, settings, FIRST_REMINDER)
    links = links_of(emails)
    assert set(links) == {IM_MAINZ, "im.koblenz@kommune.example"}  # the manager's link; deputies are in Cc
    stored = tokens(engine)
    token = links[IM_MAINZ].rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes
    mainz = next(
        t for t in stored if t.issued_for == next(m for m in emails if m.recipient == IM_MAINZ).idempotency_key
    )
    assert mainz.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in t.token_hash for t in stored)
    assert run_sweep(engine, settings, FIRST_REMINDER) == [] and len(tokens(engine)) == len(stored)
    second = links_of(run_sweep(engine, settings, SECOND_REMINDER))
    assert second[IM_MAINZ] != links[IM_MAINZ] and len(tokens(engine)) == 2 * len(stored)


def test_opening_the_link_starts_a_session_and_redirects_to_an_address_without_the_token(world) -> None:
    link = links_of(run_sweep(world[0], world[1], FIRST_REMINDER))[IM_MAINZ]
    http = client(world)
    response = http.get(path_of(link))
    assert response.status_code == 303 and response.headers["location"] == "/kommune"
    cookie = response.headers["set-cookie"].lower()
    assert "kim_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    page = http.get("/kommune")
    assert page.status_code == 200
    assert "Stadt Mainz" in page.text and "15. Dezember 2026" in page.text and "Anna Müller" in page.text
    assert link.rsplit("/", 1)[1] not in page.text


def test_the_secure_flag_is_set_unless_switched_off(world) -> None:
    engine, settings, clock = world
    link = links_of(run_sweep(engine, settings, FIRST_REMINDER))[IM_MAINZ]
    secure = TestClient(create_app(settings.model_copy(update={"portal_cookie_secure": True}), engine, clock),
                        follow_redirects=False)  # fmt: skip
    assert "secure" in secure.get(path_of(link)).headers["set-cookie"].lower()


@pytest.mark.parametrize("case", ["wrong", "expired", "deactivated", "replaced", "too_long"])
def test_a_wrong_expired_or_revoked_link_opens_nothing(world, case: str) -> None:
    engine, settings, clock = world
    link = links_of(run_sweep(engine, settings, FIRST_REMINDER))[IM_MAINZ]
    path = path_of(link)
    if case == "wrong":
        path = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    elif case == "too_long":
        path += "x" * 200
    elif case == "expired":
        clock.day(date(2026, 12, 15) + timedelta(days=181), hour=0)  # 180 days after the deadline, local midnight
    elif case == "deactivated":
        with session_scope(engine) as session:
            registry.set_contact_active(session, email=IM_MAINZ, active=False, now=clock.now, actor="t")
    elif case == "replaced":
        without = "\n".join(line for line in CONTACTS.splitlines() if IM_MAINZ not in line) + "\n"
        with session_scope(engine) as session:
            result = registry.import_contacts(session, without, now=clock.now, actor="t", mode=ImportMode.REPLACE)
            assert result.ok
    response = client(world).get(path)
    assert response.status_code == 403 and "Link ungültig oder abgelaufen" in response.text
    assert "set-cookie" not in response.headers or "kim_session" not in response.headers["set-cookie"]
    if case in ("deactivated", "replaced"):
        assert all(t.revoked_at is not None for t in tokens(engine) if t.contact_id == _contact_id(engine, IM_MAINZ))


def _contact_id(engine: Engine, address: str) -> int:
    from kim_workflow.db.models import Contact

    with session_scope(engine) as session:
        return next(c.id for c in session.exec(select(Contact).where(col(Contact.email) == address)) if c.id)


def test_a_link_works_until_the_last_valid_day_ends(world) -> None:
    engine, settings, clock = world
    link = links_of(run_sweep(engine, settings, FIRST_REMINDER))[IM_MAINZ]
    clock.day(date(2026, 12, 15) + timedelta(days=180), hour=21)  # 23:00 summer time in Berlin, the last day
    assert client(world).get(path_of(link)).status_code == 303


@pytest.mark.parametrize(("failures", "status"), [(2, 303), (3, 429), (4, 429)])
def test_failed_link_attempts_are_limited_per_client(world, failures: int, status: int) -> None:
    engine, settings, clock = world
    link = links_of(run_sweep(engine, settings, FIRST_REMINDER))[IM_MAINZ]
    http = client(world)
    for _ in range(failures):
        assert http.get("/zugang/falsch").status_code in (403, 429)
    assert http.get(path_of(link)).status_code == status  # the limit is 3 failed attempts per window
    clock.advance(seconds=settings.portal_rate_limit_window_seconds + 1)
    assert http.get(path_of(link)).status_code == 303  # the window has passed


def test_asking_for_a_new_link_answers_the_same_and_mails_only_registered_addresses(world) -> None:
    engine, _, _ = world
    http = client(world)
    form = http.get("/link-anfordern")
    csrf = http.cookies["kim_csrf"]
    assert f'value="{csrf}"' in form.text
    answers = [http.post("/link-anfordern", data={"email": address, "csrf_token": csrf})
               for address in (DEPUTY_MAINZ.upper(), "unbekannt@example.org")]  # fmt: skip
    assert [a.status_code for a in answers] == [200, 200] and answers[0].text == answers[1].text
    with session_scope(engine) as session:
        sent = list(session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "portal_link")))
    assert [m.recipient for m in sent] == [DEPUTY_MAINZ]
    response = client(world).get(path_of(link_in(sent[0])))
    assert response.status_code == 303
    again = [http.post("/link-anfordern", data={"email": "x@example.org", "csrf_token": csrf}) for _ in range(2)]
    assert [a.status_code for a in again] == [200, 429]  # every request counts: the third is the last allowed


def test_a_form_without_the_csrf_token_is_refused(world) -> None:
    http = client(world)
    http.get("/link-anfordern")
    for data in ({"email": DEPUTY_MAINZ}, {"email": DEPUTY_MAINZ, "csrf_token": "x" * 43}):
        response = http.post("/link-anfordern", data=data)
        assert response.status_code == 403 and "Sicherheitsprüfung fehlgeschlagen" in response.text
    with session_scope(world[0]) as session:
        assert not list(session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "portal_link")))


def test_the_call_for_applications_carries_a_link_too(engine: Engine, settings: Settings) -> None:
    from datetime import UTC, datetime

    from kim_workflow.services.application_window import window_year
    from kim_workflow.services.policies import load_policy

    now = datetime(2027, 1, 15, 7, tzinfo=UTC)
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=now)
        assert registry.import_contacts(session, CONTACTS, now=now, actor="t").ok
        window_year(session, portal_settings(settings), policy=load_policy(2027), today=now.date(), now=now)
    with session_scope(engine) as session:
        calls = list(session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "call_for_applications")))
    assert IM_MAINZ in links_of(calls) and len(tokens(engine)) == 2
