"""A portal world for tests: two Kommunen with managers and deputies, the 2026 cycle open, a movable clock,
links read from the emails the sweep queued, and sample files recognised by content."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import OutboxMessage
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.sweep import sweep_day
from kim_workflow.settings import Settings
from tests.support.obligations import all_active_policy

MAINZ, KOBLENZ = "07315000", "07111000"
IM_MAINZ, DEPUTY_MAINZ, IM_KOBLENZ = (
    "im.mainz@kommune.example",
    "vertretung.mainz@kommune.example",
    ("im.koblenz@kommune.example"),
)
FIRST_REMINDER = date(2026, 11, 3)  # 42 days before 15 December 2026
SECOND_REMINDER = date(2026, 12, 1)  # 14 days before
LINK = re.compile(r"https?://[^\s\"<>]+/zugang/[A-Za-z0-9_-]+")
CONTACTS = (
    "ags,name,email,role\n"
    f"{MAINZ},Anna Müller,{IM_MAINZ},integration_manager\n"
    f"{MAINZ},Bernd Vertreter,{DEPUTY_MAINZ},deputy\n"
    f"{KOBLENZ},Clara Koblenz,{IM_KOBLENZ},integration_manager\n"
)


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 3, 8, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def day(self, day: date, hour: int = 8) -> None:
        self.now = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def portal_settings(settings: Settings, **overrides: object) -> Settings:
    return settings.model_copy(
        update={"portal_cookie_secure": False, "portal_public_url": "http://testserver", **overrides}
    )


def seed_world(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=now)
        assert registry.import_contacts(session, CONTACTS, now=now, actor="t").ok
        open_cycle(session, policy=all_active_policy(2026), now=now, actor="t")


def run_sweep(engine: Engine, settings: Settings, day: date) -> list[OutboxMessage]:
    """Sweep ``day``; return the emails it queued."""
    now = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
    with session_scope(engine) as session:
        before = set(session.exec(select(OutboxMessage.id)))
        sweep_day(session, settings, today=day, now=now)
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        return [m for m in rows if m.id not in before]


def link_in(message: OutboxMessage) -> str:
    found = LINK.findall(message.text_body)
    assert len(found) == 1, message.text_body
    return found[0]


def links_of(messages: list[OutboxMessage]) -> dict[str, str]:
    """The link in each email, by primary recipient."""
    return {m.recipient: link_in(m) for m in messages if LINK.search(m.text_body)}


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def pdf_bytes(size: int = 2048) -> bytes:
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"
    tail = b"\n%%EOF\n"
    return head + b"0" * max(0, size - len(head) - len(tail)) + tail


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def odt_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


HTML_AS_PDF = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


SMALL_QUESTIONNAIRE = """
version = "test-1"
title = "Fragebogen zum Kommunalen Integrationsmanagement (KIM)"

[[section]]
id = "gremien"
title = "Steuerung und Vernetzung"

[[section.question]]
id = "gremien.steuerungsgremium"
type = "yes_no"
text = "Gibt es in Ihrer Kommune ein Steuerungsgremium für das Integrationsmanagement?"
required = true

[[section.question]]
id = "gremien.sitzungen"
type = "integer"
text = "Wie oft ist das Steuerungsgremium im Förderjahr zusammengekommen?"
required = true
min = 0
max = 52
unit = "Sitzungen"
when = { question = "gremien.steuerungsgremium", is = true }

[[section.question]]
id = "gremien.themen"
type = "multiple_choice"
text = "Welche Themen hat das Gremium behandelt?"
options = [
    { code = "wohnen", label = "Wohnen" },
    { code = "arbeit", label = "Arbeit und Ausbildung" },
]

[[section]]
id = "ausblick"
title = "Ausblick"

[[section.question]]
id = "ausblick.vorhaben"
type = "long_text"
text = "Was planen Sie für das kommende Jahr?"
max_length = 2000
"""


def write_questionnaire(settings: Settings, year: int = 2026) -> None:
    """A small questionnaire for ``year`` (a required conditional question among four)."""
    folder = settings.questionnaire_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{year}.toml").write_text(SMALL_QUESTIONNAIRE, encoding="utf-8")
