"""The portal in Chromium: from the link in a real email to a submitted Jahresbericht, the refusals, the ministry's
download, and 0 WCAG 2.1 AA violations (axe-core) on every page."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from kim_workflow.core.domain import DeliverableKind
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Deliverable, Kommune, PortalUpload
from kim_workflow.services import registry
from kim_workflow.services.portal_accounts import add_account
from tests.browser.conftest import LivePortal, assert_accessible, sha256
from tests.support.portal import HTML_AS_PDF, IM_MAINZ, MAINZ, pdf_bytes, run_sweep

SCREENSHOTS = Path("/tmp")
PASSWORD = "korrekt-Pferd-Batterie-2026"


def reminded(portal: LivePortal) -> str:
    """Sweep the day (the 14-day reminder), send it through the SMTP sink, return the manager's link."""
    run_sweep(portal.engine, portal.settings, date(2026, 12, 2))
    portal.dispatch()
    return portal.link_for(IM_MAINZ)


def upload(page: Any, tmp_path: Path, content: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    page.set_input_files("#datei", str(path))
    page.get_by_role("button", name="Hochladen").click()


def report(portal: LivePortal) -> Deliverable:
    with session_scope(portal.engine) as session:
        mainz = session.exec(select(Kommune.id).where(col(Kommune.ags) == MAINZ)).one()
        return session.exec(select(Deliverable).where(
            col(Deliverable.kommune_id) == mainz, col(Deliverable.kind) == DeliverableKind.ANNUAL_REPORT
        )).one()  # fmt: skip


def test_from_the_emailed_link_to_a_submitted_report(live_portal: LivePortal, page: Any, axe_source: str,
                                                     tmp_path: Path) -> None:  # fmt: skip
    link = reminded(live_portal)
    page.goto(link)
    assert page.url == f"{live_portal.url}/kommune"  # the token is gone from the address bar
    assert page.get_by_role("heading", level=1).inner_text().startswith("Stadt Mainz")
    assert_accessible(page, axe_source)
    content = pdf_bytes(200_000)
    upload(page, tmp_path, content, "Jahresbericht Mainz 2026.pdf")
    assert "Die Datei ist gespeichert" in page.inner_text("main")
    assert sha256(content) in page.inner_text("main")
    assert_accessible(page, axe_source)
    page.screenshot(path=str(SCREENSHOTS / "kim-portal-kommune.png"), full_page=True)
    page.get_by_role("button", name="Jahresbericht verbindlich einreichen").click()
    assert "Ihr Jahresbericht ist eingereicht" in page.inner_text("main")
    assert_accessible(page, axe_source)
    assert report(live_portal).received_on == date(2026, 12, 2)
    confirmation = _wait_for(lambda: [m for m in live_portal.mails_to(IM_MAINZ) if "Eingangsbest" in m["Subject"]])
    text = live_portal.text_of(confirmation[0])
    assert sha256(content) in text and "Jahresbericht Mainz 2026.pdf" in text and f"({len(content)} Bytes)" in text
    fill_the_questionnaire(live_portal, page, axe_source)
    sent = run_sweep(live_portal.engine, live_portal.settings, date(2026, 12, 12))
    assert [m for m in sent if m.subject_ref.startswith(f"kommune:{MAINZ}")] == []  # Mainz gets nothing any more
    assert {m.recipient for m in sent} == {"im.koblenz@kommune.example"}
    assert page.csp_errors == []


def fill_the_questionnaire(live_portal: LivePortal, page: Any, axe_source: str) -> None:
    """Answer a condition, save the draft (the conditional question appears), reload, submit."""
    page.get_by_role("link", name="Fragebogen öffnen").click()
    assert_accessible(page, axe_source)
    assert page.get_by_label("Wie oft ist das Steuerungsgremium").count() == 0
    page.get_by_role("group", name="Gibt es in Ihrer Kommune ein Steuerungsgremium").get_by_label("Ja").check()
    page.get_by_label("Wohnen").check()
    page.get_by_role("button", name="Entwurf speichern").click()
    assert "als Entwurf gespeichert" in page.inner_text("main")
    page.get_by_label("Wie oft ist das Steuerungsgremium").fill("viele")
    page.get_by_role("button", name="Entwurf speichern").click()
    assert "ganze Zahl" in page.locator("#f-gremien-sitzungen-fehler").inner_text()
    assert_accessible(page, axe_source)
    page.get_by_label("Wie oft ist das Steuerungsgremium").fill("4")
    page.get_by_label("Was planen Sie für das kommende Jahr?").fill("Zwei Netzwerktreffen und eine Konferenz.")
    page.get_by_role("button", name="Entwurf speichern").click()
    page.reload()
    assert page.get_by_label("Wie oft ist das Steuerungsgremium").input_value() == "4"
    assert page.get_by_label("Wohnen").is_checked() and not page.get_by_label("Arbeit und Ausbildung").is_checked()
    page.screenshot(path=str(SCREENSHOTS / "kim-portal-fragebogen.png"), full_page=True)
    page.get_by_role("button", name="Fragebogen verbindlich einreichen").click()
    assert "Ihr Fragebogen ist eingereicht" in page.inner_text("main")
    confirmations = _wait_for(lambda: [m for m in live_portal.mails_to(IM_MAINZ)
                                       if "Eingangsbest" in m["Subject"] and "Fragebogen" in m["Subject"]])  # fmt: skip
    assert "Damit liegen uns alle Unterlagen" in live_portal.text_of(confirmations[0])
    page.get_by_role("link", name="Antworten ansehen").click()
    assert "Zwei Netzwerktreffen" in page.inner_text("main") and "kann nicht mehr geändert werden" in page.inner_text(
        "main"
    )
    assert_accessible(page, axe_source)
    page.go_back()
    page.go_back()  # the questionnaire's form of before the submission: a second submit is refused
    if page.get_by_role("button", name="Fragebogen verbindlich einreichen").count():
        page.get_by_role("button", name="Fragebogen verbindlich einreichen").click()
        assert "bereits" in page.inner_text("main")


def test_the_default_questionnaire_page_is_accessible(live_portal: LivePortal, page: Any, axe_source: str) -> None:
    (live_portal.settings.questionnaire_dir / "2026.toml").unlink()  # the shipped questionnaire, 41 questions
    page.goto(reminded(live_portal))
    page.get_by_role("link", name="Fragebogen öffnen").click()
    assert page.get_by_role("heading", level=2, name="Bestandsaufnahme").count() == 1
    assert_accessible(page, axe_source)
    page.get_by_role("button", name="Fragebogen verbindlich einreichen").click()  # every required answer missing
    assert page.get_by_role("alert").count() >= 1 and "Bitte prüfen Sie" in page.inner_text("main")
    assert_accessible(page, axe_source)


def _wait_for(found: Any, timeout: float = 15) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := found():
            return result
        time.sleep(0.2)
    raise AssertionError("not arrived in time")


def test_wrong_expired_and_revoked_links_open_nothing(live_portal: LivePortal, page: Any, axe_source: str) -> None:
    link = reminded(live_portal)
    page.goto(link[:-4] + "AAAA")
    assert "Link ungültig oder abgelaufen" in page.inner_text("main")
    assert_accessible(page, axe_source)
    live_portal.clock.day(date(2027, 6, 15))  # after 180 days past the deadline
    page.goto(link)
    assert "Link ungültig oder abgelaufen" in page.inner_text("main")
    live_portal.clock.day(date(2026, 12, 2))
    with session_scope(live_portal.engine) as session:
        registry.set_contact_active(session, email=IM_MAINZ, active=False, now=live_portal.clock.now, actor="t")
    page.goto(link)
    assert "Link ungültig oder abgelaufen" in page.inner_text("main")


def test_refusals_without_csrf_for_html_named_pdf_and_over_the_limit(
    live_portal: LivePortal, page: Any, axe_source: str, tmp_path: Path
) -> None:
    page.goto(reminded(live_portal))
    upload(page, tmp_path, HTML_AS_PDF, "bericht.pdf")
    assert "kein PDF, DOCX oder ODT" in page.get_by_role("alert").inner_text()
    assert_accessible(page, axe_source)
    upload(page, tmp_path, pdf_bytes(1024 * 1024 + 1), "gross.pdf")
    assert "größer als 1 MB" in page.get_by_role("alert").inner_text()
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    upload(page, tmp_path, pdf_bytes(), "ohne-token.pdf")
    assert "Sicherheitsprüfung fehlgeschlagen" in page.inner_text("main")
    with session_scope(live_portal.engine) as session:
        assert session.exec(select(PortalUpload)).all() == []


def test_the_public_pages_and_a_new_link_by_email(live_portal: LivePortal, page: Any, axe_source: str) -> None:
    page.goto(live_portal.url)
    assert_accessible(page, axe_source)
    page.get_by_role("link", name="Neuen Link anfordern").click()
    assert_accessible(page, axe_source)
    page.get_by_role("button", name="Link anfordern").click()
    assert "Bitte geben Sie Ihre E-Mail-Adresse ein" in page.inner_text("main")
    assert_accessible(page, axe_source)
    page.get_by_label("E-Mail-Adresse").fill(IM_MAINZ)
    page.get_by_role("button", name="Link anfordern").click()
    assert "Wenn die Adresse bei uns eingetragen ist" in page.inner_text("main")
    assert_accessible(page, axe_source)
    live_portal.dispatch()
    page.goto(live_portal.link_for(IM_MAINZ))
    assert page.url.endswith("/kommune")
    page.get_by_role("button", name="Abmelden").click()
    assert page.url == f"{live_portal.url}/"


def test_the_ministry_downloads_the_same_bytes(
    live_portal: LivePortal, page: Any, axe_source: str, tmp_path: Path, browser: Any
) -> None:
    content = pdf_bytes(300_000)
    page.goto(reminded(live_portal))
    upload(page, tmp_path, content, "bericht.pdf")
    page.get_by_role("button", name="Jahresbericht verbindlich einreichen").click()
    with session_scope(live_portal.engine) as session:
        add_account(session, username="anna.referat", display_name="Anna Referat", password=PASSWORD,
                    now=live_portal.clock.now, actor="t")  # fmt: skip
    ministry = browser.new_context(locale="de-DE", accept_downloads=True).new_page()
    ministry.goto(f"{live_portal.url}/ministerium")
    assert_accessible(ministry, axe_source)
    ministry.get_by_label("Benutzername").fill("anna.referat")
    ministry.get_by_label("Passwort").fill("falsch-falsch-falsch")
    ministry.get_by_role("button", name="Anmelden").click()
    assert "Benutzername oder Passwort ist falsch" in ministry.inner_text("main")
    assert_accessible(ministry, axe_source)
    ministry.get_by_label("Passwort").fill(PASSWORD)
    ministry.get_by_role("button", name="Anmelden").click()
    assert ministry.url.endswith("/ministerium/jahr/2026")
    assert_accessible(ministry, axe_source)
    with ministry.expect_download() as info:
        ministry.get_by_role("link", name="herunterladen (Jahresbericht Stadt Mainz)").click()
    download = info.value
    assert download.suggested_filename == f"jahresbericht-2026-{MAINZ}.pdf"
    assert sha256(Path(download.path()).read_bytes()) == sha256(content)
    ministry.get_by_role("link", name="Stadt Mainz", exact=True).click()
    assert_accessible(ministry, axe_source)
    page.goto(f"{live_portal.url}/kommune/fragebogen")
    page.get_by_role("group", name="Gibt es in Ihrer Kommune ein Steuerungsgremium").get_by_label("Nein").check()
    page.get_by_role("button", name="Fragebogen verbindlich einreichen").click()
    ministry.goto(f"{live_portal.url}/ministerium/jahr/2026")
    ministry.get_by_role("link", name="Antworten Stadt Mainz").click()
    assert "Nein" in ministry.inner_text("main") and "eingereicht" in ministry.inner_text("main")
    assert_accessible(ministry, axe_source)
    ministry.context.close()
