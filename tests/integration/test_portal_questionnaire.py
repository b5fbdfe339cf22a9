"""The Fragebogen page over HTTP: conditions re-evaluated by the server, German messages next to the field,
drafts, the final submit through the questionnaire service (recorded as received, reminders stop), read-only."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import DomainEvent, OutboxMessage
from kim_workflow.portal.app import create_app
from kim_workflow.services.questionnaire_answers import load_answers
from kim_workflow.settings import Settings
from tests.support.portal import (
    FIRST_REMINDER,
    IM_MAINZ,
    MAINZ,
    Clock,
    links_of,
    path_of,
    portal_settings,
    run_sweep,
    seed_world,
    write_questionnaire,
)

SITZUNGEN = 'name="gremien.sitzungen"'


@pytest.fixture
def world(engine: Engine, settings: Settings) -> tuple[TestClient, Engine, Settings]:
    clock = Clock()
    seed_world(engine, clock.now)
    settings = portal_settings(settings)
    write_questionnaire(settings)
    link = links_of(run_sweep(engine, settings, FIRST_REMINDER))[IM_MAINZ]
    clock.day(date(2026, 12, 2))
    http = TestClient(create_app(settings, engine, clock), follow_redirects=False)
    http.get(path_of(link))
    http.get("/kommune")
    return http, engine, settings


def post(http: TestClient, action: str, **answers: str | list[str]):
    data: dict[str, str | list[str]] = {"csrf_token": http.cookies["kim_csrf"], "aktion": action, **answers}
    return http.post("/kommune/fragebogen", data=data)


def test_a_conditional_question_appears_after_the_draft_that_answers_its_condition(world) -> None:
    http, engine, settings = world
    first = http.get("/kommune/fragebogen")
    assert first.status_code == 200 and "Steuerungsgremium" in first.text and SITZUNGEN not in first.text
    saved = post(http, "entwurf", **{"gremien.steuerungsgremium": "ja", "gremien.themen": ["wohnen", "arbeit"]})
    assert saved.status_code == 303 and saved.headers["location"] == "/kommune/fragebogen?ok=entwurf"
    again = http.get(saved.headers["location"]).text
    assert SITZUNGEN in again and "als Entwurf gespeichert" in again
    assert 'value="ja" checked' in again and 'value="arbeit" checked' in again
    with session_scope(engine) as session:
        stored = load_answers(session, settings, year=2026, ags=MAINZ)
    assert stored is not None and stored.values == {"gremien.steuerungsgremium": True,
                                                    "gremien.themen": ("wohnen", "arbeit")}  # fmt: skip


def test_a_bad_value_is_refused_with_a_german_message_next_to_the_field_and_nothing_stored(world) -> None:
    http, engine, settings = world
    post(http, "entwurf", **{"gremien.steuerungsgremium": "ja"})
    refused = post(http, "entwurf", **{"gremien.steuerungsgremium": "ja", "gremien.sitzungen": "viele"})
    assert refused.status_code == 422
    field = refused.text.split('id="f-gremien-sitzungen-fehler"')[1][:300]
    assert "ganze Zahl" in field and 'value="viele"' in refused.text and 'aria-invalid="true"' in refused.text
    assert 'href="#f-gremien-sitzungen"' in refused.text  # the summary at the top links to the field
    with session_scope(engine) as session:
        assert "gremien.sitzungen" not in load_answers(session, settings, year=2026, ags=MAINZ).values  # type: ignore[union-attr]


def test_submitting_checks_required_answers_then_records_the_questionnaire_once(world) -> None:
    http, engine, _ = world
    post(http, "entwurf", **{"gremien.steuerungsgremium": "ja"})
    missing = post(http, "einreichen", **{"gremien.steuerungsgremium": "ja"})
    assert missing.status_code == 422 and "f-gremien-sitzungen-fehler" in missing.text
    done = post(http, "einreichen", **{"gremien.steuerungsgremium": "ja", "gremien.sitzungen": "4",
                                       "ausblick.vorhaben": "Ein Netzwerktreffen."})  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/kommune?ok=fragebogen"
    page = http.get("/kommune?ok=fragebogen").text
    assert "Ihr Fragebogen ist eingereicht" in page and "Antworten ansehen" in page
    read_only = http.get("/kommune/fragebogen").text
    assert (
        "kann nicht mehr geändert werden" in read_only
        and '<form method="post" action="/kommune/fragebogen"' not in read_only
    )
    assert "Ein Netzwerktreffen." in read_only
    second = post(http, "einreichen", **{"gremien.steuerungsgremium": "nein"})
    assert second.status_code == 409 and "bereits" in second.text
    with session_scope(engine) as session:
        received = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.submission.received")).all()
        confirmations = session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "submission_confirmation"))
        assert [e.payload["kind"] for e in received] == ["questionnaire"] and len(list(confirmations)) == 1


def test_the_questionnaire_form_needs_the_csrf_token(world) -> None:
    http, engine, settings = world
    refused = http.post("/kommune/fragebogen", data={"aktion": "entwurf", "gremien.steuerungsgremium": "ja"})
    assert refused.status_code == 403
    with session_scope(engine) as session:
        assert load_answers(session, settings, year=2026, ags=MAINZ) is None


def test_the_default_questionnaire_renders_every_first_level_question(engine: Engine, settings: Settings) -> None:
    clock = Clock()
    seed_world(engine, clock.now)
    settings = portal_settings(settings)
    link = links_of(run_sweep(engine, settings, FIRST_REMINDER))[IM_MAINZ]
    http = TestClient(create_app(settings, engine, clock), follow_redirects=False)
    http.get(path_of(link))
    page = http.get("/kommune/fragebogen")
    assert page.status_code == 200 and "Bestandsaufnahme" in page.text and "(Pflicht)" in page.text
    assert "bestandsaufnahme.abgeschlossen_am" not in page.text  # conditional: shown once "abgeschlossen" is saved
