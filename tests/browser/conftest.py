"""Browser tests: a real uvicorn serving the portal on loopback, Debian's Chromium driven by Playwright (never a
downloaded browser), the aiosmtpd sink, and axe-core (from npm, ``.ci/run`` installs it) on every page."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from kim_workflow.email.sink import free_port
from kim_workflow.portal.server import PortalThread
from kim_workflow.services.delivery_problems import dispatch_and_report
from kim_workflow.settings import Settings
from tests.support.portal import Clock, seed_world, write_questionnaire
from tests.support.smtp import SmtpServer

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("KIM_AXE_PATH", ROOT / "var" / "node" / "node_modules" / "axe-core" / "axe.min.js"))
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LINK = re.compile(r"https?://[^\s\"<>]+/zugang/[A-Za-z0-9_-]+")


@dataclass
class LivePortal:
    url: str
    engine: Engine
    settings: Settings
    clock: Clock
    smtp: SmtpServer

    def dispatch(self) -> None:
        """Send the outbox (in a thread: Playwright's sync API keeps an event loop running in this one)."""
        with ThreadPoolExecutor(1) as pool:
            pool.submit(dispatch_and_report, self.engine, self.settings, now=self.clock.now).result()

    def mails_to(self, address: str) -> list[Any]:
        return [r.message for r in self.smtp.handler.received if address in r.rcpt_tos]

    @staticmethod
    def text_of(message: Any) -> str:
        return str(message.get_body(preferencelist=("plain",)).get_content())

    def link_for(self, address: str) -> str:
        links = [LINK.findall(self.text_of(m)) for m in self.mails_to(address)]
        found = [link for group in links for link in group]
        assert found, f"no link sent to {address}"
        return found[-1]


@pytest.fixture
def live_portal(engine: Engine, settings: Settings, smtp_server: SmtpServer) -> Iterator[LivePortal]:
    port = free_port()
    clock = Clock(datetime(2026, 12, 2, 9, tzinfo=UTC))
    seed_world(engine, clock.now)
    live = settings.model_copy(update={
        "portal_cookie_secure": False, "portal_public_url": f"http://127.0.0.1:{port}", "portal_upload_limit_mb": 1,
    })  # fmt: skip
    write_questionnaire(live)
    with PortalThread(live, engine, clock, host="127.0.0.1", port=port) as thread:
        yield LivePortal(thread.url, engine, live, clock, smtp_server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API keeps an event loop running on the main thread while it is open, and
    every later ``asyncio.run`` (the dispatcher, Prefect's tasks) would fail with "cannot be called from a running
    event loop"."""
    if not CHROMIUM.exists():
        _missing("Debian's Chromium is not installed (/usr/bin/chromium; .ci/run installs it with apt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--lang=de-DE"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="de-DE", accept_downloads=True)
    tab = context.new_page()
    tab.csp_errors = []
    tab.on("console", lambda m: tab.csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    yield tab
    context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        _missing(f"axe-core is missing at {AXE} (npm install axe-core --prefix var/node; .ci/run does it)")
    return AXE.read_text(encoding="utf-8")


def assert_accessible(page: Any, axe_source: str) -> None:
    """0 WCAG 2.1 AA violations by axe-core on the page as it is now (axe is evaluated, not injected as a script
    tag: the portal's CSP allows no scripts at all)."""
    page.evaluate(axe_source)
    result = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html)}))",
        WCAG_AA,
    )
    assert result == [], f"{page.url}: {json.dumps(result, ensure_ascii=False, indent=1)}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def day(value: date, hour: int = 9) -> datetime:
    return datetime(value.year, value.month, value.day, hour, tzinfo=UTC)


def _missing(reason: str) -> None:
    """Skip on a developer's machine; in CI (CI=true, where .ci/run installs both) a missing part is a failure."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)
