"""The preview writes every kind as HTML, text and a parseable .eml (with calendar files where the kind has one)."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from icalendar import Calendar

from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.preview import write_previews
from kim_workflow.email.render import Renderer
from kim_workflow.email.specs import SPECS

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
SENDER = "Kommunales Integrationsmanagement RLP <kim@mffki.rlp.de>"


@pytest.fixture(scope="module")
def previews(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("previews")
    return out, write_previews(out, Renderer(), sender=SENDER, reply_to="kim@mffki.rlp.de", now=NOW)


def read_eml(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    return message


def test_every_kind_is_written_with_an_index(previews: tuple[Path, list[Path]]) -> None:
    out, paths = previews
    expected = {out / f"{kind.value}{suffix}" for kind in MessageKind for suffix in (".html", ".txt", ".eml")}
    assert set(paths) == expected | {out / "index.html"}
    assert all(path.is_file() and path.stat().st_size > 0 for path in paths)
    index = (out / "index.html").read_text(encoding="utf-8")
    for kind in MessageKind:
        assert f'href="{kind.value}.eml"' in index and f'href="{kind.value}.html"' in index


@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_eml_parses_with_headers_text_and_html(previews: tuple[Path, list[Path]], kind: MessageKind) -> None:
    out, _ = previews
    message = read_eml(out / f"{kind.value}.eml")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["From"] == SENDER and message["Reply-To"] == "kim@mffki.rlp.de"
    assert "\n" not in str(message["Subject"]) and str(message["Subject"])
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert text.get_content() == (out / f"{kind.value}.txt").read_text(encoding="utf-8")
    assert "</html>" in html.get_content()


@pytest.mark.parametrize("kind", list(MessageKind))
def test_calendar_attachments_match_the_kind(previews: tuple[Path, list[Path]], kind: MessageKind) -> None:
    out, _ = previews
    message = read_eml(out / f"{kind.value}.eml")
    calendars = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    method = SPECS[kind].calendar_method
    if method is None:
        assert calendars == []
        return
    assert len(calendars) == 1
    part = calendars[0]
    assert part.get_param("method") == method
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert str(Calendar.from_ical(payload)["METHOD"]) == method
