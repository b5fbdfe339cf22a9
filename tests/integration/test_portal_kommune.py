"""The Kommune's page over HTTP: due items, upload by content and size, streamed, replaceable; the final submit
through the submission use case (event, confirmation with name, size, SHA-256, reminders stop); read-only after."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.core.domain import DeliverableKind, DeliverableStatus
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Deliverable, DomainEvent, Kommune, OutboxMessage, PortalUpload
from kim_workflow.portal.app import create_app
from kim_workflow.services.submissions import extend_deadline
from kim_workflow.settings import Settings
from tests.support.portal import (
    FIRST_REMINDER,
    HTML_AS_PDF,
    IM_MAINZ,
    MAINZ,
    Clock,
    docx_bytes,
    links_of,
    odt_bytes,
    path_of,
    pdf_bytes,
    portal_settings,
    run_sweep,
    seed_world,
)

LIMIT_MB = 1
LIMIT = LIMIT_MB * 1024 * 1024


class World:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.clock = engine, Clock()
        seed_world(engine, self.clock.now)
        self.settings = portal_settings(settings, portal_upload_limit_mb=LIMIT_MB)
        self.link = links_of(run_sweep(engine, self.settings, FIRST_REMINDER))[IM_MAINZ]
        self.clock.day(date(2026, 12, 2))

    def client(self) -> TestClient:
        return TestClient(create_app(self.settings, self.engine, self.clock), follow_redirects=False)

    def signed_in(self) -> TestClient:
        http = self.client()
        assert http.get(path_of(self.link)).status_code == 303
        http.get("/kommune")  # sets the CSRF cookie
        return http

    def uploads(self) -> list[PortalUpload]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(PortalUpload).order_by(col(PortalUpload.id))))

    def report(self) -> Deliverable:
        with session_scope(self.engine) as session:
            kommune = session.exec(select(Kommune).where(col(Kommune.ags) == MAINZ)).one()
            return session.exec(select(Deliverable).where(
                col(Deliverable.kommune_id) == kommune.id, col(Deliverable.kind) == DeliverableKind.ANNUAL_REPORT
            )).one()  # fmt: skip

    def folder(self) -> Path:
        return self.settings.data_dir / "uploads" / "2026" / MAINZ


@pytest.fixture
def world(engine: Engine, settings: Settings) -> World:
    return World(engine, settings)


def upload(http: TestClient, content: bytes, name: str = "Bericht 2026.pdf", csrf: bool = True):
    data = {"csrf_token": http.cookies["kim_csrf"]} if csrf else {}
    return http.post("/kommune/jahresbericht", data=data, files={"datei": (name, content, "application/pdf")})


def test_the_page_shows_what_is_due_with_the_extension_and_what_is_in(world: World) -> None:
    with session_scope(world.engine) as session:
        extend_deadline(session, ags=MAINZ, year=2026, until=date(2027, 1, 29), reason="Krankheit",
                        now=world.clock.now, actor="t")  # fmt: skip
    page = world.signed_in().get("/kommune").text
    assert "Jahresbericht" in page and "Fragebogen" in page
    assert "29. Januar 2027" in page and "ursprünglich 15. Dezember 2026" in page and "Krankheit" in page
    assert page.count("ausstehend") == 2


@pytest.mark.parametrize(("content", "name"), [(pdf_bytes(), "Bericht.pdf"), (docx_bytes(), "Bericht.docx"),
                                               (odt_bytes(), "bericht.odt"), (pdf_bytes(), "ohne-endung")])  # fmt: skip
def test_pdf_docx_and_odt_are_kept_under_a_generated_name_with_their_sha256(
    world: World, content: bytes, name: str
) -> None:
    http = world.signed_in()
    response = upload(http, content, name)
    assert response.status_code == 303 and response.headers["location"] == "/kommune?ok=hochgeladen"
    [stored] = world.uploads()
    assert stored.sha256 == hashlib.sha256(content).hexdigest() and stored.size == len(content)
    assert [p.name for p in world.folder().iterdir()] == [stored.stored_name]
    assert name not in stored.stored_name and re.fullmatch(
        r"\d{8}T\d{6}-[0-9a-f]{16}\.(pdf|docx|odt)", stored.stored_name
    )
    assert (world.folder() / stored.stored_name).read_bytes() == content
    page = http.get("/kommune?ok=hochgeladen").text
    assert stored.sha256 in page and "Die Datei ist gespeichert" in page
    download = http.get("/kommune/jahresbericht/datei")
    assert download.content == content
    assert download.headers["content-disposition"].startswith("attachment;")
    assert f"jahresbericht-2026-{MAINZ}." in download.headers["content-disposition"]


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [(HTML_AS_PDF, 422, "kein PDF, DOCX oder ODT"), (b"", 422, "leer"), (b"PK\x03\x04" + b"0" * 100, 422, "kein PDF"),
     (pdf_bytes(LIMIT), 303, None), (pdf_bytes(LIMIT + 1), 413, "größer als 1 MB")],
)  # fmt: skip
def test_a_file_is_judged_by_content_and_size_at_the_limit(
    world: World, content: bytes, status: int, message: str | None
) -> None:
    response = upload(world.signed_in(), content)
    assert response.status_code == status
    if message:
        assert message in response.text and world.uploads() == []
    assert len(list(world.folder().iterdir())) == (1 if status == 303 else 0)  # no staging file left behind


def test_a_body_declared_far_over_the_limit_is_refused_before_reading(world: World) -> None:
    http = world.signed_in()
    response = http.post("/kommune/jahresbericht", content=b"x" * 10,
                         headers={"content-type": "multipart/form-data; boundary=x",
                                  "content-length": str(10 * LIMIT)})  # fmt: skip
    assert response.status_code == 413 and "größer als 1 MB" in response.text


def test_an_upload_without_the_csrf_token_is_refused_and_nothing_kept(world: World) -> None:
    http = world.signed_in()
    response = upload(http, pdf_bytes(), csrf=False)
    assert response.status_code == 403 and "Sicherheitsprüfung" in response.text
    assert world.uploads() == [] and list(world.folder().iterdir()) == []
    submit = http.post("/kommune/jahresbericht/einreichen", data={})
    assert submit.status_code == 403 and world.report().received_on is None


def test_the_file_can_be_replaced_until_it_is_submitted_then_the_page_is_read_only(world: World) -> None:
    http = world.signed_in()
    first, second = pdf_bytes(3000), odt_bytes()
    upload(http, first)
    upload(http, second, "Endfassung.odt")
    old, new = world.uploads()
    assert old.replaced_at is not None and new.replaced_at is None
    csrf = http.cookies["kim_csrf"]
    response = http.post("/kommune/jahresbericht/einreichen", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/kommune?ok=eingereicht"
    report = world.report()
    assert report.received_on == date(2026, 12, 2) and report.status is DeliverableStatus.RECEIVED_ON_TIME
    with session_scope(world.engine) as session:
        received = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.submission.received")).all()
        [confirmation] = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.kind) == "submission_confirmation")
        ).all()
    assert len(received) == 1 and received[0].payload["kind"] == "annual_report"
    assert "Endfassung.odt" in confirmation.text_body and new.sha256 in confirmation.text_body
    assert f"({len(second)} Bytes)" in confirmation.text_body and confirmation.recipient == IM_MAINZ
    page = http.get("/kommune").text
    assert "eingereicht und kann nicht mehr geändert werden" in page and 'type="file"' not in page
    again = http.post("/kommune/jahresbericht/einreichen", data={"csrf_token": csrf})
    assert again.status_code == 409 and "bereits eingereicht" in again.text
    late = upload(http, pdf_bytes())
    assert late.status_code == 422 and "bereits eingereicht" in late.text and len(world.uploads()) == 2
    reminders = run_sweep(world.engine, world.settings, date(2026, 12, 12))  # 3 days before the deadline
    mainz = [m for m in reminders if m.recipient == IM_MAINZ]
    assert len(mainz) == 1 and "Fragebogen" in mainz[0].text_body
    assert "Jahresbericht\n" not in mainz[0].text_body.split("Abgabefrist")[0].split("noch nicht vor:")[1]


def test_submitting_without_a_file_asks_for_one(world: World) -> None:
    http = world.signed_in()
    response = http.post("/kommune/jahresbericht/einreichen", data={"csrf_token": http.cookies["kim_csrf"]})
    assert response.status_code == 409 and "zuerst Ihren Jahresbericht hoch" in response.text


def test_without_a_session_the_pages_lead_to_the_start(world: World) -> None:
    http = world.client()
    for response in (http.get("/kommune"), http.post("/kommune/jahresbericht/einreichen"),
                     http.get("/kommune/jahresbericht/datei")):  # fmt: skip
        assert response.status_code == 303 and response.headers["location"] == "/"


def test_a_session_ends_after_its_time_and_on_sign_out(world: World) -> None:
    http = world.signed_in()
    world.clock.advance(minutes=world.settings.portal_session_minutes + 1)
    assert http.get("/kommune").headers["location"] == "/"
    http = world.signed_in()
    assert http.post("/abmelden", data={"csrf_token": http.cookies["kim_csrf"]}).status_code == 303
    assert http.get("/kommune").status_code == 303


def test_every_page_has_the_security_headers_and_no_inline_script_or_style(world: World) -> None:
    http = world.signed_in()
    upload(http, pdf_bytes())
    for path in ("/kommune", "/link-anfordern", "/ministerium/anmelden", "/gibt-es-nicht", "/zugang/falsch"):
        response = (world.client() if path != "/kommune" else http).get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "<script" not in response.text and "style=" not in response.text and "<style" not in response.text
        assert '<html lang="de">' in response.text


def test_no_token_address_or_file_name_reaches_the_log(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    http = world.signed_in()
    upload(http, pdf_bytes(), "Geheimer Name.pdf")
    http.post("/link-anfordern", data={"email": IM_MAINZ, "csrf_token": http.cookies["kim_csrf"]})
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")  # httpx: the test client
    assert "/zugang/{token}" in logged and "/kommune/jahresbericht" in logged
    for secret in (world.link.rsplit("/", 1)[1], IM_MAINZ, "Geheimer Name"):
        assert secret not in logged
